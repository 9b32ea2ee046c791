"""Register curated Parquet tables and partitions in the Glue Data Catalog.

Used by the Glue jobs (Spark writes the files, this registers them) and by Lambdas that
write small tables themselves. Plain boto3 calls, so the same code runs on Glue, in Lambda
and against the embedded AWS.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"

Column = tuple[str, str]


def _storage(columns: Sequence[Column], location: str) -> dict[str, Any]:
    return {
        "Columns": [{"Name": n, "Type": t} for n, t in columns],
        "Location": location,
        "InputFormat": PARQUET_INPUT,
        "OutputFormat": PARQUET_OUTPUT,
        "Compressed": True,
        "SerdeInfo": {
            "SerializationLibrary": PARQUET_SERDE,
            "Parameters": {"serialization.format": "1"},
        },
    }


def table_entries(glue: Any, database: str) -> list[dict[str, Any]]:
    """Every table entry of the database (``GetTables``, all pages)."""
    return [
        table
        for page in glue.get_paginator("get_tables").paginate(DatabaseName=database)
        for table in page["TableList"]
    ]


def ensure_database(glue: Any, database: str) -> None:
    try:
        glue.get_database(Name=database)
    except glue.exceptions.EntityNotFoundException:
        glue.create_database(DatabaseInput={"Name": database})


def ensure_table(
    glue: Any,
    database: str,
    table: str,
    columns: Sequence[Column],
    partition_keys: Sequence[Column],
    location: str,
    description: str = "",
) -> None:
    """Create the table, or update it to these columns (new columns are added, so older
    partitions read them as null)."""
    table_input = {
        "Name": table,
        "Description": description,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {
            "classification": "parquet",
            "EXTERNAL": "TRUE",
            "parquet.compression": "ZSTD",
        },
        "StorageDescriptor": _storage(columns, location),
        "PartitionKeys": [{"Name": n, "Type": t} for n, t in partition_keys],
    }
    try:
        glue.get_table(DatabaseName=database, Name=table)
    except glue.exceptions.EntityNotFoundException:
        glue.create_table(DatabaseName=database, TableInput=table_input)
        return
    glue.update_table(DatabaseName=database, TableInput=table_input)


def partition_location(table_location: str, keys: Sequence[str], values: Sequence[str]) -> str:
    return (
        table_location.rstrip("/")
        + "/"
        + "/".join(f"{k}={v}" for k, v in zip(keys, values, strict=True))
        + "/"
    )


def ensure_partitions(
    glue: Any,
    database: str,
    table: str,
    columns: Sequence[Column],
    partition_keys: Sequence[str],
    location: str,
    values: Iterable[Sequence[str]],
) -> int:
    """Register partitions that are not registered yet; returns how many were added.

    BatchCreatePartition with only the run's values: Glue answers an existing one with an
    ``AlreadyExistsException`` entry, so nothing lists the table's partitions (listing them
    all first grew with the study's age: a year of daily partitions per run)."""
    wanted = sorted({tuple(v) for v in values})
    added = 0
    for start in range(0, len(wanted), 100):
        chunk = wanted[start : start + 100]
        answer = glue.batch_create_partition(
            DatabaseName=database,
            TableName=table,
            PartitionInputList=[
                {
                    "Values": list(v),
                    "StorageDescriptor": _storage(
                        columns, partition_location(location, partition_keys, v)
                    ),
                }
                for v in chunk
            ],
        )
        errors = answer.get("Errors", [])
        failed = [e for e in errors if e["ErrorDetail"]["ErrorCode"] != "AlreadyExistsException"]
        if failed:
            values, detail = failed[0]["PartitionValues"], failed[0]["ErrorDetail"]
            raise RuntimeError(
                f"{database}.{table}: partition {values} not registered: "
                f"{detail['ErrorCode']}: {detail.get('ErrorMessage', '')}"
            )
        added += len(chunk) - len(errors)
    return added


def delete_partitions(
    glue: Any, database: str, table: str, values: Iterable[Sequence[str]]
) -> None:
    chunk: list[dict[str, list[str]]] = []
    for v in values:
        chunk.append({"Values": list(v)})
        if len(chunk) == 25:
            glue.batch_delete_partition(
                DatabaseName=database, TableName=table, PartitionsToDelete=chunk
            )
            chunk = []
    if chunk:
        glue.batch_delete_partition(
            DatabaseName=database, TableName=table, PartitionsToDelete=chunk
        )
