"""Source ``screenlake``: smartphone screenshot panels (the Screenlake research kit).

The phone app uploads zips to a source bucket under
``academia/tenant/<id>_<name>/panel/<panel>/V_<version>/panelist/<panelist>/
image_zip_<uuid>_<n>.zip``. A zip is flat: five CSVs (``screenshot_data_csv_<uuid>.csv``,
``app_accessibility_data_<uuid>.csv``, ``app_segment_data_<uuid>.csv``,
``session_data_<uuid>.csv``, ``log_data_<uuid>.csv``; the app writes some with and some
without ``_csv``) and the screenshots ``img_<uuid>_<yyyy_MM_dd_HH_mm_ss_SSS>.jpg``.

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

Types: epoch-millisecond columns stay ``bigint`` under their CSV name (the consolidated
export gives them back as written) and the row's time becomes ``timestamp`` (UTC); durations
and counts are ``bigint``; ``null``, ``NA`` and empty cells are NULL. Every row carries its
``row_index`` (record number in its file) and provenance. Rows are split by the UTC day of
``timestamp``; the Glue job ``glue_jobs/screenlake.py`` writes one table per CSV kind,
partitioned by ``panelist`` and ``date``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import numpy as np
import pyarrow as pa

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

STRING, EPOCH_MS, BIGINT = "string", "epoch_ms", "bigint"


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

    @property
    def table(self) -> str:
        return f"screenlake_{self.metric}"

    @property
    def free_index(self) -> int | None:
        names = [c.column for c in self.columns]
        return names.index(self.free) if self.free else None

    @property
    def schema(self) -> pa.Schema:
        types = {STRING: pa.string(), EPOCH_MS: pa.int64(), BIGINT: pa.int64()}
        return pa.schema(
            [pa.field(c.column, types[c.kind]) for c in self.columns]
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
                Column("timestamp", EPOCH_MS, name="t_unix_ts_ms"),
            ),
            time="t_unix_ts_ms",
            free="msg",
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
_IMAGE = re.compile(
    r"(?:^|/)img_[^/]*?_(\d{4})_(\d{2})_(\d{2})_(\d{2})_(\d{2})_(\d{2})_(\d{3})\.jpe?g$",
    re.IGNORECASE,
)
_ZIP = re.compile(r"(?:^|/)image_zip_[^/]*\.zip$", re.IGNORECASE)
_INTEGER = re.compile(r"^-?\d{1,19}$")


def kind_of(path: str) -> Kind | None:
    match = _MEMBER.search(path)
    return _BY_PREFIX[match.group(1).lower()] if match else None


def panelist_of(path: str) -> str | None:
    """The ``panelist/<id>/`` folder, or else the folder holding the ``image_zip_*.zip``
    (the app files every upload in its panelist's folder)."""
    match = _PANELIST.search(path) or _ZIP_FOLDER.search(path)
    return match.group(1) if match else None


def taken_at(path: str) -> dt.datetime | None:
    """The capture time in an ``img_<uuid>_<yyyy_MM_dd_HH_mm_ss_SSS>.jpg`` name, as UTC."""
    match = _IMAGE.search(path)
    if not match:
        return None
    year, month, day, hour, minute, second, millis = (int(g) for g in match.groups())
    try:
        return dt.datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=dt.UTC)
    except ValueError:
        return None


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
    """Epoch milliseconds, or an ISO-8601 time (UTC unless it says otherwise), or a null."""
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


def bigint(text: str) -> int | None:
    if text in NULLS:
        return None
    if not _INTEGER.match(text):
        raise BadValue("not an integer")
    return int(text)


def string(text: str) -> str | None:
    return None if text in NULLS else text


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_PARSERS = {STRING: string, EPOCH_MS: epoch_ms, BIGINT: bigint}
#: Times outside this range are typos or zeros (the app writes 0 for a missing time).
MIN_MS = int(EARLIEST.timestamp()) * 1000
MAX_MS = 4_102_444_800_000  # 2100-01-01


def typed_row(kind: Kind, fields: list[str]) -> tuple[list[Any], str | None]:
    """The row's typed values, or the reason it cannot be kept."""
    values: list[Any] = []
    for column, text in zip(kind.columns, fields, strict=True):
        try:
            values.append(_PARSERS[column.kind](text))
        except BadValue as exc:
            return [], f"{exc} in column {column.csv}"
    if any(abs(v) >= 2**63 for v in values if isinstance(v, int)):
        return [], "integer out of the bigint range"
    when = values[[c.column for c in kind.columns].index(kind.time)]
    time_csv = next(c.csv for c in kind.columns if c.column == kind.time)
    if when is None:
        return [], f"no time: column {time_csv} is null"
    if not MIN_MS <= when < MAX_MS:
        return [], f"time outside 2000..2100 in column {time_csv}"
    return values, None


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
        panelist = panelist_of(raw_path)
        if panelist is None:
            return None
        return ImageFacts(participant=panelist, taken_at=taken_at(raw_path))

    def fetch_tasks(self, options: dict[str, Any]) -> list[FetchTask]:
        """Zips from the study's Screenlake bucket, chosen by LastModified (UTC) in the window.

        ``{"bucket": "screenlake-zip-prod", "prefix": "academia/tenant/<id>_<name>/panel/
        <panel>/V_<version>/panelist/", "include_sites": [<panelist>, ...]}``: with the prefix
        ending in ``panelist/``, a site is a panelist."""
        bucket = options.get("bucket")
        if not bucket:
            return []
        # keep_prefix: the landing key is the whole source key, panelist folder included
        spec = {"bucket": bucket, "prefix": options.get("prefix", "academia/"), "keep_prefix": True}
        for name in ("include_sites", "exclude_sites"):
            if options.get(name):
                spec[name] = list(options[name])
        return [FetchTask(source=self.name, kind="s3", spec=spec)]

    def convert(
        self, stream: BinaryIO, member: Member, provenance: Provenance, report: RejectionReport
    ) -> Iterator[DayBatch]:
        """Read the whole CSV (a zip's CSVs are small: one upload's worth), keep the rows that
        fit, report the rest (the report counts records, for the file rule); yields one batch
        per UTC day of the rows' time."""
        kind = KINDS[member.metric]
        report.judge_by("record")
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
            return typed_row(kind, fields)[1] is None

        rows: list[list[Any]] = []
        indexes: list[int] = []
        for index, item in enumerate(
            read_records(lines, len(kind.columns), kind.free_index, accept)
        ):
            report.seen += 1
            line = item.first_line + 1  # the header is line 1
            if isinstance(item, Bad):
                report.add(item.reason, [line_example(line, item.text)])
                continue
            values, reason = typed_row(kind, item.fields)
            if reason:
                text = SEPARATOR.join(item.fields)
                report.add(reason, [line_example(line, text)])
                continue
            rows.append(values)
            indexes.append(index)
        if rows:
            yield from _day_batches(kind, rows, indexes, provenance)

    def write_samples(self, out_dir: Path, seed: int) -> list[Path]:
        from phenolake.sources.screenlake import samples

        return samples.write(out_dir, seed)


def _day_batches(
    kind: Kind, rows: list[list[Any]], indexes: list[int], provenance: Provenance
) -> Iterator[DayBatch]:
    schema = kind.schema
    time_at = [c.column for c in kind.columns].index(kind.time)
    millis = np.array([row[time_at] for row in rows], dtype=np.int64)
    order = np.argsort(millis, kind="stable")
    days = utc_days(millis[order], "ms")
    columns: dict[str, pa.Array] = {}
    for i, column in enumerate(kind.columns):
        columns[column.column] = pa.array(
            [rows[j][i] for j in order], schema.field(column.column).type
        )
    columns["timestamp"] = pa.array(millis[order] * 1000, pa.int64()).cast(
        schema.field("timestamp").type
    )
    columns["row_index"] = pa.array(np.asarray(indexes, dtype=np.int64)[order])
    columns.update(provenance_columns(provenance, len(rows)))
    yield from split_by_day(pa.Table.from_pydict(columns, schema=schema), days)


# --- the format's writer --------------------------------------------------------------------


def csv_text(kind: Kind, rows: Iterable[Iterable[Any]]) -> str:
    """A CSV as the phone app writes it: every field quoted, nothing escaped, nulls as null."""

    def line(fields: Iterable[Any]) -> str:
        return '"' + SEPARATOR.join("null" if f is None else str(f) for f in fields) + '"\n'

    return line(c.csv for c in kind.columns) + "".join(line(r) for r in rows)
