"""Glue job: curate the Embrace streams into the Iceberg tables ``embrace_eda``, ``embrace_temp``,
``embrace_acc``, ``embrace_metadata``, ``embrace_wear_time`` and ``embrace_duplicates``.

A run reads what arrived and nothing else: exactly the merged day files its DailyMerge wrote
(``--days``, the run's merge work list; never a listing of merged/), the earlier rows it needs
from the curated tables, each read bounded by the run's participants and days, and the
duplicate counts its own Convert items wrote (their manifests name them). Each table is
replaced where the run touched it, in one Iceberg commit, so a rerun or a replay of a day never
duplicates rows and no other day of the study is read or rewritten.

- ``embrace_eda`` / ``embrace_temp`` / ``embrace_acc`` (partitions ``participant_id``,
  ``date``, the UTC day): the (participant, day) partitions of the run's day files are
  replaced. A partition may also hold another device of the participant that this run did not
  bring (a device swapped mid-day, exported in another month): those rows are kept (read back
  from the partition and written again in the same commit).
- ``local_date``: the timezone model is "UTC stored, local study day derived". Each row takes
  the offset (``Timezone (minutes)``, minutes east of UTC) of its device's latest
  ``metadata.csv`` row at or before its time, or the first one when it is earlier than all;
  a device without metadata has a null ``local_date`` (Unzip quarantined a reason for it).
  The offsets are the run's merged metadata days plus the participant's earlier rows of
  ``embrace_metadata`` (a few rows per export). A metadata row arriving late (earlier in time
  than rows already curated) changes only the rows curated from then on.
- ``embrace_metadata`` (partitions ``participant_id``, ``date``: the UTC day of the row, the
  merged day it came in): the ``metadata.csv`` rows themselves, with their provenance, so
  every landed ``metadata.csv`` is in a table. It is partitioned like the streams so a day's
  replacement is the same partition overwrite (a replace by provenance would rewrite every
  file of the participant holding any of that export's rows: Iceberg deletes whole files).
- ``embrace_wear_time`` (partitions ``participant_id``, ``local_date``): EDA in 10-second
  windows (epoch-aligned; offsets are whole minutes, so windows never straddle a local
  midnight); a window is not worn when more than 90% of its values are below 0.03 µS.
  ``minutes_worn`` = kept EDA samples in worn windows / 4 / 60, ``percent_worn`` = 100 x
  minutes_worn / 1440 (share of the local day). A local day spans two UTC days, so only the
  (participant, local_date)s the run's EDA rows fall on are recomputed, from ``embrace_eda``
  as this run's commit left it, reading the UTC days around them only; they are replaced by
  a condition on the partition columns (Iceberg replaces whole files, so the condition must
  align with partitions: hence ``local_date`` is one). Rows without a ``local_date`` have no
  local day to be worn in and are not in the table.
- ``embrace_duplicates`` (partition ``participant_id``): the converter's counts, one row per
  raw file (participant x device x stream x export), from the side files this run's Convert
  wrote (``stage/embrace/duplicates/``, named in ``manifests/<run>/converted/``), merged in by
  ``source_key``: a re-stated file's row is replaced, every other row is kept.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from functools import reduce
from typing import Any

import boto3
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from phenolake import lake, storage
from phenolake.glue import (
    Lake,
    curated,
    ensure_iceberg_table,
    merged_files,
    replace_partitions,
    replace_rows,
    run_days,
    start_job,
)
from phenolake.iceberg import spark_identifier
from phenolake.sources.embrace.convert import DUPLICATES, METADATA, STREAMS

SOURCE = "embrace"
PROVENANCE = ["source_key", "source_sha256", "run_id"]
DAY_PARTITIONS = ["participant_id", "date"]
WEAR_PARTITIONS = ["participant_id", "local_date"]
METADATA_COLUMNS = (
    "participant_id string, device_id string, datetime_utc timestamp, timezone_minutes int"
)
NOT_WORN_BELOW_MICROSIEMENS = 0.03
NOT_WORN_SHARE = 0.9
WINDOW_MS = 10_000
EDA_HZ = 4
MANIFEST_READERS = 16
DESCRIPTIONS = {
    "eda": "Embrace electrodermal activity (µS), ~4 Hz, deduped; time UTC, local_date local.",
    "temp": "Embrace skin temperature (°C), ~1 Hz, deduped; time UTC, local_date local.",
    "acc": "Embrace acceleration (g), ~32 Hz, deduped; time UTC, local_date local.",
    "metadata": "Embrace metadata.csv rows: UTC time, timezone offset (minutes), firmware, app.",
    "wear_time": "Minutes and share of each local day the Embrace was worn (EDA windows).",
    "duplicates": "Duplicate counts per participant x device x stream x export (the dedupe rule).",
}


def table_name(metric: str) -> str:
    return f"embrace_{metric}"


def by_metric(keys: Iterable[str]) -> dict[str, list[str]]:
    """This run's merged day files per metric (eda, temp, acc, metadata), in key order."""
    found: dict[str, list[str]] = defaultdict(list)
    for key in sorted(keys):
        day = lake.merged_day(key)
        if day is not None and day.source == SOURCE:
            found[day.metric].append(key)
    return dict(found)


def table_exists(spark: SparkSession, database: str, table: str) -> bool:
    return bool(spark.catalog.tableExists(spark_identifier(database, table)))


def read_days(spark: SparkSession, store: Lake, keys: list[str], time: str) -> DataFrame:
    """The rows of these merged day files, with ``date``: the UTC day of ``time`` (the day the
    converter split them by, so the day of their file)."""
    df = spark.read.parquet(*[store.spark_path(k) for k in keys])
    return df.withColumn("date", F.date_format(F.col(time), "yyyy-MM-dd"))


def any_of(conditions: Iterable[Column]) -> Column:
    found = list(conditions)
    return reduce(lambda a, b: a | b, found) if found else F.lit(False)


def days_condition(days: dict[str, Any], column: str = "date") -> Column:
    """The rows of these participants' days (``{participant: {day, ...}}``), per participant
    so Iceberg prunes to exactly those partitions."""
    return any_of(
        (F.col("participant_id") == p) & F.col(column).isin(sorted(values))
        for p, values in sorted(days.items())
    )


def touched_days(rows: DataFrame) -> dict[tuple[str, str], set[str]]:
    """``(participant, date) -> devices`` of these rows (a handful per day file)."""
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in rows.select("participant_id", "date", "device_id").distinct().collect():
        found[(r.participant_id, r.date)].add(r.device_id)
    return found


def other_devices(
    spark: SparkSession, database: str, table: str, touched: dict[tuple[str, str], set[str]]
) -> DataFrame | None:
    """The rows of the touched (participant, date) partitions that belong to devices this run
    did not bring, which a partition overwrite would otherwise drop; None when there are none
    (the usual case, found from the ``device_id`` column alone)."""
    if not touched or not table_exists(spark, database, table):
        return None
    name = spark_identifier(database, table)
    days: dict[str, set[str]] = defaultdict(set)
    for participant, day in touched:
        days[participant].add(day)
    present = (
        spark.table(name)
        .where(days_condition(days))
        .select("participant_id", "date", "device_id")
        .distinct()
        .collect()
    )
    foreign = [
        (F.col("participant_id") == r.participant_id)
        & (F.col("date") == r.date)
        & (F.col("device_id") == r.device_id)
        for r in present
        if r.device_id not in touched[(r.participant_id, r.date)]
    ]
    if not foreign:
        return None
    return curated(spark, database, table).where(any_of(foreign))


def replace_days(
    spark: SparkSession,
    store: Lake,
    database: str,
    metric: str,
    rows: DataFrame,
    sort_by: list[str],
) -> dict[tuple[str, str], set[str]]:
    """Replace the (participant, date) partitions ``rows`` hold; returns them (with devices)."""
    table = table_name(metric)
    touched = touched_days(rows)
    kept = other_devices(spark, database, table, touched)
    if kept is not None:
        rows = rows.unionByName(kept.select(*rows.columns))
    replace_partitions(
        spark,
        rows,
        database=database,
        table=table,
        location=store.uri(lake.curated_prefix(table)),
        partition_by=DAY_PARTITIONS,
        sort_by=sort_by,
        description=DESCRIPTIONS[metric],
    )
    return touched


# ---------------------------------------------------------------------------------------------
# Transforms


def offsets(metadata: DataFrame) -> DataFrame:
    """Per device, the intervals [valid_from, valid_to) of each timezone offset."""
    per_time = metadata.groupBy("participant_id", "device_id", "datetime_utc").agg(
        F.max("timezone_minutes").alias("timezone_minutes")
    )
    w = Window.partitionBy("participant_id", "device_id").orderBy("datetime_utc")
    return per_time.select(
        "participant_id",
        "device_id",
        "timezone_minutes",
        F.when(F.row_number().over(w) > 1, F.col("datetime_utc")).alias("valid_from"),
        F.lead("datetime_utc").over(w).alias("valid_to"),
    )


def with_local_date(df: DataFrame, intervals: DataFrame) -> DataFrame:
    i = intervals.alias("i")
    joined = df.alias("d").join(
        F.broadcast(i),
        (F.col("d.participant_id") == F.col("i.participant_id"))
        & (F.col("d.device_id") == F.col("i.device_id"))
        & (F.col("i.valid_from").isNull() | (F.col("d.time") >= F.col("i.valid_from")))
        & (F.col("i.valid_to").isNull() | (F.col("d.time") < F.col("i.valid_to"))),
        "left",
    )
    local = F.timestamp_millis(
        F.unix_millis(F.col("d.time")) + F.col("i.timezone_minutes") * F.lit(60_000)
    )
    return joined.select("d.*", F.to_date(local).alias("local_date"))


def wear_time(eda: DataFrame) -> DataFrame:
    windows = eda.groupBy(
        "participant_id",
        "device_id",
        "local_date",
        F.floor(F.unix_millis("time") / WINDOW_MS).alias("window"),
    ).agg(
        F.count("*").alias("samples"),
        F.sum((F.col("eda_microsiemens") < NOT_WORN_BELOW_MICROSIEMENS).cast("int")).alias("low"),
    )
    worn = F.col("low") <= F.lit(NOT_WORN_SHARE) * F.col("samples")
    minutes = F.sum(F.when(worn, F.col("samples")).otherwise(0)) / F.lit(EDA_HZ * 60.0)
    return (
        windows.groupBy("participant_id", "device_id", "local_date")
        .agg(minutes.alias("minutes_worn"))
        .select(
            "device_id",
            "local_date",
            F.round("minutes_worn", 4).alias("minutes_worn"),
            F.round(F.col("minutes_worn") / F.lit(1440.0) * 100, 4).alias("percent_worn"),
            "participant_id",
        )
    )


def around(local_dates: Iterable[date]) -> set[str]:
    """The UTC days a local day's rows can lie on (offsets are within a day of UTC)."""
    return {(d + timedelta(days=shift)).isoformat() for d in local_dates for shift in (-1, 0, 1)}


# ---------------------------------------------------------------------------------------------
# The tables


def curate_metadata(
    spark: SparkSession, store: Lake, database: str, keys: list[str], participants: list[str]
) -> DataFrame:
    """Write the run's metadata days; returns the offsets' intervals of the run's
    participants (their earlier metadata rows from the table, then the run's)."""
    earlier = None
    if table_exists(spark, database, table_name(METADATA)) and participants:
        earlier = (
            curated(spark, database, table_name(METADATA))
            .where(F.col("participant_id").isin(participants))
            .select("participant_id", "device_id", "datetime_utc", "timezone_minutes", "date")
        )
    if not keys:
        found = earlier.drop("date") if earlier is not None else None
        empty = spark.createDataFrame([], METADATA_COLUMNS)
        return offsets(found if found is not None else empty).cache()
    new = read_days(spark, store, keys, "datetime_utc").cache()
    columns = [c for c in new.columns if c not in DAY_PARTITIONS]
    replace_days(
        spark, store, database, METADATA, new.select(*columns, *DAY_PARTITIONS), ["device_id"]
    )
    rows = new.select("participant_id", "device_id", "datetime_utc", "timezone_minutes", "date")
    if earlier is not None:  # the run's days re-state the table's rows of those days
        rows = rows.unionByName(
            earlier.join(
                rows.select("participant_id", "device_id", "date").distinct(),
                ["participant_id", "device_id", "date"],
                "left_anti",
            )
        )
    print(f"{table_name(METADATA)}: {len(keys)} day file(s)")
    return offsets(rows.drop("date")).cache()


def curate_stream(
    spark: SparkSession,
    store: Lake,
    database: str,
    stream: str,
    keys: list[str],
    intervals: DataFrame,
) -> DataFrame:
    """Write the run's days of one stream; returns their rows (with ``local_date``)."""
    measures = STREAMS[stream][1]
    merged = read_days(spark, store, keys, "time")
    curated = with_local_date(merged, intervals).select(
        "device_id", "time", *measures, "local_date", *PROVENANCE, *DAY_PARTITIONS
    )
    curated = curated.cache()  # read twice: the touched days, then the write
    replace_days(spark, store, database, stream, curated, ["device_id", "time"])
    print(f"{table_name(stream)}: {len(keys)} day file(s)")
    return curated


def curate_wear_time(spark: SparkSession, store: Lake, database: str, eda: DataFrame) -> int:
    """Recompute the (participant, local_date)s the run's EDA rows fall on from
    ``embrace_eda`` as this run left it; returns how many."""
    local_dates: dict[str, set[date]] = defaultdict(set)
    for r in eda.select("participant_id", "local_date").distinct().collect():
        if r.local_date is not None:
            local_dates[r.participant_id].add(r.local_date)
    if not local_dates:
        return 0
    table = table_name("wear_time")
    utc_days = {p: around(values) for p, values in local_dates.items()}
    rows = (
        curated(spark, database, table_name("eda"))
        .where(days_condition(utc_days))
        .where(days_condition(local_dates, "local_date"))
        .select("participant_id", "device_id", "local_date", "time", "eda_microsiemens")
    )
    replace_rows(
        spark,
        wear_time(rows),
        days_condition(local_dates, "local_date"),
        database=database,
        table=table,
        location=store.uri(lake.curated_prefix(table)),
        partition_by=WEAR_PARTITIONS,
        sort_by=["device_id"],
        description=DESCRIPTIONS["wear_time"],
    )
    touched = sum(len(v) for v in local_dates.values())
    print(f"{table}: {touched} (participant, local_date)(s)")
    return touched


def run_side_files(s3: Any, bucket: str, run_id: str, name: str) -> list[str]:
    """The side files of ``name`` this run's Convert items wrote, as their manifests
    (``manifests/<run>/converted/``, the run's own) name them."""
    prefix = lake.item_manifest_prefix(run_id, "converted")
    manifests = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for o in page.get("Contents", [])
    ]

    def sides(key: str) -> list[str]:
        found = storage.get_json(s3, bucket, key)
        if not isinstance(found, dict) or found.get("source") != SOURCE:
            return []
        return [k for k in found.get("side_tables") or [] if k.startswith(side)]

    side = lake.side_prefix(SOURCE, name)
    with ThreadPoolExecutor(max_workers=MANIFEST_READERS) as pool:
        return sorted({k for keys in pool.map(sides, manifests) for k in keys})


def merge_rows(
    spark: SparkSession, df: DataFrame, keys: list[str], *, database: str, table: str, **kw: Any
) -> None:
    """Upsert ``df`` by ``keys`` in one commit (Iceberg's copy-on-write MERGE rewrites only the
    files holding a re-stated row): for rows whose key is in no partition-aligned condition."""
    rows = ensure_iceberg_table(spark, df, database=database, table=table, **kw)
    view = f"phenolake_{table}_rows"
    rows.createOrReplaceTempView(view)
    on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
    spark.sql(
        f"MERGE INTO {spark_identifier(database, table)} t USING {view} s ON {on} "
        "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
    )
    spark.catalog.dropTempView(view)


def curate_duplicates(
    spark: SparkSession, s3: Any, store: Lake, database: str, run_id: str, participants: list[str]
) -> int:
    keys = run_side_files(s3, store.bucket, run_id, DUPLICATES) if run_id else []
    if participants:
        folders = {lake.partition_folder("participant", p) for p in participants}
        keys = [k for k in keys if k.split("/")[-2] in folders]
    if not keys:
        print(f"{table_name(DUPLICATES)}: 0 file(s)")
        return 0
    counts = spark.read.parquet(*[store.spark_path(k) for k in keys])
    columns = [c for c in counts.columns if c != "participant_id"]
    table = table_name(DUPLICATES)
    merge_rows(
        spark,
        counts.select(*columns, "participant_id"),
        ["participant_id", "source_key"],
        database=database,
        table=table,
        location=store.uri(lake.curated_prefix(table)),
        partition_by=["participant_id"],
        description=DESCRIPTIONS[DUPLICATES],
    )
    print(f"{table}: {len(keys)} file(s)")
    return len(keys)


def main(argv: list[str]) -> None:
    args, store, spark = start_job(argv, timestamps="TIMESTAMP_MILLIS")
    s3 = boto3.client("s3")
    database = args["database"]
    days = run_days(s3, store.bucket, args.get("days", ""), SOURCE)
    files = by_metric(merged_files(s3, store.bucket, days))
    participants = sorted(
        {p for p in args.get("participants", "").split(",") if p} | {d.participant for d in days}
    )
    intervals = curate_metadata(spark, store, database, files.get(METADATA, []), participants)
    for stream in STREAMS:
        keys = files.get(stream, [])
        if not keys:
            continue
        curated = curate_stream(spark, store, database, stream, keys, intervals)
        if stream == "eda":
            curate_wear_time(spark, store, database, curated)
        curated.unpersist()
    intervals.unpersist()
    curate_duplicates(spark, s3, store, database, args.get("run_id", ""), participants)
