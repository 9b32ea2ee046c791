"""The embedded AWS's Athena on one Iceberg table, statement by statement (PyIceberg on moto's
Glue): what DELETE, VACUUM and the rest leave, and what they refuse."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pytest
from moto import mock_aws
from pyiceberg.schema import Schema
from pyiceberg.types import NestedField, StringType

from phenolake.iceberg import TABLE_PROPERTIES
from phenolake_local import athena_iceberg
from phenolake_local.iceberg import catalog


@pytest.fixture
def table(tmp_path: Path) -> Iterator[tuple[Any, Path, list[tuple[str, str]]]]:
    with mock_aws():
        glue = boto3.client("glue", region_name="us-east-1")
        glue.create_database(DatabaseInput={"Name": "phenolake"})
        found = catalog(tmp_path, glue)
        created = found.create_table(
            ("phenolake", "participant_stats"),
            Schema(NestedField(1, "participant_id", StringType(), required=False)),
            location="s3://lake/curated/participant_stats",
            properties=TABLE_PROPERTIES,
        )
        created.append(pa.table({"participant_id": ["p1", "p2"]}))
        created.append(pa.table({"participant_id": ["p1"]}))
        asked: list[tuple[str, str]] = []
        io = athena_iceberg.checked_io(tmp_path, lambda a, loc: asked.append((a, loc)))
        yield (found, io), tmp_path, asked


def run(table: Any, sql: str) -> athena_iceberg.Outcome:
    found, io = table
    return athena_iceberg.execute(sql, "phenolake", found, io)


def test_delete_then_vacuum_leaves_one_snapshot_and_a_young_orphan(table) -> None:
    handle, home, asked = table
    folder = home / "lake" / "curated" / "participant_stats"
    old_orphan, young_orphan = folder / "data" / "old.parquet", folder / "data" / "young.parquet"
    for orphan in (old_orphan, young_orphan):
        orphan.write_bytes(b"not committed")
    hour_ago = time.time() - 3600
    os.utime(old_orphan, (hour_ago, hour_ago))
    counted = run(
        handle, "SELECT count(*) FROM phenolake.participant_stats WHERE participant_id = 'p1'"
    )
    assert counted.rows == [["2"]]
    assert (
        run(handle, "DELETE FROM participant_stats WHERE participant_id = 'p1'").rows_deleted == 2
    )
    run(handle, "OPTIMIZE participant_stats REWRITE DATA USING BIN_PACK")
    run(
        handle,
        "ALTER TABLE participant_stats SET TBLPROPERTIES ('vacuum_max_snapshot_age_seconds'='60')",
    )
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    written = later.timestamp() - 10  # the young one: ten seconds before VACUUM
    os.utime(young_orphan, (written, written))
    found, io = handle
    vacuumed = athena_iceberg.execute("VACUUM participant_stats", "phenolake", found, io, now=later)
    table_now = found.load_table(("phenolake", "participant_stats"))
    assert len(table_now.snapshots()) == 1 and vacuumed.snapshots_expired >= 2
    assert table_now.scan().to_arrow().column("participant_id").to_pylist() == ["p2"]
    assert not old_orphan.exists()  # older than the age: Athena removes it too
    assert young_orphan.exists()  # written within the age: maybe a write in progress
    deleted = [loc for action, loc in asked if action == "s3:DeleteObject"]
    assert len(deleted) == vacuumed.files_removed and deleted


def test_a_statement_on_a_missing_table_or_column_fails_in_one_line(table) -> None:
    handle, _, _ = table
    with pytest.raises(athena_iceberg.StatementRefused, match=r"^TABLE_NOT_FOUND: phenolake\.nope"):
        run(handle, "VACUUM nope")
    with pytest.raises(athena_iceberg.StatementRefused, match=r"^COLUMN_NOT_FOUND: 'user_id'"):
        run(handle, "DELETE FROM participant_stats WHERE user_id = 'p1'")


def test_vacuum_keeps_a_tagged_snapshot_and_the_files_it_reaches(table) -> None:
    """A data freeze's tag (phenolake.freezes) keeps its snapshot through VACUUM, as Iceberg's
    snapshot expiration keeps every referenced one; the untagged older one expires."""
    handle, _, _ = table
    found, io = handle
    stats = found.load_table(("phenolake", "participant_stats"))
    first, second = [s.snapshot_id for s in stats.snapshots()]
    stats.manage_snapshots().create_tag(first, "freeze_paper").commit()
    run(handle, "DELETE FROM participant_stats WHERE participant_id = 'p2'")
    run(
        handle,
        "ALTER TABLE participant_stats SET TBLPROPERTIES ('vacuum_max_snapshot_age_seconds'='1')",
    )
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
    vacuumed = athena_iceberg.execute("VACUUM participant_stats", "phenolake", found, io, now=later)
    now = found.load_table(("phenolake", "participant_stats"))
    kept = {s.snapshot_id for s in now.snapshots()}
    assert first in kept and second not in kept and vacuumed.snapshots_expired == 1
    assert now.metadata.refs["freeze_paper"].snapshot_id == first
    tagged = now.scan(snapshot_id=first).to_arrow()  # its data files are still there
    assert sorted(tagged.column("participant_id").to_pylist()) == ["p1", "p2"]
    assert now.scan().to_arrow().column("participant_id").to_pylist() == ["p1", "p1"]
