"""How phenolake's curated tables are Apache Iceberg tables, the same for every writer.

Every curated table is an Iceberg format-v2 table in the Glue Data Catalog, at
``s3://<lake>/curated/<table>/`` (data under ``data/``, metadata under ``metadata/``), partitioned
by identity on the partition columns its source declares (the same columns the tables had as
Hive tables, so researchers' ``WHERE participant_id = ... AND date = ...`` still prunes). Writes
are copy-on-write: a day's replacement rewrites whole data files in one atomic commit and a
delete leaves no delete files, so every reader (Athena, Spark, PyIceberg, the local engine)
sees exact rows and a withdrawn participant's rows leave the data files themselves once the
snapshots that still hold them are expired.

The Glue jobs write through Spark's Iceberg catalog :data:`SPARK_CATALOG` (template.yaml
configures it with ``--datalake-formats iceberg`` and ``--conf``); the local wiring is in the
embedded AWS (``phenolake_local/iceberg.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

#: The Spark catalog the job code names (``glue_catalog.<database>.<table>``).
SPARK_CATALOG = "glue_catalog"

#: Table properties every curated table is created with.
TABLE_PROPERTIES: dict[str, str] = {
    "format-version": "2",
    "write.delete.mode": "copy-on-write",
    "write.update.mode": "copy-on-write",
    "write.merge.mode": "copy-on-write",
    "write.parquet.compression-codec": "zstd",
    # one target size for the files a day writes and for upkeep's compaction
    "write.target-file-size-bytes": str(128 * 1024 * 1024),
}


def spark_identifier(database: str, table: str) -> str:
    return f"{SPARK_CATALOG}.`{database}`.`{table}`"


def is_iceberg(glue_table: Mapping[str, Any] | None) -> bool:
    """Whether a Glue catalog entry is an Iceberg table (``table_type`` ICEBERG, as Athena,
    Spark's GlueCatalog and PyIceberg write it); the steps' own tables are Hive tables."""
    if glue_table is None:
        return False
    return str(glue_table.get("Parameters", {}).get("table_type", "")).upper() == "ICEBERG"


def iceberg_tables(glue_tables: Iterable[Mapping[str, Any]]) -> list[str]:
    """The names of the Iceberg tables among these catalog entries, sorted."""
    return sorted(str(t["Name"]) for t in glue_tables if is_iceberg(t))


def metadata_location(glue: Any, database: str, table: str) -> str | None:
    """The table's current metadata file (the Glue entry's ``metadata_location``); None when
    the table does not exist or is not an Iceberg table."""
    try:
        entry = glue.get_table(DatabaseName=database, Name=table)["Table"]
    except glue.exceptions.EntityNotFoundException:
        return None
    if not is_iceberg(entry):
        return None
    return entry["Parameters"].get("metadata_location") or None


def read_metadata(s3: Any, location: str) -> dict[str, Any]:
    """A table's metadata file (``metadata_location``), one GET."""
    bucket, _, key = location.removeprefix("s3://").partition("/")
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def rows_of(metadata: Mapping[str, Any], location: str) -> int:
    """Rows in the table's current snapshot (its summary's ``total-records``, which Spark,
    PyIceberg and Athena all write), whatever the table's age."""
    current = metadata.get("current-snapshot-id")
    if current in (None, -1):
        return 0
    for snapshot in metadata.get("snapshots", []):
        if snapshot.get("snapshot-id") == current:
            return int(snapshot.get("summary", {}).get("total-records", 0))
    raise ValueError(f"{location}: current snapshot {current} is not in its snapshots")


def current_rows(s3: Any, location: str) -> int:
    """Rows in the table's current snapshot, from its metadata file alone: one GET."""
    return rows_of(read_metadata(s3, location), location)


def snapshots_between(
    metadata: Mapping[str, Any], start_ms: int, end_ms: int
) -> list[dict[str, str]]:
    """The summaries of the table's snapshots committed between these times (epoch ms, both
    included): what a job run wrote (``added-records``, ``added-files-size``)."""
    return [
        snapshot.get("summary", {})
        for snapshot in metadata.get("snapshots", [])
        if start_ms <= int(snapshot.get("timestamp-ms", -1)) <= end_ms
    ]


class Metadata:
    """Each Iceberg table's current metadata file, read at most once by a step (Notify counts
    a table's rows and the Curate job's commits to it from the same file): one GetTable and
    one GET per table."""

    def __init__(self, glue: Any, s3: Any, database: str) -> None:
        self.glue, self.s3, self.database = glue, s3, database
        self._read: dict[str, tuple[str, dict[str, Any]] | None] = {}

    def of(self, table: str) -> tuple[str, dict[str, Any]] | None:
        """(metadata location, metadata) of the table; None when it is not an Iceberg table."""
        if table not in self._read:
            location = metadata_location(self.glue, self.database, table)
            self._read[table] = (location, read_metadata(self.s3, location)) if location else None
        return self._read[table]
