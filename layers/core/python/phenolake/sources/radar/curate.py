"""Glue job: curate RADAR-base topics, one Iceberg table per topic ``radar_<topic>``.

Reads exactly the merged day files this run's DailyMerge wrote (``--days``, the run's work
list; ``merged/radar/<topic>/participant=<p>/date=<d>/``), for every topic among them (topics
are never listed in code), and replaces exactly those ``site`` / ``participant_id`` / ``date``
partitions of each topic's table in one Iceberg commit, so a rerun or replay never duplicates
rows and no other day of the study is read or rewritten.

Schema drift (``phenolake.drift``): each new day file's columns, read from its Parquet footer
alone, are compared with the table's columns in the catalog; a new column is added to the
table (older rows read it as null); a day file whose column type cannot be widened to the
table's is quarantined with the reason and never written. (Exact duplicate rows were removed,
and counted, by Convert; an hour's ``_N`` attempt files hold other rows, so they are all kept.)
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from phenolake import drift, lake, storage
from phenolake.glue import (
    Lake,
    cataloged_columns,
    merged_files,
    replace_partitions,
    run_days,
    start_job,
)
from phenolake.sources.radar.convert import snake

PARTITIONS = ["site", "participant_id", "date"]
TOPICS_AT_ONCE = 4


def table_name(topic: str) -> str:
    return f"radar_{snake(topic)}"


def by_topic(keys: list[str]) -> dict[str, list[str]]:
    """This run's merged day files per topic, in date order."""
    topics: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in keys:
        found = lake.parse_merged_key(key)
        if found:
            topics[found["metric"]].append((found["date"], key))
    return {topic: [key for _, key in sorted(items)] for topic, items in sorted(topics.items())}


def file_columns(s3: Any, bucket: str, key: str) -> dict[str, str]:
    """A day file's columns as Glue types, from its footer (no data read)."""
    schema = storage.parquet_metadata(s3, bucket, key).schema.to_arrow_schema()
    return {f.name: drift.glue_type_of(f.type) for f in schema}


def quarantine(s3: Any, store: Lake, run_id: str, key: str, reason: str, table: str) -> None:
    """The refused day file and its reason, as ``storage.quarantine`` files them."""
    target = lake.quarantine_key(run_id, f"{store.bucket}/{key}")
    store.put(s3, target, s3.get_object(Bucket=store.bucket, Key=key)["Body"].read())
    document = {
        "reason": reason,
        "source": lake.s3_uri(store.bucket, key),
        "run_id": run_id,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "step": "curate",
        "table": table,
    }
    store.put(s3, lake.reason_key(target), json.dumps(document, indent=1).encode())


def curate_topic(
    spark: SparkSession,
    s3: Any,
    glue: Any,
    store: Lake,
    args: dict[str, str],
    topic: str,
    keys: list[str],
) -> int:
    table = table_name(topic)
    schemas = {key: file_columns(s3, store.bucket, key) for key in keys}
    existing = cataloged_columns(glue, args["database"], table)
    unified = drift.unify(existing, schemas.items())
    for key, reason in unified.refused.items():
        quarantine(s3, store, args.get("run_id", ""), key, reason, table)
        print(f"{table}: quarantined {key}: {reason}")
    columns = {c: t for c, t in unified.columns.items() if c not in PARTITIONS}
    groups: dict[tuple[tuple[str, str], ...], list[str]] = defaultdict(list)
    for key in unified.accepted:
        groups[tuple(sorted(schemas[key].items()))].append(key)
    frames: list[DataFrame] = []
    for group in groups.values():
        df = spark.read.parquet(*[store.spark_path(k) for k in group])
        present = set(df.columns)
        frames.append(
            df.select(
                *[
                    (F.col(c) if c in present else F.lit(None)).cast(t).alias(c)
                    for c, t in columns.items()
                ],
                F.col("site").cast("string").alias("site"),
                F.col("participant_id").cast("string").alias("participant_id"),
            )
        )
    if not frames:
        return 0
    rows = frames[0]
    for frame in frames[1:]:
        rows = rows.unionByName(frame)
    replace_partitions(
        spark,
        rows.withColumn("date", F.date_format(F.col("time"), "yyyy-MM-dd")),
        database=args["database"],
        table=table,
        location=store.uri(lake.curated_prefix(table)),
        partition_by=PARTITIONS,
        sort_by=["time"],
        description=f"RADAR-base topic {topic}: one row per record, time in UTC.",
    )
    return len(unified.accepted)


def main(argv: list[str]) -> None:
    args, store, spark = start_job(argv)
    s3 = boto3.client("s3")
    glue = boto3.client("glue")
    days = run_days(s3, store.bucket, args.get("days", ""), "radar")
    topics = by_topic(merged_files(s3, store.bucket, days))
    # Topics are independent tables: their Spark jobs run side by side (a small topic's write
    # is mostly latency, which overlaps), at most TOPICS_AT_ONCE at a time.
    with ThreadPoolExecutor(max_workers=TOPICS_AT_ONCE, thread_name_prefix="topic") as pool:
        running = {
            topic: pool.submit(curate_topic, spark, s3, glue, store, args, topic, keys)
            for topic, keys in topics.items()
        }
        for topic, future in running.items():
            written = future.result()
            print(f"{table_name(topic)}: {len(topics[topic])} day file(s), {written} written")
