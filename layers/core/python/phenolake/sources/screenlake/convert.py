"""Source ``screenlake``: smartphone screenshot panels (the Screenlake research kit).

The phone app uploads zips to a source bucket under
``academia/tenant/<id>_<name>/panel/<panel>/V_<version>/panelist/<panelist>/
image_zip_<uuid>_<n>.zip``. A zip is flat: five CSVs (``screenshot_data_csv_<uuid>.csv``,
``app_accessibility_data_<uuid>.csv``, ``app_segment_data_<uuid>.csv``,
``session_data_<uuid>.csv``; the app writes some with and some without ``_csv``) and the
screenshots ``img_<uuid>_<yyyy_MM_dd_kk_mm_ss_SSS>.jpg`` (app versions since 2026:
``img_<uuid>Screenshot_<yyyy-MM-dd_HH-mm-ss>.jpg``), named with the device's local time. The
app's log CSV (``log_data_<uuid>.csv``) is not in the zip: it is uploaded loose as
``academia/log_events_v2/<panelist>/<version>/<uuid>.csv`` (``RealUploadHandler.buildUploadPath``
in the app), its ``timestamp`` the device's local ``yyyy-MM-dd HH:mm:ss``.

The CSVs are written by the app as ``'"' + '","'.join(fields) + '"'`` per line, with a
header line: every field is quoted, but quotes inside a field are NOT escaped, a Kotlin null
is the text ``null`` (and the app writes ``NA`` for "no app"), and OCR or accessibility text
may hold quotes, ``","`` and newlines. A standard CSV reader mis-splits such rows, so the
reader here (``split_record`` / ``read_records``) cuts a record on its ``","`` boundaries and
lets the known column count decide: extra boundaries belong to the kind's one free-text
column (``text``, or a log's ``msg``); a record with too few fields continues on the next
line (a newline inside the text) unless that line is a whole valid record by itself. A row
that cannot be made to fit is rejected and counted with examples, never silently dropped.
Since nothing is escaped, two cases stay ambiguous and are read the one way: a text ending
in ``",`` right before the next field (read as ending one character early), and a text with
a newline right after a quote where the lines before already make a whole record.

Types: epoch-millisecond columns stay ``bigint`` under their CSV name and the row's time
becomes ``timestamp`` (UTC); durations and counts are ``bigint``; ``null``, ``NA`` and empty
cells are NULL. Old app versions wrote epoch seconds in these columns: the unit is decided per
file (``file_scale``: seconds when most of the file's times only make sense as seconds) and
stored as milliseconds. Times the app wrote in the device's local time (a log's
``timestamp``, a screenshot's file name) become UTC with the device's offset, learned from
rows that carry both a local and a UTC time (``learned_offsets``); where none does, the local
wall time is stored as if it were UTC and the row says so (``time_from``). Every row carries its
``row_index`` (record number in its file) and provenance. Rows are split by the UTC day of
``timestamp``; the Glue job ``glue_jobs/screenlake.py`` writes one table per CSV kind,
partitioned by ``panelist`` and ``date``.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import numpy as np
import pyarrow as pa

from phenolake import lake
from phenolake.sources.base import (
    DayBatch,
    FetchTask,
    ImageFacts,
    Lazy,
    Member,
    Provenance,
    RejectedFile,
    Source,
)
from phenolake.sources.toolkit import (
    EARLIEST,
    PROVENANCE_FIELDS,
    RejectionReport,
    line_example,
    provenance_columns,
    split_by_day,
    utc_days,
)

NULLS = frozenset({"null", "NA", ""})
SEPARATOR = '","'
#: Lines a record may span (newlines inside its text) before it is given up as broken.
MAX_RECORD_LINES = 200

STRING, EPOCH_MS, BIGINT, LOCAL = "string", "epoch_ms", "bigint", "local_time"


@dataclass(frozen=True)
class Column:
    """A CSV column: its name in the file, in the table, and its type."""

    csv: str
    kind: str = STRING
    name: str = ""

    @property
    def column(self) -> str:
        return self.name or self.csv


@dataclass(frozen=True)
class Kind:
    """One CSV kind of a zip: its file-name prefix, columns and which column is the time."""

    metric: str
    prefix: str  # the old scripts' consolidation prefix: <prefix>-consolidated.csv
    columns: tuple[Column, ...]
    time: str  # table column whose epoch ms is the row's timestamp
    free: str | None = None  # the free-text column that takes any extra '","'
    #: (column, values): rows with one of these values may hold epoch SECONDS in a file of
    #: epoch ms (the app's accessibility SESSION_START / APP_RESTRICTED rows before its
    #: commit a561102, 2025-11-12, "Fix ... Inconsistency in Time Units").
    seconds_rows: tuple[str, frozenset[str]] | None = None
    #: Columns the converter derives after the CSV's own (a log's UTC time from its local one).
    derived: tuple[tuple[str, pa.DataType], ...] = ()

    @property
    def table(self) -> str:
        return f"screenlake_{self.metric}"

    @property
    def free_index(self) -> int | None:
        names = [c.column for c in self.columns]
        return names.index(self.free) if self.free else None

    @property
    def schema(self) -> pa.Schema:
        types = {STRING: pa.string(), EPOCH_MS: pa.int64(), BIGINT: pa.int64(), LOCAL: pa.string()}
        return pa.schema(
            [pa.field(c.column, types[c.kind]) for c in self.columns]
            + [pa.field(name, type_) for name, type_ in self.derived]
            + [pa.field("timestamp", pa.timestamp("us", tz="UTC"))]
            + [pa.field("row_index", pa.int64())]
            + PROVENANCE_FIELDS
        )


def _strings(*names: str) -> tuple[Column, ...]:
    return tuple(Column(n) for n in names)


KINDS: dict[str, Kind] = {
    kind.metric: kind
    for kind in (
        Kind(
            "screenshots",
            "screenshot_data",
            (
                *_strings("id_user", "file", "zipFileId", "apk", "id_session", "id_segment"),
                *_strings("app", "text", "weekday"),
                Column("t_epoch_ts_ms", EPOCH_MS),
                *_strings("t_natural_utc_ts", "t_natural_second_ts", "t_natural_day_ts"),
            ),
            time="t_epoch_ts_ms",
            free="text",
        ),
        Kind(
            "accessibility",
            "app_accessibility_data",
            (
                *_strings("id_user", "type"),
                Column("t_unix_ts_ms", EPOCH_MS),
                *_strings("apk", "id_session", "id_interval", "text"),
            ),
            time="t_unix_ts_ms",
            free="text",
            seconds_rows=("type", frozenset({"SESSION_START", "APP_RESTRICTED"})),
        ),
        Kind(
            "segments",
            "app_segment_data",
            (
                Column("apk"),
                Column("t_unix_ts_segment_start", EPOCH_MS),
                Column("duration_segment_ms", BIGINT),
                *_strings("id_session", "id_segment", "apk_prev_1", "apk_prev_2"),
                *_strings("apk_prev_3", "apk_prev_4", "apk_next_1", "id_user"),
            ),
            time="t_unix_ts_segment_start",
        ),
        Kind(
            "sessions",
            "session_data",
            (
                Column("id_user"),
                Column("session_start", EPOCH_MS),
                Column("session_end", EPOCH_MS),
                Column("id_session"),
                Column("seconds_since_last_active_ms", BIGINT),
                Column("session_duration_ms", BIGINT),
                Column("session_count_per_day", BIGINT),
                *_strings("interval", "id_panel", "id_tenant"),
                *_strings("t_natural_second_session_start", "t_natural_day_session_start"),
                *_strings("t_natural_second_session_end", "t_natural_day_session_end"),
            ),
            time="session_start",
        ),
        Kind(
            "logs",
            "log_data",
            (
                Column("event"),
                Column("msg"),
                # renamed: ``timestamp`` is every table's UTC time, ``user`` an SQL keyword
                Column("user", name="id_user"),
                # the device's local time as written; its UTC epoch ms is ``t_unix_ts_ms``
                Column("timestamp", LOCAL, name="local_time"),
            ),
            time="local_time",
            free="msg",
            derived=(
                ("t_unix_ts_ms", pa.int64()),
                ("utc_offset_min", pa.int64()),
                ("time_from", pa.string()),
            ),
        ),
    )
}

_MEMBER = re.compile(
    r"(?:^|/)(screenshot_data|app_accessibility_data|app_segment_data|session_data|log_data)"
    r"(?:_csv)?_[^/]*\.csv$",
    re.IGNORECASE,
)
_BY_PREFIX = {kind.prefix: kind for kind in KINDS.values()}
_PANELIST = re.compile(r"(?:^|/)panelist/([^/]+)/")
_ZIP_FOLDER = re.compile(r"(?:^|/)([^/]+)/image_zip_[^/]*\.zip/", re.IGNORECASE)
#: The app's loose log CSV: ``[test/][academia/]log_events_v2/<panelist>/<version>/<uuid>.csv``.
_LOOSE_LOG = re.compile(r"(?:^|/)log_events_v2/([^/]+)/[^/]+/[^/]+\.csv$", re.IGNORECASE)
#: ``img_<uuid>_<yyyy_MM_dd_kk_mm_ss_SSS>.jpg`` (``TimeUtility.getFormattedScreenCaptureTime``)
#: or ``img_<uuid>Screenshot_<yyyy-MM-dd_HH-mm-ss>.jpg`` (``ScreenshotService.saveImageToFile``
#: since 2026); ``\d`` takes any locale's digits, as ``SimpleDateFormat`` may write them.
_IMAGE = re.compile(
    r"(?:^|/)img_[^/]*?(?:_|Screenshot_)(\d{4})[_-](\d{2})[_-](\d{2})_(\d{2})[_-](\d{2})[_-]"
    r"(\d{2})(?:_(\d{3}))?\.jpe?g$",
    re.IGNORECASE,
)
_ZIP = re.compile(r"(?:^|/)image_zip_[^/]*\.zip$", re.IGNORECASE)
_INTEGER = re.compile(r"^-?\d{1,19}$")
#: The app's ``saveLog("ZIP_WORKER_RUN_${System.currentTimeMillis()}", ...)``: a log row whose
#: event holds the UTC epoch ms of the moment its local ``timestamp`` was taken.
_UTC_EVENT = re.compile(r"^ZIP_WORKER_RUN_(\d{13})$")

#: How a time was found (``time_from`` in ``screenlake_logs`` and ``image_redactions``).
FROM_CSV = "csv"  # an image's screenshot CSV row (``t_epoch_ts_ms``, UTC)
FROM_NAME = "file_name"  # an image's file name, device-local, with the offset learned
FROM_NAME_AS_UTC = "file_name_as_utc"  # ... no offset known: the local wall time as if UTC
FROM_EPOCH = "epoch"  # a log row written as epoch time or a zoned ISO time (UTC)
FROM_LOCAL = "local_time"  # a log row's local time, with the offset learned
FROM_LOCAL_AS_UTC = "local_time_as_utc"  # ... no offset known: the local wall time as if UTC
#: Offsets beyond these are not a time zone (a clock set wrong): not learned.
MAX_OFFSET_MIN = 14 * 60


def kind_of(path: str) -> Kind | None:
    match = _MEMBER.search(path)
    if match:
        return _BY_PREFIX[match.group(1).lower()]
    return KINDS["logs"] if _LOOSE_LOG.search(path) else None


def panelist_of(path: str) -> str | None:
    """The ``panelist/<id>/`` folder, or else the folder holding the ``image_zip_*.zip``
    (the app files every upload in its panelist's folder), or a loose log's
    ``log_events_v2/<panelist>/`` folder."""
    match = _PANELIST.search(path) or _ZIP_FOLDER.search(path) or _LOOSE_LOG.search(path)
    return match.group(1) if match else None


def name_time(path: str) -> dt.datetime | None:
    """The local wall time in a screenshot's file name (naive), or None.

    The app formats it with ``SimpleDateFormat("yyyy_MM_dd_kk_mm_ss_SSS")``: ``kk`` is the
    hour 1..24, so the midnight hour is written ``24`` with the date of that same day
    (00:10 on 13 March is ``2024_03_13_24_10_...``, checked with Java 17): read as hour 0
    of the date written."""
    match = _IMAGE.search(path)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    millis = int(match.group(7)) if match.group(7) else 0
    if hour == 24:
        hour = 0
    try:
        return dt.datetime(year, month, day, hour, minute, second, millis * 1000)
    except ValueError:
        return None


def taken_at(path: str) -> dt.datetime | None:
    """The file name's local time read as if it were UTC (no offset known)."""
    wall = name_time(path)
    return wall.replace(tzinfo=dt.UTC) if wall else None


# --- the quoted-CSV reader ------------------------------------------------------------------


def split_record(text: str, columns: int, free: int | None) -> list[str] | None:
    """The fields of one record written as ``'"' + '","'.join(fields) + '"'``, or None.

    Quotes inside fields are not escaped, so only the known column count can tell which
    ``","`` separate fields: with more boundaries than separators, the extra ones belong to
    the free-text column ``free`` (None: the record cannot be made to fit). Fewer fields than
    ``columns`` is None too (the caller may try again with the next line joined)."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return None
    parts = text[1:-1].split(SEPARATOR)
    if len(parts) == columns:
        return parts
    if len(parts) < columns or free is None:
        return None
    end = len(parts) - (columns - free - 1)
    return [*parts[:free], SEPARATOR.join(parts[free:end]), *parts[end:]]


def field_count(text: str) -> int:
    """How many ``","``-separated parts a line has (0 when it does not start with a quote)."""
    return text[1:].count(SEPARATOR) + 1 if text.startswith('"') else 0


@dataclass
class Record:
    """A record the reader put together: its fields and the file lines it spans."""

    fields: list[str]
    first_line: int
    lines: int


@dataclass
class Bad:
    """Lines the reader could not make into a record, and why."""

    reason: str
    first_line: int
    lines: int
    text: str


CUT_SHORT = "record has too few fields (cut short, or a field is missing)"
TOO_MANY = "record has more fields than columns and no free-text column to take them"
NOT_QUOTED = "line is not a quoted record (it must start and end with a double quote)"
UNFINISHED = "record not finished at the end of the file (truncated write)"
TOO_LONG = f"record spans more than {MAX_RECORD_LINES} lines"
NOT_UTF8 = "line is not valid UTF-8"


def read_records(
    lines: Iterable[str],
    columns: int,
    free: int | None,
    accept: Callable[[list[str]], bool] | None = None,
) -> Iterator[Record | Bad]:
    """Put records together from lines (without their line ends); each line is accounted for.

    A line that has fewer fields than ``columns`` starts a record that may continue on the
    next lines (a newline inside a field). A continuation line that is a whole record by
    itself (``split_record`` and ``accept(fields)`` both agree) is not glued on: the pending
    record is reported as cut short and the line read as its own record."""
    accept = accept or (lambda _fields: True)
    pending: list[str] = []
    start = 0

    def whole(text: str) -> list[str] | None:
        fields = split_record(text, columns, free)
        return fields if fields is not None and accept(fields) else None

    for number, line in enumerate(lines, 1):
        if isinstance(line, Undecodable):
            if pending:
                yield Bad(CUT_SHORT, start, len(pending), "\n".join(pending))
                pending = []
            yield Bad(NOT_UTF8, number, 1, line)
            continue
        if pending:
            if whole(line) is None:
                pending.append(line)
                candidate = "\n".join(pending)
                fields = split_record(candidate, columns, free)
                if fields is not None:
                    yield Record(fields, start, len(pending))
                    pending = []
                elif free is None and field_count(candidate) > columns:
                    yield Bad(TOO_MANY, start, len(pending), candidate)
                    pending = []
                elif len(pending) >= MAX_RECORD_LINES:
                    yield Bad(TOO_LONG, start, len(pending), candidate)
                    pending = []
                continue
            yield Bad(CUT_SHORT, start, len(pending), "\n".join(pending))
            pending = []
        fields = split_record(line, columns, free)
        if fields is not None:
            yield Record(fields, number, 1)
        elif not line.startswith('"'):
            yield Bad(NOT_QUOTED, number, 1, line)
        elif free is None and field_count(line) > columns:
            yield Bad(TOO_MANY, number, 1, line)
        else:
            pending, start = [line], number
    if pending:
        yield Bad(UNFINISHED, start, len(pending), "\n".join(pending))


class Undecodable(str):
    """A line that is not UTF-8 (shown with replacement characters); never a record."""


def text_lines(stream: BinaryIO) -> Iterator[str]:
    """The stream's lines without their line ends (``\n`` or ``\r\n``), decoded as UTF-8."""
    for raw in stream:
        data = raw[:-1] if raw.endswith(b"\n") else raw
        if data.endswith(b"\r"):
            data = data[:-1]
        try:
            yield data.decode("utf-8")
        except UnicodeDecodeError:
            yield Undecodable(data.decode("utf-8", "replace"))


# --- typed values ---------------------------------------------------------------------------


class BadValue(ValueError):
    pass


def epoch_ms(text: str) -> int | None:
    """Epoch time as written (ms, or seconds in old files: scaled by the caller), or an
    ISO-8601 time (UTC unless it says otherwise) in ms, or a null."""
    if text in NULLS:
        return None
    if _INTEGER.match(text):
        return int(text)
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadValue("not epoch milliseconds or an ISO-8601 time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (when - _EPOCH) // dt.timedelta(milliseconds=1)


def local_ms(text: str) -> tuple[int | None, bool]:
    """A log's ``timestamp``: (ms, exact). The app's ``yyyy-MM-dd HH:mm:ss`` is the device's
    local wall time (returned as if UTC, ``exact`` False); epoch time or a zoned ISO time is
    UTC (``exact`` True)."""
    if text in NULLS:
        return None, False
    if _INTEGER.match(text):
        return int(text), True
    try:
        # the app formats it with Locale.getDefault(): any locale's digits
        ascii_text = "".join(str(unicodedata.digit(c, c)) if c.isdigit() else c for c in text)
        when = dt.datetime.fromisoformat(ascii_text.replace("Z", "+00:00"))
    except ValueError:
        raise BadValue("not a local time (yyyy-MM-dd HH:mm:ss) or epoch time") from None
    exact = when.tzinfo is not None
    if not exact:
        when = when.replace(tzinfo=dt.UTC)
    return (when - _EPOCH) // dt.timedelta(milliseconds=1), exact


def bigint(text: str) -> int | None:
    if text in NULLS:
        return None
    if not _INTEGER.match(text):
        raise BadValue("not an integer")
    return int(text)


def string(text: str) -> str | None:
    return None if text in NULLS else text


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_PARSERS: dict[str, Callable[[str], Any]] = {
    STRING: string,
    EPOCH_MS: epoch_ms,
    BIGINT: bigint,
    LOCAL: string,
}
#: Times outside this range are typos or zeros (the app writes 0 for a missing time).
MIN_MS = int(EARLIEST.timestamp()) * 1000
MAX_MS = 4_102_444_800_000  # 2100-01-01
OUT_OF_RANGE = "time outside 2000..2100"


def _in_ms_range(value: int) -> bool:
    return MIN_MS <= value < MAX_MS


def _in_seconds_range(value: int) -> bool:
    return MIN_MS // 1000 <= value < MAX_MS // 1000


def file_scale(kind: Kind, records: Iterable[list[str]]) -> int:
    """1000 when the file's epoch times are seconds (old app versions), else 1: decided per
    file, by which unit most of the time column's integers fall in 2000..2100 with."""
    at = [c.column for c in kind.columns].index(kind.time)
    seconds = millis = 0
    for fields in records:
        text = fields[at]
        if _INTEGER.match(text):
            value = int(text)
            seconds += _in_seconds_range(value)
            millis += _in_ms_range(value)
    return 1000 if seconds > millis else 1


@dataclass
class Typed:
    """A row's typed values, its time in ms (local wall time for a log written so) and
    whether that time is UTC."""

    values: list[Any]
    when: int
    exact: bool = True


def typed_row(kind: Kind, fields: list[str], scale: int | None = 1) -> tuple[Typed | None, str]:
    """The row's typed values, or the reason it cannot be kept. ``scale`` multiplies epoch
    integers (1000: a file of epoch seconds); None accepts either unit (while records are
    still being put together, before the file's unit is known)."""
    values: list[Any] = []
    for column, text in zip(kind.columns, fields, strict=True):
        try:
            values.append(_PARSERS[column.kind](text))
        except BadValue as exc:
            return None, f"{exc} in column {column.csv}"
    names = [c.column for c in kind.columns]
    seconds_row = False
    if kind.seconds_rows:
        column, flagged = kind.seconds_rows
        seconds_row = values[names.index(column)] in flagged
    for i, (column, text) in enumerate(zip(kind.columns, fields, strict=True)):
        if column.kind != EPOCH_MS or values[i] is None or not _INTEGER.match(text):
            continue
        if scale is None:
            values[i] = values[i] * 1000 if _in_seconds_range(values[i]) else values[i]
        elif scale == 1 and seconds_row and _in_seconds_range(values[i]):
            values[i] *= 1000
        else:
            values[i] *= scale
    at = names.index(kind.time)
    time_csv = kind.columns[at].csv
    exact = True
    if kind.columns[at].kind == LOCAL:
        try:
            when, exact = local_ms(fields[at])
        except BadValue as exc:
            return None, f"{exc} in column {time_csv}"
        if when is not None and exact and _INTEGER.match(fields[at]):
            when = when * 1000 if scale is None and _in_seconds_range(when) else when * (scale or 1)
    else:
        when = values[at]
    if any(abs(v) >= 2**63 for v in values if isinstance(v, int)):
        return None, "integer out of the bigint range"
    if when is None:
        return None, f"no time: column {time_csv} is null"
    if not _in_ms_range(when):
        return None, f"{OUT_OF_RANGE} in column {time_csv}"
    return Typed(values, when, exact), ""


def read_typed(kind: Kind, stream: BinaryIO, report: RejectionReport) -> list[tuple[int, Typed]]:
    """The file's rows that fit, as (record number, typed row); the rest go to ``report``."""
    lines = text_lines(stream)
    header_line = next(lines, None)
    if header_line is None or not header_line.strip():
        raise RejectedFile("empty file: no header line")
    header = split_record(header_line.lstrip("\ufeff"), len(kind.columns), None)
    expected = [c.csv for c in kind.columns]
    if header is None or [h.lower() for h in header] != [e.lower() for e in expected]:
        raise RejectedFile(
            f"unexpected header for {kind.prefix}: {header_line[:200]!r}; "
            f"expected {','.join(expected)}"
        )

    def accept(fields: list[str]) -> bool:
        return typed_row(kind, fields, None)[0] is not None

    records: list[tuple[int, int, list[str]]] = []
    for index, item in enumerate(read_records(lines, len(kind.columns), kind.free_index, accept)):
        report.seen += 1
        line = item.first_line + 1  # the header is line 1
        if isinstance(item, Bad):
            report.add(item.reason, [line_example(line, item.text)])
            continue
        records.append((index, line, item.fields))
    scale = file_scale(kind, (fields for _, _, fields in records))
    rows: list[tuple[int, Typed]] = []
    for index, line, fields in records:
        typed, reason = typed_row(kind, fields, scale)
        if typed is None:
            report.add(reason, [line_example(line, SEPARATOR.join(fields))])
            continue
        rows.append((index, typed))
    return rows


# --- the device's offset --------------------------------------------------------------------

_DAY_US = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")  # TimeUtility.getFormattedDate: MM/dd/yyyy
_DAY_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_CLOCK = re.compile(r"^(\d{2}):(\d{2}):(\d{2})$")  # TimeUtility.getFormattedHhMmSs: HH:mm:ss


def wall_ms(day: str | None, clock: str | None) -> int | None:
    """A local wall time from the app's ``MM/dd/yyyy`` (or ``yyyy-MM-dd``) and ``HH:mm:ss``
    columns, in ms as if UTC; None when either does not read."""
    found = (_DAY_US.match(day or ""), _DAY_ISO.match(day or ""), _CLOCK.match(clock or ""))
    us, iso, time = found
    if not time or not (us or iso):
        return None
    month, mday, year = (int(g) for g in us.groups()) if us else (0, 0, 0)
    if iso:
        year, month, mday = (int(g) for g in iso.groups())
    try:
        when = dt.datetime(year, month, mday, *(int(g) for g in time.groups()), tzinfo=dt.UTC)
    except ValueError:
        return None
    return (when - _EPOCH) // dt.timedelta(milliseconds=1)


def offset_of(local: int, utc: int) -> int | None:
    """The device's offset in minutes from a local wall time (ms, to the second) and the same
    moment's UTC epoch ms; None when it is no time zone."""
    minutes = round((local - utc // 1000 * 1000) / 60_000)
    return minutes if abs(minutes) <= MAX_OFFSET_MIN else None


def learned_offsets(kind: Kind, rows: Iterable[Typed]) -> list[tuple[int, int]]:
    """(local wall ms, offset minutes) from the rows that carry a local and a UTC time: a
    screenshot's ``t_natural_day_ts`` + ``t_natural_second_ts`` beside ``t_epoch_ts_ms``
    (``DataTransformation.createScreenshotCsv``), a session's start likewise, a log's
    ``ZIP_WORKER_RUN_<epoch ms>`` event beside its local ``timestamp``."""
    names = [c.column for c in kind.columns]
    pairs: list[tuple[int | None, int | None]] = []
    for row in rows:
        got = dict(zip(names, row.values, strict=True))
        if kind.metric == "screenshots":
            local = wall_ms(got["t_natural_day_ts"], got["t_natural_second_ts"])
            pairs.append((local, got["t_epoch_ts_ms"]))
        elif kind.metric == "sessions":
            day, clock = got["t_natural_day_session_start"], got["t_natural_second_session_start"]
            pairs.append((wall_ms(day, clock), got["session_start"]))
        elif kind.metric == "logs" and not row.exact:
            event = _UTC_EVENT.match(got["event"] or "")
            pairs.append((row.when, int(event.group(1)) if event else None))
    learned = []
    for local, utc in pairs:
        offset = offset_of(local, utc) if local is not None and utc is not None else None
        if offset is not None and local is not None:
            learned.append((local, offset))
    return sorted(learned)


def nearest_offset(learned: list[tuple[int, int]], local: int) -> int | None:
    """The offset learned nearest in local time (a DST change or a trip inside one file)."""
    if not learned:
        return None
    return min(learned, key=lambda pair: abs(pair[0] - local))[1]


def _log_times(rows: list[tuple[int, Typed]]) -> list[tuple[int, int | None, str]]:
    """Each log row's (UTC ms, offset used, time_from)."""
    learned = learned_offsets(KINDS["logs"], (typed for _, typed in rows))
    out = []
    for _, typed in rows:
        if typed.exact:
            out.append((typed.when, None, FROM_EPOCH))
            continue
        offset = nearest_offset(learned, typed.when)
        if offset is None:
            out.append((typed.when, None, FROM_LOCAL_AS_UTC))
        else:
            out.append((typed.when - offset * 60_000, offset, FROM_LOCAL))
    return out


def image_times(
    images: Iterable[str], screenshot_csvs: Iterable[BinaryIO]
) -> dict[str, tuple[dt.datetime | None, str | None]]:
    """Each image's (UTC capture time, time_from), for the images of one zip.

    The time is the zip's screenshot CSV row whose ``file`` has the image's base name (as the
    app's own unpacker matches them, thumybanh/screenlake-research-kit
    ``lambda/unpack_zips/handler.py``): ``t_epoch_ts_ms``. Only where no row matches, the file
    name's local time, made UTC with the device's offset learned from the zip's rows; without
    one, the local wall time as if UTC."""
    kind = KINDS["screenshots"]
    by_name: dict[str, int] = {}
    rows: list[Typed] = []
    for stream in screenshot_csvs:
        try:
            typed = [row for _, row in read_typed(kind, stream, RejectionReport())]
        except RejectedFile:
            continue  # Convert quarantines the file with its reason
        file_at = [c.column for c in kind.columns].index("file")
        for row in typed:
            if row.values[file_at]:
                by_name[posixpath.basename(row.values[file_at].replace("\\", "/"))] = row.when
        rows += typed
    learned = learned_offsets(kind, rows)
    times: dict[str, tuple[dt.datetime | None, str | None]] = {}
    for image in images:
        base = posixpath.basename(image)
        if base in by_name:
            times[image] = (_EPOCH + dt.timedelta(milliseconds=by_name[base]), FROM_CSV)
            continue
        wall = name_time(image)
        if wall is None:
            times[image] = (None, None)
            continue
        local = (wall.replace(tzinfo=dt.UTC) - _EPOCH) // dt.timedelta(milliseconds=1)
        offset = nearest_offset(learned, local)
        if offset is None:
            times[image] = (wall.replace(tzinfo=dt.UTC), FROM_NAME_AS_UTC)
        else:
            utc = local - offset * 60_000
            times[image] = (_EPOCH + dt.timedelta(milliseconds=utc), FROM_NAME)
    return times


# --- the source -----------------------------------------------------------------------------


class Screenlake(Source):
    name = "screenlake"
    spec = Lazy("phenolake.sources.screenlake.spec:SPEC")
    options_model = Lazy("phenolake.sources.screenlake.options:ScreenlakeOptions")
    tables: ClassVar[tuple[str, ...]] = tuple(kind.table for kind in KINDS.values())
    #: Screenshots, events and sessions come when the phone is used: no nominal rate.
    nominal_hz: ClassVar[dict[str, float]] = {}
    metric_tables: ClassVar[dict[str, str]] = {k.metric: k.table for k in KINDS.values()}

    def recognise(self, relative_path: str) -> bool:
        return bool(
            _ZIP.search(relative_path) or kind_of(relative_path) or _IMAGE.search(relative_path)
        )

    def member(self, raw_path: str) -> Member | None:
        kind = kind_of(raw_path)
        panelist = panelist_of(raw_path)
        if kind is None or panelist is None:
            return None
        return Member(source=self.name, participant=panelist, metric=kind.metric)

    def image_facts(self, raw_path: str) -> ImageFacts | None:
        """From the path alone (no CSV at hand): the file name's local time as if UTC."""
        panelist = panelist_of(raw_path)
        if panelist is None:
            return None
        when = taken_at(raw_path)
        return ImageFacts(panelist, when, FROM_NAME_AS_UTC if when else None)

    def export_image_facts(self, files: Mapping[str, Path]) -> dict[str, ImageFacts]:
        """The images of one extracted zip, timed by the zip's screenshot CSV rows
        (``image_times``)."""
        images = [p for p in files if lake.is_image(p) and panelist_of(p)]
        if not images:
            return {}
        csvs = [files[p] for p in files if kind_of(p) is KINDS["screenshots"]]
        streams = [path.open("rb") for path in csvs]
        try:
            times = image_times(images, streams)
        finally:
            for stream in streams:
                stream.close()
        return {
            image: ImageFacts(panelist_of(image) or "", when, source)
            for image, (when, source) in times.items()
        }

    def reject_reason(self, raw_path: str) -> str | None:
        """A CSV in a panelist's upload that is none of the app's kinds is refused, with why."""
        if raw_path.lower().endswith(".csv") and panelist_of(raw_path) and not kind_of(raw_path):
            return (
                "not a Screenlake CSV: the name is none of screenshot_data, "
                "app_accessibility_data, app_segment_data, session_data, log_data, and it is "
                "not a loose log at log_events_v2/<panelist>/<version>/"
            )
        return None

    def fetch_tasks(self, options: dict[str, Any]) -> list[FetchTask]:
        """Zips from the study's Screenlake bucket, chosen by LastModified (UTC) in the window,
        and the panelists' loose log CSVs.

        ``{"bucket": "screenlake-zip-prod", "prefix": "academia/tenant/<id>_<name>/panel/
        <panel>/V_<version>/panelist/", "include_sites": [<panelist>, ...]}``: with the prefix
        ending in ``panelist/``, a site is a panelist. The app uploads its log CSVs beside the
        tenant folder (``academia/log_events_v2/<panelist>/...``): a prefix below
        ``tenant/`` adds a task for that folder, with the same panelists."""
        bucket = options.get("bucket")
        if not bucket:
            return []
        prefix = options.get("prefix", "academia/")
        prefixes = [prefix]
        if "tenant/" in prefix:
            prefixes.append(prefix[: prefix.index("tenant/")] + "log_events_v2/")
        tasks = []
        for each in prefixes:
            # keep_prefix: the landing key is the whole source key, panelist folder included
            spec: dict[str, Any] = {"bucket": bucket, "prefix": each, "keep_prefix": True}
            for name in ("include_sites", "exclude_sites"):
                if options.get(name):
                    spec[name] = list(options[name])
            tasks.append(FetchTask(source=self.name, kind="s3", spec=spec))
        return tasks

    def convert(
        self, stream: BinaryIO, member: Member, provenance: Provenance, report: RejectionReport
    ) -> Iterator[DayBatch]:
        """Read the whole CSV (a zip's CSVs are small: one upload's worth), keep the rows that
        fit, report the rest (the report counts records, for the file rule); yields one batch
        per UTC day of the rows' time."""
        kind = KINDS[member.metric]
        report.judge_by("record")
        rows = read_typed(kind, stream, report)
        if rows:
            yield from _day_batches(kind, rows, provenance)

    def write_samples(self, out_dir: Path, seed: int) -> list[Path]:
        from phenolake.sources.screenlake import samples

        return samples.write(out_dir, seed)


def _day_batches(
    kind: Kind, rows: list[tuple[int, Typed]], provenance: Provenance
) -> Iterator[DayBatch]:
    schema = kind.schema
    derived: dict[str, list[Any]] = {}
    if kind.metric == "logs":
        times = _log_times(rows)
        derived = {
            "t_unix_ts_ms": [t[0] for t in times],
            "utc_offset_min": [t[1] for t in times],
            "time_from": [t[2] for t in times],
        }
        whens = derived["t_unix_ts_ms"]
    else:
        whens = [typed.when for _, typed in rows]
    millis = np.array(whens, dtype=np.int64)
    order = np.argsort(millis, kind="stable")
    days = utc_days(millis[order], "ms")
    columns: dict[str, pa.Array] = {}
    for i, column in enumerate(kind.columns):
        columns[column.column] = pa.array(
            [rows[j][1].values[i] for j in order], schema.field(column.column).type
        )
    for name, values in derived.items():
        columns[name] = pa.array([values[j] for j in order], schema.field(name).type)
    columns["timestamp"] = pa.array(millis[order] * 1000, pa.int64()).cast(
        schema.field("timestamp").type
    )
    indexes = np.asarray([index for index, _ in rows], dtype=np.int64)
    columns["row_index"] = pa.array(indexes[order])
    columns.update(provenance_columns(provenance, len(rows)))
    yield from split_by_day(pa.Table.from_pydict(columns, schema=schema), days)


# --- the format's writer --------------------------------------------------------------------


def csv_text(kind: Kind, rows: Iterable[Iterable[Any]]) -> str:
    """A CSV as the phone app writes it: every field quoted, nothing escaped, nulls as null."""

    def line(fields: Iterable[Any]) -> str:
        return '"' + SEPARATOR.join("null" if f is None else str(f) for f in fields) + '"\n'

    return line(c.csv for c in kind.columns) + "".join(line(r) for r in rows)
