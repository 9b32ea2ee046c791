"""A row's time, from the fields radar-output-restructure files a record by, in its order.

``TimeUtil.getDate`` (v3.0.6) takes the first of these that holds a valid value, record by
record (field names matched regardless of case, as ``getFieldOrNull`` does):

1. ``value.time``: epoch seconds (double);
2. ``key.timeStart``: epoch seconds (double; Kafka-streams aggregates, ``AggregateKey``);
3. ``key.start``: epoch milliseconds (long);
4. ``value.dateTime``: an ISO date-time; ending in ``Z`` an instant, else a local date-time
   read as UTC (``LocalDateTime.parse(...).toInstant(UTC)``: Fitbit's device-local
   ``yyyy-MM-ddTHH:mm:ss`` is filed as if it were UTC, and so it is read here);
5. ``value.date``: an ISO date, its midnight in UTC;
6. ``value.timeReceived``, 7. ``value.timeCompleted``: epoch seconds (double).

So the time of a row is the one that chose the hour file it was written to. A cell that is
empty or does not parse passes on to the next field, as a null or unparsable value does in
the tool.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from phenolake.sources.toolkit import numbers

#: The fields in the tool's order, with how each is read.
ORDER: tuple[tuple[str, str], ...] = (
    ("value.time", "seconds"),
    ("key.timeStart", "seconds"),
    ("key.start", "milliseconds"),
    ("value.dateTime", "date_time"),
    ("value.date", "date"),
    ("value.timeReceived", "seconds"),
    ("value.timeCompleted", "seconds"),
)
NAMES = ", ".join(name for name, _ in ORDER)
#: The fields read as text: a CSV reader must keep them so (Arrow would read
#: ``2024-10-17T23:30:00`` as a timestamp and ``2024-10-17 23:30:00``, which java.time
#: refuses, as the same one).
TEXT_FIELDS = frozenset(name.lower() for name, kind in ORDER if kind in ("date_time", "date"))

_INSTANT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{0,9}))?Z$")
_LOCAL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{0,9}))?)?$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def fields_of(header: Sequence[str]) -> list[tuple[int, str, str]]:
    """(column index, field, kind) of the header's time fields, in the tool's order."""
    lowered = [h.lower() for h in header]
    chosen = []
    for name, kind in ORDER:
        if name.lower() in lowered:
            chosen.append((lowered.index(name.lower()), name, kind))
    return chosen


def _seconds_of(groups: tuple[str | None, ...]) -> float | None:
    year, month, day, hour, minute, second, fraction = groups
    try:
        moment = dt.datetime(
            int(year or 0), int(month or 0), int(day or 0), int(hour or 0), int(minute or 0),
            int(second or 0), tzinfo=dt.UTC,
        )  # fmt: skip
    except ValueError:
        return None
    whole = (moment - _EPOCH) // dt.timedelta(seconds=1)
    return whole + (int(fraction.ljust(9, "0")) / 1e9 if fraction else 0.0)


def parse_date_time(text: str | None) -> float | None:
    """``TimeUtil.parseDateTime`` as epoch seconds; None where the tool gets null."""
    if not text:
        return None
    pattern = _INSTANT if text.endswith("Z") else _LOCAL
    found = pattern.match(text)
    return _seconds_of(found.groups()) if found else None


def parse_date(text: str | None) -> float | None:
    """``TimeUtil.parseDate`` (``LocalDate.parse``, midnight UTC) as epoch seconds."""
    found = _DATE.match(text or "")
    return _seconds_of((*found.groups(), None, None, None, None)) if found else None


def _finite(values: pa.Array) -> pa.Array:
    finite = pc.fill_null(pc.is_finite(values), False)
    return pc.if_else(finite, values, pa.scalar(None, pa.float64()))


def _numeric(column: pa.Array) -> pa.Array:
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return _finite(pc.cast(column, pa.float64()))
    return _finite(numbers(pc.cast(column, pa.string())).values)


def _parsed(column: pa.Array) -> pa.Array:
    """Cells a reader already parsed as timestamps or dates (a local date-time as UTC, as the
    tool has it), as epoch seconds."""
    zone = column.type.tz if pa.types.is_timestamp(column.type) else None
    micros = pc.cast(pc.cast(column, pa.timestamp("us", zone)), pa.int64())
    return pc.divide(pc.cast(micros, pa.float64()), 1e6)


def _texts(parse: Callable[[str | None], float | None]) -> Callable[[pa.Array], pa.Array]:
    def read(column: pa.Array) -> pa.Array:
        if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
            return _parsed(column)
        cells = pc.cast(column, pa.string()).to_pylist()
        return pa.array([parse(c) for c in cells], pa.float64())

    return read


_READERS: dict[str, Callable[[pa.Array], pa.Array]] = {
    "seconds": _numeric,
    "milliseconds": lambda column: pc.divide(_numeric(column), 1000.0),
    "date_time": _texts(parse_date_time),
    "date": _texts(parse_date),
}


def row_seconds(columns: Sequence[tuple[str, pa.Array | pa.ChunkedArray]]) -> pa.Array:
    """Each row's time in epoch seconds (float64): the first of ``columns`` (field name and
    its cells, in the tool's order, as ``fields_of`` lists them) that holds a valid value;
    null where none does."""
    kinds = dict(ORDER)
    chosen: pa.Array | None = None
    for name, column in columns:
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if chosen is not None and chosen.null_count == 0:
            break
        values = _READERS[kinds[name]](column)
        chosen = values if chosen is None else pc.coalesce(chosen, values)
    if chosen is None:
        return pa.array(np.array([], dtype=np.float64))
    return chosen
