"""Source ``mhealth``: UCI MHEALTH (Kaggle ``nirmalsankalana/mhealth-dataset-data-set``).

Each ``mHealth_subjectN.log`` is tab-separated, has no header and 24 columns recorded at
50 Hz: chest acceleration, two ECG leads, left-ankle and right-lower-arm acceleration,
gyroscope and magnetometer, and an activity label 0..12. The recordings carry no clock, so
a row's time is the configured recording start plus ``row_index`` x 20 ms. A ``.csv``
re-packaging of the set (a header row, the subject as a column: Kaggle's
``mhealth_raw_data.csv``) is read by ``repackaged.py`` into the same rows and columns.

Conversion streams the file in blocks of whole lines (8 MiB, into one reused buffer) and
parses each straight to float64 with ``decimal_text``, a strict exact parser compiled by
numba (``_read_exact`` says why); a block it declines goes to Arrow's CSV reader, which names
the lines with the wrong field count, and a block in which any cell is bad is parsed again as
bytes and checked cell by cell, vectorised (``_read_checked``), so a bad row costs its block
a second pass, never the file. A worker thread parses the next row group while the caller
writes this one; peak memory stays under 512 MiB for any file size (see ``bench/README.md``
for the figures).

Bad input, line by line (``row_index`` is the line number - 1, so a dropped line leaves a
20 ms gap and every kept row keeps its true time):

- wrong number of fields, a blank line, a non-numeric cell (including an empty one), NaN or
  infinity, an activity label that is not an integer in 0..12, an unterminated last line that
  is bad (a truncated write), a line longer than a block: the line is skipped and counted
  under its reason, with the first five examples (file line number and text) in the file's
  ``RejectionReport``; the Convert step writes these beside the file in quarantine.
- the whole file is rejected (``RejectedFile``, quarantined with the reason) when it is empty
  or binary (NUL bytes in its first 64 KiB), and by the toolkit's file rule (the report
  counts lines) when it has no valid row or more than half of its lines are bad: a file
  that is mostly unreadable is most likely not an MHEALTH log at all (another format or
  delimiter, a corrupt copy). Below that, damage is local (a truncated write, a corrupt
  stretch) and the good rows are kept.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

from phenolake import decimal_text
from phenolake.sources.base import (
    DayBatch,
    FetchTask,
    Lazy,
    Member,
    Provenance,
    RejectedFile,
    Source,
)
from phenolake.sources.mhealth import repackaged
from phenolake.sources.toolkit import (
    EXAMPLE_CHARS,
    PROVENANCE_FIELDS,
    ConstantColumns,
    InvalidRows,
    RejectionReport,
    line_example,
    numbers,
    provenance_row,
    split_by_day,
)

SENSOR_COLUMNS = [
    "chest_acc_x", "chest_acc_y", "chest_acc_z",
    "ecg_lead_1", "ecg_lead_2",
    "left_ankle_acc_x", "left_ankle_acc_y", "left_ankle_acc_z",
    "left_ankle_gyro_x", "left_ankle_gyro_y", "left_ankle_gyro_z",
    "left_ankle_mag_x", "left_ankle_mag_y", "left_ankle_mag_z",
    "right_lower_arm_acc_x", "right_lower_arm_acc_y", "right_lower_arm_acc_z",
    "right_lower_arm_gyro_x", "right_lower_arm_gyro_y", "right_lower_arm_gyro_z",
    "right_lower_arm_mag_x", "right_lower_arm_mag_y", "right_lower_arm_mag_z",
]  # fmt: skip
COLUMNS = [*SENSOR_COLUMNS, "activity_id"]

ACTIVITIES = {
    0: "Null class",
    1: "Standing still",
    2: "Sitting and relaxing",
    3: "Lying down",
    4: "Walking",
    5: "Climbing stairs",
    6: "Waist bends forward",
    7: "Frontal elevation of arms",
    8: "Knees bending (crouching)",
    9: "Cycling",
    10: "Jogging",
    11: "Running",
    12: "Jump front & back",
}

RATE_HZ = 50.0
DEFAULT_RECORDING_START = dt.datetime(2014, 1, 1, tzinfo=dt.UTC)
KAGGLE_DATASET = "nirmalsankalana/mhealth-dataset-data-set"
#: Raw bytes parsed at a time (whole lines): about 43,000 rows (16 MiB: +26 MiB peak RSS).
BLOCK_BYTES = 8 << 20
#: Rows parsed and written at a time (one Parquet row group), unless a day ends first.
#: Measured on the benchmark log: 2^17 rows, the same speed and +25 MiB peak RSS; 2^18,
#: +55 MiB more; 2^16, ~5% slower and +2% output.
ROW_GROUP_ROWS = 3 << 15
_SUBJECT = re.compile(r"mhealth_subject(\d+)\.log$", re.IGNORECASE)

#: Every column is required (not nullable): a kept row has every value, and the Parquet
#: writer then spends nothing on definition levels (11% of its time here).
STAGE_SCHEMA = pa.schema(
    [
        pa.field(name, kind, nullable=False)
        for name, kind in [
            ("user_id", pa.string()),
            ("row_index", pa.int64()),
            *[(c, pa.float64()) for c in SENSOR_COLUMNS],
            ("activity_id", pa.int16()),
            *[(f.name, f.type) for f in PROVENANCE_FIELDS],
        ]
    ]
)


def user_id_of(path: str) -> str | None:
    match = _SUBJECT.search(path)
    return match.group(1) if match else None


def day_of_row(row_index: int, start: dt.datetime = DEFAULT_RECORDING_START) -> str:
    return (start + dt.timedelta(seconds=row_index / RATE_HZ)).date().isoformat()


class MHealth(Source):
    name = "mhealth"
    spec = Lazy("phenolake.sources.mhealth.spec:SPEC")
    options_model = Lazy("phenolake.sources.mhealth.options:MHealthOptions")
    tables: ClassVar[tuple[str, ...]] = ("mhealth", "mhealth_readings")
    nominal_hz: ClassVar[dict[str, float]] = {"readings": RATE_HZ}
    metric_tables: ClassVar[dict[str, str]] = {"readings": "mhealth_readings"}
    #: Writing is half of the conversion's work and the slower of its two threads
    #: (``bench/README.md``), so the staged files are written for speed; Glue rewrites them
    #: into the curated tables. ``row_index`` (one value per row) is delta-encoded rather than
    #: hashed into a dictionary that overflows and is thrown away; min/max statistics are kept
    #: for the columns a reader filters on, not for the 23 sensor columns; pages hold a whole
    #: row group and values go to the encoder 64k at a time; zstd's fastest standard level
    #: (-1: 5% less writer time for 1% more bytes). Measured per 0.24 GB: 0.50 -> 0.40 CPU-s.
    stage_parquet: ClassVar[dict[str, Any]] = {
        "use_dictionary": [name for name in STAGE_SCHEMA.names if name != "row_index"],
        "column_encoding": {"row_index": "DELTA_BINARY_PACKED"},
        "write_statistics": ["user_id", "row_index", "activity_id"],
        "compression_level": -1,
        "write_batch_size": 1 << 16,
        "max_rows_per_page": ROW_GROUP_ROWS,
    }

    def __init__(
        self,
        recording_start: dt.datetime = DEFAULT_RECORDING_START,
        *,
        block_bytes: int = BLOCK_BYTES,
        row_group_rows: int = ROW_GROUP_ROWS,
    ) -> None:
        self.recording_start = recording_start
        self.block_bytes = block_bytes
        self.row_group_rows = row_group_rows

    def recognise(self, relative_path: str) -> bool:
        lowered = relative_path.lower()
        return bool(_SUBJECT.search(lowered)) or "mhealth" in Path(lowered).name

    def member(self, raw_path: str) -> Member | None:
        """A ``mHealth_subjectN.log`` (participant ``N``), or a CSV re-packaging of the set
        (``repackaged.py``), whose participant is each row's: the member's is empty."""
        if raw_path.lower().endswith(repackaged.SUFFIXES):
            return Member(source=self.name, participant="", metric="readings")
        user_id = user_id_of(raw_path)
        if user_id is None:
            return None
        return Member(source=self.name, participant=user_id, metric="readings")

    def side_file(self, raw_path: str) -> str | None:
        """The set's own documentation (``MHEALTHDATASET/README.txt`` in the UCI zip)."""
        if Path(raw_path).name.lower().startswith("readme"):
            return "the data set's documentation (README), not data"
        return super().side_file(raw_path)

    def reject_reason(self, raw_path: str) -> str | None:
        return (
            "not an MHEALTH file: expected mHealth_subjectN.log (tab-separated, 24 fields) or a "
            "CSV re-packaging (.csv with a header naming subject, Activity and channels)"
        )

    def convert(
        self, stream: BinaryIO, member: Member, provenance: Provenance, report: RejectionReport
    ) -> Iterator[DayBatch]:
        """Stream the log in blocks of whole lines; keep the good rows, report the bad ones.

        A worker thread reads and parses the next group of blocks (about ``row_group_rows``
        rows, one Parquet row group when written) while the caller writes this one, so at
        most two groups are in memory. Raises RejectedFile for an empty or binary file; the
        report counts lines, so the file rule rejects one with no valid row, or where more
        than half of the lines are bad."""
        if provenance.source_key.lower().endswith(repackaged.SUFFIXES):
            yield from repackaged.convert(
                stream, provenance, report, SENSOR_COLUMNS, self._day_numbers, self._first_day()
            )
            return
        report.judge_by("line")
        blocks = _blocks(stream, self.block_bytes)
        next_line = 0  # lines before the next block; advanced only by the worker, in order
        constants = ConstantColumns({"user_id": member.participant, **provenance_row(provenance)})

        def parse_group() -> _Parsed | None:
            """Parse blocks until they hold a row group's worth of rows, or the input ends."""
            nonlocal next_line
            group: _Parsed | None = None
            while group is None or group.rows < self.row_group_rows:
                block = next(blocks, None)
                if block is None:
                    break
                table, row_index, block_report = self._parse(block, next_line)
                next_line += block_report.seen
                group = group or _Parsed()
                group.add(table, row_index, block_report)
            return group

        # The worker only reads and parses (numba's parser runs without the GIL); building the
        # stage table and splitting it by day is done here, beside the writer, which keeps
        # the two threads' work about equal (bench/README.md).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mhealth-parse") as pool:
            pending = pool.submit(parse_group)
            while (group := pending.result()) is not None:
                pending = pool.submit(parse_group)
                report.merge(group.report)
                batches = []
                if group.rows:
                    batches = self._day_batches(*group.rows_and_indexes(), constants)
                del group
                while batches:
                    yield batches.pop(0)  # dropped as soon as written
        if report.seen == 0:
            raise RejectedFile("empty file: no rows")

    def _parse(
        self, block: _Block, first_line: int
    ) -> tuple[pa.Table, np.ndarray, RejectionReport]:
        """One block of whole lines -> its good rows, their ``row_index`` and its bad-row report.

        ``first_line`` is the number of lines before the block; line numbers in the report are
        1-based lines of the file, and a kept row's ``row_index`` is its line number - 1."""
        report = RejectionReport()
        if block.data is None:  # one over-long line, already skipped by the reader
            report.seen = 1
            report.add(LONG_LINE, [line_example(first_line + 1, block.example)])
            return _NO_ROWS, np.zeros(0, dtype=np.int64), report
        table, invalid = _read_fast(block.data)
        checked = None
        if table is None:
            table, invalid, checked = _read_checked(block.data)
        lines = table.num_rows + len(invalid.numbers)
        report.seen = lines
        last_line = lines if block.truncated else 0  # the unterminated line, if it is bad
        for number, text in zip(invalid.numbers, invalid.texts, strict=True):
            reason = TRUNCATED if number == last_line else WRONG_FIELDS
            report.add(reason, [line_example(first_line + number, text)])
        # 1-based line within the block of each parsed row: every line but the invalid ones.
        row_lines = np.arange(1, lines + 1, dtype=np.int64)
        if invalid.numbers:
            row_lines = np.delete(row_lines, np.asarray(invalid.numbers, dtype=np.int64) - 1)
        if checked is not None:
            codes = checked.codes
            if last_line and row_lines.size and row_lines[-1] == last_line and codes[-1]:
                codes[-1] = _TRUNCATED
            bad = codes != _OK
            for code in np.unique(codes[bad]):
                where = np.flatnonzero(codes == code)
                examples = (
                    line_example(first_line + row_lines[i], checked.text(int(i))) for i in where
                )
                report.add(_REASONS[code], examples, rows=where.size)
            if bad.any():
                table = table.filter(pa.array(~bad))
                row_lines = row_lines[~bad]
        return table, first_line + row_lines - 1, report

    def _day_batches(
        self, table: pa.Table, row_index: np.ndarray, constants: ConstantColumns
    ) -> list[DayBatch]:
        rows = table.num_rows
        if rows == 0:
            return []
        constant = constants.columns(rows)
        columns: list[pa.Array | pa.ChunkedArray] = [
            constant["user_id"],
            pa.array(row_index, pa.int64()),
            *[table.column(name) for name in COLUMNS],
            constant["source_key"],
            constant["source_sha256"],
            constant["run_id"],
        ]
        stage = pa.Table.from_arrays(columns, schema=STAGE_SCHEMA)
        return split_by_day(stage, self._day_numbers(row_index), self._first_day())

    def _first_day(self) -> dt.date:
        return self.recording_start.date()

    def _day_numbers(self, row_index: np.ndarray) -> np.ndarray:
        """The day of each row counted from ``_first_day``, from integer microseconds (rows
        ascend, so days do too)."""
        midnight = self.recording_start.replace(hour=0, minute=0, second=0, microsecond=0)
        offset_us = (self.recording_start - midnight) // dt.timedelta(microseconds=1)
        return (offset_us + row_index * _ROW_US) // _DAY_US

    def fetch_tasks(self, options: dict[str, Any]) -> list[FetchTask]:
        dataset = options.get("kaggle_dataset")
        if not dataset:
            return []
        return [FetchTask(source=self.name, kind="kaggle", spec={"dataset": dataset})]

    def write_samples(self, out_dir: Path, seed: int, rows: int = 1500) -> list[Path]:
        """Three subjects' logs of ``rows`` rows each, activities in runs like the real set."""
        from phenolake.sources.mhealth import samples

        return samples.write(out_dir, seed, rows)


# --- reading -----------------------------------------------------------------------------

WRONG_FIELDS = "row does not have 24 tab-separated fields"
TRUNCATED = "truncated last line (no newline at end of file)"
BLANK = "blank line"
NON_NUMERIC = "non-numeric value"
NON_FINITE = "NaN or infinite value"
BAD_LABEL = "activity label is not an integer in 0..12"
LONG_LINE = "line longer than the read block"

_OK, _BLANK, _NON_NUMERIC, _NON_FINITE, _BAD_LABEL, _TRUNCATED = range(6)
_REASONS = {
    _BLANK: BLANK,
    _NON_NUMERIC: NON_NUMERIC,
    _NON_FINITE: NON_FINITE,
    _BAD_LABEL: BAD_LABEL,
    _TRUNCATED: TRUNCATED,
}
_ROW_US = round(1_000_000 / RATE_HZ)
_DAY_US = 86_400 * 1_000_000
_SNIFF_BYTES = 64 << 10
# Besides the finite numbers (toolkit.NUMBER), the cells Arrow's float parser reads as NaN or
# infinity (once blanks are trimmed); everything else it refuses.
_NAN_OR_INF = r"^[+-]?(?:nan|inf)"

_PARSE = {
    "delimiter": "\t",
    "quote_char": False,
    "double_quote": False,
    "escape_char": False,
    # a blank line becomes a row of empty cells, so it is counted (never silently skipped)
    "ignore_empty_lines": False,
}
_FAST = csv.ConvertOptions(
    column_types=dict.fromkeys(COLUMNS, pa.float64()),
    null_values=[],
    strings_can_be_null=False,
    quoted_strings_can_be_null=False,
)
_RAW = csv.ConvertOptions(
    column_types=dict.fromkeys(COLUMNS, pa.binary()),
    null_values=[],
    strings_can_be_null=False,
    quoted_strings_can_be_null=False,
)


_NO_ROWS = pa.schema(
    [(name, pa.float64()) for name in SENSOR_COLUMNS] + [("activity_id", pa.int16())]
).empty_table()


@dataclass
class _Block:
    """Whole lines of the file; ``data`` None stands for one over-long line, skipped."""

    data: memoryview | None
    truncated: bool = False  # the file's last line, with no newline after it
    example: str = ""


@dataclass
class _Checked:
    codes: np.ndarray  # a reason code per parsed row, _OK for a good one
    raw: pa.Table  # the cells as read (binary), for example lines

    def text(self, row: int) -> str:
        if self.codes[row] == _BLANK:
            return ""
        cells = [self.raw.column(name)[row].as_py() for name in COLUMNS]
        return b"\t".join(cells).decode("utf-8", "replace")[:EXAMPLE_CHARS]


@dataclass
class _Parsed:
    """The good rows of consecutive blocks, their ``row_index`` and the bad-line report."""

    tables: list[pa.Table] = field(default_factory=list)
    row_indexes: list[np.ndarray] = field(default_factory=list)
    report: RejectionReport = field(default_factory=RejectionReport)
    rows: int = 0

    def add(self, table: pa.Table, row_index: np.ndarray, report: RejectionReport) -> None:
        if table.num_rows:
            self.tables.append(table)
            self.row_indexes.append(row_index)
            self.rows += table.num_rows
        self.report.merge(report)

    def rows_and_indexes(self) -> tuple[pa.Table, np.ndarray]:
        return pa.concat_tables(self.tables), np.concatenate(self.row_indexes)


def _blocks(stream: BinaryIO, size: int) -> Iterator[_Block]:
    """Blocks of at most ``size`` bytes, cut after a newline, read into one reused buffer.

    The file is never whole in memory. A block's data is a view of the buffer, valid until
    the next block is asked for (the worker parses each block before reading the next)."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    held = 0  # bytes of an unfinished line at the start of the buffer
    first = True
    while True:
        got = _read_into(stream, view[held:])
        end = held + got
        if first and got:
            first = False
            if buffer.find(b"\0", 0, min(end, _SNIFF_BYTES)) >= 0:
                raise RejectedFile("binary file (NUL bytes), not an MHEALTH log")
        if not got:
            if held:
                yield _Block(view[:held], truncated=True)
            return
        cut = buffer.rfind(b"\n", 0, end) + 1
        if cut:
            yield _Block(view[:cut])
            held = end - cut
            buffer[:held] = buffer[cut:end]
        elif end < size:
            held = end  # a short read: read on
        else:  # no newline in a whole block: no MHEALTH line is this long; skip to the next
            example = bytes(view[:EXAMPLE_CHARS]).decode("utf-8", "replace")
            held = 0
            while got := _read_into(stream, view):
                newline = buffer.find(b"\n", 0, got)
                if newline >= 0:
                    held = got - newline - 1
                    buffer[:held] = buffer[newline + 1 : got]
                    break
            yield _Block(None, example=example)


def _read_into(stream: BinaryIO, view: memoryview) -> int:
    readinto = getattr(stream, "readinto", None)
    if readinto is not None:
        return readinto(view) or 0
    data = stream.read(len(view))
    view[: len(data)] = data
    return len(data)


def _read(
    data: memoryview | bytes, convert: csv.ConvertOptions, threads: bool = False
) -> tuple[pa.Table, InvalidRows]:
    invalid = InvalidRows()
    table = csv.read_csv(
        pa.py_buffer(data),
        # with threads the parser cannot tell line numbers (row.number is None)
        read_options=csv.ReadOptions(column_names=COLUMNS, use_threads=threads),
        parse_options=csv.ParseOptions(**_PARSE, invalid_row_handler=invalid.handler),
        convert_options=convert,
    )
    return table, invalid


def _read_fast(data: memoryview | bytes) -> tuple[pa.Table | None, InvalidRows]:
    """Parse straight to float64; None when any cell or label is bad (then _read_checked).

    ``decimal_text`` parses first (``_read_exact``); a block it declines goes to Arrow's
    reader, on Arrow's thread pool; a block with a line of the wrong field count is parsed
    again on one thread, for its line numbers."""
    table = _read_exact(data)
    if table is not None:
        return _with_labels(table), InvalidRows()
    try:
        table, invalid = _read(data, _FAST, threads=True)
        if invalid.numbers:
            table, invalid = _read(data, _FAST)
    except pa.ArrowInvalid:
        return None, InvalidRows()
    return _finite_with_labels(table), invalid


def _read_exact(data: memoryview | bytes) -> pa.Table | None:
    """The block parsed by ``decimal_text``, or None unless every line is 24 plain decimals.

    This is the speed of the conversion: ~4 CPU-seconds for the 2.4 GB benchmark log where
    Arrow's reader takes ~17. It reads only the plain decimal grammar and only when the result
    is exact (``decimal_text`` says why), and never says which line was bad, so it only ever
    says "clean": any other block goes to Arrow's reader, which keeps the good rows and names
    the bad lines. Its values are the doubles Arrow reads (tests/unit/test_decimal_text.py
    checks it bit for bit). Without numba every block goes to Arrow: the same output, slower."""
    columns = decimal_text.parse(data, len(COLUMNS))
    if columns is None:
        return None
    return pa.Table.from_arrays(columns, names=COLUMNS)


def _finite_with_labels(table: pa.Table) -> pa.Table | None:
    """The table with ``activity_id`` as int16, or None when a value is NaN or infinite, or a
    label is not an integer in 0..12 (the checks every row of a clean block passes)."""
    for name in COLUMNS:  # a NaN or infinity anywhere makes a column's sum non-finite
        if table.num_rows and not math.isfinite(pc.sum(table.column(name)).as_py()):
            return None
    return _with_labels(table)


def _with_labels(table: pa.Table) -> pa.Table | None:
    """The table with ``activity_id`` as int16, or None unless every label is an integer in
    0..12 (``decimal_text`` reads only finite numbers, so its tables need no more checks)."""
    if not table.num_rows:
        return table.set_column(len(COLUMNS) - 1, "activity_id", pa.array([], pa.int16()))
    labels = table.column("activity_id")
    low, high = pc.min_max(labels).values()
    if low.as_py() < 0 or high.as_py() > 12:
        return None
    try:
        labels = pc.cast(labels, pa.int16())  # safe cast: refuses 4.5
    except pa.ArrowInvalid:
        return None
    return table.set_column(len(COLUMNS) - 1, "activity_id", labels)


def _read_checked(data: memoryview | bytes) -> tuple[pa.Table, InvalidRows, _Checked]:
    """Parse cells as bytes and check each, vectorised: the slow path for a block with bad cells.

    A cell is good exactly when the fast path would have read it as a finite float64."""
    raw, invalid = _read(data, _RAW)
    rows = raw.num_rows
    blank = np.ones(rows, dtype=bool)
    non_numeric = np.zeros(rows, dtype=bool)
    non_finite = np.zeros(rows, dtype=bool)
    values: list[pa.ChunkedArray] = []
    for name in COLUMNS:
        cells = raw.column(name)
        blank &= _numpy(pc.equal(pc.binary_length(cells), 0))
        try:
            column = pc.cast(cells, pa.float64())
            numeric = np.ones(rows, dtype=bool)
        except pa.ArrowInvalid:
            read = numbers(cells)
            column = read.values
            nan_or_inf = pc.match_substring_regex(read.trimmed, _NAN_OR_INF, ignore_case=True)
            numeric = _numpy(pc.or_(read.is_number, nan_or_inf))
        finite = _numpy(pc.fill_null(pc.is_finite(column), False))
        non_numeric |= ~numeric
        non_finite |= numeric & ~finite
        values.append(column)
    labels = _numpy_float(values[-1])
    with np.errstate(invalid="ignore"):
        good_label = (labels >= 0) & (labels <= 12) & (labels == np.floor(labels))
    codes = np.full(rows, _OK, dtype=np.int8)
    codes[~good_label] = _BAD_LABEL
    codes[non_finite] = _NON_FINITE
    codes[non_numeric] = _NON_NUMERIC
    codes[blank] = _BLANK
    values[-1] = pc.cast(pa.array(np.where(codes == _OK, labels, 0.0)), pa.int16())
    table = pa.Table.from_arrays(values, names=COLUMNS)
    return table, invalid, _Checked(codes, raw)


def _numpy(mask: Any) -> np.ndarray:
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def _numpy_float(column: Any) -> np.ndarray:
    return np.asarray(pc.fill_null(column, np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)
