"""MHEALTH re-packaged as one CSV: a header row, one row per reading, the subject as a column.

Handled re-packaging (checked against the code that reads it, as published):

- Kaggle ``gaurav2022/mobile-health-human-behavior-analysis``, ``mhealth_raw_data.csv``
  (the download is a zip holding it): comma-separated, the header
  ``alx,aly,alz,glx,gly,glz,arx,ary,arz,grx,gry,grz,Activity,subject``, values as pandas
  writes the original doubles (``2.1849``), ``Activity`` the original label 0..12 and
  ``subject`` ``subject1`` .. ``subject10``. Its twelve channels are twelve of the 23 of the
  ``mHealth_subjectN.log`` files, in the same units: left-ankle acceleration (``al*``,
  m/s^2) and gyroscope (``gl*``, deg/s), right-lower-arm acceleration (``ar*``) and
  gyroscope (``gr*``). Chest acceleration, ECG and both magnetometers are not in it: those
  columns are null in its rows.
- The same with the columns under the names of the ``.log`` tables (``chest_acc_x`` ..
  ``right_lower_arm_mag_z``, ``activity_id``), any subset of the sensor columns, and a
  leading unnamed column (a pandas index, ignored).

Rows land in the same tables, with the same columns and participant ids as the ``.log``
files give: ``user_id`` is the digits of the ``subject`` cell (``subject1`` -> ``1``, as
``mHealth_subject1.log`` gives ``1``), and a row's ``row_index`` is its position among the
rows of its subject in the file (0-based), so its time (recording start + ``row_index`` x
20 ms) is the one the subject's ``.log`` line has, as long as the re-packaging kept every
line of each log in order (the Kaggle file does: a subject's rows are its log's). A row
with a bad cell keeps its place (its subject's later rows keep their time), as a bad
``.log`` line does; a row whose fields cannot be told apart (wrong field count) or whose
subject cannot be read belongs to no subject and takes no place.

Bad input: a header naming an unknown column, or lacking ``subject`` or the label, rejects
the file (``RejectedFile``: it is not this re-packaging); so does a file with a header and
no row. Bad rows are counted by reason with examples (``line N``: the file's 1-based line)
and the toolkit's file rule applies (the report counts rows).
"""

from __future__ import annotations

import csv as pycsv
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

from phenolake.sources.base import DayBatch, RejectedFile
from phenolake.sources.toolkit import (
    MAX_EXAMPLES,
    PROVENANCE_FIELDS,
    InvalidRows,
    RejectionReport,
    constant_column,
    line_example,
    numbers,
    quoted,
    split_by_day,
)

if TYPE_CHECKING:
    from phenolake.sources.base import Provenance

#: File names (lower case) of the re-packagings: what ``MHealth.member`` reads as one.
SUFFIXES = (".csv",)
#: The Kaggle re-packaging's channel names -> the ``.log`` tables' columns.
KAGGLE_CHANNELS = {
    "alx": "left_ankle_acc_x",
    "aly": "left_ankle_acc_y",
    "alz": "left_ankle_acc_z",
    "glx": "left_ankle_gyro_x",
    "gly": "left_ankle_gyro_y",
    "glz": "left_ankle_gyro_z",
    "arx": "right_lower_arm_acc_x",
    "ary": "right_lower_arm_acc_y",
    "arz": "right_lower_arm_acc_z",
    "grx": "right_lower_arm_gyro_x",
    "gry": "right_lower_arm_gyro_y",
    "grz": "right_lower_arm_gyro_z",
}
LABELS = ("activity", "activity_id")
SUBJECT = "subject"
INDEX = ("", "unnamed: 0")
#: A subject cell: ``subject1`` (Kaggle) or the bare number (RE2, for Arrow).
_SUBJECT = r"(?i)^(?:subject)?(?P<number>[0-9]+)$"
_HEADER_BYTES = 64 << 10
BLOCK_BYTES = 8 << 20

WRONG_FIELDS = "row does not have as many comma-separated fields as the header"
BLANK = "blank line"
BAD_SUBJECT = "subject is not subjectN or a number"
NON_NUMERIC = "non-numeric value"
NON_FINITE = "NaN or infinite value"
BAD_LABEL = "activity label is not an integer in 0..12"
EMPTY = "empty file: no rows"
HEADER_ONLY = "MHEALTH CSV has a header and no rows"


def stage_schema(sensors: list[str]) -> pa.Schema:
    """The ``.log`` files' staged schema (``convert.STAGE_SCHEMA``), its sensor columns
    nullable: a re-packaging lacks some channels, null in its rows."""
    from phenolake.sources.mhealth.convert import STAGE_SCHEMA

    return pa.schema([f.with_nullable(True) if f.name in sensors else f for f in STAGE_SCHEMA])


@dataclass
class Header:
    """Where each column of the file goes: file position -> table column (None: ignored)."""

    names: list[str]
    targets: list[str | None]
    label: int
    subject: int

    @property
    def sensors(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.targets) if t and t != "activity_id"}


def read_header(line: str, sensor_columns: list[str]) -> Header:
    """The header's columns mapped to the tables', or RejectedFile naming what is unknown."""
    names = csv_split(line)
    known = {**KAGGLE_CHANNELS, **{c: c for c in sensor_columns}}
    targets: list[str | None] = []
    unknown, label, subject = [], -1, -1
    for i, raw in enumerate(names):
        name = raw.strip().lower()
        if name in LABELS:
            label = i
            targets.append("activity_id")
        elif name == SUBJECT:
            subject = i
            targets.append(None)
        elif name in INDEX and i == 0:
            targets.append(None)
        elif name in known:
            targets.append(known[name])
        else:
            unknown.append(raw)
            targets.append(None)
    channels = [t for t in targets if t and t != "activity_id"]
    if unknown or label < 0 or subject < 0 or not channels or len(set(channels)) < len(channels):
        raise RejectedFile(
            "not an MHEALTH CSV: the header must name a subject column, an Activity column and "
            f"MHEALTH channels (alx .. grz, or chest_acc_x .. right_lower_arm_mag_z); found "
            f"{quoted(line.strip())}"
        )
    return Header(names=names, targets=targets, label=label, subject=subject)


def csv_split(line: str) -> list[str]:
    """The fields of one CSV line (quotes honoured)."""
    return next(pycsv.reader([line.rstrip("\r")]), [])


@dataclass
class Positions:
    """Each subject's rows read so far: the next row's ``row_index``."""

    next_index: dict[str, int] = field(default_factory=dict)

    def assign(self, subjects: np.ndarray, known: np.ndarray) -> np.ndarray:
        row_index = np.full(subjects.size, -1, dtype=np.int64)
        for subject in np.unique(subjects[known]):
            where = np.flatnonzero(known & (subjects == subject))
            first = self.next_index.get(str(subject), 0)
            row_index[where] = first + np.arange(where.size, dtype=np.int64)
            self.next_index[str(subject)] = first + where.size
        return row_index


def convert(
    stream: BinaryIO,
    provenance: Provenance,
    report: RejectionReport,
    sensor_columns: list[str],
    day_numbers: Any,
    first_day: Any,
) -> Iterator[DayBatch]:
    """Stream the CSV in blocks; yield each subject's good rows per day (``DayBatch.participant``).

    ``day_numbers(row_index)`` gives each row's day counted from ``first_day`` (the source's
    recording start), as for the ``.log`` files."""
    report.judge_by("row")
    head = stream.read(_HEADER_BYTES)
    if not head.strip():
        raise RejectedFile(EMPTY)
    if b"\0" in head:
        raise RejectedFile("binary file (NUL bytes), not an MHEALTH CSV")
    newline = head.find(b"\n")
    header_line = (head if newline < 0 else head[:newline]).decode("utf-8", "replace")
    header = read_header(header_line.lstrip("\ufeff"), sensor_columns)
    schema = stage_schema(sensor_columns)
    positions = Positions()
    invalid = InvalidRows()
    names = [f"c{i}" for i in range(len(header.names))]
    reader = csv.open_csv(
        _Chain(head, stream),
        read_options=csv.ReadOptions(
            column_names=names, skip_rows=1, use_threads=False, block_size=BLOCK_BYTES
        ),
        # a blank line is a row of the wrong field count: counted, never silently skipped
        parse_options=csv.ParseOptions(
            invalid_row_handler=invalid.handler, ignore_empty_lines=False
        ),
        convert_options=csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    kept_before = 0  # rows the reader gave before this batch (not counting invalid lines)
    reported = 0  # invalid lines already reported
    for batch in reader:
        table = pa.Table.from_batches([batch])
        rows = table.num_rows
        new_invalid = invalid.numbers[reported:]
        for number, text in zip(new_invalid, invalid.texts[reported:], strict=True):
            report.add(WRONG_FIELDS, [line_example(number, text)])
        report.seen += rows + len(new_invalid)
        reported = len(invalid.numbers)
        lines = _line_numbers(kept_before, rows, invalid.numbers)
        kept_before += rows
        if rows:
            yield from _day_batches(
                table, lines, header, schema, positions, provenance, report, day_numbers, first_day
            )
    if report.seen == 0:
        raise RejectedFile(HEADER_ONLY)


def _line_numbers(before: int, rows: int, invalid: list[int]) -> np.ndarray:
    """The file's 1-based line of each parsed row: the header is line 1, and each invalid
    line (its number known) sits between parsed rows."""
    k = before + np.arange(rows, dtype=np.int64)
    gaps = np.asarray(invalid, dtype=np.int64) - 2 - np.arange(len(invalid), dtype=np.int64)
    return k + 2 + np.searchsorted(np.sort(gaps), k, side="right")


def _day_batches(
    table: pa.Table,
    lines: np.ndarray,
    header: Header,
    schema: pa.Schema,
    positions: Positions,
    provenance: Provenance,
    report: RejectionReport,
    day_numbers: Any,
    first_day: Any,
) -> Iterator[DayBatch]:
    rows = table.num_rows
    subject_cells = pc.utf8_trim_whitespace(table.column(header.subject))
    found = pc.extract_regex(subject_cells, _SUBJECT)
    known = np.asarray(pc.is_valid(found).to_numpy(zero_copy_only=False), dtype=bool)
    subjects = np.asarray(
        pc.fill_null(pc.struct_field(found, [0]), "").to_numpy(zero_copy_only=False), dtype=object
    )
    row_index = positions.assign(subjects, known)
    blank = np.ones(rows, dtype=bool)
    for column in table.columns:
        blank &= _mask(pc.equal(pc.binary_length(column), 0))
    _add(report, BLANK, blank, lines, table)
    _add(report, BAD_SUBJECT, ~known & ~blank, lines, table)
    values: dict[str, pa.Array | pa.ChunkedArray] = {}
    non_numeric = np.zeros(rows, dtype=bool)
    non_finite = np.zeros(rows, dtype=bool)
    for target, position in header.sensors.items():
        read = numbers(table.column(position))
        nan_or_inf = pc.match_substring_regex(read.trimmed, r"^[+-]?(?:nan|inf)", ignore_case=True)
        numeric = _mask(pc.or_(read.is_number, nan_or_inf))
        finite = _mask(pc.fill_null(pc.is_finite(read.values), False))
        non_numeric |= ~numeric
        non_finite |= numeric & ~finite
        values[target] = read.values
    label_read = numbers(table.column(header.label))
    labels = np.asarray(
        pc.fill_null(label_read.values, np.nan).to_numpy(zero_copy_only=False), dtype=np.float64
    )
    with np.errstate(invalid="ignore"):
        good_label = (labels >= 0) & (labels <= 12) & (labels == np.floor(labels))
    _add(report, NON_NUMERIC, known & non_numeric, lines, table)
    _add(report, NON_FINITE, known & ~non_numeric & non_finite, lines, table)
    label_bad = known & ~non_numeric & ~non_finite & ~good_label
    _add(report, BAD_LABEL, label_bad, lines, table)
    keep = known & ~non_numeric & ~non_finite & good_label
    if not keep.any():
        return
    mask = pa.array(keep)
    kept = int(keep.sum())
    columns: dict[str, Any] = {
        "user_id": pc.filter(pa.array(subjects, pa.string()), mask),
        "row_index": pa.array(row_index[keep], pa.int64()),
    }
    from phenolake.sources.mhealth.convert import SENSOR_COLUMNS

    for name in SENSOR_COLUMNS:
        if name in values:
            columns[name] = pc.filter(values[name], mask)
        else:
            columns[name] = pa.nulls(kept, pa.float64())
    columns["activity_id"] = pa.array(labels[keep].astype(np.int16), pa.int16())
    for f in PROVENANCE_FIELDS:
        columns[f.name] = constant_column(getattr(provenance, f.name), kept)
    stage = pa.Table.from_arrays(
        [pa.chunked_array([c]) if isinstance(c, pa.Array) else c for c in columns.values()],
        schema=schema,
    )
    users = stage.column("user_id").to_numpy(zero_copy_only=False)
    for user in sorted(set(users.tolist())):
        own = stage.filter(pa.array(users == user))
        days = day_numbers(own.column("row_index").to_numpy())
        for day in split_by_day(own, days, first_day):
            yield DayBatch(day.day, day.table, participant=user)


def _add(
    report: RejectionReport, reason: str, where: np.ndarray, lines: np.ndarray, table: pa.Table
) -> None:
    count = int(where.sum())
    if not count:
        return
    picked = np.flatnonzero(where)[:MAX_EXAMPLES]
    examples = (
        line_example(
            int(lines[i]),
            ""
            if reason == BLANK
            else ",".join(str(table.column(c)[int(i)]) for c in range(table.num_columns)),
        )
        for i in picked
    )
    report.add(reason, examples, rows=count)


def _mask(array: Any) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=bool)


class _Chain:
    """The bytes already read (the header's block), then the rest of the stream."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self.head, self.stream = head, stream
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        if self.head:
            if size < 0 or size >= len(self.head):
                out, self.head = self.head, b""
                if size < 0:
                    return out + self.stream.read()
                return out + self.stream.read(size - len(out))
            out, self.head = self.head[:size], self.head[size:]
            return out
        return self.stream.read(size)

    def readable(self) -> bool:
        return True
