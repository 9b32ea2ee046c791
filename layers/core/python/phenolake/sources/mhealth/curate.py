"""Glue job: curate the MHEALTH readings into the ``mhealth`` and ``mhealth_readings`` tables.

Reads the merged per-day files of the participants this run touched, derives ``timestamp``
(recording start + row_index x 20 ms) and the activity name, and overwrites exactly those
``user_id`` partitions (dynamic partition overwrite), so a rerun never duplicates rows.
"""

from __future__ import annotations

from pyspark.sql import functions as F

from phenolake.glue import register, start_job
from phenolake.lake import curated_prefix, merged_prefix
from phenolake.sources.mhealth.convert import ACTIVITIES, COLUMNS, DEFAULT_RECORDING_START

PROVENANCE = ["source_key", "source_sha256", "run_id"]


def main(argv: list[str]) -> None:
    args, lake, spark = start_job(argv, ["recording_start"])
    start = args.get("recording_start") or DEFAULT_RECORDING_START.isoformat()

    merged = lake.spark_path(merged_prefix("mhealth", "readings"))
    readings = spark.read.option("basePath", merged).parquet(merged)
    participants = [p for p in args.get("participants", "").split(",") if p]
    if participants:
        readings = readings.where(F.col("participant").isin(participants))

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
    )
    users = [[r.user_id] for r in curated.select("user_id").distinct().collect()]

    tables = {
        "mhealth_readings": curated,
        "mhealth": curated.select(
            "activity",
            "timestamp",
            F.col("chest_acc_x").alias("sensor1"),
            F.col("chest_acc_y").alias("sensor2"),
            F.col("chest_acc_z").alias("sensor3"),
            "user_id",
        ),
    }
    for table, df in tables.items():
        (
            df.repartition("user_id")
            .sortWithinPartitions("timestamp")
            .write.mode("overwrite")
            .partitionBy("user_id")
            .parquet(lake.spark_path(curated_prefix(table)))
        )
        register(
            df,
            database=args["database"],
            table=table,
            location=lake.uri(curated_prefix(table)),
            partition_keys=["user_id"],
            partition_values=users,
            description="MHEALTH readings (UCI), 50 Hz, one partition per subject.",
        )
