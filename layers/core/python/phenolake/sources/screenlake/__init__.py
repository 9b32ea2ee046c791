"""Source ``screenlake``: ``convert.py`` (the converter and the ``Screenlake`` source),
``spec.py`` (its declared tables and export), ``options.py`` (its options model),
``curate.py`` (its Glue curate logic, Glue only) and ``samples.py`` (seeded samples, dev
only)."""

from phenolake.sources.screenlake.convert import Screenlake

__all__ = ["Screenlake"]
