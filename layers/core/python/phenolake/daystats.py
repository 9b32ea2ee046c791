"""Statistics of a participant's rows per day, kept as partials that merge and un-merge.

``participant_stats`` holds, per source x site x participant x metric x device, the days with
data (``day_count``), their rows (``row_count``), the first and last of those days and the mean
and population sd of the rows per day. A run changes only the days it touched, so the
statistics are updated from those days alone: a replaced day's old rows are taken out and its
new rows put in, never recomputed from every day of the study.

Count and sum are exact integers (added and subtracted as such), so the mean
``row_count / day_count`` is always the exact one. The sum of squared deviations (M2) merges by
Chan, Golub and LeVeque's parallel formula (``M2 = M2_a + M2_b + d^2 n_a n_b / n``) and is
un-merged by the same formula solved for ``M2_a``; it is stored as the sd (``M2 = sd^2 n``).
First and last day are a min and a max, which cannot be un-merged: when a day that is taken
out was the first (or last) and is not put back, the caller looks for the new one in the
stored days (``Update.lost_first`` / ``lost_last``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable


@dataclasses.dataclass
class DayStats:
    """Partials of the rows per day of one key: count, sum, M2, first and last day."""

    day_count: int
    row_count: int
    m2: float
    start_date: str
    end_date: str

    @property
    def mean(self) -> float:
        return self.row_count / self.day_count

    @property
    def sd(self) -> float:
        """Population sd (divides by the days): 0 for one day."""
        return math.sqrt(self.m2 / self.day_count)

    @classmethod
    def of(cls, days: Iterable[tuple[str, int]]) -> DayStats | None:
        """From scratch, by two passes: (date, rows) of distinct days; None for no days."""
        found = list(days)
        if not found:
            return None
        count = len(found)
        total = sum(rows for _, rows in found)
        mean = total / count
        m2 = math.fsum((rows - mean) ** 2 for _, rows in found)
        dates = [date for date, _ in found]
        return cls(count, total, m2, min(dates), max(dates))

    @classmethod
    def stored(
        cls, day_count: int, row_count: int, sd: float, start_date: str, end_date: str
    ) -> DayStats:
        """From a ``participant_stats`` row (M2 from its sd)."""
        return cls(day_count, row_count, sd * sd * day_count, start_date, end_date)


def merge(a: DayStats | None, b: DayStats | None) -> DayStats | None:
    """The statistics of the days of ``a`` and of ``b`` (no day in both)."""
    if a is None or b is None:
        return a or b
    count = a.day_count + b.day_count
    delta = b.mean - a.mean
    m2 = a.m2 + b.m2 + delta * delta * a.day_count * b.day_count / count
    return DayStats(
        count,
        a.row_count + b.row_count,
        m2,
        min(a.start_date, b.start_date),
        max(a.end_date, b.end_date),
    )


@dataclasses.dataclass
class Update:
    """The statistics after taking days out and putting days in; ``lost_first`` /
    ``lost_last`` when the first / last day was taken out and no day put in is as early / as
    late (then ``stats.start_date`` / ``end_date`` is only a bound and must be looked up)."""

    stats: DayStats | None
    lost_first: bool = False
    lost_last: bool = False


def remove(whole: DayStats, part: DayStats) -> DayStats | None:
    """The statistics of ``whole``'s days other than ``part``'s (a subset of them); first and
    last day are left as ``whole``'s (see ``update``)."""
    count = whole.day_count - part.day_count
    if count <= 0:
        return None
    total = whole.row_count - part.row_count
    if count == 1:
        return DayStats(1, total, 0.0, whole.start_date, whole.end_date)
    delta = part.mean - total / count
    m2 = whole.m2 - part.m2 - delta * delta * count * part.day_count / whole.day_count
    return DayStats(count, total, max(0.0, m2), whole.start_date, whole.end_date)


def update(
    stored: DayStats | None, taken_out: list[tuple[str, int]], put_in: list[tuple[str, int]]
) -> Update:
    """``stored`` with the days ``taken_out`` (their rows as stored) replaced by ``put_in``."""
    old, new = DayStats.of(taken_out), DayStats.of(put_in)
    rest = stored if old is None or stored is None else remove(stored, old)
    if rest is None:
        return Update(new)
    merged = merge(rest, new)
    assert merged is not None
    if old is None:
        return Update(merged)
    first_out = stored is not None and old.start_date == stored.start_date
    last_out = stored is not None and old.end_date == stored.end_date
    return Update(
        merged,
        first_out and not (new and new.start_date <= old.start_date),
        last_out and not (new and new.end_date >= old.end_date),
    )
