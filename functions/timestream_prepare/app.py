"""Lambda handler for the timestream prepare step; the work is in phenolake.steps.timestream_prepare."""

from phenolake.handler import lambda_entry
from phenolake.steps import timestream_prepare

lambda_handler = lambda_entry("timestream_prepare", timestream_prepare.TimestreamPrepareEvent, timestream_prepare.run)
