"""The local engine reads Iceberg tables as Athena engine v3 does: the rows of the current (or a
travelled-to) snapshot, its metadata tables, and DESCRIBE / SHOW / information_schema.

The tables are written with PyIceberg through the embedded AWS's Glue catalog (moto) and the
catalog is saved to ``<home>/.state/glue-catalog.json`` as the embedded AWS saves it."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws
from pyiceberg.expressions import EqualTo
from pyiceberg.manifest import (
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestContent,
    ManifestWriter,
    ManifestWriterV2,
)
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Operation
from pyiceberg.table.update.snapshot import _FastAppendFiles
from pyiceberg.transforms import IdentityTransform
from pyiceberg.typedef import Record
from pyiceberg.types import (
    BinaryType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    ListType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
    TimestamptzType,
)

from phenolake.iceberg import TABLE_PROPERTIES
from phenolake_local import iceberg as local_iceberg
from phenolake_local.mirror import dump_catalog
from phenolake_tools import query
from phenolake_tools.query import QueryError, Unsupported
from tests.cli import in_process

LAKE = "phenolake-123456789012-lake"
DAY1, DAY2 = dt.date(2024, 10, 1), dt.date(2024, 10, 2)
T0 = dt.datetime(2024, 10, 1, 12, 0)

SCHEMA = Schema(
    NestedField(1, "participant_id", StringType(), required=False),
    NestedField(2, "ts", TimestampType(), required=False),
    NestedField(3, "value", DoubleType(), required=False),
    NestedField(4, "date", DateType(), required=False),
)
SPEC = PartitionSpec(
    PartitionField(1, 1000, IdentityTransform(), "participant_id"),
    PartitionField(4, 1001, IdentityTransform(), "date"),
)


def rows(participants: list[str], stamps: list[dt.datetime], values: list[float]) -> pa.Table:
    return pa.table(
        {
            "participant_id": participants,
            "ts": pa.array(stamps, pa.timestamp("us")),
            "value": values,
            "date": [s.date() for s in stamps],
        }
    )


class _DeleteManifestWriter(ManifestWriterV2):
    """A v2 manifest of delete files (PyIceberg writes only data manifests)."""

    def content(self) -> ManifestContent:
        return ManifestContent.DELETES

    @property
    def _meta(self) -> dict[str, str]:
        return {**super()._meta, "content": "deletes"}


class _AddDeleteFiles(_FastAppendFiles):
    """A commit that adds delete files, as a merge-on-read writer (Athena's DELETE) makes."""

    def new_manifest_writer(self, spec: PartitionSpec) -> ManifestWriter:
        return _DeleteManifestWriter(
            spec, self.schema(), self.new_manifest_output(), self._snapshot_id, self._compression
        )


def add_delete_file(home: Path, table: Table, content: DataFileContent, rows: pa.Table) -> None:
    """Write ``rows`` as a delete file of the table and commit it (a ``delete`` snapshot)."""
    key = f"{LAKE}/curated/{table.name()[-1]}/data/deletes-{content.name.lower()}.parquet"
    pq.write_table(rows, home / key)
    delete = DataFile.from_args(
        content=content,
        file_path=f"s3://{key}",
        file_format=FileFormat.PARQUET,
        partition=Record(),
        record_count=rows.num_rows,
        file_size_in_bytes=(home / key).stat().st_size,
        equality_ids=[1] if content == DataFileContent.EQUALITY_DELETES else None,
    )
    delete.spec_id = 0
    with table.transaction() as transaction:
        commit = _AddDeleteFiles(operation=Operation.DELETE, transaction=transaction, io=table.io)
        commit.append_data_file(delete)
        commit.commit()


def run(home: Path, sql: str) -> list[dict[str, Any]]:
    return query.query_local(sql, home).to_pylist()


def types(home: Path, sql: str) -> dict[str, str]:
    result = query.query_local(sql, home)
    return {f.name: (f.metadata or {})[b"trino_type"].decode() for f in result.schema}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``acc`` (Iceberg, identity-partitioned on participant_id and date) through five commits:

    1. append: p1 two rows (1.0 at 12:00:00.0005, 2.0), p2 two rows (3.0, 30.0), all on DAY1;
    2-3. overwrite where participant_id = 'p1' (PyIceberg commits a delete, then an append): p1
       is one row, 9.0;
    4. delete where value = 30.0: copy-on-write rewrites p2's file with its one other row;
    5. a column ``note`` added, then an append of p3 on DAY2 with note 'late'.

    ``imported`` is an Iceberg table whose data file has no field ids (added with add_files),
    ``participant_days`` a Hive-style Parquet table with one registered partition."""
    home = tmp_path_factory.mktemp("home")
    with mock_aws():
        glue = boto3.client("glue", region_name="us-east-1")
        glue.create_database(DatabaseInput={"Name": "phenolake"})
        catalog = local_iceberg.catalog(home, glue)
        table = catalog.create_table(
            "phenolake.acc",
            SCHEMA,
            partition_spec=SPEC,
            location=f"s3://{LAKE}/curated/acc/",
            properties=TABLE_PROPERTIES,
        )
        table.append(
            rows(
                ["p1", "p1", "p2", "p2"],
                [T0 + dt.timedelta(microseconds=500), T0 + dt.timedelta(hours=1), T0, T0],
                [1.0, 2.0, 3.0, 30.0],
            )
        )
        first = table.current_snapshot().snapshot_id
        table.overwrite(
            rows(["p1"], [T0 + dt.timedelta(hours=2)], [9.0]),
            overwrite_filter=EqualTo("participant_id", "p1"),
        )
        overwritten = table.current_snapshot().snapshot_id
        table.delete(EqualTo("value", 30.0))
        deleted = table.current_snapshot().snapshot_id
        with table.update_schema() as update:
            update.add_column("note", StringType())
        later = rows(["p3"], [dt.datetime(2024, 10, 2, 8, 0)], [4.0])
        table.append(later.append_column("note", pa.array(["late"])))
        current = table.current_snapshot().snapshot_id

        imported = catalog.create_table(
            "phenolake.imported",
            Schema(
                NestedField(1, "participant_id", StringType(), required=False),
                NestedField(2, "steps", LongType(), required=False),
            ),
            location=f"s3://{LAKE}/curated/imported/",
            properties=TABLE_PROPERTIES,
        )
        plain = home / LAKE / "curated" / "imported" / "data" / "plain.parquet"
        plain.parent.mkdir(parents=True)
        pq.write_table(
            pa.table({"participant_id": ["p1"], "steps": pa.array([7], pa.int64())}), plain
        )
        imported.add_files([f"s3://{LAKE}/curated/imported/data/plain.parquet"])
        with imported.update_schema() as update:
            update.rename_column("steps", "step_count")

        renamed = catalog.create_table(
            "phenolake.renamed",
            Schema(
                NestedField(1, "participant_id", StringType(), required=False),
                NestedField(2, "steps", LongType(), required=False),
            ),
            location=f"s3://{LAKE}/curated/renamed/",
            properties=TABLE_PROPERTIES,
        )
        renamed.append(pa.table({"participant_id": ["p1"], "steps": pa.array([5], pa.int64())}))
        with renamed.update_schema() as update:
            update.rename_column("steps", "step_count")
        with renamed.update_schema() as update:
            update.add_column("steps", StringType())
        renamed.append(
            pa.table(
                {
                    "participant_id": ["p2"],
                    "step_count": pa.array([6], pa.int64()),
                    "steps": ["six"],
                }
            )
        )
        typed = catalog.create_table(
            "phenolake.typed",
            Schema(
                NestedField(1, "at", TimestamptzType(), required=False),
                NestedField(2, "count", IntegerType(), required=False),
                NestedField(3, "ratio", FloatType(), required=False),
                NestedField(4, "amount", DecimalType(9, 2), required=False),
                NestedField(5, "raw", BinaryType(), required=False),
                NestedField(6, "tags", ListType(7, StringType(), element_required=False)),
            ),
            location=f"s3://{LAKE}/curated/typed/",
        )
        typed.append(
            pa.table(
                {
                    "at": pa.array(
                        [dt.datetime(2024, 10, 1, 12, 0, 0, 1500, tzinfo=dt.UTC)],
                        pa.timestamp("us", tz="UTC"),
                    ),
                    "count": pa.array([7], pa.int32()),
                    "ratio": pa.array([0.5], pa.float32()),
                    "amount": pa.array([decimal.Decimal("12.34")], pa.decimal128(9, 2)),
                    "raw": pa.array([b"\x01\x02"], pa.binary()),
                    "tags": pa.array([["a", "b"]], pa.list_(pa.string())),
                }
            )
        )
        catalog.create_table(
            "phenolake.empty", SCHEMA, partition_spec=SPEC, location=f"s3://{LAKE}/curated/empty/"
        )

        steps = Schema(
            NestedField(1, "participant_id", StringType(), required=False),
            NestedField(2, "steps", LongType(), required=False),
        )
        merged = catalog.create_table(
            "phenolake.merged", steps, location=f"s3://{LAKE}/curated/merged/"
        )
        merged.append(pa.table({"participant_id": ["p1", "p2", "p3"], "steps": [1, 2, 3]}))
        before_deletes = merged.current_snapshot().snapshot_id
        (task,) = merged.scan().plan_files()
        add_delete_file(
            home,
            merged,
            DataFileContent.POSITION_DELETES,
            pa.table({"file_path": [task.file.file_path, "s3://elsewhere.parquet"], "pos": [1, 0]}),
        )
        glue.create_database(DatabaseInput={"Name": "scratch"})
        equality = catalog.create_table(
            "scratch.equality", steps, location=f"s3://{LAKE}/curated/equality/"
        )
        equality.append(pa.table({"participant_id": ["p1"], "steps": [1]}))
        add_delete_file(
            home, equality, DataFileContent.EQUALITY_DELETES, pa.table({"participant_id": ["p1"]})
        )

        days = home / LAKE / "curated" / "participant_days" / "source=radar"
        days.mkdir(parents=True)
        pq.write_table(
            pa.table({"participant_id": ["p1", "p3"], "days": [1, 1]}), days / "part-0.parquet"
        )
        glue.create_table(
            DatabaseName="phenolake",
            TableInput={
                "Name": "participant_days",
                "TableType": "EXTERNAL_TABLE",
                "StorageDescriptor": {
                    "Columns": [
                        {"Name": "participant_id", "Type": "string"},
                        {"Name": "days", "Type": "bigint"},
                    ],
                    "Location": f"s3://{LAKE}/curated/participant_days/",
                },
                "PartitionKeys": [{"Name": "source", "Type": "string"}],
                "Parameters": {"classification": "parquet"},
            },
        )
        glue.create_partition(
            DatabaseName="phenolake",
            TableName="participant_days",
            PartitionInput={
                "Values": ["radar"],
                "StorageDescriptor": {
                    "Location": f"s3://{LAKE}/curated/participant_days/source=radar/"
                },
            },
        )
        dump_catalog(glue, home / ".state" / "glue-catalog.json")
        log = [(e.snapshot_id, e.timestamp_ms) for e in table.metadata.snapshot_log]
    return {
        "home": home,
        "first": first,
        "overwritten": overwritten,
        "deleted": deleted,
        "current": current,
        "log": log,
        "before_deletes": before_deletes,
    }


def test_the_catalog_entry_is_the_one_pyiceberg_writes(lake: dict[str, Any]) -> None:
    """The engine is tested against the Glue shape the writers leave: table_type ICEBERG, a
    metadata_location, no partition keys."""
    saved = json.loads((lake["home"] / ".state" / "glue-catalog.json").read_text())
    entry = saved["tables"]["phenolake"]["acc"]
    assert entry["Parameters"]["table_type"] == "ICEBERG"
    assert entry["Parameters"]["metadata_location"].startswith(f"s3://{LAKE}/curated/acc/metadata/")
    assert not entry.get("PartitionKeys")


def test_current_snapshot_after_append_overwrite_delete_and_new_column(
    lake: dict[str, Any],
) -> None:
    home = lake["home"]
    assert run(home, "SELECT * FROM acc ORDER BY participant_id") == [
        {
            "participant_id": "p1",
            "ts": T0 + dt.timedelta(hours=2),
            "value": 9.0,
            "date": DAY1,
            "note": None,
        },
        {"participant_id": "p2", "ts": T0, "value": 3.0, "date": DAY1, "note": None},
        {
            "participant_id": "p3",
            "ts": dt.datetime(2024, 10, 2, 8, 0),
            "value": 4.0,
            "date": DAY2,
            "note": "late",
        },
    ]
    assert types(home, "SELECT * FROM acc") == {
        "participant_id": "varchar",
        "ts": "timestamp(3)",
        "value": "double",
        "date": "date",
        "note": "varchar",
    }


def test_the_folder_holds_older_files_that_are_never_read(lake: dict[str, Any]) -> None:
    """Copy-on-write leaves the replaced files in the folder; only the snapshot's are read."""
    home = lake["home"]
    on_disk = sorted((home / LAKE / "curated" / "acc" / "data").rglob("*.parquet"))
    paths = [r["p"] for r in run(home, 'SELECT DISTINCT "$path" AS p FROM acc ORDER BY 1')]
    assert len(on_disk) > len(paths) == 3
    for path in paths:
        assert path.startswith(f"s3://{LAKE}/curated/acc/data/")
        assert (home / path.removeprefix("s3://")).is_file()
    assert run(home, "SELECT count(*) AS n FROM acc WHERE value = 30.0") == [{"n": 0}]


def test_version_travel_reads_that_snapshot_with_its_own_schema(lake: dict[str, Any]) -> None:
    home = lake["home"]
    first = lake["first"]
    assert run(
        home,
        f"SELECT participant_id, ts, value FROM acc FOR VERSION AS OF {first} "
        "ORDER BY participant_id, value",
    ) == [
        # 12:00:00.0005 reads as timestamp(3), rounded half up as Athena rounds
        {"participant_id": "p1", "ts": T0 + dt.timedelta(milliseconds=1), "value": 1.0},
        {"participant_id": "p1", "ts": T0 + dt.timedelta(hours=1), "value": 2.0},
        {"participant_id": "p2", "ts": T0, "value": 3.0},
        {"participant_id": "p2", "ts": T0, "value": 30.0},
    ]
    assert list(types(home, f"SELECT * FROM acc FOR VERSION AS OF {first}")) == [
        "participant_id",
        "ts",
        "value",
        "date",
    ]
    assert error(home, f"SELECT note FROM acc FOR VERSION AS OF {first}") == (
        "Column 'note' cannot be resolved"
    )
    assert run(home, f"SELECT count(*) AS n FROM acc FOR VERSION AS OF {lake['deleted']}") == [
        {"n": 2}
    ]


def test_two_versions_of_one_table_in_one_query(lake: dict[str, Any]) -> None:
    home = lake["home"]
    sql = (
        f"SELECT old.participant_id, old.value AS before, new.value AS after "
        f"FROM acc FOR VERSION AS OF {lake['first']} AS old "
        f"LEFT JOIN acc new ON old.participant_id = new.participant_id AND old.value = new.value "
        "ORDER BY old.value"
    )
    assert run(home, sql) == [
        {"participant_id": "p1", "before": 1.0, "after": None},
        {"participant_id": "p1", "before": 2.0, "after": None},
        {"participant_id": "p2", "before": 3.0, "after": 3.0},
        {"participant_id": "p2", "before": 30.0, "after": None},
    ]


def test_timestamp_travel_reads_the_snapshot_current_then(lake: dict[str, Any]) -> None:
    home = lake["home"]
    (first, first_ms), *_ = lake["log"]
    stamp = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=first_ms)
    literal = stamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    # the first snapshot's own instant, with and without a zone (no zone is UTC)
    for written in (f"TIMESTAMP '{literal} UTC'", f"TIMESTAMP '{literal}'"):
        assert run(home, f"SELECT count(*) AS n FROM acc FOR TIMESTAMP AS OF {written}") == [
            {"n": 4}
        ]
    # an expression, a timestamp(3) without zone: the last commit's own millisecond
    last = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=lake["log"][-1][1])
    expression = f"CAST('{last.isoformat(sep=' ', timespec='milliseconds')}' AS timestamp(3))"
    assert run(home, f"SELECT count(*) AS n FROM acc FOR TIMESTAMP AS OF {expression}") == [
        {"n": 3}
    ]
    # Trino: the state at the query's start may still change
    with pytest.raises(QueryError, match=r"^Pointer value '.* UTC' is not in the past$"):
        run(home, "SELECT * FROM acc FOR TIMESTAMP AS OF current_timestamp")
    assert error(home, "SELECT * FROM acc FOR TIMESTAMP AS OF DATE '2999-01-01'") == (
        "Pointer value '2999-01-01' is not in the past"
    )
    before = stamp - dt.timedelta(milliseconds=1)
    expected = before.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if before.microsecond == 0:
        expected = before.strftime("%Y-%m-%dT%H:%M:%SZ")
    text = before.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    with pytest.raises(QueryError) as caught:
        run(home, f"SELECT * FROM acc FOR TIMESTAMP AS OF TIMESTAMP '{text} UTC'")
    assert str(caught.value) == (
        f'No version history table "phenolake"."acc" at or before {expected}'
    )
    assert first == lake["first"]


def error(home: Path, sql: str) -> str:
    with pytest.raises(QueryError) as caught:
        run(home, sql)
    return str(caught.value)


def test_travel_errors_are_athenas(lake: dict[str, Any]) -> None:
    home = lake["home"]
    assert error(home, "SELECT * FROM acc FOR VERSION AS OF 123") == (
        "Iceberg snapshot ID does not exists: 123"
    )
    assert error(home, "SELECT * FROM acc FOR VERSION AS OF 'nope'") == (
        "Cannot find snapshot with reference name: nope"
    )
    assert run(home, "SELECT count(*) AS n FROM acc FOR VERSION AS OF 'main'") == [{"n": 3}]
    assert error(home, "SELECT * FROM acc FOR TIMESTAMP AS OF 5") == (
        "Type integer invalid. Temporal pointers must be of type Timestamp, Timestamp with "
        "Time Zone, or Date."
    )
    assert error(home, "SELECT * FROM acc FOR TIMESTAMP AS OF NULL") == (
        "Pointer value cannot be NULL"
    )
    assert error(home, "SELECT * FROM acc FOR VERSION AS OF CAST(NULL AS bigint)") == (
        "Pointer value cannot be NULL"
    )
    assert error(home, "SELECT * FROM participant_days FOR VERSION AS OF 1") == (
        "This connector does not support versioned tables"
    )


def test_snapshots_and_history(lake: dict[str, Any]) -> None:
    home = lake["home"]
    snapshots = run(
        home,
        'SELECT snapshot_id, parent_id, operation, summary FROM "acc$snapshots" '
        "ORDER BY committed_at",
    )
    # the overwrite commits a delete then an append; the partial delete rewrites a file
    ids = [s["snapshot_id"] for s in snapshots]
    assert ids == [snapshot for snapshot, _ in lake["log"]]
    assert [ids[0], ids[2], ids[3], ids[4]] == [
        lake["first"],
        lake["overwritten"],
        lake["deleted"],
        lake["current"],
    ]
    assert [s["parent_id"] for s in snapshots] == [None, *ids[:-1]]
    assert [s["operation"] for s in snapshots] == [
        "append",
        "delete",
        "append",
        "overwrite",
        "append",
    ]
    first_summary = dict(snapshots[0]["summary"])
    assert first_summary["added-records"] == "4"
    assert first_summary["added-data-files"] == "2"
    assert "operation" not in first_summary
    assert types(home, 'SELECT * FROM "acc$snapshots"') == {
        "committed_at": "timestamp(3) with time zone",
        "snapshot_id": "bigint",
        "parent_id": "bigint",
        "operation": "varchar",
        "manifest_list": "varchar",
        "summary": "map(varchar, varchar)",
    }
    history = run(home, 'SELECT * FROM phenolake."acc$history" ORDER BY made_current_at')
    assert [(h["snapshot_id"], h["is_current_ancestor"]) for h in history] == [
        (s["snapshot_id"], True) for s in snapshots
    ]
    assert [int(h["made_current_at"].timestamp() * 1000) for h in history] == [
        ms for _, ms in lake["log"]
    ]
    assert history[0]["made_current_at"].tzinfo is not None
    assert types(home, 'SELECT * FROM "acc$history"') == {
        "made_current_at": "timestamp(3) with time zone",
        "snapshot_id": "bigint",
        "parent_id": "bigint",
        "is_current_ancestor": "boolean",
    }
    # a snapshot id from $snapshots travels
    newest = run(home, 'SELECT max_by(snapshot_id, committed_at) AS s FROM "acc$snapshots"')
    assert newest == [{"s": lake["current"]}]


def test_refs(lake: dict[str, Any]) -> None:
    home = lake["home"]
    assert run(home, 'SELECT * FROM "acc$refs"') == [
        {
            "name": "main",
            "type": "BRANCH",
            "snapshot_id": lake["current"],
            "max_reference_age_in_ms": None,
            "min_snapshots_to_keep": None,
            "max_snapshot_age_in_ms": None,
        }
    ]
    assert types(home, 'SELECT * FROM "acc$refs"') == {
        "name": "varchar",
        "type": "varchar",
        "snapshot_id": "bigint",
        "max_reference_age_in_ms": "bigint",
        "min_snapshots_to_keep": "integer",
        "max_snapshot_age_in_ms": "bigint",
    }


def test_metadata_tables_the_engine_does_not_build_are_refused(lake: dict[str, Any]) -> None:
    with pytest.raises(Unsupported, match=r'"acc\$files"'):
        run(lake["home"], 'SELECT * FROM "acc$files"')
    with pytest.raises(
        QueryError, match=r"^Table 'awsdatacatalog.phenolake.acc\$nope' does not exist$"
    ):
        run(lake["home"], 'SELECT * FROM "acc$nope"')


def test_columns_are_matched_by_field_id(lake: dict[str, Any]) -> None:
    """A renamed column keeps its values; a new column with the old name is another column."""
    assert run(lake["home"], "SELECT * FROM renamed ORDER BY 1") == [
        {"participant_id": "p1", "step_count": 5, "steps": None},
        {"participant_id": "p2", "step_count": 6, "steps": "six"},
    ]


def test_files_without_field_ids_are_read_by_the_name_mapping(lake: dict[str, Any]) -> None:
    """add_files imports a file without ids and records the table's name mapping; a later
    rename still finds the file's column."""
    assert run(lake["home"], "SELECT * FROM imported") == [
        {"participant_id": "p1", "step_count": 7}
    ]


def test_iceberg_types_are_athenas(lake: dict[str, Any]) -> None:
    home = lake["home"]
    assert types(home, "SELECT * FROM typed") == {
        "at": "timestamp(3) with time zone",
        "count": "integer",
        "ratio": "real",
        "amount": "decimal(9,2)",
        "raw": "varbinary",
        "tags": "array(varchar)",
    }
    assert run(home, "SELECT * FROM typed") == [
        {
            "at": dt.datetime(2024, 10, 1, 12, 0, 0, 2000, tzinfo=dt.UTC),
            "count": 7,
            "ratio": 0.5,
            "amount": decimal.Decimal("12.34"),
            "raw": b"\x01\x02",
            "tags": ["a", "b"],
        }
    ]
    shown = query.format_table(query.query_local("SELECT at, tags FROM typed", home), "csv")
    assert shown == 'at,tags\n2024-10-01 12:00:00.002 UTC,"[a, b]"\n'


def test_a_table_without_snapshots_is_empty(lake: dict[str, Any]) -> None:
    home = lake["home"]
    assert run(home, "SELECT count(*) AS n, max(ts) AS latest FROM empty") == [
        {"n": 0, "latest": None}
    ]
    assert types(home, "SELECT * FROM empty")["ts"] == "timestamp(3)"
    assert run(home, 'SELECT * FROM "empty$snapshots"') == []


def test_hive_tables_beside_iceberg_tables(lake: dict[str, Any]) -> None:
    home = lake["home"]
    sql = (
        "SELECT a.participant_id, d.days, d.source FROM acc a "
        "JOIN participant_days d ON a.participant_id = d.participant_id ORDER BY 1"
    )
    assert run(home, sql) == [
        {"participant_id": "p1", "days": 1, "source": "radar"},
        {"participant_id": "p3", "days": 1, "source": "radar"},
    ]
    assert query.table_row_counts(home) == {
        "acc": 3,
        "empty": 0,
        "imported": 1,
        "merged": 2,
        "participant_days": 2,
        "renamed": 2,
        "typed": 1,
    }
    assert run(home, "SHOW PARTITIONS participant_days") == [{"partition": "source=radar"}]


def test_describe_show_columns_and_information_schema(lake: dict[str, Any]) -> None:
    home = lake["home"]
    described = [tuple(r.values()) for r in run(home, "DESCRIBE acc")]
    assert described == [
        ("# Table schema:", "", ""),
        ("# col_name", "data_type", "comment"),
        ("participant_id", "string", ""),
        ("ts", "timestamp", ""),
        ("value", "double", ""),
        ("date", "date", ""),
        ("note", "string", ""),
        ("", "", ""),
        ("# Partition spec:", "", ""),
        ("# field_name", "field_transform", "column_name"),
        ("participant_id", "identity", "participant_id"),
        ("date", "identity", "date"),
    ]
    assert [r["field"] for r in run(home, "SHOW COLUMNS IN acc")] == [
        "participant_id",
        "ts",
        "value",
        "date",
        "note",
    ]
    columns = run(
        home,
        "SELECT column_name, data_type, extra_info FROM information_schema.columns "
        "WHERE table_name = 'acc' ORDER BY ordinal_position",
    )
    assert columns == [
        {"column_name": "participant_id", "data_type": "varchar", "extra_info": None},
        {"column_name": "ts", "data_type": "timestamp(3)", "extra_info": None},
        {"column_name": "value", "data_type": "double", "extra_info": None},
        {"column_name": "date", "data_type": "date", "extra_info": None},
        {"column_name": "note", "data_type": "varchar", "extra_info": None},
    ]
    with pytest.raises(QueryError) as caught:
        run(home, "SHOW PARTITIONS acc")
    assert str(caught.value) == (
        "phenolake.acc is an Iceberg table: Athena does not run SHOW PARTITIONS on Iceberg "
        "tables (their partitions are hidden); its partitions: "
        "SELECT DISTINCT participant_id, date FROM acc"
    )


def test_the_cli_time_travels(lake: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    home = str(lake["home"])
    code, out, _ = in_process(
        capsys,
        "query",
        f"SELECT participant_id, value FROM acc FOR VERSION AS OF {lake['first']} "
        "WHERE participant_id = 'p2' ORDER BY value",
        "--format",
        "csv",
        "--home",
        home,
    )
    assert (code, out) == (0, "participant_id,value\np2,3.0\np2,30.0\n")
    code, _, err = in_process(
        capsys, "query", "SELECT * FROM acc FOR VERSION AS OF 42", "--home", home
    )
    assert code != 0
    assert "query: Iceberg snapshot ID does not exists: 42" in err


def test_position_deletes_are_applied_equality_deletes_refused(lake: dict[str, Any]) -> None:
    """Athena's DELETE writes position delete files (merge-on-read): Athena applies them, and
    so does the local engine, each to the data files Iceberg's planning gives it."""
    home = lake["home"]
    assert run(home, "SELECT * FROM merged ORDER BY 1") == [
        {"participant_id": "p1", "steps": 1},
        {"participant_id": "p3", "steps": 3},
    ]
    before = lake["before_deletes"]
    assert run(home, f"SELECT count(*) AS n FROM merged FOR VERSION AS OF {before}") == [{"n": 3}]
    with pytest.raises(Unsupported, match="equality deletes"):
        run(home, "SELECT * FROM scratch.equality")


def test_a_freeze_pins_every_iceberg_table_to_its_snapshot(lake: dict[str, Any]) -> None:
    """``query --freeze``: each reference (joins, CTEs over it, qualified or not) reads the
    freeze's snapshot; a table the freeze lacks, a Hive table, or a travel of its own is an
    error naming it."""
    home, first = lake["home"], lake["first"]
    versions = {"acc": first}

    def pinned(sql: str) -> list[dict[str, Any]]:
        return query.query_local(sql, home, "phenolake", versions, "freeze paper").to_pylist()

    assert pinned("SELECT count(*) AS n FROM acc") == [{"n": 4}]
    assert pinned(
        "WITH p AS (SELECT participant_id FROM phenolake.acc) "
        "SELECT count(*) AS n FROM p JOIN acc b USING (participant_id)"
    ) == [{"n": 8}]
    assert run(home, "SELECT count(*) AS n FROM acc") == [{"n": 3}]  # without: the current
    for sql, message in (
        ("SELECT * FROM typed", "table phenolake.typed is not in freeze paper"),
        (
            "SELECT * FROM participant_days",
            "table phenolake.participant_days is not in freeze paper: it is not an Iceberg table",
        ),
        (f"SELECT * FROM acc FOR VERSION AS OF {first}", "acc: freeze paper fixes its snapshot"),
    ):
        with pytest.raises(QueryError) as exc:
            pinned(sql)
        assert str(exc.value).startswith(message), exc.value
