"""Lambda handler for the collect step; the work is in phenolake.steps.collect."""

from phenolake.handler import lambda_entry
from phenolake.steps import collect

lambda_handler = lambda_entry("collect", collect.CollectEvent, collect.run)
