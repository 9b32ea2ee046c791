"""Lambda handler for the unzip step; the work is in phenolake.steps.unzip."""

from phenolake.handler import lambda_entry
from phenolake.steps import unzip

lambda_handler = lambda_entry("unzip", unzip.UnzipEvent, unzip.run)
