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
from botocore.exceptions import ClientError

from phenolake import catalog, lake, storage
from phenolake.iceberg import TABLE_PROPERTIES, spark_identifier


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
        ["run_id", "participants", "days", "local_s3_root", *optional],
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


# ---------------------------------------------------------------------------------------------
# This run's day files and the Iceberg tables they go to


def run_days(s3: Any, bucket: str, key: str, source: str) -> list[lake.DayKey]:
    """The (participant, metric, day)s this run merged for ``source``: the Curate item's
    ``--days`` work list (Collect wrote it from Convert's manifests), never a listing of
    merged/, so a run reads what arrived, not the study's history. (Plain dicts: Glue 5.1
    has no pydantic for ``contracts.DayItem``.)"""
    if not key:
        return []
    found = storage.get_json(s3, bucket, key)
    if not isinstance(found, list):
        raise SystemExit(f"--days: {lake.s3_uri(bucket, key)} is not a work list")
    days = []
    for i, item in enumerate(found):
        try:
            if item["source"] != source:
                continue
            days.append(
                lake.DayKey(
                    item["source"],
                    item["metric"],
                    item["participant"],
                    item["day"],
                    item.get("device", ""),
                )
            )
        except (KeyError, TypeError):
            raise SystemExit(f"--days: item {i} of {lake.s3_uri(bucket, key)} is no day") from None
    return days


def merged_files(s3: Any, bucket: str, days: Sequence[lake.DayKey]) -> list[str]:
    """The merged day files of these days that exist and hold rows (a day whose merge failed
    was recorded by DailyMerge and has no file; an empty day has nothing to curate)."""
    found = []
    for key in sorted({lake.merged_key(day) for day in days}):
        try:
            metadata = storage.parquet_metadata(s3, bucket, key)
        except ClientError as exc:  # NoSuchKey (a ranged GET may report a bare 404)
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                continue
            raise
        if metadata.num_rows:
            found.append(key)
    return found


def cataloged_columns(glue: Any, database: str, table: str) -> dict[str, str]:
    """The table's current columns (Glue types) as the catalog holds them; an Iceberg table's
    entry also lists dropped columns (``iceberg.field.current`` false), which are not."""
    try:
        found = glue.get_table(DatabaseName=database, Name=table)["Table"]
    except glue.exceptions.EntityNotFoundException:
        return {}
    columns = {}
    for column in found.get("StorageDescriptor", {}).get("Columns", []):
        if column.get("Parameters", {}).get("iceberg.field.current", "true") == "false":
            continue
        columns[column["Name"]] = column["Type"]
    for key in found.get("PartitionKeys", []):
        columns[key["Name"]] = key["Type"]
    return columns


def _ddl_type(spark_type: Any) -> str:
    """A column's type for a new Iceberg table. Spark's ``timestamp`` would become Iceberg's
    ``timestamptz`` (Athena: ``timestamp with time zone``); the curated times are UTC wall
    times, Athena's plain ``timestamp`` as the Hive tables had them and the only kind
    Athena's own Iceberg DDL creates, so they are Iceberg ``timestamp`` (Spark's NTZ)."""
    text = spark_type.simpleString()
    return "timestamp_ntz" if text == "timestamp" else text


def _ddl_columns(fields: Sequence[Any]) -> str:
    return ", ".join(f"`{f.name}` {_ddl_type(f.dataType)}" for f in fields)


def curated(spark: Any, database: str, table: str) -> Any:
    """A curated table as the job code computes with it: its ``timestamp`` (NTZ) columns as
    Spark's UTC ``timestamp``, the type the day files bring (the session time zone is UTC,
    so the instant is the same)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampNTZType

    df = spark.table(spark_identifier(database, table))
    return df.select(
        *[
            F.col(f.name).cast("timestamp").alias(f.name)
            if isinstance(f.dataType, TimestampNTZType)
            else F.col(f.name)
            for f in df.schema.fields
        ]
    )


def ensure_iceberg_table(
    spark: Any,
    df: Any,
    *,
    database: str,
    table: str,
    location: str,
    partition_by: Sequence[str],
    description: str = "",
) -> Any:
    """Create the Iceberg table for ``df``'s columns if it is new, add the columns it lacks if
    not (a new column reads as null in older rows); returns ``df`` projected onto the table's
    columns, in their order (a table column the day lacks is null)."""
    from pyspark.sql import functions as F

    name = spark_identifier(database, table)
    if not spark.catalog.tableExists(name):  # one GetTable, as Iceberg's GlueCatalog does
        properties = ", ".join(f"'{k}'='{v}'" for k, v in TABLE_PROPERTIES.items())
        comment = description.replace("'", "\\'")
        spark.sql(
            f"CREATE TABLE {name} ({_ddl_columns(df.schema.fields)}) USING iceberg "
            f"PARTITIONED BY ({', '.join(f'`{c}`' for c in partition_by)}) "
            f"COMMENT '{comment}' LOCATION '{location}' TBLPROPERTIES ({properties})"
        )
    current = spark.table(name).schema
    have = {f.name for f in current.fields}
    new = [f for f in df.schema.fields if f.name not in have]
    if new:
        spark.sql(f"ALTER TABLE {name} ADD COLUMNS ({_ddl_columns(new)})")
        current = spark.table(name).schema
    present = set(df.columns)
    return df.select(
        *[
            (F.col(f.name) if f.name in present else F.lit(None)).cast(f.dataType).alias(f.name)
            for f in current.fields
        ]
    )


def _prepared(
    spark: Any,
    df: Any,
    *,
    database: str,
    table: str,
    location: str,
    partition_by: Sequence[str],
    sort_by: Sequence[str],
    description: str,
) -> Any:
    """A writer of ``df`` into the (created or widened) table, rows sorted as asked."""
    rows = ensure_iceberg_table(
        spark,
        df,
        database=database,
        table=table,
        location=location,
        partition_by=partition_by,
        description=description,
    )
    if sort_by:
        rows = rows.sortWithinPartitions(*sort_by)
    return rows.writeTo(spark_identifier(database, table))


def replace_partitions(
    spark: Any,
    df: Any,
    *,
    database: str,
    table: str,
    location: str,
    partition_by: Sequence[str],
    sort_by: Sequence[str] = (),
    description: str = "",
) -> None:
    """Replace exactly the partitions ``df`` holds (each a participant's day of the table),
    in one atomic Iceberg commit: a rerun or a replay of those days never duplicates rows,
    and no other partition is read or rewritten."""
    writer = _prepared(
        spark,
        df,
        database=database,
        table=table,
        location=location,
        partition_by=partition_by,
        sort_by=sort_by,
        description=description,
    )
    writer.overwritePartitions()


def replace_rows(
    spark: Any,
    df: Any,
    condition: Any,
    *,
    database: str,
    table: str,
    location: str,
    partition_by: Sequence[str],
    sort_by: Sequence[str] = (),
    description: str = "",
) -> None:
    """Delete the rows matching ``condition`` and add ``df``'s, in one atomic commit. Iceberg
    deletes whole data files here, so ``condition`` must be on partition columns (the touched
    participants' days): a file holding rows on both sides of it fails the commit with
    "Cannot delete file where some, but not all, rows match filter"."""
    writer = _prepared(
        spark,
        df,
        database=database,
        table=table,
        location=location,
        partition_by=partition_by,
        sort_by=sort_by,
        description=description,
    )
    writer.overwrite(condition)
