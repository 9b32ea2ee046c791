"""Lambda handler for the worklist step; the work is in phenolake.steps.worklist."""

from phenolake.handler import lambda_entry
from phenolake.steps import worklist

lambda_handler = lambda_entry("worklist", worklist.WorklistEvent, worklist.run)
