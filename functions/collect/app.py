"""Lambda handler for the collect step; the work is in phenolake.steps.collect."""

from phenolake.handler import lambda_entry
from phenolake.steps import collect

# Two states call it: each is its own row of the run's profile.
lambda_handler = lambda_entry(
    "collect", collect.CollectEvent, collect.run, label=lambda event: f"collect:{event.stage}"
)
