"""Lambda handler for the fetch step; the work is in phenolake.steps.fetch."""

from phenolake.handler import lambda_entry
from phenolake.steps import fetch

lambda_handler = lambda_entry("fetch", fetch.FetchEvent, fetch.run)
