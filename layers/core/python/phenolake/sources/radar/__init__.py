"""Source ``radar``: ``convert.py`` (the converter and the ``Radar`` source), ``spec.py`` (its
declared tables), ``options.py`` (its options model), ``curate.py`` (its Glue curate logic,
Glue only) and ``samples.py`` (seeded samples, dev only)."""

from phenolake.sources.radar.convert import Radar

__all__ = ["Radar"]
