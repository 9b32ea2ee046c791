"""Source ``embrace``: ``convert.py`` (the converter and the ``Embrace`` source), ``spec.py`` (its
declared tables), ``options.py`` (its options model), ``curate.py`` (its Glue curate logic,
Glue only) and ``samples.py`` (seeded samples, dev only)."""

from phenolake.sources.embrace.convert import Embrace

__all__ = ["Embrace"]
