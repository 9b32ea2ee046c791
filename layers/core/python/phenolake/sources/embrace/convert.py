"""Source ``embrace``: Empatica Embrace monthly exports, ``Sensors_<study>_<sites>_<s>_<e>.zip``.

Inside a zip: ``<study>/<SITE>/<participant>/<device serial>/{acc,eda,temp,metadata}.csv``,
possibly under extra leading folders (one export wraps everything in a folder named like the
zip); junk members (``.DS_Store``, ``__MACOSX/``) are skipped by the zip intake. The level is
found by structure: a stream file's folder is the device, its parent the participant, then the
site, then the study, whatever lies above. ``participant_id`` = site lower-cased + participant
folder (``FC/096`` -> ``fc096``), ``device_id`` = the serial folder.

Streams (times are epoch milliseconds, UTC; values have 6 decimals):
``eda.csv`` ``Unix Timestamp (UTC),EDA (microS)`` ~4 Hz, ``temp.csv``
``Unix Timestamp (UTC),Degrees (°C)`` ~1 Hz, ``acc.csv`` ``Unix Timestamp (UTC),x (g),y (g),z (g)``
~32 Hz. ``metadata.csv`` carries the timezone offset (minutes east of UTC) that the Glue job
uses for ``local_date``.

Dedupe (the old Timestone pipeline's rule), per participant x device x stream x export:
EDA values that are ``-0.0`` become ``0.0``; counted on the rows as read: ``total_rows``,
``total_dupes`` (rows whose timestamp occurs more than once), ``perfect`` (rows that are an
exact copy of another row; every row of such a group counts), ``unclear`` (rows of a repeated
timestamp that are not an exact copy of another row), so ``total_dupes = perfect + unclear``,
and ``nan`` (rows with a missing value; for acc, a missing x). Then unclear rows are dropped,
then rows with a missing value, then one of each exact copy is kept (``kept_rows``).

Where dedupe runs: in the converter. Duplicates can be anywhere in a monthly file (a re-sent
block lands at the end), so dedupe needs the whole member file, and Convert is the one step
that reads a whole file. Memory stays bounded: rows are spilled to one local Arrow file per UTC
day while the CSV streams in, and copies share a timestamp, so they always share a day: each
day is deduped on its own, in memory, and yielded sorted by time. The counts leave the
converter as a ``SideTable`` (one row per file), which Convert writes to
``stage/embrace/duplicates/participant=<p>/<file digest>.parquet`` (a rerun overwrites it) and
the Glue job curates into ``embrace_duplicates``.

Bad input: a header that is not the stream's or an empty file is rejected whole
(``RejectedFile``), and so is a file with more bad rows than good (the toolkit's file rule:
the report counts rows). A row with a wrong field count, a missing or non-numeric timestamp
or a non-numeric value is skipped and reported (in the file's ``RejectionReport``, with
examples) and is not part of the counts; an empty cell or ``nan`` is a missing value (``nan``).
A stream file outside the structure, or another file in the export, is quarantined with the
reason (``reject_reason``); a device folder lacking a stream file is reported by ``check_export``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv, ipc

from phenolake.sinks.base import SeriesSpec
from phenolake.sources.base import (
    DayBatch,
    Lazy,
    Member,
    Provenance,
    RejectedFile,
    SideTable,
    Source,
)
from phenolake.sources.toolkit import (
    PROVENANCE_FIELDS,
    RejectionReport,
    dictionary_column,
    numbers,
    provenance_columns,
    provenance_row,
    quoted,
    split_by_day,
    utc_days,
)

TIME_HEADER = "Unix Timestamp (UTC)"
#: stream -> (CSV header after the time column, staged column names)
STREAMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "eda": (("EDA (microS)",), ("eda_microsiemens",)),
    "temp": (("Degrees (°C)",), ("temp_celsius",)),
    "acc": (("x (g)", "y (g)", "z (g)"), ("x_g", "y_g", "z_g")),
}
METADATA = "metadata"
METADATA_HEADER = (
    "Datetime (UTC)",
    "Timezone (minutes)",
    "Embrace firmware version",
    "App",
    "App version",
    "Mobile OS",
    "Mobile OS version",
    "GTCS algorithm version",
)
METADATA_COLUMNS = (
    "datetime_utc",
    "timezone_minutes",
    "firmware_version",
    "app",
    "app_version",
    "mobile_os",
    "mobile_os_version",
    "gtcs_algorithm_version",
)
FILES = (*STREAMS, METADATA)
RATE_HZ = {"eda": 4.0, "temp": 1.0, "acc": 32.0}
DUPLICATES = "duplicates"
LAYOUT = "<study>/<SITE>/<participant>/<device>/"

TIME = pa.timestamp("ms", tz="UTC")
KEYS = [pa.field("participant_id", pa.string()), pa.field("device_id", pa.string())]
#: Columns with one value per file are dictionary-encoded in the converter's batches (a day of
#: acc is 2.8 million rows: as plain strings the provenance alone would take 500 MB); Parquet
#: stores them as strings (dictionary pages), so readers see plain strings.
CONSTANT = pa.dictionary(pa.int32(), pa.string())
STAGE_SCHEMAS = {
    stream: pa.schema(
        [
            pa.field("participant_id", CONSTANT),
            pa.field("device_id", CONSTANT),
            pa.field("time", TIME),
            *[pa.field(c, pa.float64()) for c in columns],
            *[pa.field(f.name, CONSTANT) for f in PROVENANCE_FIELDS],
        ]
    )
    for stream, (_, columns) in STREAMS.items()
}
METADATA_SCHEMA = pa.schema(
    [
        *KEYS,
        pa.field("datetime_utc", TIME),
        pa.field("timezone_minutes", pa.int32()),
        *[pa.field(c, pa.string()) for c in METADATA_COLUMNS[2:]],
        *PROVENANCE_FIELDS,
    ]
)
DUPLICATES_SCHEMA = pa.schema(
    [
        *KEYS,
        pa.field("month", pa.string()),
        pa.field("stream", pa.string()),
        pa.field("perfect", pa.int64()),
        pa.field("nan", pa.int64()),
        pa.field("unclear", pa.int64()),
        pa.field("total_rows", pa.int64()),
        pa.field("total_dupes", pa.int64()),
        pa.field("kept_rows", pa.int64()),
        *PROVENANCE_FIELDS,
    ]
)

WRONG_HEADER = "header is not one of the Embrace stream headers"
WRONG_FIELDS = "row has the wrong number of fields"
BAD_TIME = "missing or non-numeric timestamp"
NON_NUMERIC = "non-numeric value"
BAD_METADATA = "metadata row with an unreadable datetime or timezone"
BLOCK_BYTES = 1 << 20  # Arrow's CSV reader holds several blocks' strings: 8 MiB peaks at 490 MB
_MONTH = re.compile(r"(\d{8})_(\d{8})(?:\.zip)?$", re.IGNORECASE)
_MISSING = r"^(?:[nN][aA][nN])?$"  # a cell without its blanks: empty or nan


def _inside_zip(raw_path: str) -> tuple[str, ...]:
    """The path's parts below its last ``.zip`` component (all of it for loose files)."""
    parts = PurePosixPath(raw_path).parts
    zips = [i for i, p in enumerate(parts) if p.lower().endswith(".zip")]
    return parts[zips[-1] + 1 :] if zips else parts


def _junk(parts: tuple[str, ...]) -> bool:
    return any(p == "__MACOSX" or p.startswith(".") for p in parts)


def stream_of(raw_path: str) -> str | None:
    """Which Embrace file a path names (acc, eda, temp, metadata), by its file name."""
    name = PurePosixPath(raw_path).name.lower()
    stem = name[:-4] if name.endswith(".csv") else ""
    return stem if stem in FILES else None


def locate(raw_path: str) -> tuple[str, str, str] | None:
    """(site, participant folder, device serial) of a stream file, found by structure.

    The file must sit in ``<study>/<SITE>/<participant>/<device>/`` below whatever leading
    folders the export has, so at least four folders (inside the zip) above it."""
    parts = _inside_zip(raw_path)
    if _junk(parts) or stream_of(raw_path) is None or len(parts) < 5:
        return None
    site, participant, device = parts[-4], parts[-3], parts[-2]
    if not (site and participant and device):
        return None
    return site, participant, device


def participant_id(site: str, folder: str) -> str:
    return site.lower() + folder


def export_month(key: str) -> str:
    """``20190801_20190831`` from ``Sensors_U02_ALLSITES_20190801_20190831.zip`` (or a folder
    named like it) anywhere in the key; empty when the export is not named that way."""
    for part in PurePosixPath(key).parts:
        match = _MONTH.search(part)
        if match:
            return f"{match.group(1)}_{match.group(2)}"
    return ""


@dataclass(frozen=True)
class DupeCounts:
    total_rows: int = 0
    total_dupes: int = 0
    perfect: int = 0
    unclear: int = 0
    nan: int = 0
    kept_rows: int = 0

    def __add__(self, other: DupeCounts) -> DupeCounts:
        ours, theirs = asdict(self), asdict(other)
        return DupeCounts(**{name: ours[name] + theirs[name] for name in ours})


def dedupe(
    time_ms: np.ndarray, values: np.ndarray, missing: np.ndarray
) -> tuple[np.ndarray, DupeCounts]:
    """The rows to keep (indices, in time order) and the counts, by the rule in the module doc.

    ``values`` is (rows, measures) float64 with NaN for a missing cell; ``missing`` marks the
    rows that count as having a missing value. Exact copies compare the values bit for bit
    (NaN equal to NaN), so EDA's ``-0.0`` must be made ``0.0`` before."""
    rows = len(time_ms)
    if rows == 0:
        return np.zeros(0, dtype=np.int64), DupeCounts()
    canonical = np.where(np.isnan(values), np.nan, values)  # one NaN bit pattern
    bits = canonical.view(np.int64)
    order = np.lexsort((*[bits[:, i] for i in range(bits.shape[1] - 1, -1, -1)], time_ms))
    sorted_bits = bits[order]
    del canonical, bits
    times = time_ms[order]
    new_time = np.ones(rows, dtype=bool)
    new_time[1:] = times[1:] != times[:-1]
    del times
    new_row = new_time.copy()
    new_row[1:] |= np.any(sorted_bits[1:] != sorted_bits[:-1], axis=1)
    del sorted_bits
    repeated = _in_runs_longer_than_one(new_time)
    perfect = _in_runs_longer_than_one(new_row)
    unclear = repeated & ~perfect
    nan = missing[order]
    keep = new_row & ~unclear & ~nan
    counts = DupeCounts(
        total_rows=rows,
        total_dupes=int(repeated.sum()),
        perfect=int(perfect.sum()),
        unclear=int(unclear.sum()),
        nan=int(nan.sum()),
        kept_rows=int(keep.sum()),
    )
    return order[keep], counts


def _in_runs_longer_than_one(starts: np.ndarray) -> np.ndarray:
    """For sorted rows whose runs begin where ``starts`` is true: is the row's run longer?"""
    first = np.flatnonzero(starts)
    sizes = np.diff(np.append(first, starts.size))
    return np.repeat(sizes > 1, sizes)


class Embrace(Source):
    name = "embrace"
    spec = Lazy("phenolake.sources.embrace.spec:SPEC")
    options_model = Lazy("phenolake.sources.embrace.options:EmbraceOptions")
    tables: ClassVar[tuple[str, ...]] = (
        "embrace_eda",
        "embrace_temp",
        "embrace_acc",
        "embrace_wear_time",
        "embrace_duplicates",
        "embrace_metadata",
    )
    nominal_hz: ClassVar[dict[str, float]] = RATE_HZ
    time_column: ClassVar[str | None] = "time"
    timeseries: ClassVar[tuple[SeriesSpec, ...]] = tuple(
        SeriesSpec(
            metric=stream,
            measure_name=stream,
            time_column="time",
            dimensions=("participant_id", "device_id"),
            measures=columns,
        )
        for stream, (_, columns) in STREAMS.items()
    )

    def __init__(self, *, block_bytes: int = BLOCK_BYTES) -> None:
        self.block_bytes = block_bytes

    def recognise(self, relative_path: str) -> bool:
        name = PurePosixPath(relative_path).name
        if name.lower().startswith("sensors_") and name.lower().endswith(".zip"):
            return True
        return locate(relative_path) is not None

    def member(self, raw_path: str) -> Member | None:
        found = locate(raw_path)
        if found is None:
            return None
        site, folder, device = found
        return Member(
            source=self.name,
            participant=participant_id(site, folder),
            metric=stream_of(raw_path) or "",
            device=device,
        )

    def reject_reason(self, raw_path: str) -> str | None:
        parts = _inside_zip(raw_path)
        if _junk(parts):
            return None
        stream = stream_of(raw_path)
        if stream is None:
            return (
                f"not an Embrace file: expected acc.csv, eda.csv, temp.csv or metadata.csv "
                f"in {LAYOUT}"
            )
        return f"{stream}.csv is not in {LAYOUT} (found {'/'.join(parts)})"

    def check_export(self, members: list[str]) -> list[tuple[str, str]]:
        """Device folders that lack a stream file, and an export with no device folder at all."""
        devices: dict[tuple[str, ...], set[str]] = {}
        for member in members:
            parts = PurePosixPath(member).parts
            if locate(member) is not None:
                devices.setdefault(parts[:-1], set()).add(stream_of(member) or "")
        problems = []
        for folder, found in sorted(devices.items()):
            for missing in sorted(set(FILES) - found):
                why = "local_date unknown" if missing == METADATA else "stream missing"
                problems.append(
                    (
                        "/".join((*folder, f"{missing}.csv")),
                        f"device folder has no {missing}.csv ({why})",
                    )
                )
        if not devices:
            problems.append(("", f"no Embrace device folder ({LAYOUT}acc|eda|temp|metadata.csv)"))
        return problems

    def convert(
        self, stream: BinaryIO, member: Member, provenance: Provenance, report: RejectionReport
    ) -> Iterator[DayBatch | SideTable]:
        """A stream's rows deduped day by day, then its duplicate counts (a ``SideTable``);
        the report counts rows, for the file rule (a header and no rows is a device that
        recorded nothing: no batch, counts of zero)."""
        if member.metric == METADATA:
            yield from self._convert_metadata(stream, member, provenance, report)
            return
        header, columns = STREAMS[member.metric]
        reader = io.BufferedReader(stream, buffer_size=1 << 16)  # type: ignore[arg-type]
        _check_header(reader, (TIME_HEADER, *header))
        report.judge_by("row")
        counts = DupeCounts()
        schema = STAGE_SCHEMAS[member.metric]
        with tempfile.TemporaryDirectory(prefix="phenolake-embrace-") as tmp:
            days = _spill_by_day(reader, len(header), Path(tmp), report, self.block_bytes)
            for day in sorted(days):
                with ipc.open_file(days[day]) as spilled:
                    table = spilled.read_all()
                time_ms = table["time"].to_numpy()
                values = np.empty((table.num_rows, len(header)), dtype=np.float64)
                for i in range(len(header)):
                    values[:, i] = table[f"v{i}"].to_numpy()
                del table
                if member.metric == "eda":
                    values[values == 0.0] = 0.0  # -0.0 -> 0.0 (== is true for both zeros)
                keep, day_counts = dedupe(time_ms, values, np.isnan(values[:, 0]))
                counts += day_counts
                if keep.size == 0:
                    continue
                rows = keep.size
                kept = values[keep]
                arrays = [
                    dictionary_column(member.participant, rows),
                    dictionary_column(member.device, rows),
                    pa.array(time_ms[keep], pa.int64()).cast(TIME),
                    *[
                        pa.array(kept[:, i], pa.float64(), from_pandas=True)
                        for i in range(len(columns))
                    ],
                    *provenance_columns(provenance, rows, dictionary=True).values(),
                ]
                del time_ms, values, kept, keep  # before the next day is read
                yield DayBatch(day, pa.Table.from_arrays(arrays, schema=schema))
                del arrays
        yield SideTable(DUPLICATES, duplicates_row(member, provenance, counts))

    def _convert_metadata(
        self, stream: BinaryIO, member: Member, provenance: Provenance, report: RejectionReport
    ) -> Iterator[DayBatch]:
        reader = io.BufferedReader(stream, buffer_size=1 << 16)  # type: ignore[arg-type]
        _check_header(reader, METADATA_HEADER)
        report.judge_by("metadata row")
        table = csv.read_csv(
            reader,
            read_options=csv.ReadOptions(column_names=list(METADATA_COLUMNS), use_threads=False),
            parse_options=csv.ParseOptions(invalid_row_handler=_invalid_row(report)),
            convert_options=csv.ConvertOptions(
                column_types=dict.fromkeys(METADATA_COLUMNS, pa.string()),
                strings_can_be_null=False,
            ),
        )
        report.seen += table.num_rows
        by_day: dict[str, list[dict[str, object]]] = {}
        for number, row in enumerate(table.to_pylist(), start=2):
            when = _parse_datetime(row["datetime_utc"])
            try:
                offset = int(float(row["timezone_minutes"]))
            except ValueError:
                offset = None
            if when is None or offset is None:
                cells = f"{quoted(row['datetime_utc'])}, {quoted(row['timezone_minutes'])}"
                report.add(BAD_METADATA, [f"line {number}: {cells}"])
                continue
            by_day.setdefault(when.date().isoformat(), []).append(
                {
                    "participant_id": member.participant,
                    "device_id": member.device,
                    **row,
                    "datetime_utc": when,
                    "timezone_minutes": offset,
                    **provenance_row(provenance),
                }
            )
        for day in sorted(by_day):
            yield DayBatch(day, pa.Table.from_pylist(by_day[day], schema=METADATA_SCHEMA))

    def write_samples(self, out_dir: Path, seed: int) -> list[Path]:
        """Two exports of August 2019 (sites FC and MG); see ``samples``."""
        from phenolake.sources.embrace import samples

        return samples.write(out_dir, seed)


def duplicates_row(member: Member, provenance: Provenance, counts: DupeCounts) -> pa.Table:
    row = {
        "participant_id": member.participant,
        "device_id": member.device,
        "month": export_month(provenance.source_key),
        "stream": member.metric,
        **asdict(counts),
        **provenance_row(provenance),
    }
    return pa.Table.from_pylist([row], schema=DUPLICATES_SCHEMA)


# --- reading -----------------------------------------------------------------------------


def _invalid_row(report: RejectionReport) -> Callable[[csv.InvalidRow], str]:
    """Arrow's handler for a row of the wrong field count: counted in ``report``, skipped."""

    def invalid_row(row: csv.InvalidRow) -> str:
        report.seen += 1
        report.add(WRONG_FIELDS, [quoted(row.text)])
        return "skip"

    return invalid_row


def _check_header(reader: io.BufferedReader, expected: tuple[str, ...]) -> None:
    raw = reader.readline()
    if not raw:
        raise RejectedFile("empty file: no header")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # an export re-saved by a spreadsheet (°C in Latin-1)
    found = tuple(cell.strip() for cell in text.rstrip("\r\n").split(","))
    if found != expected:
        raise RejectedFile(f"{WRONG_HEADER}: expected {','.join(expected)!r}, got {text.strip()!r}")


def _spill_by_day(
    reader: io.BufferedReader, measures: int, tmp: Path, report: RejectionReport, block_bytes: int
) -> dict[str, Path]:
    """Stream the rows, check them, and append each to its UTC day's Arrow file."""
    names = ["time", *[f"v{i}" for i in range(measures)]]
    spill_schema = pa.schema(
        [("time", pa.int64())] + [(f"v{i}", pa.float64()) for i in range(measures)]
    )
    writers: dict[str, ipc.RecordBatchFileWriter] = {}
    paths: dict[str, Path] = {}
    try:
        batches = csv.open_csv(
            reader,
            read_options=csv.ReadOptions(
                column_names=names, use_threads=False, block_size=block_bytes
            ),
            parse_options=csv.ParseOptions(invalid_row_handler=_invalid_row(report)),
            convert_options=csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            return {}
        raise RejectedFile(f"unreadable CSV: {exc}") from None
    try:
        for batch in batches:
            table = _checked(pa.Table.from_batches([batch]), names, report)
            if table.num_rows == 0:
                continue
            for part in split_by_day(table, utc_days(table["time"].to_numpy(), "ms")):
                if part.day not in writers:
                    paths[part.day] = tmp / f"{part.day}.arrow"
                    writers[part.day] = ipc.new_file(paths[part.day], spill_schema)
                writers[part.day].write_table(part.table.cast(spill_schema))
    except pa.ArrowInvalid as exc:
        raise RejectedFile(f"unreadable CSV: {exc}") from None
    finally:
        for writer in writers.values():
            writer.close()
    return paths


def _checked(raw: pa.Table, names: list[str], report: RejectionReport) -> pa.Table:
    """Cells (strings) -> int64 time and float64 values; bad rows reported and dropped.

    Each column is cast straight to float64 (Arrow's parser); only a column holding a cell it
    refuses (an empty cell, a word) is checked cell by cell with the regular expressions."""
    rows = raw.num_rows
    report.seen += rows
    bad_time = np.zeros(rows, dtype=bool)
    bad_value = np.zeros(rows, dtype=bool)
    columns: list[np.ndarray] = []
    for name in names:
        cells = raw[name]
        try:
            values = _float(pc.cast(cells, pa.float64()))
            numeric = np.ones(rows, dtype=bool)
        except pa.ArrowInvalid:
            read = numbers(cells)
            values = _float(read.values)
            numeric = _np(read.is_number)
            if name != "time":
                numeric |= _np(pc.match_substring_regex(read.trimmed, _MISSING))
        with np.errstate(invalid="ignore"):
            if name == "time":
                bad_time |= ~numeric | ~np.isfinite(values) | (values != np.floor(values))
            else:
                bad_value |= ~numeric | np.isinf(values)
        columns.append(values)
    bad_value &= ~bad_time
    for mask, reason in ((bad_time, BAD_TIME), (bad_value, NON_NUMERIC)):
        if mask.any():
            first = int(np.flatnonzero(mask)[0])
            example = ",".join(str(raw[n][first]) for n in names)
            row = report.seen - rows + first + 1
            report.add(reason, [f"row {row}: {quoted(example)}"], rows=int(mask.sum()))
    keep = ~(bad_time | bad_value)
    out = {"time": pa.array(np.where(keep, columns[0], 0).astype(np.int64))}
    for name, values in zip(names[1:], columns[1:], strict=True):
        out[name] = pa.array(values)
    return pa.table(out).filter(pa.array(keep))


def _float(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(values, np.nan).to_numpy(zero_copy_only=False), np.float64)


def _np(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _parse_datetime(text: str) -> dt.datetime | None:
    text = text.strip()
    try:
        if re.fullmatch(r"\d{10,13}", text):
            return dt.datetime.fromtimestamp(int(text) / (1000 if len(text) > 10 else 1), dt.UTC)
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
