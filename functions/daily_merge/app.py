"""Lambda handler for the daily merge step; the work is in phenolake.steps.daily_merge."""

from phenolake.handler import lambda_entry
from phenolake.steps import daily_merge

lambda_handler = lambda_entry("daily_merge", daily_merge.MergeEvent, daily_merge.run)
