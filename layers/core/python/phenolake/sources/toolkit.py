"""The converter toolkit: what every source's converter shares, defined once.

A converter (``Source.convert``) knows its format; the rules a user sees the same for every
source live here, so a source cannot drift from them:

- one ``RejectionReport`` per raw file, which the Convert step hands to the converter and the
  converter fills: bad rows by reason, exact counts, the first ``MAX_EXAMPLES`` examples,
  each cut to ``EXAMPLE_CHARS``;
- the file rule (``RejectionReport.judge``): a file whose converter counts what it read
  (``judge_by``) is rejected whole when none of it, or more than ``MAX_BAD_FRACTION`` of it,
  is bad: a file that is mostly unreadable is most likely another format or a corrupt copy,
  and keeping the minority that happens to parse would pass damage off as data;
- the time-range rule (``in_time_range``): rows before 2000 or more than a day in the future
  are a clock reset or a unit mix-up, rejected so that no far-off day partition is written;
- ``convert``, which runs a source's converter under both rules, as the Convert step does;
- the numeric-cell check (``NUMBER``, ``numbers``): one grammar for a decimal cell, the one
  ``decimal_text`` (MHEALTH's fast path) parses, and that Arrow's float parser accepts;
- provenance columns (``provenance_columns``, ``ConstantColumns``) and day splitting
  (``utc_days``, ``split_by_day``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from phenolake.sources.base import DayBatch, Member, Provenance, RejectedFile, SideTable

if TYPE_CHECKING:
    from phenolake.sources.base import Source

#: A file with more bad rows than this fraction of what it holds is rejected whole.
MAX_BAD_FRACTION = 0.5
#: Example lines kept per reason (a reason file names the first few, the counts are exact).
MAX_EXAMPLES = 5
#: Characters of a bad line or cell an example shows (enough to recognise it, no more).
EXAMPLE_CHARS = 120

# --- rejections -----------------------------------------------------------------------------


@dataclass
class Rejection:
    """Rows (or a whole file) a converter would not accept, and why."""

    reason: str
    rows: int = 0
    examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "rows": self.rows, "examples": self.examples[:MAX_EXAMPLES]}


def quoted(text: str) -> str:
    """A bad line or cell as an example shows it: quoted, at most ``EXAMPLE_CHARS`` of it."""
    return repr(text[:EXAMPLE_CHARS])


@dataclass
class InvalidRows:
    """Lines Arrow's CSV reader refused (wrong field count), collected by its
    ``invalid_row_handler``: their 1-based numbers and texts (cut to ``EXAMPLE_CHARS``)."""

    numbers: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def handler(self, row: Any) -> str:
        self.numbers.append(row.number)
        self.texts.append(row.text[:EXAMPLE_CHARS])
        return "skip"


def line_example(line: int, text: str) -> str:
    return f"line {int(line)}: {quoted(text)}"


@dataclass
class RejectionReport:
    """A file's bad rows by reason (exact counts, the first ``MAX_EXAMPLES`` examples) and,
    when its converter counts them (``judge_by``), the rows, lines or records it read: what
    the Convert step quarantines beside the file, and what the file rule (``judge``) weighs."""

    seen: int = 0
    by_reason: dict[str, Rejection] = field(default_factory=dict)
    #: What ``seen`` counts ("line", "record", "row"), named in the file rule's reason; None
    #: when the converter does not count (radar: its bad rows are kept apart, never the file).
    unit: str | None = None

    @property
    def bad(self) -> int:
        return sum(r.rows for r in self.by_reason.values())

    def judge_by(self, unit: str) -> None:
        """Say that ``seen`` counts ``unit``s (every one either kept or added here as bad),
        so the file rule applies to this file."""
        self.unit = unit

    def add(self, reason: str, examples: Iterable[str] = (), rows: int = 1) -> None:
        rejection = self.by_reason.setdefault(reason, Rejection(reason=reason))
        rejection.rows += rows
        room = MAX_EXAMPLES - len(rejection.examples)
        rejection.examples.extend(itertools.islice(examples, max(room, 0)))

    def merge(self, other: RejectionReport) -> None:
        self.seen += other.seen
        for reason, theirs in other.by_reason.items():
            self.add(reason, theirs.examples, rows=theirs.rows)

    def rejections(self) -> list[Rejection]:
        return list(self.by_reason.values())

    def summary(self) -> str:
        return "; ".join(
            f"{r.reason}: {r.rows}" + (f" (first: {r.examples[0]})" if r.examples else "")
            for r in self.by_reason.values()
        )

    def judge(self) -> None:
        """The file rule: raise RejectedFile when none of what was read is good, or more than
        ``MAX_BAD_FRACTION`` of it is bad. Files of no rows and converters that do not count
        (``unit`` None) pass; damage below the fraction is local, and the good rows stay."""
        if self.unit is None or not self.seen:
            return
        if self.bad >= self.seen:
            raise RejectedFile(f"no valid rows in {self.seen} {self.unit}(s): {self.summary()}")
        if self.bad > self.seen * MAX_BAD_FRACTION:
            raise RejectedFile(
                f"most {self.unit}s are bad ({self.bad} of {self.seen}): {self.summary()}"
            )


# --- the rules the Convert step applies ------------------------------------------------------

EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
#: How far ahead of now a row's time may be (a device clock a little fast, a time zone).
AHEAD = dt.timedelta(days=1)
OUT_OF_RANGE = "time before 2000-01-01 or more than a day in the future"


def in_time_range(batch: DayBatch, column: str | None, report: RejectionReport) -> DayBatch | None:
    """The batch without rows whose time cannot be right; they are added to ``report``."""
    if column is None or column not in batch.table.column_names:
        return batch
    times = batch.table.column(column)
    unit = times.type.unit
    low = pa.scalar(EARLIEST, pa.timestamp(unit, "UTC"))
    high = pa.scalar(dt.datetime.now(dt.UTC) + AHEAD, pa.timestamp(unit, "UTC"))
    utc = pc.cast(times, pa.timestamp(unit, "UTC"))
    bad = pc.fill_null(pc.or_(pc.less(utc, low), pc.greater(utc, high)), False)
    count = pc.sum(bad).as_py() or 0
    if not count:
        return batch
    examples = pc.filter(times, bad).slice(0, MAX_EXAMPLES).to_pylist()
    report.add(OUT_OF_RANGE, (f"{column} {e}" for e in examples), rows=count)
    kept = batch.table.filter(pc.invert(bad))
    return dataclasses.replace(batch, table=kept) if kept.num_rows else None


def convert(
    source: Source,
    stream: BinaryIO,
    member: Member,
    provenance: Provenance,
    report: RejectionReport,
    companions: Mapping[str, bytes] | None = None,
) -> Iterator[DayBatch | SideTable]:
    """The source's day batches and side tables under the rules every source shares.

    Rows out of the time range (``Source.time_column``) are dropped from each batch; when the
    converter is done, the file rule (``RejectionReport.judge``) may reject the file, so a
    caller writes what it gets only once the iteration ends. The rows out of range are added
    to ``report`` last: the file rule weighs what the converter itself found bad.

    ``companions`` (those found of the files beside this one that the source names,
    ``Source.companions``) reach the converter as its keyword of that name; when there are
    none it is called without it, so a source that names none keeps the plain signature."""
    out_of_range = RejectionReport()
    extra = {"companions": companions} if companions else {}
    converted = source.convert(stream, member, provenance, report, **extra)  # type: ignore[call-arg]
    with contextlib.closing(converted) as batches:
        for batch in batches:
            if isinstance(batch, DayBatch):
                kept = in_time_range(batch, source.time_column, out_of_range)
                if kept is None:
                    continue
                batch = kept
            yield batch
    report.judge()
    report.merge(out_of_range)


# --- numeric cells -------------------------------------------------------------------------

#: A decimal number cell: ``[+-]digits[.digits][(e|E)[+-]digits]`` or ``[+-].digits``. The
#: grammar ``decimal_text`` parses, and the finite numbers Arrow's float parser accepts
#: (``tests/unit/test_toolkit.py`` checks both).
NUMBER = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
#: What may surround a number in its cell: what Arrow's CSV reader trims (spaces and tabs).
_BLANKS = r"^[ \t]+|[ \t]+$"


@dataclass(frozen=True)
class Numbers:
    """Cells read as numbers: ``values`` (float64, null where a cell is not a number; a huge
    exponent is infinite), ``is_number`` and the cells without their surrounding blanks."""

    values: pa.Array | pa.ChunkedArray
    is_number: pa.Array | pa.ChunkedArray
    trimmed: pa.Array | pa.ChunkedArray


def numbers(cells: pa.Array | pa.ChunkedArray) -> Numbers:
    """Text or binary cells checked against ``NUMBER`` (surrounded by blanks or not) and read
    as float64: vectorised, for a column that Arrow's cast refused as a whole."""
    trimmed = pc.replace_substring_regex(cells, pattern=_BLANKS, replacement="")
    is_number = pc.fill_null(pc.match_substring_regex(trimmed, f"^{NUMBER}$"), False)
    null = pa.scalar(None, trimmed.type)
    values = pc.cast(pc.if_else(is_number, trimmed, null), pa.float64())
    return Numbers(values, is_number, trimmed)


# --- provenance columns --------------------------------------------------------------------

PROVENANCE_FIELDS = [
    pa.field("source_key", pa.string()),
    pa.field("source_sha256", pa.string()),
    pa.field("run_id", pa.string()),
]


def provenance_row(provenance: Provenance) -> dict[str, str]:
    """The provenance of one row, for converters that build rows one by one."""
    return dataclasses.asdict(provenance)


def constant_column(value: str, rows: int) -> pa.Array:
    """A string array of one value, built from buffers (``pa.repeat`` and a Python list of
    ``rows`` strings are ~30x slower).

    The int32 offsets bound it to 2 GiB of text: a converter's batch (mhealth: a row group and
    a block, some 150,000 rows) of a value no longer than an S3 key (1,024 bytes) stays far
    below."""
    data = value.encode()
    if len(data) * rows >= 2**31:
        raise ValueError(f"constant column too large: {rows} rows of {len(data)} bytes")
    offsets = np.arange(rows + 1, dtype=np.int32) * np.int32(len(data))
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data * rows)]
    return pa.Array.from_buffers(pa.string(), rows, buffers)


def dictionary_column(value: str, rows: int) -> pa.Array:
    """A dictionary-encoded array of one value: 4 bytes a row whatever the value's length,
    for batches of millions of rows (embrace: a day of acc is 2.8 million)."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(rows, dtype=np.int32)), pa.array([value], pa.string())
    )


def provenance_columns(
    provenance: Provenance, rows: int, *, dictionary: bool = False
) -> dict[str, pa.Array]:
    """The provenance columns of ``rows`` rows, named as ``PROVENANCE_FIELDS``; as strings,
    or dictionary-encoded (``dictionary_column``)."""
    make = dictionary_column if dictionary else constant_column
    return {name: make(value, rows) for name, value in provenance_row(provenance).items()}


class ConstantColumns:
    """Columns with one value per file (provenance, a participant id): built once, then sliced.

    Every batch's table shares the same string buffers, so they cost memory once, not per
    batch in flight (the sha256 alone would be 64 bytes a row)."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.arrays: dict[str, pa.Array] = {}
        self.size = 0

    def columns(self, rows: int) -> dict[str, pa.Array]:
        if rows > self.size:
            self.size = max(rows, 1 << 17)
            self.arrays = {
                name: constant_column(value, self.size) for name, value in self.values.items()
            }
        return {name: array.slice(0, rows) for name, array in self.arrays.items()}


# --- days ----------------------------------------------------------------------------------

_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}
_EPOCH_DAY = dt.date(1970, 1, 1)


def utc_days(epoch: Any, unit: str) -> np.ndarray:
    """The UTC day (counted from 1970-01-01) of each time since the epoch, in ``unit``
    (``s``, ``ms``, ``us``, ``ns``): integers, a timestamp array or column."""
    if isinstance(epoch, pa.ChunkedArray | pa.Array):
        epoch = pc.cast(epoch, pa.int64()).to_numpy()
    return np.asarray(epoch, dtype=np.int64) // _PER_DAY[unit]


def day_name(number: int, first_day: dt.date = _EPOCH_DAY) -> str:
    """The ISO date of day ``number`` counted from ``first_day``: a day partition's name."""
    return (first_day + dt.timedelta(days=int(number))).isoformat()


def split_by_day(
    table: pa.Table, day_numbers: np.ndarray, first_day: dt.date = _EPOCH_DAY
) -> list[DayBatch]:
    """The rows of ``table`` as one DayBatch per day, days in order; ``day_numbers`` holds
    each row's day counted from ``first_day``. Rows sorted by time (ascending days) are cut
    into slices, no copy; otherwise rows are grouped by day, in their order within a day."""
    day_numbers = np.asarray(day_numbers)
    if day_numbers.size > 1 and bool((day_numbers[1:] < day_numbers[:-1]).any()):
        order = np.argsort(day_numbers, kind="stable")
        table, day_numbers = table.take(pa.array(order)), day_numbers[order]
    cuts = (np.flatnonzero(day_numbers[1:] != day_numbers[:-1]) + 1).tolist()
    return [
        DayBatch(day_name(day_numbers[lo], first_day), table.slice(lo, hi - lo))
        for lo, hi in zip([0, *cuts], [*cuts, len(day_numbers)], strict=True)
        if hi > lo
    ]
