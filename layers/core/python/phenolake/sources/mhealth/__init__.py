"""Source ``mhealth``: ``convert.py`` (the converter and the ``MHealth`` source),
``repackaged.py`` (the CSV re-packagings of the set), ``spec.py`` (its declared tables),
``options.py`` (its options model), ``curate.py`` (its Glue curate logic, Glue only) and
``samples.py`` (seeded samples, dev only)."""

from phenolake.sources.mhealth.convert import MHealth

__all__ = ["MHealth"]
