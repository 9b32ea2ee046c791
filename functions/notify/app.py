"""Lambda handler for the notify step; the work is in phenolake.steps.notify."""

from phenolake.handler import lambda_entry
from phenolake.steps import notify

# A retried Notify (after a timeout, say) must not tell the study team twice.
lambda_handler = lambda_entry(
    "notify", notify.NotifyEvent, notify.run, idempotency_key="[run_id, status]"
)
