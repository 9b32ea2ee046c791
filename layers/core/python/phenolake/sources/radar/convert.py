"""Source ``radar``: RADAR-base output-restructure exports (the CONNECT study).

The layout, under any prefix: the study's restructure path format (``paths.py``; the tool's
default ``<site>/<participant>/<topic>/yyyyMMdd_HH00[_N].csv.gz``), with a
``schema-<topic>.json`` (Avro) beside the data. The hour in a file name is a UTC hour; ``_N``
files are further attempts for the same hour and hold other rows, not copies. Files are
``.csv``, ``.csv.gz`` or ``.csv.zip`` (``compression.py``). Columns are the record flattened
with dots (``key.projectId, key.userId, key.sourceId, value.time, ...``, arrays as
``value.answers.0.questionId``); times are epoch seconds as doubles, sometimes in scientific
notation (``1.58021982003E9``).

Any topic loads: the columns come from each file's header, their types from the topic's Avro
schema (``schema.py``: the ``schema-<topic>.json`` beside the file, read as the file's
companion, else the shipped RADAR-Schemas definition; text where there is neither), never
from one hour's values. Conversion (one hourly file at a time; RADAR hourly files are small,
so a file is parsed whole):

- ``time`` (timestamp, UTC, microseconds) is the row's time as the tool chose it
  (``timefields.py``: ``value.time``, else ``key.timeStart``, ... ``value.timeCompleted``);
  ``key.userId`` -> ``participant_id``, ``key.projectId`` -> ``site``, both as the tool
  names their folders (``CONNECT Pilot.2`` -> ``CONNECTPilot2``); every other column is kept,
  named in snake case without its ``key.``/``value.`` prefix (``value.timeReceived`` ->
  ``time_received``, ``value.answers.0.questionId`` -> ``answers_0_question_id``), or with
  it (``value_date``) where the short name would clash with another column;
- each column has its schema's type (``schema.py``): ints and longs bigint, floats and
  doubles double, booleans boolean, text and enums string, a union of number and text its
  text plus ``<column>_numeric``; a row whose cell is not of its column's type is skipped and
  counted (``OFF_SCHEMA``), so no hour can change a column's type;
- exact duplicate rows are removed and counted (in the file's report, so the count is shown);
- rows are cut into UTC days by their own ``time``, so an hour that runs past midnight
  gives rows to both days.

Bad input: a path the study's format did not write, a ``.gz``/``.zip`` that is not one (or
is damaged), a file that is not UTF-8 CSV, a header without any of the tool's time fields,
rows whose ids the tool would have filed under another folder, a ``.corrupted`` backup, an
``unknown-user`` folder, a ``schema-<topic>.json`` beside it that is not an Avro record
schema: the file is rejected whole (``RejectedFile``, quarantined with the reason). Any other
file under the tree is quarantined with a reason (``reject_reason``), but the tool's own side
files (``schema-<topic>.json``, ``offsets/``, ``bins.csv``), which are logged. A row with the
wrong number of fields, a cell off its schema type or no readable time is skipped and counted
under its reason, with examples.
"""

from __future__ import annotations

import csv as text_csv
import io
import logging
import posixpath
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

from phenolake import lake
from phenolake.fetchers.s3copy import SITE_OPTIONS
from phenolake.sources.base import (
    DayBatch,
    FetchTask,
    Lazy,
    Member,
    Provenance,
    RejectedFile,
    Source,
)
from phenolake.sources.radar import schema, timefields
from phenolake.sources.radar.compression import decompress
from phenolake.sources.radar.paths import (
    CORRUPTED,
    DEFAULT_FORMAT,
    DEFAULT_TIME_BIN,
    UNKNOWN,
    PathFacts,
    PathLayout,
    sanitize_id,
)
from phenolake.sources.radar.schema import ColumnType
from phenolake.sources.toolkit import (
    MAX_EXAMPLES,
    PROVENANCE_FIELDS,
    RejectionReport,
    line_example,
    numbers,
    provenance_columns,
    split_by_day,
    utc_days,
)

log = logging.getLogger(__name__)

#: The tool's default file name, ``yyyyMMdd_HH00[_N].csv[.gz|.zip]`` (or ``unknown-time``):
#: what ``recognise`` takes as radar without the study's options.
FILE_NAME = re.compile(
    r"^(?:(?P<day>\d{8})_(?P<hour>[01]\d|2[0-3])00|unknown-time)(?:_(?P<attempt>\d+))?"
    r"\.csv(\.gz|\.zip)?$"
)
SCHEMA_NAME = re.compile(r"^schema-(?P<topic>.+)\.json$")
#: The tool's offset ledger (``offsets/<topic>.json``; ``offsets/<topic>.csv`` and, in the
#: HDFS restructure of 2018, one ``offsets.csv``) and the bin counts (``bins.csv``) that
#: version wrote at the output's root.
OFFSETS = re.compile(r"(?:^|/)(?:offsets/[^/]+\.(?:json|csv)|offsets\.csv)$")
BINS = "bins.csv"
#: Columns every staged row starts with; other columns are named after the file's header.
LEADING = ("site", "participant_id", "time")
RESERVED = {*LEADING, *(f.name for f in PROVENANCE_FIELDS), "date"}

WRONG_FIELDS = "row does not have the header's number of fields"
BAD_TIME = f"no readable time in any of the tool's time fields ({timefields.NAMES})"
DUPLICATE = "exact duplicate row removed"
#: The row's time in seconds while the row is typed (a column no header can have).
SECONDS = "\0seconds"
OFF_SCHEMA = "a value is not of the type the topic's schema gives"
_SPECIAL_DOUBLES = ["NaN", "Infinity", "-Infinity"]  # Java's Double.toString of them
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_WORD = re.compile(r"[^0-9a-zA-Z]+")

log = logging.getLogger(__name__)


def snake(name: str) -> str:
    """``answers.0.questionId`` -> ``answers_0_question_id``."""
    return _NOT_WORD.sub("_", _CAMEL.sub("_", name)).strip("_").lower()


def column_names(header: list[str]) -> list[str]:
    """The staged name of each header column (see the module docstring)."""
    fixed = {"value.time": "time", "key.userId": "participant_id", "key.projectId": "site"}
    names: list[str] = []
    taken = set(fixed.values()) & set(fixed.get(h, "") for h in header)
    for column in header:
        if column in fixed:
            names.append(fixed[column])
            continue
        short = snake(column.split(".", 1)[1] if column.startswith(("key.", "value.")) else column)
        name = short if short and short not in RESERVED and short not in taken else snake(column)
        if name in RESERVED or name in taken or not name:
            name = f"{snake(column) or 'column'}_{len(names)}"
        taken.add(name)
        names.append(name)
    return names


def epoch_seconds_to_us(seconds: pa.Array) -> pa.Array:
    """Epoch seconds (double) -> integer microseconds, rounded to the nearest microsecond.

    Doubles keep about 16 significant digits, so a 2020s time (1.7e9 s) is exact to well
    under a microsecond; rounding (not truncating) keeps ``1.58021982003E9`` at .030000."""
    scaled = pc.round(pc.multiply(seconds, 1_000_000.0))
    return pc.cast(scaled, pa.int64())


def parse_seconds(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A time column as read (double, integer or text) -> float64 seconds; null where the cell
    is empty or not a finite number."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        values = pc.cast(column, pa.float64())
    else:
        values = numbers(pc.cast(column, pa.string())).values
    finite = pc.fill_null(pc.is_finite(values), False)
    return pc.if_else(finite, values, pa.scalar(None, pa.float64()))


def _corrupted(name: str) -> str:
    """Why a ``.corrupted`` backup (``FileCache.copy``) is not converted."""
    return (
        f"{name} is radar-output-restructure's backup of {CORRUPTED.sub('', name)}, which the "
        "tool could not read and started afresh: its rows are in no other file (not "
        "converted; repair it by hand)"
    )


def site_of_path(path: str) -> str:
    """The site folder of a data file's path (``.../<site>/<participant>/<topic>/<file>``)."""
    parts = path.split("/")
    return parts[-4] if len(parts) >= 4 else ""


class Radar(Source):
    name = "radar"
    spec = Lazy("phenolake.sources.radar.spec:SPEC")
    options_model = Lazy("phenolake.sources.radar.options:RadarOptions")
    #: One table per topic, ``radar_<topic>``: the topics are whatever the export holds.
    tables: ClassVar[tuple[str, ...]] = ()
    #: No rate is assumed for a topic: set the study's with the ``NominalRates`` parameter
    #: (``radar.sensorkit_acceleration=50``); completeness leaves expected_rows null until then.
    nominal_hz: ClassVar[dict[str, float]] = {}
    time_column: ClassVar[str | None] = "time"

    def __init__(self, layout: PathLayout | None = None) -> None:
        #: The study's restructure path formats (options ``path_format``, ...).
        self.layout = layout or PathLayout()

    def configured(self, options: Mapping[str, Any]) -> Radar:
        """The source reading paths as the study's restructure.yml writes them."""
        layout = PathLayout.of(
            options.get("path_format") or DEFAULT_FORMAT,
            options.get("topic_path_formats") or {},
            options.get("time_bin_format") or DEFAULT_TIME_BIN,
        )
        return self if layout == self.layout else Radar(layout)

    def facts(self, path: str) -> PathFacts | None:
        """What a data file's path says under the study's formats (a ``.corrupted`` backup
        read as the file it backs up); None for a path the formats did not write."""
        return self.layout.match(CORRUPTED.sub("", path))

    def recognise(self, relative_path: str) -> bool:
        """A tool's data file by the tool's default name, a backup of one, or a schema file,
        at least three folders deep, or its offsets ledger (without the study's options:
        ``--source`` otherwise)."""
        parts = relative_path.split("/")
        name = CORRUPTED.sub("", parts[-1])
        if OFFSETS.search(relative_path):
            return True
        return len(parts) >= 4 and bool(FILE_NAME.match(name) or SCHEMA_NAME.match(name))

    def member(self, raw_path: str) -> Member | None:
        """The participant and topic the study's path format puts a file under; a
        ``.corrupted`` backup too (Convert quarantines it with the reason, and Forget finds
        it); None for a side file or a path the format did not write (``reject_reason``)."""
        facts = self.facts(raw_path)
        if facts is None or self.side_file(raw_path):
            return None
        return Member(source=self.name, participant=facts.participant, metric=facts.topic)

    def is_archive(self, relative_path: str) -> bool:
        """A ``.csv.zip`` is the tool's zip compression of one file, converted as it is."""
        return lake.is_zip(relative_path) and not relative_path.lower().endswith(".csv.zip")

    def side_file(self, raw_path: str) -> str | None:
        """What a file the tool writes beside its data is, or None when it is not one."""
        parts = raw_path.split("/")
        name = parts[-1]
        if SCHEMA_NAME.match(name):
            return "the topic's Avro schema, written beside its data (FileCacheStore.writeSchema)"
        if OFFSETS.search(raw_path):
            return "the tool's offset ledger (offsets/<topic>.json; older: .csv, offsets.csv)"
        if name == BINS:
            return "the record counts per bin the 2018 HDFS restructure wrote at the output's root"
        return None

    def reject_reason(self, raw_path: str) -> str | None:
        """Why a file under the tree that is not data is quarantined; None for the tool's
        side files (``side_file``: the Convert step logs them, with what they are)."""
        if self.side_file(raw_path):
            return None
        name = raw_path.rsplit("/", 1)[-1]
        if CORRUPTED.search(name):
            return _corrupted(name)
        if name.lower().endswith((".json", ".json.gz", ".json.zip")):
            return (
                f"{name}: radar-output-restructure's JSON output (format: json) is not read; "
                "phenolake reads its CSV output"
            )
        return self._mismatch(name)

    def _mismatch(self, name: str) -> str:
        return (
            f"{name!r} is not a file the study's radar path format writes: {self.layout.describe()}"
        )

    def companions(self, raw_path: str) -> tuple[str, ...]:
        """The ``schema-<topic>.json`` the tool writes beside a data file (its types)."""
        member = self.member(raw_path)
        if member is None:
            return ()
        return (posixpath.join(posixpath.dirname(raw_path), schema_file_name(member.metric)),)

    def convert(
        self,
        stream: BinaryIO,
        member: Member,
        provenance: Provenance,
        report: RejectionReport,
        companions: Mapping[str, bytes] | None = None,
    ) -> Iterator[DayBatch]:
        """The hour's rows, typed by the topic's schema (``companions``: the schema file
        beside it, when there is one), by UTC day; ragged rows, cells off the schema, bad
        times and exact duplicates go to ``report``. It does not count what it read: a few bad
        rows never reject an hour."""
        facts = self._file_facts(provenance.source_key)
        site = facts.site or UNKNOWN["projectId"]
        data = decompress(stream.read(), facts.compression, facts.name)
        table = _read_csv(data, report)
        header = table.column_names
        names = column_names(header)
        table = table.rename_columns(names)
        fields = timefields.fields_of(header)
        if not fields:
            raise RejectedFile(
                f"no time field in the header (radar-output-restructure reads {timefields.NAMES})"
            )
        seconds = timefields.row_seconds([(f, table.column(i)) for i, f, _ in fields])
        _check_folders(table, header, facts)
        types = _column_types(member.metric, provenance.source_key, companions or {}, header)
        good = pc.is_valid(seconds)
        missing = table.num_rows - int(pc.sum(pc.cast(good, pa.int64())).as_py() or 0)
        if missing:
            where = np.flatnonzero(~good.to_numpy(zero_copy_only=False))[:MAX_EXAMPLES]
            report.add(BAD_TIME, [_time_cells(table, fields, int(i)) for i in where], rows=missing)
        # the row's seconds ride along, so the rows typing refuses leave with theirs
        table = table.append_column(SECONDS, seconds)
        if missing:
            table = table.filter(good)
        typed = dict(zip([*names, SECONDS], [*types, schema.TEXT], strict=True))
        table = _typed(
            _as_folder_names(table), site, member.participant, typed, [*header, SECONDS], report
        )
        seconds = table.column(SECONDS)
        table = table.drop_columns([SECONDS])
        micros = pc.cast(epoch_seconds_to_us(seconds), pa.timestamp("us", "UTC"))
        if "time" in table.column_names:
            table = table.set_column(table.column_names.index("time"), "time", micros)
        else:
            table = table.append_column("time", micros)
        table, duplicates = _drop_duplicates(table)
        if duplicates:
            report.add(DUPLICATE, rows=duplicates)
        if table.num_rows == 0:
            return
        ordered = [*LEADING, *[c for c in table.column_names if c not in LEADING]]
        table = table.select(ordered)
        for column, values in provenance_columns(provenance, table.num_rows).items():
            table = table.append_column(column, values)
        table = table.sort_by("time")
        yield from split_by_day(table, utc_days(table.column("time"), "us"))

    def _file_facts(self, key: str) -> PathFacts:
        """The facts of a file Convert was given, or RejectedFile with why it is not data."""
        name = key.rsplit("/", 1)[-1]
        if CORRUPTED.search(name):
            raise RejectedFile(_corrupted(name))
        facts = self.facts(key)
        if facts is None:
            raise RejectedFile(self._mismatch(name))
        if facts.participant == UNKNOWN["userId"]:
            raise RejectedFile(
                f"participant folder {UNKNOWN['userId']!r}: radar-output-restructure files "
                "records without a key.userId there; they belong to no participant"
            )
        return facts

    def fetch_tasks(self, options: dict[str, Any]) -> list[FetchTask]:
        """An external bucket (``bucket``, ``prefix``) with ``include_sites``/``exclude_sites``."""
        bucket = options.get("bucket")
        if not bucket:
            return []
        spec = {"bucket": bucket, "prefix": options.get("prefix", "")}
        for option in SITE_OPTIONS:
            chosen = options.get(option) or []
            # "a,b" (a template parameter's shape) or ["a", "b"] (the execution input's)
            names = chosen.split(",") if isinstance(chosen, str) else chosen
            spec[option] = [str(n).strip() for n in names if str(n).strip()]
        return [FetchTask(source=self.name, kind="s3", spec=spec)]

    def site_of(self, relative_path: str) -> str | None:
        """The ``${projectId}`` folder of a data file under the study's format; for any other
        file, the folder four levels up (``<site>/<participant>/<topic>/<file>``)."""
        facts = self.facts(relative_path)
        if facts is not None:
            return facts.site
        return site_of_path(relative_path)

    def write_samples(self, out_dir: Path, seed: int) -> list[Path]:
        from phenolake.sources.radar import samples

        return samples.write(out_dir, seed)


# --- reading -----------------------------------------------------------------------------


def _read_csv(data: bytes, report: RejectionReport) -> pa.Table:
    """The file's rows, every column as text (the schema types them, ``_typed``); a quoted
    cell may hold commas, quotes and line breaks (opencsv's quoting); ragged rows are skipped
    and added to ``report``."""
    if not data.strip():
        raise RejectedFile("empty file: no header")
    if b"\0" in data[: 64 << 10]:
        raise RejectedFile("binary content (NUL bytes), not a CSV")
    first = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip("\r")
    header = next(text_csv.reader([first]), [])

    def invalid(row: Any) -> str:
        report.add(WRONG_FIELDS, [line_example(row.number, row.text)])
        return "skip"

    try:
        table = csv.read_csv(
            io.BytesIO(data),
            read_options=csv.ReadOptions(use_threads=False),
            parse_options=csv.ParseOptions(invalid_row_handler=invalid, newlines_in_values=True),
            convert_options=csv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise RejectedFile(f"not a readable CSV: {str(exc).splitlines()[0]}") from None
    return table


def schema_file_name(topic: str) -> str:
    return f"schema-{topic}.json"


def _column_types(
    topic: str, source_key: str, companions: Mapping[str, bytes], header: list[str]
) -> list[ColumnType]:
    """Each header column's type from the topic's schema (``schema.for_topic``); every
    column text, logged, when the topic has no schema at all."""
    name = schema_file_name(topic)
    sibling = next((v for k, v in companions.items() if posixpath.basename(k) == name), None)
    try:
        found = schema.for_topic(topic, sibling, name)
    except schema.SchemaError as exc:
        raise RejectedFile(f"{exc}: its data cannot be typed") from None
    if found is None:
        log.warning(
            "%s: topic %r has no schema (no %s beside it, none in RADAR-Schemas): "
            "its columns are kept as text",
            source_key,
            topic,
            name,
        )
        return [schema.TEXT] * len(header)
    types = [found.column_type(h) for h in header]
    unknown = [h for h, t in zip(header, types, strict=True) if not t.in_schema]
    if unknown:
        log.warning(
            "%s: columns not in %s, kept as text: %s", source_key, found.origin, unknown[:10]
        )
    return types


def _check_folders(table: pa.Table, header: list[str], facts: PathFacts) -> None:
    """Rows must be the ones the tool filed under their folders: each id or field the path
    holds, sanitised as the tool names folders (``CONNECT Pilot.2`` is ``CONNECTPilot2``), is
    its folder; an empty cell (an id left out of the file, ``excludeFields``) is not checked."""
    checks = [
        ("key.projectId", facts.site, "site folder", UNKNOWN["projectId"]),
        ("key.userId", facts.participant, "participant folder", UNKNOWN["userId"]),
    ]
    for column, folder in facts.folders.items():
        checks.append((column, folder, "folder", facts.unknowns[column]))
    for column, folder, what, default in checks:
        if folder is None or column not in header:
            continue
        values = [v for v in pc.unique(table.column(header.index(column))).to_pylist() if v]
        others = sorted(str(v) for v in values if sanitize_id(v, default) != folder)
        if others:
            raise RejectedFile(f"{what} {folder!r} holds rows of another {column}: {others[:3]}")


def _as_folder_names(table: pa.Table) -> pa.Table:
    """``site`` and ``participant_id`` as the tool names their folders (sanitised; empty
    cells null, for ``_typed`` to fill from the folders)."""
    for column in ("site", "participant_id"):
        if column not in table.column_names:
            continue
        text = pc.cast(table.column(column), pa.string())
        kept = pc.replace_substring_regex(text, pattern=r"[^a-zA-Z0-9_-]+", replacement="")
        kept = pc.if_else(pc.equal(kept, ""), pa.scalar(None, pa.string()), kept)
        table = table.set_column(table.column_names.index(column), column, kept)
    return table


def _time_cells(table: pa.Table, fields: list[tuple[int, str, str]], row: int) -> str:
    """A row without a readable time, as a reason's example shows it: its time fields."""
    cells = ", ".join(f"{name} {table.column(i)[row].as_py()!r}" for i, name, _ in fields)
    return f"data row {row + 1}: {cells}"


def _typed(
    table: pa.Table,
    site: str,
    participant: str,
    types: Mapping[str, ColumnType],
    header: list[str],
    report: RejectionReport,
) -> pa.Table:
    """Site and participant filled from the folders where the file lacks them; every other
    column (but ``time``, which Convert reads itself) cast to its schema type, a union of
    number and text with its ``<column>_numeric`` beside it. A row with a cell that is not of
    its column's type is skipped and added to ``report`` with examples."""
    rows = table.num_rows
    headers = dict(zip(table.column_names, header, strict=True))
    for column, value in (("site", site), ("participant_id", participant)):
        if column in table.column_names:
            index = table.column_names.index(column)
            table = table.set_column(index, column, pc.fill_null(table.column(column), value))
        else:
            table = table.append_column(column, pa.array([value] * rows, pa.string()))
    bad = np.zeros(rows, dtype=bool)
    examples: list[str] = []
    columns: list[tuple[str, pa.Array | pa.ChunkedArray]] = []
    taken = set(table.column_names)
    for name in table.column_names:
        cells = table.column(name)
        kind = types.get(name, schema.TEXT)
        if name in LEADING or kind.kind == schema.STRING:
            columns.append((name, cells))
            if name not in LEADING and kind.numeric:
                numeric = _numeric_name(name, taken)
                columns.append((numeric, _parse(cells, schema.DOUBLE)[0]))
            continue
        values, wrong = _parse(cells, kind.kind)
        for i in np.flatnonzero(wrong & ~bad)[: max(0, MAX_EXAMPLES - len(examples))]:
            examples.append(
                f"data row {int(i) + 1}: {headers.get(name, name)} {cells[int(i)].as_py()!r}"
                f" (schema: {kind.describe()})"
            )
        bad |= wrong
        columns.append((name, values))
    table = pa.table(dict(columns))
    if bad.any():
        report.add(OFF_SCHEMA, examples, rows=int(bad.sum()))
        table = table.filter(pa.array(~bad))
    return table


def _numeric_name(name: str, taken: set[str]) -> str:
    """``<column>_numeric``, or with a number where a header already has that name."""
    numeric = f"{name}{schema.NUMERIC_SUFFIX}"
    n = 1
    while numeric in taken:
        numeric, n = f"{name}{schema.NUMERIC_SUFFIX}_{n}", n + 1
    taken.add(numeric)
    return numeric


def _parse(cells: pa.ChunkedArray, kind: str) -> tuple[pa.Array, np.ndarray]:
    """Text cells as the column type ``kind`` (LONG, DOUBLE, BOOLEAN): the values (null where
    empty or not of the type) and which non-empty cells are not of the type."""
    text = cells.combine_chunks() if isinstance(cells, pa.ChunkedArray) else cells
    found = numbers(text)
    trimmed = found.trimmed
    if kind == schema.DOUBLE:
        ok = pc.or_(
            found.is_number, pc.fill_null(pc.is_in(trimmed, pa.array(_SPECIAL_DOUBLES)), False)
        )
        values = pc.cast(pc.if_else(ok, trimmed, pa.scalar(None, pa.string())), pa.float64())
    elif kind == schema.LONG:
        ok = pc.fill_null(pc.match_substring_regex(trimmed, r"^[+-]?[0-9]{1,19}$"), False)
        kept = pc.if_else(ok, trimmed, pa.scalar(None, pa.string()))
        try:
            values = pc.cast(kept, pa.int64())
        except pa.ArrowInvalid:  # beyond a long: not of the type
            parsed = [_long_or_none(v) for v in kept.to_pylist()]
            values = pa.array(parsed, pa.int64())
            ok = pc.and_(ok, pc.is_valid(values))
    else:
        lower = pc.utf8_lower(trimmed)
        ok = pc.fill_null(pc.is_in(lower, pa.array(["true", "false"])), False)
        values = pc.if_else(ok, pc.equal(lower, "true"), pa.scalar(None, pa.bool_()))
    present = pc.fill_null(pc.not_equal(trimmed, ""), False)
    wrong = pc.and_(present, pc.invert(ok)).to_numpy(zero_copy_only=False)
    return values, wrong


def _long_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    number = int(value)
    return number if -(1 << 63) <= number < (1 << 63) else None


def _drop_duplicates(table: pa.Table) -> tuple[pa.Table, int]:
    """Keep the first of each set of identical rows; how many were dropped."""
    if table.num_rows < 2:
        return table, 0
    indexed = table.append_column("__row", pa.array(np.arange(table.num_rows)))
    first = indexed.group_by(table.column_names, use_threads=False).aggregate([("__row", "min")])
    keep = np.sort(first.column("__row_min").to_numpy())
    return table.take(pa.array(keep)), table.num_rows - len(keep)
