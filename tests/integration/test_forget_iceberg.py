"""Consent withdrawal on curated Iceberg tables: the DeleteParticipant machine's Athena
statements (run by the embedded AWS with PyIceberg) leave the participant in no kept snapshot
and in no file under the table's folder, and the other participant's rows as they were."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.expressions import EqualTo
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import DateType, DoubleType, LongType, NestedField, StringType

from phenolake.iceberg import TABLE_PROPERTIES
from phenolake_local import runner
from phenolake_local.engine import EmbeddedAWS
from phenolake_local.iceberg import catalog
from tests.cli import cli

GONE, KEPT = "ppt-gone", "ppt-2"
DATABASE = "phenolake"


def acc_rows(participant: str, day: dt.date, values: list[float]) -> pa.Table:
    return pa.table(
        {
            "participant_id": pa.array([participant] * len(values), pa.string()),
            "date": pa.array([day] * len(values), pa.date32()),
            "x": pa.array(values, pa.float64()),
        }
    )


def stats_rows(rows: list[tuple[str, int]]) -> pa.Table:
    return pa.table(
        {
            "participant_id": pa.array([r[0] for r in rows], pa.string()),
            "days": pa.array([r[1] for r in rows], pa.int64()),
        }
    )


def build_tables(home: Path) -> dict[str, list[dict]]:
    """Two curated Iceberg tables, several snapshots each, both participants in every one:
    embrace_acc partitioned by participant and day (appends over three days, then day 2
    replaced), participant_stats not partitioned (an append, then an overwrite)."""
    with EmbeddedAWS(home) as aws:
        lake_bucket = aws.bucket("LakeBucket")
        glue_catalog = catalog(aws.home, aws.glue)
        acc = glue_catalog.create_table(
            (DATABASE, "embrace_acc"),
            Schema(
                NestedField(1, "participant_id", StringType(), required=False),
                NestedField(2, "date", DateType(), required=False),
                NestedField(3, "x", DoubleType(), required=False),
            ),
            location=f"s3://{lake_bucket}/curated/embrace_acc",
            partition_spec=PartitionSpec(
                PartitionField(1, 1000, IdentityTransform(), "participant_id"),
                PartitionField(2, 1001, IdentityTransform(), "date"),
            ),
            properties=TABLE_PROPERTIES,
        )
        days = [dt.date(2024, 10, d) for d in (1, 2, 3)]
        for n, day in enumerate(days):
            acc.append(
                pa.concat_tables(
                    [acc_rows(GONE, day, [n + 0.1, n + 0.2]), acc_rows(KEPT, day, [n + 0.5])]
                )
            )
        acc.overwrite(
            pa.concat_tables([acc_rows(GONE, days[1], [9.1]), acc_rows(KEPT, days[1], [9.5])]),
            overwrite_filter=EqualTo("date", days[1].isoformat()),
        )
        stats = glue_catalog.create_table(
            (DATABASE, "participant_stats"),
            Schema(
                NestedField(1, "participant_id", StringType(), required=False),
                NestedField(2, "days", LongType(), required=False),
            ),
            location=f"s3://{lake_bucket}/curated/participant_stats",
            properties=TABLE_PROPERTIES,
        )
        stats.append(stats_rows([(GONE, 1), (KEPT, 1)]))
        stats.overwrite(stats_rows([(GONE, 3), (KEPT, 3)]))
        aws.load_buckets()  # PyIceberg wrote the files in home: moto's S3 gets them
        # an overwrite commits a delete and an append
        assert [len(t.snapshots()) for t in (acc, stats)] == [5, 3]
        return {
            name: sorted(
                (r for r in table.scan().to_arrow().to_pylist() if r["participant_id"] == KEPT),
                key=lambda r: json.dumps(r, default=str, sort_keys=True),
            )
            for name, table in (("embrace_acc", acc), ("participant_stats", stats))
        }


@pytest.fixture(scope="module")
def forgotten(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("forget-iceberg")
    kept = build_tables(home)
    done = cli("forget", GONE, "--yes", "--home", str(home), timeout=300)
    return home, kept, done


def test_the_cli_reports_rows_snapshots_and_files_per_table(forgotten) -> None:
    _, _, done = forgotten
    assert done.returncode == 0, done.stderr
    assert f"participant {GONE} deleted" in done.stdout
    found = dict(re.findall(r"^Iceberg table (\w+): (.*)$", done.stdout, flags=re.MULTILINE))
    # 3 days of 2 rows, day 2 replaced by 1; 3 appends and an overwrite (a delete, an append)
    assert re.fullmatch(
        r"5 row\(s\) deleted, 5 older snapshot\(s\) expired \(1 kept\), \d+ file\(s\) removed",
        found["embrace_acc"],
    )
    assert re.fullmatch(
        r"1 row\(s\) deleted, 3 older snapshot\(s\) expired \(1 kept\), \d+ file\(s\) removed",
        found["participant_stats"],
    )
    assert "0 file(s)" not in done.stdout


def test_no_kept_snapshot_holds_the_participant(forgotten) -> None:
    home, kept, _ = forgotten
    with EmbeddedAWS(home) as aws:
        glue_catalog = catalog(aws.home, aws.glue)
        for name, rows in kept.items():
            table = glue_catalog.load_table((DATABASE, name))
            current = table.scan().to_arrow().to_pylist()
            assert [r for r in current if r["participant_id"] == GONE] == []
            assert sorted(current, key=lambda r: json.dumps(r, default=str, sort_keys=True)) == rows
            assert table.snapshots(), name
            for snapshot in table.snapshots():  # every time travel Athena could still do
                found = table.scan(snapshot_id=snapshot.snapshot_id).to_arrow()
                assert GONE not in found.column("participant_id").to_pylist(), (name, snapshot)
            assert table.properties["vacuum_max_snapshot_age_seconds"] == "432000"


def test_no_file_under_the_tables_holds_the_participant(forgotten) -> None:
    home, _, _ = forgotten
    lake_dir = next(home.glob("*-lake"))
    for name in ("embrace_acc", "participant_stats"):
        files = [p for p in (lake_dir / "curated" / name).rglob("*") if p.is_file()]
        parquet = [p for p in files if p.suffix == ".parquet"]
        assert parquet, name
        for path in parquet:
            ids = pq.read_table(path).column("participant_id").to_pylist()
            assert GONE not in ids, path
        for path in files:  # manifests, manifest lists, metadata: not even in a path
            assert GONE.encode() not in path.read_bytes(), path
        assert not [p for p in files if GONE in str(p)], name


def test_the_audit_record_names_no_participant(forgotten) -> None:
    home, _, _ = forgotten
    lake_dir = next(home.glob("*-lake"))
    [audit_file] = list((lake_dir / "manifests" / "deletions").glob("*.json"))
    audit = json.loads(audit_file.read_text())
    assert GONE not in audit_file.read_text()
    assert audit["iceberg_tables"]["embrace_acc"]["rows_deleted"] == 5
    assert audit["iceberg_tables"]["participant_stats"]["snapshots_kept"] == 1
    assert not list((lake_dir / "manifests" / "deletions").rglob("*.before.json"))


def test_a_second_forget_finds_nothing_and_keeps_the_table(forgotten) -> None:
    home, _, _ = forgotten
    again = runner.forget(home, GONE)
    assert again.status == "SUCCEEDED", again.cause
    assert again.output["iceberg_tables"]["embrace_acc"]["rows_deleted"] == 0
    assert again.output["iceberg_tables"]["embrace_acc"]["snapshots_kept"] == 1


def test_an_id_that_could_leave_its_quotes_is_refused_before_anything_is_deleted(
    forgotten,
) -> None:
    home, _, _ = forgotten
    refused = cli("forget", "x' OR '1'='1", "--yes", "--home", str(home), timeout=300)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        'phenolake: error: participant: holds "\'", which the Athena statements cannot '
        "carry; nothing was deleted"
    )
    assert "\n" not in refused.stderr.strip()
