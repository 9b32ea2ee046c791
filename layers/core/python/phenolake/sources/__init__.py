"""The source registry: one line per source, the only place a new source is named."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the registry's names import without pyarrow (the Record function has none)
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


def configured(name: str, options: Mapping[str, Any] | None = None) -> Source:
    """The source as the study's options for it have it read its files (``Source.configured``)."""
    source = get(name)
    return source.configured(options) if options else source


def is_archive(name: str, key: str) -> bool:
    """Whether Unzip expands a landed object of source ``name`` (``Source.is_archive``); any
    ``.zip`` of a source not registered."""
    if name not in REGISTRY:
        return key.lower().endswith(".zip")
    return get(name).is_archive(key)
