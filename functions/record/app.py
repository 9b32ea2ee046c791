"""Lambda handler for the record step (an EventBridge rule's target); the work is in
phenolake.steps.record."""

from phenolake.handler import lambda_entry
from phenolake.steps import record

lambda_handler = lambda_entry("record", record.LandingEvent, record.run)
