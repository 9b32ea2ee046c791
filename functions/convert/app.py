"""Lambda handler for the convert step; the work is in phenolake.steps.convert."""

from phenolake.handler import lambda_entry
from phenolake.steps import convert

lambda_handler = lambda_entry("convert", convert.ConvertEvent, convert.run)
