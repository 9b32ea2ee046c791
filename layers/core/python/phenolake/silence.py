"""Who fell silent: participants whose last day with data is more than N days old.

Notify lists them in every run's notification, and ``phenolake report`` (the tooling) puts them
first on its page; both read the ``participant_stats`` rows the Completeness step writes. Kept
apart from the report's charts so that the Notify function carries no plotting code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Silent:
    source: str
    site: str
    participant_id: str
    last_date: str
    days: int


def silent_participants(
    stats: list[dict[str, Any]], days: int, as_of: dt.date | None = None
) -> list[Silent]:
    """Participants whose last day with data (any metric) is more than ``days`` before
    ``as_of`` (default: the latest day with data in the lake), most silent first."""
    last: dict[tuple[str, str, str], str] = {}
    for row in stats:
        key = (row["source"], row["site"] or "", row["participant_id"])
        last[key] = max(last.get(key, ""), row["end_date"])
    if not last:
        return []
    reference = as_of or max(dt.date.fromisoformat(d) for d in last.values())
    silent = []
    for (source, site, participant), end in last.items():
        gap = (reference - dt.date.fromisoformat(end)).days
        if gap > days:
            silent.append(Silent(source, site, participant, end, gap))
    return sorted(silent, key=lambda s: (-s.days, s.source, s.site, s.participant_id))


def silent_lines(silent: list[Silent], days: int) -> list[str]:
    """The notification's lines about silent participants."""
    if not silent:
        return []
    names = ", ".join(
        f"{s.source}:{s.site + '/' if s.site else ''}{s.participant_id}"
        f" ({s.days} d, last {s.last_date})"
        for s in silent
    )
    return [f"silent for more than {days} day(s): {len(silent)}: {names}"]
