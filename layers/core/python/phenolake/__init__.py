"""phenolake: a serverless data lake for digital-phenotyping research data.

The library does the work of every pipeline step and knows nothing of Lambda
events: handlers in ``functions/`` parse the event and call into it.
"""

__version__ = "0.1.0"
