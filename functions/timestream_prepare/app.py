"""Lambda handler for the Timestream prepare step (phenolake.steps.timestream_prepare)."""

from phenolake.handler import lambda_entry
from phenolake.steps import timestream_prepare

lambda_handler = lambda_entry(
    "timestream_prepare", timestream_prepare.TimestreamPrepareEvent, timestream_prepare.run
)
