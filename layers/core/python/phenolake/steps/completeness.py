"""Completeness: what data there is per participant x metric x day, against the nominal rate.

Updated after every run for the (source, day)s it touched, from the merged day files
(footers, plus the ``site`` and ``device`` columns where a file has them), and written as
three tables the study team queries in Athena and ``phenolake report`` draws:

``completeness`` (partitioned by ``source``, ``date``)
    ``participant_id, metric, rows, expected_rows, coverage, first_time, last_time``: rows of
    the day; expected rows from the metric's nominal rate (the study's ``NominalRates``
    parameter, else the source's ``nominal_hz``; null where there is none); coverage is their
    ratio; first/last time from the Parquet statistics of the file's ``time`` or
    ``timestamp`` column (null where the data has no such column).
``participant_days`` (partitioned by ``source``, ``date``)
    ``site, participant_id, metric, device, rows``: the same days split by device (the day
    key's device, else the data's ``device`` column), with the site of the rows.

A run's work is what it merged, not the study's age: a touched (source, day) partition keeps
its rows of the participants and metrics the run did not touch and gets the touched ones
recomputed from their own day files (found by key, the source is not listed); the statistics
are merged (``daystats``).

Days are the participant's own (study.yaml ``participant_timezones``, else the study's
``timezone``; UTC by default): for a participant whose zone is not UTC, a day's rows are those
whose ``time``/``timestamp`` falls on that local day, read from the UTC day files on either
side, and the expected rows are the rate times that day's length (23 or 25 hours across a
clock change). Rows with no time column stay on the day of their file.

A day file that Curate refused in this run (schema drift, quarantined) is not counted: its
rows are in no table.
``participant_stats`` (not partitioned)
    ``source, site, participant_id, metric, device, row_count, start_date, end_date,
    day_count, day_rows_mean, day_rows_sd``: the per-participant statistics the study's scripts
    used to compute, with the mean and population sd of the rows per day with data. Updated,
    not rebuilt: the replaced days' stored ``participant_days`` rows are taken out and their new
    rows merged in (``merge_stats``); only a first or last day taken out and not put back is
    looked up, in the source's ``participant_days`` partitions read outward from it (usually
    one). Rebuilt from every partition only when there is no stored table with the sd (a new
    lake, or one written before it).
"""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from phenolake import catalog, contracts, daystats, lake, sources, storage, study
from phenolake.config import Settings
from phenolake.contracts import DayItem, WorkListRef
from phenolake.steps.common import StepEvent, s3_client

TABLE = "completeness"
DAYS_TABLE = "participant_days"
STATS_TABLE = "participant_stats"
PARTITIONS: list[catalog.Column] = [("source", "string"), ("date", "string")]
TIME_COLUMNS = ("time", "timestamp")

SCHEMA = pa.schema(
    [
        ("participant_id", pa.string()),
        ("metric", pa.string()),
        ("rows", pa.int64()),
        ("expected_rows", pa.int64()),
        ("coverage", pa.float64()),
        ("first_time", pa.timestamp("us", "UTC")),
        ("last_time", pa.timestamp("us", "UTC")),
    ]
)
DAYS_SCHEMA = pa.schema(
    [
        ("site", pa.string()),
        ("participant_id", pa.string()),
        ("metric", pa.string()),
        ("device", pa.string()),
        ("rows", pa.int64()),
    ]
)
STATS_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("site", pa.string()),
        ("participant_id", pa.string()),
        ("metric", pa.string()),
        ("device", pa.string()),
        ("row_count", pa.int64()),
        ("start_date", pa.string()),
        ("end_date", pa.string()),
        ("day_count", pa.int64()),
        ("day_rows_mean", pa.float64()),
        ("day_rows_sd", pa.float64()),
    ]
)
STATS_KEYS = ["source", "site", "participant_id", "metric", "device"]
_GLUE = {
    pa.string(): "string",
    pa.int64(): "bigint",
    pa.float64(): "double",
    pa.timestamp("us", "UTC"): "timestamp",
}


def columns_of(schema: pa.Schema) -> list[catalog.Column]:
    return [(f.name, _GLUE[f.type]) for f in schema]


class CompletenessEvent(StepEvent):
    #: The merge work list (``$.converted.merge``): the days this run merged.
    days: WorkListRef


def nominal_rate(source: str, metric: str, settings: Settings | None = None) -> float | None:
    """The study's configured rate of a metric, else the source's own; None if irregular."""
    configured = settings.rate(source, metric) if settings else None
    if configured:
        return configured
    return sources.get(source).nominal_hz.get(metric) if source in sources.REGISTRY else None


def expected_rows(
    source: str, metric: str, settings: Settings | None = None, seconds: float = 86400
) -> int | None:
    rate = nominal_rate(source, metric, settings)
    return round(rate * seconds) if rate else None


def day_seconds(day: str, zone: str) -> float:
    """The length of a local day in seconds (86,400 but across a clock change)."""
    tz = zoneinfo.ZoneInfo(zone)
    start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tz)
    end = dt.datetime.combine(dt.date.fromisoformat(day) + dt.timedelta(days=1), dt.time(), tz)
    return (end.astimezone(dt.UTC) - start.astimezone(dt.UTC)).total_seconds()


def _utc(zone: str) -> bool:
    return zone in ("UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "GMT", "Etc/GMT")


def _local_rows(table: pa.Table, day: str, zone: str) -> tuple[pa.Table, Any, Any] | None:
    """The rows of ``table`` whose time falls on local ``day`` in ``zone``, and their first
    and last time; None when the table has no timestamp column to place them by."""
    for name in TIME_COLUMNS:
        if name in table.column_names and pa.types.is_timestamp(table.schema.field(name).type):
            times = table.column(name)
            unit = times.type.unit
            utc = pc.cast(times, pa.timestamp(unit, "UTC"))
            local = pc.strftime(pc.cast(utc, pa.timestamp(unit, zone)), format="%Y-%m-%d")
            kept = table.filter(pc.fill_null(pc.equal(local, day), False))
            if kept.num_rows == 0:
                return kept, None, None
            low = pc.min(kept.column(name)).as_py()
            high = pc.max(kept.column(name)).as_py()
            return kept, _utc_time(low), _utc_time(high)
    return None


def _time_range(meta: pq.FileMetaData) -> tuple[Any, Any]:
    """Min and max of the time column from the row groups' statistics (no data read)."""
    schema = meta.schema.to_arrow_schema()
    for name in TIME_COLUMNS:
        index = schema.get_field_index(name)
        if index < 0 or not pa.types.is_timestamp(schema.field(index).type):
            continue
        lows, highs = [], []
        for group in range(meta.num_row_groups):
            stats = meta.row_group(group).column(index).statistics
            if stats is None or not stats.has_min_max:
                return None, None
            lows.append(stats.min)
            highs.append(stats.max)
        if lows:
            return _utc_time(min(lows)), _utc_time(max(highs))
    return None, None


def _utc_time(value: Any) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _split(parquet: pq.ParquetFile, found: dict[str, str]) -> list[tuple[str, str, int]]:
    """(site, device, rows) of a day file: by the key's device, else the ``device`` column."""
    names = set(parquet.schema_arrow.names)
    wanted = [
        c for c in ("site", "device") if c in names and not (c == "device" and found["device"])
    ]
    if not wanted:
        return [("", found["device"], parquet.metadata.num_rows)]
    return _split_table(parquet.read(columns=wanted), found)


def _split_table(table: pa.Table, found: dict[str, str]) -> list[tuple[str, str, int]]:
    """(site, device, rows) of rows: by the key's device, else the ``device`` column."""
    wanted = [
        c
        for c in ("site", "device")
        if c in table.column_names and not (c == "device" and found["device"])
    ]
    if not wanted:
        return [("", found["device"], table.num_rows)]
    table = table.select(wanted)
    for column in ("site", "device"):
        if column not in table.column_names:
            value = found["device"] if column == "device" else ""
            table = table.append_column(column, pa.array([value] * table.num_rows, pa.string()))
        else:
            filled = pc.fill_null(pc.cast(table.column(column), pa.string()), "")
            table = table.set_column(table.column_names.index(column), column, filled)
    counts = table.group_by(["site", "device"]).aggregate([("site", "count")])
    return [
        (r["site"], r["device"], r["site_count"])
        for r in counts.sort_by([("site", "ascending"), ("device", "ascending")]).to_pylist()
    ]


def refused_by_curate(s3: Any, bucket: str, run_id: str) -> set[str]:
    """Merged day files this run's Curate refused (schema drift): their rows are in no table,
    so they are not counted as data."""
    prefix = lake.quarantine_key(run_id, f"{bucket}/{lake.MERGED}/")
    refused = set()
    for obj in storage.list_objects(s3, bucket, prefix):
        found = lake.parse_reason_key(obj.key)
        if found:
            refused.add(found[1].removeprefix(f"{bucket}/"))
    return refused


def day_rows(
    s3: Any,
    bucket: str,
    source: str,
    day: str,
    settings: Settings | None = None,
    refused: set[str] | frozenset[str] = frozenset(),
    zone_of: Callable[[str], str] = lambda participant: "UTC",
) -> tuple[pa.Table, pa.Table]:
    """The completeness and participant_days rows of one source's day (each participant's
    local day, ``zone_of``), from every merged day file of the source: the whole day from
    scratch (the Completeness step itself updates only the days' participants a run touched,
    ``touched_day_rows``)."""
    near = {(dt.date.fromisoformat(day) + dt.timedelta(days=d)).isoformat() for d in (-1, 0, 1)}

    def files() -> Iterator[tuple[dict[str, str], bytes]]:
        for obj in storage.list_objects(s3, bucket, lake.merged_source_prefix(source)):
            found = lake.parse_merged_key(obj.key)  # names decoded: the real participant
            if not found or obj.key in refused:
                continue
            zone = zone_of(found["participant"])
            if found["date"] != day and (_utc(zone) or found["date"] not in near):
                continue
            yield found, s3.get_object(Bucket=bucket, Key=obj.key)["Body"].read()

    return _day_tables(source, day, files(), settings, zone_of)


def touched_day_rows(
    s3: Any,
    bucket: str,
    source: str,
    day: str,
    touched: set[tuple[str, str]],
    settings: Settings | None = None,
    refused: set[str] | frozenset[str] = frozenset(),
    zone_of: Callable[[str], str] = lambda participant: "UTC",
    devices: dict[str, list[str]] | None = None,
) -> tuple[pa.Table, pa.Table]:
    """``day_rows`` of the ``touched`` (metric, participant)s of a source's day alone, read
    from their own merged day files (the day's, and for a participant not on UTC the days on
    either side): no listing of the source. ``devices`` caches each participant's device
    folders across days."""
    devices = {} if devices is None else devices

    def files() -> Iterator[tuple[dict[str, str], bytes]]:
        for metric, participant in sorted(touched):
            base = lake.participant_prefix(source, metric, participant)
            if base not in devices:
                devices[base] = _device_folders(s3, bucket, base)
            dates = [day] if _utc(zone_of(participant)) else sorted(_near(day))
            for folder in [base, *devices[base]]:
                for date in dates:
                    key = f"{folder}date={date}/{lake.MERGED_FILE}"
                    found = lake.parse_merged_key(key)
                    if found is None or key in refused:
                        continue
                    body = _get(s3, bucket, key)
                    if body is not None:
                        yield found, body

    return _day_tables(source, day, files(), settings, zone_of)


def _near(day: str) -> set[str]:
    return {(dt.date.fromisoformat(day) + dt.timedelta(days=d)).isoformat() for d in (-1, 0, 1)}


def _device_folders(s3: Any, bucket: str, base: str) -> list[str]:
    """A participant's ``device=`` folders under its metric (one listing of folders only)."""
    folders = []
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=base + "device=", Delimiter="/"
    )
    for page in pages:
        folders += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    return sorted(folders)


def _get(s3: Any, bucket: str, key: str) -> bytes | None:
    """An object's body, None where there is none."""
    from botocore.exceptions import ClientError

    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


def _day_tables(
    source: str,
    day: str,
    files: Iterable[tuple[dict[str, str], bytes]],
    settings: Settings | None,
    zone_of: Callable[[str], str],
) -> tuple[pa.Table, pa.Table]:
    """The completeness and participant_days rows of ``day`` from the merged day files given
    (the parts of each file's key, its body)."""
    totals: dict[tuple[str, str], list[Any]] = {}
    split: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for found, body in files:
        zone = zone_of(found["participant"])
        parquet = pq.ParquetFile(io.BytesIO(body))
        local = None if _utc(zone) else _local_rows(parquet.read(), day, zone)
        if local is None and found["date"] != day:
            continue  # no time to place the rows by: they stay on their file's day
        if local is None:
            count = parquet.metadata.num_rows
            first, last = _time_range(parquet.metadata) if count else (None, None)
            parts = _split(parquet, found) if count else []
        else:
            rows_of_day, first, last = local
            count = rows_of_day.num_rows
            parts = _split_table(rows_of_day, found) if count else []
        if count == 0 and found["date"] != day:
            continue
        key = (found["participant"], found["metric"])
        seen = totals.setdefault(key, [0, None, None])
        seen[0] += count
        seen[1] = first if seen[1] is None or (first and first < seen[1]) else seen[1]
        seen[2] = last if seen[2] is None or (last and last > seen[2]) else seen[2]
        for site, device, rows in parts:
            split[(site, found["participant"], found["metric"], device)] += rows
    columns: dict[str, list[Any]] = defaultdict(list)
    named = metric_names(source)
    for (participant, metric), (count, first, last) in sorted(totals.items()):
        seconds = day_seconds(day, zone_of(participant))
        expected = expected_rows(source, metric, settings, seconds)
        columns["participant_id"].append(participant)
        columns["metric"].append(named.get(metric, metric))
        columns["rows"].append(count)
        columns["expected_rows"].append(expected)
        columns["coverage"].append(round(count / expected, 6) if expected else None)
        columns["first_time"].append(first)
        columns["last_time"].append(last)
    detail: dict[str, list[Any]] = defaultdict(list)
    for (site, participant, metric, device), rows in sorted(split.items()):
        for name, value in zip(
            DAYS_SCHEMA.names, (site, participant, metric, device, rows), strict=True
        ):
            detail[name].append(value)
    return (
        _in_order(pa.table({n: columns[n] for n in SCHEMA.names}, schema=SCHEMA)),
        _in_order(pa.table({n: detail[n] for n in DAYS_SCHEMA.names}, schema=DAYS_SCHEMA)),
    )


def metric_names(source: str) -> dict[str, str]:
    """The source's metrics as completeness names them (``metric_tables``), where renamed."""
    return sources.get(source).metric_tables if source in sources.REGISTRY else {}


def _in_order(table: pa.Table) -> pa.Table:
    """A day's rows in one order, however they were computed (partly kept, partly new)."""
    keys = [c for c in ("site", "participant_id", "metric", "device") if c in table.column_names]
    return table.sort_by([(k, "ascending") for k in keys])


def replace_rows(
    old: pa.Table, new: pa.Table, touched: set[tuple[str, str]], schema: pa.Schema
) -> pa.Table:
    """A partition's ``old`` rows less those of the ``touched`` (metric, participant)s, plus
    ``new`` (theirs, recomputed)."""
    if old.num_rows == 0:
        return _in_order(new.cast(schema))
    participants, metrics = old.column("participant_id"), old.column("metric")
    kept = [
        (m, p) not in touched
        for p, m in zip(participants.to_pylist(), metrics.to_pylist(), strict=True)
    ]
    rest = old.select(schema.names).cast(schema).filter(pa.array(kept, pa.bool_()))
    return _in_order(pa.concat_tables([rest, new.cast(schema)]))


def participant_stats(days: pa.Table) -> pa.Table:
    """``participant_days`` rows (with source and date) -> one row per participant x metric x
    device: rows, first and last day with data, days with data, mean and population sd of the
    rows per day. From scratch (the Completeness step merges, ``merge_stats``)."""
    if days.num_rows == 0:
        return STATS_SCHEMA.empty_table()
    found: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
    for row in days.select([*STATS_KEYS, "date", "rows"]).to_pylist():
        found[tuple(row[k] for k in STATS_KEYS)].append((row["date"], row["rows"]))
    return _stats_table({key: daystats.DayStats.of(rows) for key, rows in found.items()})


def _stats_table(stats: dict[tuple[str, ...], daystats.DayStats | None]) -> pa.Table:
    columns: dict[str, list[Any]] = defaultdict(list)
    for key, found in sorted(stats.items()):
        if found is None:
            continue
        for name, value in zip(STATS_KEYS, key, strict=True):
            columns[name].append(value)
        columns["row_count"].append(found.row_count)
        columns["start_date"].append(found.start_date)
        columns["end_date"].append(found.end_date)
        columns["day_count"].append(found.day_count)
        columns["day_rows_mean"].append(found.mean)
        columns["day_rows_sd"].append(found.sd)
    return pa.table({n: columns[n] for n in STATS_SCHEMA.names}, schema=STATS_SCHEMA)


def merge_stats(
    stored: pa.Table,
    taken_out: list[dict[str, Any]],
    put_in: list[dict[str, Any]],
    find_day: Callable[[tuple[str, ...], str, bool], str | None],
) -> tuple[pa.Table, int]:
    """``participant_stats`` (``stored``) with the replaced days' rows as stored
    (``taken_out``: participant_days rows with source and date) taken out and their new rows
    (``put_in``) merged in (``daystats``). A first or last day taken out and not put back is
    looked up: ``find_day(key, bound, first)``, the key's first day after ``bound`` (last
    before it, ``first`` False) among the days stored now. Returns the table and how many
    days were looked up."""
    stats: dict[tuple[str, ...], daystats.DayStats | None] = {
        tuple(r[k] for k in STATS_KEYS): daystats.DayStats.stored(
            r["day_count"], r["row_count"], r["day_rows_sd"], r["start_date"], r["end_date"]
        )
        for r in stored.to_pylist()
    }
    out: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
    into: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
    for rows, changes in ((taken_out, out), (put_in, into)):
        for row in rows:
            changes[tuple(row[k] for k in STATS_KEYS)].append((row["date"], row["rows"]))
    looked_up = 0
    for key in sorted(set(out) | set(into)):
        result = daystats.update(stats.get(key), out.get(key, []), into.get(key, []))
        found = result.stats
        if found is not None and result.lost_first:
            found.start_date = find_day(key, found.start_date, True) or found.start_date
            looked_up += 1
        if found is not None and result.lost_last:
            found.end_date = find_day(key, found.end_date, False) or found.end_date
            looked_up += 1
        stats[key] = found
    return _stats_table(stats), looked_up


class _StoredDays:
    """The ``participant_days`` partitions of a source, read one at a time as a lost first or
    last day is looked for (outward from the day lost: usually the next one holds it)."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3, self.bucket = s3, bucket
        self.dates: dict[str, list[str]] = {}
        self.keys: dict[tuple[str, str], set[tuple[str, ...]]] = {}

    def find(self, key: tuple[str, ...], bound: str, first: bool) -> str | None:
        source = key[0]
        if source not in self.dates:
            prefix = lake.curated_prefix(DAYS_TABLE) + lake.partition_folder("source", source)
            found = set()
            for obj in storage.list_objects(self.s3, self.bucket, prefix + "/"):
                parts = lake.parse_partitions(obj.key)
                if obj.key.endswith(".parquet") and "date" in parts:
                    found.add(parts["date"])
            self.dates[source] = sorted(found)
        dates = self.dates[source]
        candidates = [d for d in dates if d > bound] if first else [d for d in dates if d < bound]
        for date in candidates if first else reversed(candidates):
            if key in self._keys(source, date):
                return date
        return None

    def _keys(self, source: str, date: str) -> set[tuple[str, ...]]:
        if (source, date) not in self.keys:
            table = _read_partition(self.s3, self.bucket, DAYS_TABLE, source, date, DAYS_SCHEMA)
            self.keys[(source, date)] = {
                (source, *(r[k] for k in STATS_KEYS[1:])) for r in table.to_pylist()
            }
        return self.keys[(source, date)]


def _read_partition(
    s3: Any, bucket: str, table: str, source: str, date: str, schema: pa.Schema
) -> pa.Table:
    key = lake.curated_partition_key(table, [("source", source), ("date", date)])
    body = _get(s3, bucket, key)
    if body is None:
        return schema.empty_table()
    return pq.read_table(io.BytesIO(body)).select(schema.names).cast(schema)


def _write(s3: Any, bucket: str, key: str, table: pa.Table) -> None:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    s3.put_object(Bucket=bucket, Key=key, Body=sink.getvalue())


def _read_all_days(s3: Any, bucket: str) -> pa.Table:
    tables = []
    for obj in storage.list_objects(s3, bucket, lake.curated_prefix(DAYS_TABLE)):
        parts = lake.parse_partitions(obj.key)
        if not obj.key.endswith(".parquet") or "source" not in parts:
            continue
        table = storage.read_table(s3, bucket, obj.key).cast(DAYS_SCHEMA)
        rows = table.num_rows
        table = table.append_column("source", pa.array([parts["source"]] * rows, pa.string()))
        tables.append(table.append_column("date", pa.array([parts["date"]] * rows, pa.string())))
    return pa.concat_tables(tables) if tables else pa.table({})


def touched_keys(
    days: list[DayItem], zone_of: Callable[[str], str]
) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """{(source, local day): {(metric, participant)}} whose rows a run's merged days may
    change: each day's own, and for a participant not on UTC the local days on either side (a
    UTC day file holds rows of both)."""
    found: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for item in days:
        local = {item.day} if _utc(zone_of(item.participant)) else _near(item.day)
        for day in local:
            found[(item.source, day)].add((item.metric, item.participant))
    return dict(found)


def _stored_stats(s3: Any, bucket: str) -> pa.Table | None:
    """The stored ``participant_stats``, None when there is none with the partials merged
    into (a new lake, or one written before ``day_rows_sd``: then rebuilt once)."""
    body = _get(s3, bucket, lake.curated_prefix(STATS_TABLE) + lake.MERGED_FILE)
    if body is None:
        return None
    table = pq.read_table(io.BytesIO(body))
    if not set(STATS_SCHEMA.names) <= set(table.column_names):
        return None
    return table.select(STATS_SCHEMA.names).cast(STATS_SCHEMA)


def _with_partition(table: pa.Table, source: str, date: str) -> list[dict[str, Any]]:
    rows = table.to_pylist()
    return [{**r, "source": source, "date": date} for r in rows]


def run(event: CompletenessEvent, settings: Settings) -> dict[str, Any]:
    """Update the three tables from the days this run merged: each touched (source, day)
    partition keeps its other participants' rows and gets the touched ones recomputed from
    their day files; ``participant_stats`` takes the replaced days' old rows out and merges
    the new ones in."""
    s3 = s3_client(settings)
    config = study.load_from_lake(s3, settings.lake_bucket)[0]
    settings = study.apply(settings, config)
    glue = storage.client("glue", settings.region)
    bucket, database = settings.lake_bucket, settings.glue_database
    listed = event.days.bucket or bucket
    where = lake.s3_uri(listed, event.days.key)
    days = contracts.load_list(DayItem, storage.get_json(s3, listed, event.days.key), where)
    wanted = touched_keys(days, config.zone_of)
    touched = sorted(wanted)
    written = 0
    refused = refused_by_curate(s3, bucket, event.run_id)
    devices: dict[str, list[str]] = {}
    taken_out: list[dict[str, Any]] = []
    put_in: list[dict[str, Any]] = []
    for source, day in touched:
        keys = wanted[(source, day)]
        table, detail = touched_day_rows(
            s3, bucket, source, day, keys, settings, refused, config.zone_of, devices
        )
        named = metric_names(source)
        for name, schema, rows, touched_as in (
            (TABLE, SCHEMA, table, {(named.get(m, m), p) for m, p in keys}),
            (DAYS_TABLE, DAYS_SCHEMA, detail, keys),
        ):
            old = _read_partition(s3, bucket, name, source, day, schema)
            if name == DAYS_TABLE:
                mask = [
                    (m, p) in keys
                    for p, m in zip(
                        old.column("participant_id").to_pylist(),
                        old.column("metric").to_pylist(),
                        strict=True,
                    )
                ]
                taken_out += _with_partition(old.filter(pa.array(mask, pa.bool_())), source, day)
                put_in += _with_partition(rows, source, day)
            key = lake.curated_partition_key(name, [("source", source), ("date", day)])
            _write(s3, bucket, key, replace_rows(old, rows, touched_as, schema))
        written += table.num_rows
    catalog.ensure_database(glue, database)
    for name, schema, description in (
        (TABLE, SCHEMA, "Rows per participant x metric x day against the nominal rate."),
        (DAYS_TABLE, DAYS_SCHEMA, "Rows per site x participant x metric x device x day."),
    ):
        location = lake.s3_uri(bucket, lake.curated_prefix(name))
        columns = columns_of(schema)
        catalog.ensure_table(glue, database, name, columns, PARTITIONS, location, description)
        catalog.ensure_partitions(
            glue, database, name, columns, [k for k, _ in PARTITIONS], location, touched
        )
    looked_up, rebuilt = 0, False
    if touched:
        stored = _stored_stats(s3, bucket)
        if stored is None:
            stats, rebuilt = participant_stats(_read_all_days(s3, bucket)), True
        else:
            found = _StoredDays(s3, bucket)
            stats, looked_up = merge_stats(stored, taken_out, put_in, found.find)
        _write(s3, bucket, lake.curated_prefix(STATS_TABLE) + lake.MERGED_FILE, stats)
        catalog.ensure_table(
            glue,
            database,
            STATS_TABLE,
            columns_of(STATS_SCHEMA),
            [],
            lake.s3_uri(bucket, lake.curated_prefix(STATS_TABLE)),
            "Per participant x metric x device: rows, first/last day with data, days, "
            "mean and sd of the rows per day.",
        )
    counts = {
        "completeness_rows": written,
        "days": len(touched),
        "stats_days_looked_up": looked_up,
        "stats_rebuilt": int(rebuilt),
    }
    flows = {"rows_out": written}  # the run's profile: the completeness rows written
    return {**counts, "metrics": {**counts, **flows}}
