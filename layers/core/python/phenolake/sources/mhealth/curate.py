"""Glue job: curate the MHEALTH readings into the ``mhealth`` and ``mhealth_readings`` tables.

Reads exactly the merged day files this run's DailyMerge wrote (``--days``, the run's work
list; ``merged/mhealth/readings/participant=<p>/date=<d>/``), never a listing of merged/ or
of a participant's history. It derives ``timestamp`` (recording start + row_index x 20 ms)
and the activity name, and keeps the merged ``date`` (the day Convert filed the row under:
the UTC day of its timestamp) as a column of both tables. Each table is an Iceberg table
partitioned by ``user_id`` and ``date``; the run's rows replace, in one atomic commit per
table, the rows of exactly the (user_id, date)s it re-states (a condition on both columns
that selects whole partitions, so it never splits a data file), so a rerun or replay never
duplicates rows and a participant's other days are neither read nor rewritten.
"""

from __future__ import annotations

from functools import reduce

import boto3
from pyspark.sql import Column
from pyspark.sql import functions as F

from phenolake import lake
from phenolake.glue import merged_files, replace_rows, run_days, start_job
from phenolake.sources.mhealth.convert import ACTIVITIES, COLUMNS, DEFAULT_RECORDING_START

PROVENANCE = ["source_key", "source_sha256", "run_id"]
PARTITIONS = ["user_id", "date"]
DESCRIPTION = "MHEALTH readings (UCI), 50 Hz, partitioned by subject and day."


def restated(keys: list[str]) -> list[tuple[str, str]]:
    """The (participant, day)s of these merged day files."""
    found = {(day.participant, day.day) for day in map(lake.merged_day, keys) if day}
    return sorted(found)


def condition(days: list[tuple[str, str]]) -> Column:
    """The rows of exactly these (user_id, date)s: one disjunct per participant."""
    by_participant: dict[str, list[str]] = {}
    for participant, day in days:
        by_participant.setdefault(participant, []).append(day)
    terms = [
        (F.col("user_id") == participant) & F.col("date").isin(sorted(dates))
        for participant, dates in sorted(by_participant.items())
    ]
    return reduce(lambda a, b: a | b, terms)


def main(argv: list[str]) -> None:
    args, store, spark = start_job(argv, ["recording_start"])
    start = args.get("recording_start") or DEFAULT_RECORDING_START.isoformat()
    s3 = boto3.client("s3")
    days = run_days(s3, store.bucket, args.get("days", ""), "mhealth")
    keys = merged_files(s3, store.bucket, days)
    if not keys:
        print("mhealth: 0 day file(s)")
        return

    base = store.spark_path(lake.merged_prefix("mhealth", "readings"))
    # basePath: the participant and day come from each file's path, as DailyMerge filed it
    readings = spark.read.option("basePath", base).parquet(*[store.spark_path(k) for k in keys])
    activity = F.create_map(*[F.lit(x) for pair in ACTIVITIES.items() for x in pair])
    start_us = F.unix_micros(F.to_timestamp(F.lit(start)))
    curated = readings.select(
        *[F.col(c) for c in COLUMNS if c != "activity_id"],
        F.col("activity_id").cast("int").alias("activity_id"),
        activity[F.col("activity_id").cast("int")].alias("activity"),
        F.timestamp_micros(start_us + F.col("row_index") * F.lit(20_000)).alias("timestamp"),
        F.col("row_index"),
        *[F.col(c) for c in PROVENANCE],
        F.col("user_id").cast("string").alias("user_id"),
        F.col("date").cast("string").alias("date"),
    )
    tables = {
        "mhealth_readings": curated,
        "mhealth": curated.select(
            "activity",
            "timestamp",
            F.col("chest_acc_x").alias("sensor1"),
            F.col("chest_acc_y").alias("sensor2"),
            F.col("chest_acc_z").alias("sensor3"),
            "user_id",
            "date",
        ),
    }
    touched = restated(keys)
    for table, df in tables.items():
        replace_rows(
            spark,
            df,
            condition(touched),
            database=args["database"],
            table=table,
            location=store.uri(lake.curated_prefix(table)),
            partition_by=PARTITIONS,
            sort_by=["timestamp"],
            description=DESCRIPTION,
        )
    print(f"mhealth: {len(keys)} day file(s), {len(touched)} participant-day(s) replaced")
