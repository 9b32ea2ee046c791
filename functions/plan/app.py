"""Lambda handler for the plan step; the work is in phenolake.steps.plan."""

from phenolake.handler import lambda_entry
from phenolake.steps import plan

lambda_handler = lambda_entry("plan", plan.PlanEvent, plan.run)
