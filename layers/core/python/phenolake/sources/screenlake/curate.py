"""Glue job: curate Screenlake panels into one Iceberg table per CSV kind.

Reads exactly the merged day files this run's DailyMerge wrote (``--days``, the run's work
list; ``merged/screenlake/<kind>/participant=<p>/date=<d>/``), never a listing of merged/,
and for each kind (screenshots, accessibility, segments, sessions, logs) replaces exactly
those ``panelist`` x ``date`` partitions of ``screenlake_<kind>`` in one Iceberg commit, so a
rerun or replay never duplicates rows and no other day of the study is read or rewritten.
The converter already typed the columns (epoch ms as bigint, the row's UTC ``timestamp``);
this job files them by panelist and day, sorted by time.
"""

from __future__ import annotations

from collections import defaultdict

import boto3
from pyspark.sql import functions as F

from phenolake import lake
from phenolake.glue import merged_files, replace_partitions, run_days, start_job
from phenolake.sources.screenlake.convert import KINDS

PARTITIONS = ["panelist", "date"]
DESCRIPTIONS = {
    "screenshots": "Screenlake screenshots: app, OCR text and time of each screenshot.",
    "accessibility": "Screenlake accessibility events (window changes, clicks, text).",
    "segments": "Screenlake app segments: time in one app, with the apps before and after.",
    "sessions": "Screenlake screen sessions: start, end, duration, sessions per day.",
    "logs": "Screenlake app log events (zips created, uploads).",
}


def by_kind(keys: list[str]) -> dict[str, list[str]]:
    """This run's merged day files per kind (metric), in key order; other metrics ignored."""
    found: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        day = lake.merged_day(key)
        if day is not None and day.metric in KINDS:
            found[day.metric].append(key)
    return dict(found)


def main(argv: list[str]) -> None:
    args, store, spark = start_job(argv)
    s3 = boto3.client("s3")
    days = run_days(s3, store.bucket, args.get("days", ""), "screenlake")
    kinds = by_kind(merged_files(s3, store.bucket, days))
    for metric, keys in kinds.items():
        kind = KINDS[metric]
        base = store.spark_path(lake.merged_prefix("screenlake", metric))
        # basePath: the participant and day come from each file's path, as DailyMerge filed it
        rows = spark.read.option("basePath", base).parquet(*[store.spark_path(k) for k in keys])
        curated = rows.select(
            *[F.col(name) for name in kind.schema.names],
            F.col("participant").cast("string").alias("panelist"),
            F.col("date").cast("string").alias("date"),
        )
        replace_partitions(
            spark,
            curated,
            database=args["database"],
            table=kind.table,
            location=store.uri(lake.curated_prefix(kind.table)),
            partition_by=PARTITIONS,
            sort_by=["timestamp", "source_key", "row_index"],
            description=DESCRIPTIONS[metric],
        )
        print(f"{kind.table}: {len(keys)} day file(s)")
