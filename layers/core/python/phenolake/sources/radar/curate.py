"""Glue job: curate RADAR-base topics, one table per topic ``radar_<topic>``.

Reads the merged per-day files (``merged/radar/<topic>/participant=<p>/date=<d>/``) of the
participants this run touched, for every topic it finds (topics are never listed in code),
and overwrites exactly those ``site`` / ``participant_id`` / ``date`` partitions (dynamic
partition overwrite), so a rerun never duplicates rows.

Schema drift (``phenolake.drift``): the table's columns are the cataloged ones plus any new
column the day files bring (older partitions read it as null); a day file whose column type
cannot be widened to the table's is quarantined with the reason and never written. (Exact
duplicate rows were removed, and counted, by Convert; an hour's ``_N`` attempt files hold
other rows, so they are all kept.)
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from phenolake import drift, lake, storage
from phenolake.glue import Lake, register, start_job
from phenolake.sources.radar.convert import snake

PARTITIONS = ["site", "participant_id", "date"]
TOPICS_AT_ONCE = 4


def table_name(topic: str) -> str:
    return f"radar_{snake(topic)}"


def cataloged_columns(glue: Any, database: str, table: str) -> dict[str, str]:
    try:
        found = glue.get_table(DatabaseName=database, Name=table)["Table"]
    except glue.exceptions.EntityNotFoundException:
        return {}
    return {c["Name"]: c["Type"] for c in found["StorageDescriptor"]["Columns"]}


def day_files(s3: Any, bucket: str, participants: set[str]) -> dict[str, list[str]]:
    """Merged day files per topic, in date order, of the touched participants."""
    topics: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for obj in storage.list_objects(s3, bucket, lake.merged_source_prefix("radar")):
        found = lake.parse_merged_key(obj.key)
        if not found or obj.size == 0:
            continue
        if participants and found["participant"] not in participants:
            continue
        topics[found["metric"]].append((found["date"], obj.key))
    return {topic: [key for _, key in sorted(items)] for topic, items in sorted(topics.items())}


def inspect(s3: Any, bucket: str, key: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """A day file's columns (Glue types) and its (site, participant_id) pairs, read by the
    driver (a file is one participant's topic for one day: small); no pairs if it is empty."""
    body = pq.ParquetFile(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    columns = {f.name: drift.glue_type_of(f.type) for f in body.schema_arrow}
    if body.metadata.num_rows == 0:
        return columns, []
    who = body.read(columns=["site", "participant_id"]).group_by(["site", "participant_id"])
    pairs = who.aggregate([]).to_pylist()
    return columns, sorted((r["site"], r["participant_id"]) for r in pairs)


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
    found = {key: inspect(s3, store.bucket, key) for key in keys}
    schemas = {key: columns for key, (columns, sites) in found.items() if sites}
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
                    if c not in ("site", "participant_id")
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
    curated = rows.withColumn("date", F.date_format(F.col("time"), "yyyy-MM-dd"))
    (
        curated.repartition(*PARTITIONS)
        .sortWithinPartitions("time")
        .write.mode("overwrite")
        .partitionBy(*PARTITIONS)
        .parquet(store.spark_path(lake.curated_prefix(table)))
    )
    # the partitions written: a day file's rows are of its day (Convert cut them by their
    # own time) and of the sites and participants it holds
    values = sorted(
        {
            (site, participant, parsed["date"])
            for key in unified.accepted
            if (parsed := lake.parse_merged_key(key))
            for site, participant in found[key][1]
        }
    )
    register(
        curated,
        database=args["database"],
        table=table,
        location=store.uri(lake.curated_prefix(table)),
        partition_keys=PARTITIONS,
        partition_values=values,
        description=f"RADAR-base topic {topic}: one row per record, time in UTC.",
    )
    return len(values)


def main(argv: list[str]) -> None:
    args, store, spark = start_job(argv)
    s3 = boto3.client("s3")
    glue = boto3.client("glue")
    participants = {p for p in args.get("participants", "").split(",") if p}
    # Topics are independent tables: their Spark jobs run side by side (a small topic's write
    # is mostly latency, which overlaps), at most TOPICS_AT_ONCE at a time.
    topics = day_files(s3, store.bucket, participants)
    with ThreadPoolExecutor(max_workers=TOPICS_AT_ONCE, thread_name_prefix="topic") as pool:
        running = {
            topic: pool.submit(curate_topic, spark, s3, glue, store, args, topic, keys)
            for topic, keys in topics.items()
        }
        for topic, future in running.items():
            partitions = future.result()
            print(
                f"{table_name(topic)}: {len(topics[topic])} day file(s), {partitions} partition(s)"
            )
