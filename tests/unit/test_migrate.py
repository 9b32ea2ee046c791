"""`phenolake migrate`: a lake built the old way (Hive-style partitioned Parquet registered in
Glue, as the curate jobs wrote it before issue 15) becomes Iceberg tables with exactly the
rows Athena read from the Hive tables, the Hive files gone; a rerun says "already Iceberg"."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from phenolake import catalog as glue_catalog
from phenolake.iceberg import TABLE_PROPERTIES
from phenolake_local import iceberg
from phenolake_tools import migrate
from tests.cli import in_process

DATABASE = "phenolake"
LAKE = "phenolake-123456789012-lake"
UTC = dt.UTC
ACCELERATION = "radar_android_phone_acceleration"

#: The old lake: per table its Glue columns, partition keys and registered partitions' files.
#: Timestamps as the jobs wrote them (radar micro-, embrace millisecond Parquet timestamps,
#: UTC-adjusted); "007" is a string column and a string partition value.
T0 = dt.datetime(2024, 10, 1, 8, 30, 0, 123456, tzinfo=UTC)
HIVE: dict[str, dict[str, Any]] = {
    ACCELERATION: {
        "columns": [("time", "timestamp"), ("x", "double"), ("code", "string")],
        "keys": [("site", "string"), ("participant_id", "string"), ("date", "string")],
        "partitions": {
            ("KCL", "007", "2024-10-01"): [
                pa.table(
                    {
                        "time": pa.array(
                            [T0, T0 + dt.timedelta(microseconds=1)], pa.timestamp("us", "UTC")
                        ),
                        "x": [0.25, -1.5],
                        "code": ["007", "0"],
                    }
                ),
                pa.table(
                    {
                        "time": pa.array([T0 + dt.timedelta(hours=1)], pa.timestamp("us", "UTC")),
                        "x": [None],
                        "code": [None],
                    }
                ),
            ],
            ("KCL", "007", "2024-10-02"): [
                pa.table(
                    {
                        "time": pa.array([T0 + dt.timedelta(days=1)], pa.timestamp("us", "UTC")),
                        "x": [3.0],
                        "code": ["42"],
                    }
                )
            ],
        },
    },
    "embrace_eda": {
        "columns": [
            ("time", "timestamp"),
            ("device_id", "string"),
            ("eda_microsiemens", "double"),
            ("local_date", "date"),
        ],
        "keys": [("participant_id", "string"), ("date", "string")],
        "partitions": {
            ("p1", "2024-10-01"): [
                pa.table(  # an older file, from before local_date was added
                    {
                        "time": pa.array(
                            [dt.datetime(2024, 10, 1, 23, 59, 59, 999000, tzinfo=UTC)],
                            pa.timestamp("ms", "UTC"),
                        ),
                        "device_id": ["3YK3J151VJ"],
                        "eda_microsiemens": [0.031],
                    }
                ),
                pa.table(
                    {
                        "time": pa.array(
                            [dt.datetime(2024, 10, 1, 0, 0, 0, 1000, tzinfo=UTC)],
                            pa.timestamp("ms", "UTC"),
                        ),
                        "device_id": ["3YK3J151VJ"],
                        "eda_microsiemens": [0.5],
                        "local_date": pa.array([dt.date(2024, 9, 30)], pa.date32()),
                    }
                ),
            ],
        },
    },
    "mhealth": {
        "columns": [("timestamp", "timestamp"), ("acc_chest_x", "double"), ("label", "int")],
        "keys": [("user_id", "string")],
        "partitions": {
            ("007",): [
                pa.table(
                    {
                        "timestamp": pa.array([T0], pa.timestamp("us", "UTC")),
                        "acc_chest_x": [1.0],
                        "label": pa.array([3], pa.int32()),
                    }
                )
            ],
            ("10",): [
                pa.table(
                    {
                        "timestamp": pa.array([T0], pa.timestamp("us", "UTC")),
                        "acc_chest_x": [2.0],
                        "label": pa.array([0], pa.int32()),
                    }
                )
            ],
        },
    },
    # a step's own table, written by a Lambda: not a curated table, left as it is
    "participant_days": {
        "columns": [("participant_id", "string"), ("rows", "bigint")],
        "keys": [("source", "string"), ("date", "string")],
        "partitions": {
            ("radar", "2024-10-01"): [pa.table({"participant_id": ["007"], "rows": [3]})]
        },
    },
}


def partition_folder(home: Path, table: str, keys: list[tuple[str, str]], values: tuple) -> Path:
    where = "/".join(f"{k}={v}" for (k, _), v in zip(keys, values, strict=True))
    return home / LAKE / "curated" / table / where


def build_hive_lake(home: Path, glue: Any) -> None:
    """The lake as the pre-Iceberg curate jobs left it: files under ``curated/<table>/<k>=<v>/``
    (with Spark's ``_SUCCESS`` and ``.crc`` files), tables and partitions registered with the
    catalog functions those jobs used. One folder is written but never registered: Athena
    never read it, so the migration must not either."""
    glue_catalog.ensure_database(glue, DATABASE)
    for table, shape in HIVE.items():
        location = f"s3://{LAKE}/curated/{table}/"
        for values, pieces in shape["partitions"].items():
            folder = partition_folder(home, table, shape["keys"], values)
            folder.mkdir(parents=True, exist_ok=True)
            for i, piece in enumerate(pieces):
                pq.write_table(piece, folder / f"part-{i:05d}-c000.zstd.parquet")
            (folder / ".part-00000-c000.zstd.parquet.crc").write_bytes(b"crc")
        (home / LAKE / "curated" / table / "_SUCCESS").write_bytes(b"")
        glue_catalog.ensure_table(glue, DATABASE, table, shape["columns"], shape["keys"], location)
        glue_catalog.ensure_partitions(
            glue,
            DATABASE,
            table,
            shape["columns"],
            [k for k, _ in shape["keys"]],
            location,
            list(shape["partitions"]),
        )
    stray = partition_folder(home, ACCELERATION, HIVE[ACCELERATION]["keys"], ("KCL", "9", "x"))
    stray.mkdir(parents=True)
    pq.write_table(
        HIVE[ACCELERATION]["partitions"][("KCL", "007", "2024-10-02")][0], stray / "a.parquet"
    )


def expected_rows(table: str) -> list[dict[str, Any]]:
    """The Hive table's rows as Athena read them (declared columns, then the partition keys
    from the catalog's values; a column a file lacks is null), timestamps as UTC wall times."""
    shape = HIVE[table]
    rows = []
    for values, pieces in shape["partitions"].items():
        for piece in pieces:
            for row in piece.to_pylist():
                found = {}
                for name, _ in shape["columns"]:
                    value = row.get(name)
                    found[name] = (
                        value.replace(tzinfo=None) if isinstance(value, dt.datetime) else value
                    )
                found |= {k: v for (k, _), v in zip(shape["keys"], values, strict=True)}
                rows.append(found)
    return sorted(rows, key=repr)


def iceberg_rows(catalog: Any, table: str) -> list[dict[str, Any]]:
    return sorted(catalog.load_table((DATABASE, table)).scan().to_arrow().to_pylist(), key=repr)


def lake_files(home: Path, table: str) -> list[str]:
    root = home / LAKE / "curated" / table
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture
def old_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Any]]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        glue = boto3.client("glue", region_name="us-east-1")
        build_hive_lake(tmp_path, glue)
        yield tmp_path, glue


def migration(home: Path, glue: Any, **kwargs: Any) -> migrate.LocalMigration:
    return migrate.LocalMigration(
        glue,
        iceberg.catalog(home, glue),
        iceberg.HomeFileIO(iceberg.io_properties(home)),
        migrate.LocalLake(home),
        DATABASE,
        **kwargs,
    )


def test_each_curated_table_becomes_iceberg_with_the_hive_rows(old_lake) -> None:
    home, glue = old_lake
    names = migrate.chosen_tables(migrate.glue_tables(glue, DATABASE), [])
    assert names == ["embrace_eda", "mhealth", ACCELERATION]  # participant_days is a step's
    outcomes = [migration(home, glue).migrate(name) for name in names]
    lines = [o.line() for o in outcomes]
    assert [line.split(" -> ")[0] for line in lines] == [
        "embrace_eda: 2 rows in 1 partitions",
        "mhealth: 2 rows in 2 partitions",
        f"{ACCELERATION}: 4 rows in 2 partitions",
    ]
    catalog = iceberg.catalog(home, glue)
    for name, outcome in zip(names, outcomes, strict=True):
        entry = glue.get_table(DatabaseName=DATABASE, Name=name)["Table"]
        assert entry["Parameters"]["table_type"] == "ICEBERG"
        table = catalog.load_table((DATABASE, name))
        assert lines[names.index(name)].endswith(
            f"-> Iceberg snapshot {table.current_snapshot().snapshot_id}"
        )
        assert outcome.snapshot == table.current_snapshot().snapshot_id
        assert iceberg_rows(catalog, name) == expected_rows(name)
        shape = HIVE[name]
        assert [f.name for f in table.schema().fields] == [
            n for n, _ in (*shape["columns"], *shape["keys"])
        ]
        assert [(f.name, str(f.transform)) for f in table.spec().fields] == [
            (k, "identity") for k, _ in shape["keys"]
        ]
        assert table.format_version == 2
        assert {k: table.properties.get(k) for k in TABLE_PROPERTIES if k != "format-version"} == {
            k: v for k, v in TABLE_PROPERTIES.items() if k != "format-version"
        }
        assert table.location() == f"s3://{LAKE}/curated/{name}"
        files = lake_files(home, name)
        assert files and all(f.startswith(("data/", "metadata/")) for f in files), files
        assert not glue.get_partitions(DatabaseName=DATABASE, TableName=name)["Partitions"]
    # the step's table is untouched: still Hive, its files and partitions in place
    days = glue.get_table(DatabaseName=DATABASE, Name="participant_days")["Table"]
    assert "table_type" not in days["Parameters"]
    assert lake_files(home, "participant_days")[-1].startswith("source=radar/date=2024-10-01/")


def test_types_stay_exact(old_lake) -> None:
    home, glue = old_lake
    for name in (ACCELERATION, "embrace_eda", "mhealth"):
        assert migration(home, glue).migrate(name).ok
    catalog = iceberg.catalog(home, glue)
    acceleration = catalog.load_table((DATABASE, ACCELERATION))
    types = {f.name: str(f.field_type) for f in acceleration.schema().fields}
    assert types == {
        "time": "timestamp",
        "x": "double",
        "code": "string",
        "site": "string",
        "participant_id": "string",
        "date": "string",
    }
    rows = iceberg_rows(catalog, ACCELERATION)
    times = sorted(r["time"] for r in rows)
    # microseconds kept: two rows one microsecond apart stay apart
    assert times[:2] == [
        T0.replace(tzinfo=None),
        (T0 + dt.timedelta(microseconds=1)).replace(tzinfo=None),
    ]
    assert {r["participant_id"] for r in rows} == {"007"}
    assert {r["code"] for r in rows} == {"007", "0", "42", None}
    eda = iceberg_rows(catalog, "embrace_eda")
    assert [r["time"] for r in sorted(eda, key=lambda r: r["time"])] == [
        dt.datetime(2024, 10, 1, 0, 0, 0, 1000),
        dt.datetime(2024, 10, 1, 23, 59, 59, 999000),
    ]
    assert sorted(r["local_date"] is None for r in eda) == [False, True]
    mhealth = catalog.load_table((DATABASE, "mhealth"))
    assert str(mhealth.schema().find_field("label").field_type) == "int"
    assert sorted(r["user_id"] for r in iceberg_rows(catalog, "mhealth")) == ["007", "10"]


def test_a_second_run_says_already_iceberg(old_lake) -> None:
    home, glue = old_lake
    first = migration(home, glue).migrate("mhealth")
    again = migration(home, glue).migrate("mhealth")
    assert again.line() == "mhealth: already Iceberg"
    table = iceberg.catalog(home, glue).load_table((DATABASE, "mhealth"))
    assert table.current_snapshot().snapshot_id == first.snapshot  # nothing rewritten


def test_a_count_mismatch_leaves_the_table_as_it_was(old_lake) -> None:
    home, glue = old_lake
    before = lake_files(home, "embrace_eda")
    partitions = glue.get_partitions(DatabaseName=DATABASE, TableName="embrace_eda")["Partitions"]
    short = migration(home, glue, check_rows=lambda table: migrate.committed_rows(table) - 1)
    outcome = short.migrate("embrace_eda")
    assert not outcome.ok
    assert outcome.line() == (
        "embrace_eda: error: the Iceberg commit holds 1 rows, the Hive table 2: left as it was"
    )
    entry = glue.get_table(DatabaseName=DATABASE, Name="embrace_eda")["Table"]
    assert "table_type" not in entry["Parameters"]
    assert glue.get_partitions(DatabaseName=DATABASE, TableName="embrace_eda")["Partitions"] == (
        partitions
    )
    assert lake_files(home, "embrace_eda") == before
    names = [t["Name"] for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]]
    assert not [n for n in names if n.endswith(migrate.STAGING_SUFFIX)]
    # and a later run converts it
    assert migration(home, glue).migrate("embrace_eda").ok


class Crash(Exception):
    pass


def test_a_rerun_after_a_crash_finishes_the_job(old_lake, monkeypatch) -> None:
    home, glue = old_lake
    # the process dies after the Hive entry was dropped, before the Iceberg table took its name
    crashing = migration(home, glue)

    def die(*args: object) -> None:
        raise Crash

    monkeypatch.setattr(crashing.catalog, "rename_table", die)
    with pytest.raises(Crash):
        crashing.migrate(ACCELERATION)
    names = {t["Name"] for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]}
    assert ACCELERATION not in names and ACCELERATION + migrate.STAGING_SUFFIX in names
    assert migrate.chosen_tables(migrate.glue_tables(glue, DATABASE), []) == [
        "embrace_eda",
        "mhealth",
        ACCELERATION,
    ]
    finished = migration(home, glue).migrate(ACCELERATION)
    assert finished.line().startswith(
        f"{ACCELERATION}: 4 rows in 2 partitions -> Iceberg snapshot "
    )
    catalog = iceberg.catalog(home, glue)
    assert iceberg_rows(catalog, ACCELERATION) == expected_rows(ACCELERATION)
    assert all(f.startswith(("data/", "metadata/")) for f in lake_files(home, ACCELERATION))
    # a crash while the Hive files were being removed: the rerun removes the rest
    leftover = partition_folder(home, "mhealth", HIVE["mhealth"]["keys"], ("007",))
    assert migration(home, glue).migrate("mhealth").ok
    leftover.mkdir(parents=True)
    pq.write_table(HIVE["mhealth"]["partitions"][("007",)][0], leftover / "part-0.parquet")
    assert migration(home, glue).migrate("mhealth").line() == (
        "mhealth: already Iceberg (removed 1 Hive file(s) an earlier run left)"
    )
    assert not leftover.exists()


def test_a_crash_while_writing_starts_again_from_the_hive_table(old_lake, monkeypatch) -> None:
    home, glue = old_lake
    crashing = migration(home, glue)
    real = migrate.read_partition
    calls = []

    def die_on_second(*args: Any) -> pa.Table:
        calls.append(1)
        if len(calls) == 2:
            raise Crash
        return real(*args)

    monkeypatch.setattr(migrate, "read_partition", die_on_second)
    with pytest.raises(Crash):
        crashing.migrate(ACCELERATION)
    monkeypatch.setattr(migrate, "read_partition", real)
    # data files were written, none committed
    assert any(f.startswith("data/") for f in lake_files(home, ACCELERATION))
    done = migration(home, glue).migrate(ACCELERATION)
    assert done.ok, done.line()
    catalog = iceberg.catalog(home, glue)
    assert iceberg_rows(catalog, ACCELERATION) == expected_rows(ACCELERATION)
    table = catalog.load_table((DATABASE, ACCELERATION))
    referenced = {task.file.file_path for task in table.scan().plan_files()}
    data = {f for f in lake_files(home, ACCELERATION) if f.startswith("data/")}
    assert {f"s3://{LAKE}/curated/{ACCELERATION}/{f}" for f in data} == referenced


def test_glue_types_map_to_iceberg_and_athena_ddl() -> None:
    cases = {
        "string": ("string", "string"),
        "varchar(20)": ("string", "string"),
        "tinyint": ("int", "int"),
        "bigint": ("long", "bigint"),
        "float": ("float", "float"),
        "decimal(12,3)": ("decimal(12, 3)", "decimal(12,3)"),
        "timestamp": ("timestamp", "timestamp"),
        "date": ("date", "date"),
        "array<double>": ("list<double>", "array<double>"),
        "map<string,bigint>": ("map<string, long>", "map<string,bigint>"),
        "struct<a:int,b:array<string>>": (
            "struct<10000: a: optional int, 10001: b: optional list<string>>",
            "struct<a:int,b:array<string>>",
        ),
    }
    import itertools

    for glue_type, (iceberg_text, athena_text) in cases.items():
        kind = migrate.iceberg_type(glue_type, itertools.count(10_000))
        assert str(kind) == iceberg_text, glue_type
        assert migrate.athena_ddl_type(kind) == athena_text, glue_type
    with pytest.raises(migrate.MigrationError, match="interval"):
        migrate.iceberg_type("interval")


def test_the_athena_statements() -> None:
    layout = migrate.Layout.of(
        {
            "Name": "embrace_eda",
            "StorageDescriptor": {
                "Location": f"s3://{LAKE}/curated/embrace_eda/",
                "Columns": [{"Name": "time", "Type": "timestamp"}],
            },
            "PartitionKeys": [{"Name": "participant_id", "Type": "string"}],
        }
    )
    assert migrate.athena_create_sql("embrace_eda", layout) == (
        "CREATE TABLE `embrace_eda` (\n  `time` timestamp,\n  `participant_id` string\n)\n"
        "PARTITIONED BY (`participant_id`)\n"
        f"LOCATION 's3://{LAKE}/curated/embrace_eda/'\n"
        "TBLPROPERTIES ('table_type'='ICEBERG', 'format'='parquet', 'write_compression'='zstd')"
    )
    assert migrate.athena_insert_sql("embrace_eda", "embrace_eda__hive", layout) == (
        'INSERT INTO "embrace_eda" ("time", "participant_id") '
        'SELECT "time", "participant_id" FROM "embrace_eda__hive"'
    )


# ---------------------------------------------------------------------------------------------
# The command, through the embedded AWS


@pytest.fixture
def old_home(tmp_path: Path) -> Path:
    from phenolake_local.engine import EmbeddedAWS

    home = tmp_path / "home"
    with EmbeddedAWS(home) as aws:
        assert aws.bucket("LakeBucket") == LAKE
        build_hive_lake(aws.home, aws.glue)
        aws.load_buckets()
    return home


def saved_catalog(home: Path) -> dict[str, Any]:
    return json.loads((home / ".state" / "glue-catalog.json").read_text())


def test_phenolake_migrate(old_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = in_process(capsys, "migrate", "--home", str(old_home))
    assert code == 0, err
    lines = out.splitlines()
    assert [line.split(" -> Iceberg snapshot ")[0] for line in lines] == [
        "embrace_eda: 2 rows in 1 partitions",
        "mhealth: 2 rows in 2 partitions",
        f"{ACCELERATION}: 4 rows in 2 partitions",
    ]
    tables = saved_catalog(old_home)["tables"][DATABASE]
    for name in (ACCELERATION, "embrace_eda", "mhealth"):
        assert tables[name]["Parameters"]["table_type"] == "ICEBERG"
        metadata = tables[name]["Parameters"]["metadata_location"]
        table = iceberg.static_table(old_home, metadata)
        rows = sorted(table.scan().to_arrow().to_pylist(), key=repr)
        assert rows == expected_rows(name)
        assert all(f.startswith(("data/", "metadata/")) for f in lake_files(old_home, name))
    assert "table_type" not in tables["participant_days"]["Parameters"]
    code, out, err = in_process(capsys, "migrate", "--home", str(old_home))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "embrace_eda: already Iceberg",
        "mhealth: already Iceberg",
        f"{ACCELERATION}: already Iceberg",
    ]


def test_phenolake_migrate_bad_input(
    old_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = in_process(capsys, "migrate", "--home", str(tmp_path / "none"))
    assert code == 2
    assert err.strip() == (
        f"phenolake: error: --home: no local lake under {tmp_path / 'none'} "
        "(run `phenolake run` first)"
    )
    code, _, err = in_process(
        capsys, "migrate", "--home", str(old_home), "--table", "participant_days"
    )
    assert code == 2
    assert err.strip() == (
        "phenolake: error: --table: 'participant_days' is no source's curated table "
        "(sources/*/spec.py)"
    )
    assert "table_type" not in saved_catalog(old_home)["tables"][DATABASE]["mhealth"]["Parameters"]


def test_an_empty_table_and_its_description(old_lake) -> None:
    home, glue = old_lake
    glue_catalog.ensure_table(
        glue,
        DATABASE,
        "embrace_wear_time",
        [("minutes_worn", "double")],
        [("participant_id", "string")],
        f"s3://{LAKE}/curated/embrace_wear_time/",
        description="Embrace wear time per local day.",
    )
    outcome = migration(home, glue).migrate("embrace_wear_time")
    assert outcome.line().startswith("embrace_wear_time: 0 rows in 0 partitions -> ")
    table = iceberg.catalog(home, glue).load_table((DATABASE, "embrace_wear_time"))
    assert table.scan().to_arrow().num_rows == 0
    assert table.properties["comment"] == "Embrace wear time per local day."


def test_files_beside_an_iceberg_table_it_did_not_make_are_left_alone(old_lake) -> None:
    """A table some writer made Iceberg itself is skipped; what lies beside it is not the
    migration's to delete."""
    home, glue = old_lake
    glue.delete_table(DatabaseName=DATABASE, Name="mhealth")
    schema = migrate.Layout.of(
        {
            "Name": "mhealth",
            "StorageDescriptor": {"Location": f"s3://{LAKE}/curated/mhealth/", "Columns": []},
            "PartitionKeys": [{"Name": "user_id", "Type": "string"}],
        }
    ).schema()
    iceberg.catalog(home, glue).create_table(
        (DATABASE, "mhealth"), schema, location=f"s3://{LAKE}/curated/mhealth"
    )
    before = lake_files(home, "mhealth")
    assert migration(home, glue).migrate("mhealth").line() == "mhealth: already Iceberg"
    assert lake_files(home, "mhealth") == before


class FakeAthena:
    """Athena as the migration uses it, over moto's Glue: CREATE TABLE makes the Iceberg
    entry, INSERT copies the renamed Hive table's row count, count(*) answers both. It
    records every statement, so the test sees what Athena would be asked."""

    def __init__(self, glue: Any, hive_rows: dict[str, int], lose: int = 0) -> None:
        self.glue = glue
        self.hive_rows = hive_rows
        self.lose = lose
        self.inserted: dict[str, int] = {}
        self.statements: list[str] = []

    def run(self, sql: str) -> list[list[str | None]]:
        import re

        self.statements.append(sql)
        if sql.startswith("CREATE TABLE"):
            name = re.match(r"CREATE TABLE `(\w+)`", sql).group(1)  # type: ignore[union-attr]
            location = re.search(r"LOCATION '([^']+)'", sql).group(1)  # type: ignore[union-attr]
            self.glue.create_table(
                DatabaseName=DATABASE,
                TableInput={
                    "Name": name,
                    "TableType": "EXTERNAL_TABLE",
                    "Parameters": {"table_type": "ICEBERG", "metadata_location": "s3://x"},
                    "StorageDescriptor": {"Location": location},
                },
            )
            return []
        if sql.startswith("INSERT INTO"):
            name, source = re.match(r'INSERT INTO "(\w+)".* FROM "(\w+)"', sql).groups()  # type: ignore[union-attr]
            self.inserted[name] = (
                self.hive_rows[source.removesuffix(migrate.HIVE_SUFFIX)] - self.lose
            )
            return []
        if "$snapshots" in sql:
            return [["4242"]]
        raise AssertionError(sql)

    def count(self, table: str, where: str = "") -> int:
        self.statements.append(f"count {table}" + (f" WHERE {where}" if where else ""))
        if table.endswith(migrate.HIVE_SUFFIX):
            self.glue.get_table(DatabaseName=DATABASE, Name=table)  # it exists, renamed
            return self.hive_rows[table.removesuffix(migrate.HIVE_SUFFIX)]
        return self.inserted.get(table, 0)


def athena_migration(home: Path, glue: Any, athena: FakeAthena) -> tuple[Any, Any]:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=LAKE)
    for path in (home / LAKE).rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), LAKE, path.relative_to(home / LAKE).as_posix())
    properties: list[tuple[str, dict[str, str]]] = []
    migration = migrate.AthenaMigration(
        glue,
        athena,  # type: ignore[arg-type]
        migrate.S3Lake(s3),
        DATABASE,
        set_properties=lambda name, extra: properties.append((name, extra)),
    )
    return migration, s3


def s3_keys(s3: Any, table: str) -> list[str]:
    found = s3.list_objects_v2(Bucket=LAKE, Prefix=f"curated/{table}/").get("Contents", [])
    return sorted(o["Key"].removeprefix(f"curated/{table}/") for o in found)


def test_the_athena_inserts_take_at_most_100_partitions_each() -> None:
    layout = migrate.Layout.of(
        {
            "Name": "t",
            "StorageDescriptor": {"Location": "s3://b/curated/t/", "Columns": []},
            "PartitionKeys": [{"Name": "site", "Type": "string"}, {"Name": "n", "Type": "int"}],
        }
    )
    values = [["K'CL", "007"], ["KCL", migrate.DEFAULT_PARTITION]] + [
        ["X", str(i)] for i in range(199)
    ]
    batches = migrate.batch_predicates(layout, values)
    assert [b.count(") OR (") + 1 for b in batches] == [100, 100, 1]
    assert batches[0].startswith(
        """("site" = CAST('K''CL' AS varchar) AND "n" = CAST('007' AS integer)) OR """
        """("site" = CAST('KCL' AS varchar) AND "n" IS NULL) OR """
    )
    unpartitioned = migrate.Layout.of(
        {"Name": "t", "StorageDescriptor": {"Location": "s3://b/t/", "Columns": []}}
    )
    assert migrate.batch_predicates(unpartitioned, []) == [""]


def test_the_athena_migration_renames_copies_checks_then_drops(old_lake) -> None:
    home, glue = old_lake
    athena = FakeAthena(glue, {"embrace_eda": 2})
    migration, s3 = athena_migration(home, glue, athena)
    outcome = migration.migrate("embrace_eda")
    assert outcome.line() == "embrace_eda: 2 rows in 1 partitions -> Iceberg snapshot 4242"
    batch = (
        """("participant_id" = CAST('p1' AS varchar) AND "date" = CAST('2024-10-01' AS varchar))"""
    )
    assert [s.split("\n")[0] for s in athena.statements] == [
        "count embrace_eda__hive",
        "CREATE TABLE `embrace_eda` (",
        f"count embrace_eda WHERE {batch}",
        f"count embrace_eda__hive WHERE {batch}",
        'INSERT INTO "embrace_eda" ("time", "device_id", "eda_microsiemens", "local_date", '
        '"participant_id", "date") SELECT "time", "device_id", "eda_microsiemens", "local_date", '
        f'"participant_id", "date" FROM "embrace_eda__hive" WHERE {batch}',
        "count embrace_eda",
        'SELECT snapshot_id FROM "embrace_eda$snapshots" ORDER BY committed_at DESC LIMIT 1',
    ]
    names = {t["Name"] for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]}
    assert "embrace_eda__hive" not in names
    assert (
        glue.get_table(DatabaseName=DATABASE, Name="embrace_eda")["Table"]["Parameters"][
            "table_type"
        ]
        == "ICEBERG"
    )
    assert s3_keys(s3, "embrace_eda") == []  # the Hive files are gone (Athena's are not faked)


def test_the_athena_migration_puts_the_hive_table_back_on_a_mismatch(old_lake) -> None:
    home, glue = old_lake
    before = glue.get_partitions(DatabaseName=DATABASE, TableName="embrace_eda")["Partitions"]
    athena = FakeAthena(glue, {"embrace_eda": 2}, lose=1)
    migration, s3 = athena_migration(home, glue, athena)
    keys = s3_keys(s3, "embrace_eda")
    outcome = migration.migrate("embrace_eda")
    assert outcome.line() == (
        "embrace_eda: error: the Iceberg table holds 1 rows, the Hive table 2: left as it was"
    )
    entry = glue.get_table(DatabaseName=DATABASE, Name="embrace_eda")["Table"]
    assert "table_type" not in entry["Parameters"]
    after = glue.get_partitions(DatabaseName=DATABASE, TableName="embrace_eda")["Partitions"]
    assert [(p["Values"], p["StorageDescriptor"]["Location"]) for p in after] == [
        (p["Values"], p["StorageDescriptor"]["Location"]) for p in before
    ]
    names = {t["Name"] for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]}
    assert "embrace_eda__hive" not in names
    assert s3_keys(s3, "embrace_eda") == keys


def test_the_athena_migration_continues_after_a_crash(old_lake, monkeypatch) -> None:
    home, glue = old_lake
    athena = FakeAthena(glue, {"mhealth": 2})
    migration, _ = athena_migration(home, glue, athena)
    real = athena.run

    def die_at_insert(sql: str) -> list[list[str | None]]:
        if sql.startswith("INSERT INTO"):
            raise Crash
        return real(sql)

    monkeypatch.setattr(athena, "run", die_at_insert)
    with pytest.raises(Crash):
        migration.migrate("mhealth")
    names = {t["Name"] for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]}
    assert {"mhealth", "mhealth__hive"} <= names
    assert migrate.chosen_tables(migrate.glue_tables(glue, DATABASE), ["mhealth"]) == ["mhealth"]
    monkeypatch.setattr(athena, "run", real)
    assert migration.migrate("mhealth").line() == (
        "mhealth: 2 rows in 2 partitions -> Iceberg snapshot 4242"
    )
    assert [s for s in athena.statements if s.startswith("CREATE")] == [
        athena.statements[1]
    ]  # created once
    assert migration.migrate("mhealth").line() == "mhealth: already Iceberg"


def test_phenolake_migrate_a_table_that_fails(
    old_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Hive file that cannot be read stops its table with one line (exit 1); the others
    are converted, and the failed one stays the Hive table it was."""
    folder = partition_folder(old_home, "mhealth", HIVE["mhealth"]["keys"], ("10",))
    (folder / "part-00000-c000.zstd.parquet").write_bytes(b"PAR1 not parquet at all")
    before = lake_files(old_home, "mhealth")
    code, out, err = in_process(capsys, "migrate", "--home", str(old_home))
    assert code == 1
    assert err.splitlines() == [
        f"mhealth: error: cannot read s3://{LAKE}/curated/mhealth/user_id=10/: "
        "Parquet magic bytes not found in footer. Either the file is corrupted or this is not "
        "a parquet file.; left as it was"
    ]
    assert [line.split(" -> ")[0] for line in out.splitlines()] == [
        "embrace_eda: 2 rows in 1 partitions",
        f"{ACCELERATION}: 4 rows in 2 partitions",
    ]
    tables = saved_catalog(old_home)["tables"][DATABASE]
    assert "table_type" not in tables["mhealth"]["Parameters"]
    assert lake_files(old_home, "mhealth") == before
