"""Completeness: what data there is per participant x metric x day, against the nominal rate.

Recomputed after every run for the (source, day)s it touched, from the merged day files
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

Days are the participant's own (study.yaml ``participant_timezones``, else the study's
``timezone``; UTC by default): for a participant whose zone is not UTC, a day's rows are those
whose ``time``/``timestamp`` falls on that local day, read from the UTC day files on either
side, and the expected rows are the rate times that day's length (23 or 25 hours across a
clock change). Rows with no time column stay on the day of their file.

A day file that Curate refused in this run (schema drift, quarantined) is not counted: its
rows are in no table.
``participant_stats`` (not partitioned, rebuilt from every ``participant_days`` partition)
    ``source, site, participant_id, metric, device, row_count, start_date, end_date,
    day_count``: the per-participant statistics the study's scripts used to compute.
"""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from phenolake import catalog, contracts, lake, sources, storage, study
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
    ]
)
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
    local day, ``zone_of``)."""
    totals: dict[tuple[str, str], list[Any]] = {}
    split: dict[tuple[str, str, str, str], int] = defaultdict(int)
    near = {(dt.date.fromisoformat(day) + dt.timedelta(days=d)).isoformat() for d in (-1, 0, 1)}
    for obj in storage.list_objects(s3, bucket, lake.merged_source_prefix(source)):
        found = lake.parse_merged_key(obj.key)  # names decoded: the real participant
        if not found or obj.key in refused:
            continue
        zone = zone_of(found["participant"])
        if found["date"] != day and (_utc(zone) or found["date"] not in near):
            continue
        body = s3.get_object(Bucket=bucket, Key=obj.key)["Body"].read()
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
    named = sources.get(source).metric_tables if source in sources.REGISTRY else {}
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
        pa.table({n: columns[n] for n in SCHEMA.names}, schema=SCHEMA),
        pa.table({n: detail[n] for n in DAYS_SCHEMA.names}, schema=DAYS_SCHEMA),
    )


def participant_stats(days: pa.Table) -> pa.Table:
    """``participant_days`` rows (with source and date) -> one row per participant x metric x
    device: rows, first and last day with data, days with data."""
    if days.num_rows == 0:
        return STATS_SCHEMA.empty_table()
    keys = ["source", "site", "participant_id", "metric", "device"]
    stats = days.group_by(keys).aggregate(
        [("rows", "sum"), ("date", "min"), ("date", "max"), ("date", "count_distinct")]
    )
    stats = stats.rename_columns(
        [*keys, "row_count", "start_date", "end_date", "day_count"]
    ).select(STATS_SCHEMA.names)
    return stats.cast(STATS_SCHEMA).sort_by([(k, "ascending") for k in keys])


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


def run(event: CompletenessEvent, settings: Settings) -> dict[str, Any]:
    s3 = s3_client(settings)
    config = study.load_from_lake(s3, settings.lake_bucket)[0]
    settings = study.apply(settings, config)
    glue = storage.client("glue", settings.region)
    bucket, database = settings.lake_bucket, settings.glue_database
    listed = event.days.bucket or bucket
    where = lake.s3_uri(listed, event.days.key)
    days = contracts.load_list(DayItem, storage.get_json(s3, listed, event.days.key), where)
    touched = sorted({(d.source, d.day) for d in days})
    if not all(_utc(z) for z in (config.timezone, *config.participant_timezones.values())):
        # a local day overlaps the UTC days on either side of it
        touched = sorted(
            {
                (source, (dt.date.fromisoformat(day) + dt.timedelta(days=d)).isoformat())
                for source, day in touched
                for d in (-1, 0, 1)
            }
        )
    written = 0
    refused = refused_by_curate(s3, bucket, event.run_id)
    for source, day in touched:
        table, detail = day_rows(s3, bucket, source, day, settings, refused, config.zone_of)
        for name, rows in ((TABLE, table), (DAYS_TABLE, detail)):
            key = lake.curated_partition_key(name, [("source", source), ("date", day)])
            _write(s3, bucket, key, rows)
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
    stats = participant_stats(_read_all_days(s3, bucket)) if touched else None
    if stats is not None:
        _write(s3, bucket, lake.curated_prefix(STATS_TABLE) + "part-0.parquet", stats)
        catalog.ensure_table(
            glue,
            database,
            STATS_TABLE,
            columns_of(STATS_SCHEMA),
            [],
            lake.s3_uri(bucket, lake.curated_prefix(STATS_TABLE)),
            "Per participant x metric x device: rows, first/last day with data, days.",
        )
    counts = {"completeness_rows": written, "days": len(touched)}
    return {**counts, "metrics": counts}
