"""The source registry: one line per source, the only place a new source is named."""

from __future__ import annotations

import importlib
from functools import cache

from phenolake.sources.base import Source

REGISTRY: dict[str, str] = {
    "embrace": "phenolake.sources.embrace:Embrace",
    "mhealth": "phenolake.sources.mhealth:MHealth",
    "radar": "phenolake.sources.radar:Radar",
    "screenlake": "phenolake.sources.screenlake:Screenlake",
}


class UnknownSource(ValueError):
    pass


@cache
def get(name: str) -> Source:
    try:
        module_name, _, cls_name = REGISTRY[name].partition(":")
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise UnknownSource(f"unknown source {name!r} (known: {known})") from None
    return getattr(importlib.import_module(module_name), cls_name)()


def names() -> list[str]:
    return sorted(REGISTRY)


def recognise(relative_path: str) -> str | None:
    """The source whose shape this path has, if exactly one claims it."""
    claims = [n for n in names() if get(n).recognise(relative_path)]
    return claims[0] if len(claims) == 1 else None
