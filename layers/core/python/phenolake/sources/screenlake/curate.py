"""Glue job: curate Screenlake panels into one table per CSV kind.

For each kind (screenshots, accessibility, segments, sessions, logs) it reads the merged
per-day files of the panelists this run touched and overwrites exactly their
``panelist`` x ``date`` partitions of ``screenlake_<kind>`` (dynamic partition overwrite),
so a rerun never duplicates rows. The converter already typed the columns (epoch ms as
bigint, the row's UTC ``timestamp``); this job files them by panelist and day, sorted by
time, and registers the tables and partitions in the Glue Data Catalog.
"""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from phenolake.glue import register, start_job
from phenolake.lake import curated_prefix, merged_prefix, parse_merged_path
from phenolake.sources.screenlake.convert import KINDS

DESCRIPTIONS = {
    "screenshots": "Screenlake screenshots: app, OCR text and time of each screenshot.",
    "accessibility": "Screenlake accessibility events (window changes, clicks, text).",
    "segments": "Screenlake app segments: time in one app, with the apps before and after.",
    "sessions": "Screenlake screen sessions: start, end, duration, sessions per day.",
    "logs": "Screenlake app log events (zips created, uploads).",
}


def exists(spark: SparkSession, path: str) -> bool:
    """Whether a folder exists (file:// locally, s3:// on Glue), through Hadoop's FileSystem."""
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    return bool(hadoop_path.getFileSystem(conf).exists(hadoop_path))


def main(argv: list[str]) -> None:
    args, lake, spark = start_job(argv)
    participants = [p for p in args.get("participants", "").split(",") if p]

    for metric, kind in KINDS.items():
        merged = lake.spark_path(merged_prefix("screenlake", metric))
        if not exists(spark, merged):
            continue
        rows = spark.read.option("basePath", merged).parquet(merged)
        if participants:
            rows = rows.where(F.col("participant").isin(participants))
        # the partitions written, from the merged files' paths (no pass over the rows)
        partitions = sorted(
            {
                (day.participant, day.day)
                for day in map(parse_merged_path, rows.inputFiles())
                if day and (not participants or day.participant in participants)
            }
        )
        if not partitions:
            continue
        curated = rows.select(
            *[F.col(name) for name in kind.schema.names],
            F.col("participant").cast("string").alias("panelist"),
            F.col("date").cast("string").alias("date"),
        )
        (
            curated.repartition("panelist", "date")
            .sortWithinPartitions("timestamp", "source_key", "row_index")
            .write.mode("overwrite")
            .partitionBy("panelist", "date")
            .parquet(lake.spark_path(curated_prefix(kind.table)))
        )
        register(
            curated,
            database=args["database"],
            table=kind.table,
            location=lake.uri(curated_prefix(kind.table)),
            partition_keys=["panelist", "date"],
            partition_values=[list(p) for p in partitions],
            description=DESCRIPTIONS[metric],
        )
