"""Lambda handler for the notify step; the work is in phenolake.steps.notify."""

from phenolake.handler import lambda_entry
from phenolake.steps import notify

lambda_handler = lambda_entry("notify", notify.NotifyEvent, notify.run)
