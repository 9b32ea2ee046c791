"""Lambda handler for the redact step; the work is in phenolake.steps.redact."""

from phenolake.handler import lambda_entry
from phenolake.steps import redact

# The batches and the QA sample: each is its own row of the run's profile.
lambda_handler = lambda_entry(
    "redact", redact.RedactEvent, redact.run, label=lambda event: f"redact:{event.task}"
)
