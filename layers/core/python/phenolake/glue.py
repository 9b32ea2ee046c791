"""Helpers for the Glue Spark scripts in glue_jobs/, the same on Glue 5.1 and locally.

Arguments are resolved like ``awsglue.utils.getResolvedOptions`` (which exists only on
Glue), so the scripts need no Glue-only import. Locally the embedded AWS passes
``--local_s3_root``: Spark then reads and writes ``<root>/<bucket>/<key>`` for every
``s3://bucket/key``, while the catalog still records the ``s3://`` locations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import boto3

from phenolake import catalog


def resolve_options(
    argv: Sequence[str], required: Sequence[str], optional: Sequence[str] = ()
) -> dict[str, str]:
    found: dict[str, str] = {}
    args = list(argv[1:])
    i = 0
    while i < len(args):
        name = args[i]
        if name.startswith("--"):
            value = args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("--") else ""
            found[name[2:]] = value
            i += 2 if value or (i + 1 < len(args) and args[i + 1] == "") else 1
        else:
            i += 1
    missing = [name for name in required if name not in found]
    if missing:
        raise SystemExit(f"missing job argument(s): {', '.join('--' + m for m in missing)}")
    return {k: v for k, v in found.items() if k in required or k in optional}


def start_job(
    argv: Sequence[str], optional: Sequence[str] = (), timestamps: str = "TIMESTAMP_MICROS"
) -> tuple[dict[str, str], Lake, Any]:
    """A job's arguments, its lake and a SparkSession configured as every curate job needs:
    dynamic partition overwrite (a rerun replaces only the partitions it writes), partition
    values kept as strings ("007" stays "007"), UTC, and an explicit Parquet timestamp type.
    Each setting is made by every job, because locally the jobs share one SparkSession."""
    from pyspark.sql import SparkSession

    args = resolve_options(
        argv,
        ["JOB_NAME", "lake_bucket", "database"],
        ["run_id", "participants", "local_s3_root", *optional],
    )
    lake = Lake(args["lake_bucket"], args.get("local_s3_root", ""))
    spark = SparkSession.builder.getOrCreate()
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.parquet.outputTimestampType", timestamps)
    return args, lake, spark


@dataclass(frozen=True)
class Lake:
    bucket: str
    local_root: str = ""

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def spark_path(self, key: str) -> str:
        if self.local_root:
            return f"file://{self.local_root.rstrip('/')}/{self.bucket}/{key}"
        return self.uri(key)

    def put(self, s3: Any, key: str, body: bytes) -> None:
        """Write an object the way the job's Spark output is written: locally to the folder
        (the embedded AWS reads the folder back after the job), else to S3."""
        if self.local_root:
            from pathlib import Path

            path = Path(self.local_root) / self.bucket / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        else:
            s3.put_object(Bucket=self.bucket, Key=key, Body=body)


def glue_type(spark_type: Any) -> str:
    """Spark's simpleString is Hive DDL, which is what the Glue catalog holds."""
    return spark_type.simpleString()


def register(
    df: Any,
    *,
    database: str,
    table: str,
    location: str,
    partition_keys: Sequence[str],
    partition_values: Sequence[Sequence[str]],
    description: str = "",
) -> int:
    glue = boto3.client("glue")
    columns = [
        (f.name, glue_type(f.dataType)) for f in df.schema.fields if f.name not in partition_keys
    ]
    keys = [(k, glue_type(df.schema[k].dataType)) for k in partition_keys]
    catalog.ensure_database(glue, database)
    catalog.ensure_table(glue, database, table, columns, keys, location, description)
    return catalog.ensure_partitions(
        glue, database, table, columns, list(partition_keys), location, partition_values
    )
