"""Lambda handler for the completeness step; the work is in phenolake.steps.completeness."""

from phenolake.handler import lambda_entry
from phenolake.steps import completeness

lambda_handler = lambda_entry("completeness", completeness.CompletenessEvent, completeness.run)
