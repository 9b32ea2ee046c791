"""Glue job: curate the Embrace streams into ``embrace_eda``, ``embrace_temp``, ``embrace_acc``,
``embrace_wear_time`` and ``embrace_duplicates``.

Reads the merged per-day files (already deduped by the converter) of the participants this run
touched and overwrites exactly their partitions (dynamic partition overwrite), so a rerun never
duplicates rows.

- ``local_date``: the timezone model is "UTC stored, local study day derived". Each row takes
  the offset (``Timezone (minutes)``, minutes east of UTC) of its device's latest
  ``metadata.csv`` row at or before its time, or the first one when it is earlier than all;
  a device without metadata has a null ``local_date`` (Unzip quarantined a reason for it).
- ``embrace_wear_time``: EDA in 10-second windows (epoch-aligned; offsets are whole minutes, so
  windows never straddle a local midnight); a window is not worn when more than 90% of its
  values are below 0.03 µS. ``minutes_worn`` = kept EDA samples in worn windows / 4 / 60,
  ``percent_worn`` = 100 x minutes_worn / 1440 (share of the local day).
- ``embrace_duplicates``: the converter's counts per participant x device x stream x export,
  read from ``stage/embrace/duplicates/``.
- ``embrace_metadata``: the ``metadata.csv`` rows themselves (the offsets ``local_date`` is
  derived from, firmware and app versions), with their provenance, so every landed
  ``metadata.csv`` is in a table.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.utils import AnalysisException

from phenolake.glue import Lake, register, start_job
from phenolake.lake import curated_prefix, merged_prefix, side_prefix
from phenolake.sources.embrace.convert import DUPLICATES, STREAMS

SOURCE = "embrace"
PROVENANCE = ["source_key", "source_sha256", "run_id"]
METADATA_COLUMNS = (
    "participant_id string, device_id string, datetime_utc timestamp, timezone_minutes int"
)
NOT_WORN_BELOW_MICROSIEMENS = 0.03
NOT_WORN_SHARE = 0.9
WINDOW_MS = 10_000
EDA_HZ = 4
DESCRIPTIONS = {
    "eda": "Embrace electrodermal activity (µS), ~4 Hz, deduped; time UTC, local_date local.",
    "temp": "Embrace skin temperature (°C), ~1 Hz, deduped; time UTC, local_date local.",
    "acc": "Embrace acceleration (g), ~32 Hz, deduped; time UTC, local_date local.",
}


def read(spark: SparkSession, lake: Lake, key: str, participants: list[str]) -> DataFrame | None:
    """The Parquet files under ``key`` of these participants; None when there are none."""
    path = lake.spark_path(key)
    try:
        df = spark.read.option("basePath", path).parquet(path)
    except AnalysisException as exc:
        if "PATH_NOT_FOUND" in str(exc) or "Path does not exist" in str(exc):
            return None
        raise
    if participants:  # the path's participant= folder first (Spark decodes it), so it prunes
        df = df.where(
            F.col("participant").isin(participants) & F.col("participant_id").isin(participants)
        )
    return df.drop("participant", "device")


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


def write(
    df: DataFrame, lake: Lake, database: str, table: str, partitions: list[str], description: str
) -> None:
    values = [[str(v) for v in r] for r in df.select(*partitions).distinct().collect()]
    (
        df.repartition(*partitions)
        .sortWithinPartitions(*[c for c in ("device_id", "time", "local_date") if c in df.columns])
        .write.mode("overwrite")
        .partitionBy(*partitions)
        .parquet(lake.spark_path(curated_prefix(table)))
    )
    register(
        df,
        database=database,
        table=table,
        location=lake.uri(curated_prefix(table)),
        partition_keys=partitions,
        partition_values=values,
        description=description,
    )


def main(argv: list[str]) -> None:
    args, lake, spark = start_job(argv, timestamps="TIMESTAMP_MILLIS")
    participants = [p for p in args.get("participants", "").split(",") if p]

    metadata = read(spark, lake, merged_prefix(SOURCE, "metadata"), participants)
    if metadata is None:
        metadata = spark.createDataFrame([], METADATA_COLUMNS)
    intervals = offsets(metadata).cache()
    if "source_key" in metadata.columns:  # merged metadata files: never the empty stand-in
        columns = [c for c in metadata.columns if c not in ("participant_id", "date")]
        write(
            metadata.select(*columns, "participant_id"),
            lake,
            args["database"],
            "embrace_metadata",
            ["participant_id"],
            "Embrace metadata.csv rows: UTC time, timezone offset (minutes), firmware, app.",
        )
    for stream, (_, measures) in STREAMS.items():
        merged = read(spark, lake, merged_prefix(SOURCE, stream), participants)
        if merged is None:
            continue
        curated = with_local_date(merged, intervals).select(
            "device_id",
            "time",
            *measures,
            "local_date",
            *PROVENANCE,
            "participant_id",
            F.col("date").cast("string").alias("date"),
        )
        curated = curated.cache()  # read twice: partition values, then the write
        write(
            curated,
            lake,
            args["database"],
            f"embrace_{stream}",
            ["participant_id", "date"],
            DESCRIPTIONS[stream],
        )
        if stream == "eda":
            write(
                wear_time(curated),
                lake,
                args["database"],
                "embrace_wear_time",
                ["participant_id"],
                "Minutes and share of each local day the Embrace was worn (EDA windows).",
            )
        curated.unpersist()

    counts = read(spark, lake, side_prefix(SOURCE, DUPLICATES), participants)
    if counts is None:
        return
    columns = [c for c in counts.columns if c != "participant_id"]
    write(
        counts.select(*columns, "participant_id"),
        lake,
        args["database"],
        "embrace_duplicates",
        ["participant_id"],
        "Duplicate counts per participant x device x stream x export (the dedupe rule).",
    )
