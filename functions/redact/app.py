"""Lambda handler for the redact step; the work is in phenolake.steps.redact."""

from phenolake.handler import lambda_entry
from phenolake.steps import redact

lambda_handler = lambda_entry("redact", redact.RedactEvent, redact.run)
