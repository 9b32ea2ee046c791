"""Lambda handler for participant deletion; the work is in phenolake.forget."""

from phenolake.handler import lambda_entry
from phenolake.steps import forget

lambda_handler = lambda_entry("forget", forget.ForgetEvent, forget.run)
