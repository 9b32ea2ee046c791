"""Time-series sinks: where curated streams are copied for fast time-range queries."""
