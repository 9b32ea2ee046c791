"""Athena SQL over the local lake: DuckDB views over the Glue catalog, sqlglot translation."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import tempfile
import types
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phenolake_tools import query
from phenolake_tools.query import QueryError

BUCKET = "phenolake-123456789012-lake"
T0 = dt.datetime(2024, 10, 1, 23, 0)
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


def write(path: Path, columns: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)


def s3(key: str) -> str:
    return f"s3://{BUCKET}/{key}"


def table_entry(
    name: str,
    columns: list[tuple[str, str]],
    location: str,
    keys: list[tuple[str, str]] = (),  # type: ignore[assignment]
    database: str = "phenolake",
) -> dict[str, Any]:
    return {
        "Name": name,
        "DatabaseName": database,
        "TableType": "EXTERNAL_TABLE",
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in columns],
            "Location": location,
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
        },
        "PartitionKeys": [{"Name": n, "Type": t} for n, t in keys],
        "Parameters": {"classification": "parquet"},
    }


def partition(values: list[str], location: str) -> dict[str, Any]:
    return {"Values": values, "StorageDescriptor": {"Location": location}}


def save_catalog(home: Path, catalog: dict[str, Any]) -> None:
    (home / ".state").mkdir(parents=True, exist_ok=True)
    (home / ".state" / "glue-catalog.json").write_text(json.dumps(catalog))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny lake.

    mhealth (partitioned by user_id): user 1 has 3 rows; user 3 has an old file without
    sensor1 (1 row) and a newer one with sensor1 and an uncataloged column (2 rows); user 9's
    folder exists on disk but is not a registered partition; non-data files lie about.
    events (unpartitioned, nested folders): a tz-aware timestamp and a column spelled
    "Label" in the file. daily: partitioned, no registered partitions. devices: in a second
    database.
    """
    home = tmp_path_factory.mktemp("home")
    mhealth = home / BUCKET / "curated" / "mhealth"
    write(
        mhealth / "user_id=1" / "part-00000-a.snappy.parquet",
        {
            "activity": ["walking", "walking", "sitting"],
            "timestamp": [T0, T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2)],
            "sensor1": [1.0, 2.0, 3.0],
            "steps": pa.array([5, 2, 7], pa.int64()),
        },
    )
    write(
        mhealth / "user_id=3" / "part-00000-old.snappy.parquet",
        {"activity": ["running"], "timestamp": [T0], "steps": pa.array([1], pa.int64())},
    )
    write(
        mhealth / "user_id=3" / "part-00001-new.zstd.parquet",
        {
            "activity": ["running", "sitting"],
            "timestamp": [T0, T0],
            "sensor1": [4.0, 5.0],
            "steps": pa.array([3, 4], pa.int64()),
            "uncataloged": ["x", "y"],
        },
    )
    (mhealth / "user_id=3" / "_SUCCESS").write_text("")
    (mhealth / "user_id=3" / ".part-00001-new.zstd.parquet.crc").write_bytes(b"crc")
    (mhealth / "user_id=3" / "bad.csv.reason.json").write_text("{}")
    write(
        mhealth / "user_id=3" / "_temporary" / "part-9.parquet",
        {"activity": ["temporary"], "timestamp": [T0]},
    )
    write(
        mhealth / "user_id=9" / "part-00000.snappy.parquet",
        {"activity": ["unregistered"], "timestamp": [T0], "sensor1": [9.0]},
    )
    events = home / BUCKET / "curated" / "events"
    write(
        events / "2024" / "10" / "part-0.parquet",
        {
            "ts": pa.array(
                [dt.datetime(2024, 10, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))],
                pa.timestamp("us", tz="+02:00"),
            ),
            "Label": ["a"],
        },
    )
    write(events / "part-1.parquet", {"ts": [dt.datetime(2024, 10, 2)], "Label": ["b"]})
    (events / "_SUCCESS").write_text("")
    devices = home / BUCKET / "curated" / "devices"
    write(devices / "part-0.parquet", {"device": ["embrace-1"]})

    save_catalog(
        home,
        {
            "databases": {"phenolake": {"Name": "phenolake"}, "other": {"Name": "other"}},
            "tables": {
                "phenolake": {
                    "mhealth": table_entry(
                        "mhealth",
                        [
                            ("activity", "string"),
                            ("timestamp", "timestamp"),
                            ("sensor1", "double"),
                            ("steps", "int"),
                        ],
                        s3("curated/mhealth/"),
                        [("user_id", "string")],
                    ),
                    "events": table_entry(
                        "events", [("ts", "timestamp"), ("label", "string")], s3("curated/events")
                    ),
                    "daily": table_entry(
                        "daily",
                        [("rows", "bigint"), ("tags", "array<string>")],
                        s3("curated/daily/"),
                        [("participant", "string"), ("day", "date")],
                    ),
                },
                "other": {
                    "devices": table_entry(
                        "devices", [("device", "string")], s3("curated/devices/"), [], "other"
                    )
                },
            },
            "partitions": {
                "phenolake": {
                    "mhealth": [
                        partition(["1"], s3("curated/mhealth/user_id=1/")),
                        partition(["3"], s3("curated/mhealth/user_id=3/")),
                    ],
                    "events": [],
                    "daily": [],
                },
                "other": {"devices": []},
            },
        },
    )
    return home


def rows(sql: str, home: Path, database: str = "phenolake") -> list[dict[str, Any]]:
    return query.query_local(sql, home, database).to_pylist()


# ---- what a researcher sees ------------------------------------------------------------------


def test_counts_per_group_in_a_partition(home: Path) -> None:
    sql = (
        "SELECT activity, count(*) AS n FROM mhealth WHERE user_id='3' "
        "GROUP BY activity ORDER BY activity"
    )
    assert rows(sql, home) == [{"activity": "running", "n": 2}, {"activity": "sitting", "n": 1}]


def test_declared_columns_then_partition_keys_and_nothing_else(home: Path) -> None:
    table = query.query_local("SELECT * FROM mhealth", home)
    assert table.column_names == ["activity", "timestamp", "sensor1", "steps", "user_id"]
    assert table.schema.field("steps").type == pa.int32()  # declared int, written as int64
    assert table.schema.field("timestamp").type == pa.timestamp("us")
    with pytest.raises(QueryError, match="uncataloged"):
        query.query_local("SELECT uncataloged FROM mhealth", home)


def test_a_column_missing_from_an_older_file_reads_as_null(home: Path) -> None:
    sql = "SELECT activity, sensor1 FROM mhealth WHERE user_id = '3' ORDER BY sensor1 NULLS FIRST"
    assert rows(sql, home) == [
        {"activity": "running", "sensor1": None},
        {"activity": "running", "sensor1": 4.0},
        {"activity": "sitting", "sensor1": 5.0},
    ]


def test_only_registered_partitions_and_only_parquet_data_files_are_read(home: Path) -> None:
    assert rows("SELECT user_id, count(*) AS n FROM mhealth GROUP BY 1 ORDER BY 1", home) == [
        {"user_id": "1", "n": 3},
        {"user_id": "3", "n": 3},
    ]
    assert rows("SELECT * FROM mhealth WHERE user_id = '9'", home) == []
    names = rows("SELECT DISTINCT activity FROM mhealth ORDER BY 1", home)
    assert [r["activity"] for r in names] == ["running", "sitting", "walking"]


def test_partition_values_come_from_the_catalog_cast_to_the_key_type(tmp_path: Path) -> None:
    folder = tmp_path / BUCKET / "t" / "somewhere-else"
    write(folder / "part-0.parquet", {"v": [1, 2]})
    save_catalog(
        tmp_path,
        {
            "tables": {
                "phenolake": {
                    "t": table_entry(
                        "t",
                        [("v", "bigint")],
                        s3("t/"),
                        [("day", "date"), ("n", "int"), ("ok", "boolean"), ("s", "string")],
                    )
                }
            },
            "partitions": {
                "phenolake": {
                    "t": [
                        partition(
                            ["2024-10-01", "07", "true", "__HIVE_DEFAULT_PARTITION__"],
                            s3("t/somewhere-else/"),
                        )
                    ]
                }
            },
        },
    )
    table = query.query_local("SELECT day, n, ok, s FROM t LIMIT 1", tmp_path)
    assert table.to_pylist() == [{"day": dt.date(2024, 10, 1), "n": 7, "ok": True, "s": None}]
    assert [f.type for f in table.schema] == [pa.date32(), pa.int32(), pa.bool_(), pa.string()]
    assert rows("SHOW PARTITIONS t", tmp_path) == [
        {"partition": "day=2024-10-01/n=07/ok=true/s=__HIVE_DEFAULT_PARTITION__"}
    ]


def test_a_partitioned_table_without_partitions_is_empty_with_its_columns(home: Path) -> None:
    table = query.query_local("SELECT * FROM daily", home)
    assert table.num_rows == 0
    assert table.column_names == ["rows", "tags", "participant", "day"]
    assert [f.type for f in table.schema] == [
        pa.int64(),
        pa.list_(pa.string()),
        pa.string(),
        pa.date32(),
    ]
    assert rows("SELECT count(*) AS n FROM daily", home) == [{"n": 0}]


def test_an_unpartitioned_table_reads_its_location_recursively(home: Path) -> None:
    # The file's "Label" is the catalog's "label"; its tz-aware timestamp reads as UTC.
    assert rows("SELECT ts, label FROM events ORDER BY ts", home) == [
        {"ts": dt.datetime(2024, 10, 1, 10, 0), "label": "a"},
        {"ts": dt.datetime(2024, 10, 2, 0, 0), "label": "b"},
    ]


@pytest.mark.parametrize(
    "name",
    [
        "mhealth",
        "phenolake.mhealth",
        '"phenolake"."mhealth"',
        "PhenoLake.MHealth",
        '"PHENOLAKE"."MHEALTH"',
        "awsdatacatalog.phenolake.mhealth",
    ],
)
def test_table_names_resolve_like_athena(home: Path, name: str) -> None:
    assert rows(f"SELECT count(*) AS n FROM {name}", home) == [{"n": 6}]


def test_other_databases_are_schemas(home: Path) -> None:
    assert rows('SELECT device FROM "other"."devices"', home) == [{"device": "embrace-1"}]
    assert rows("SELECT device FROM devices", home, database="other") == [{"device": "embrace-1"}]
    with pytest.raises(QueryError, match="devices"):
        query.query_local("SELECT device FROM devices", home)


def test_an_unknown_table_names_the_table(home: Path) -> None:
    with pytest.raises(QueryError) as caught:
        query.query_local("SELECT * FROM heartrate", home)
    message = str(caught.value)
    assert "heartrate" in message and "mhealth" in message and "\n" not in message
    with pytest.raises(QueryError, match=r"nowhere\.mhealth"):
        query.query_local("SELECT * FROM nowhere.mhealth", home)


def test_a_cte_is_not_taken_for_a_missing_table(home: Path) -> None:
    sql = "WITH heartrate AS (SELECT 1 AS bpm) SELECT bpm FROM heartrate"
    assert rows(sql, home) == [{"bpm": 1}]


def test_select_1_on_a_fresh_home(tmp_path: Path) -> None:
    assert rows("SELECT 1", tmp_path / "fresh") == [{"_col0": 1}]
    assert query.table_row_counts(tmp_path / "fresh") == {}
    with pytest.raises(QueryError, match="mhealth"):
        query.query_local("SELECT * FROM mhealth", tmp_path / "fresh")


def test_table_row_counts(home: Path) -> None:
    assert query.table_row_counts(home) == {"daily": 0, "events": 2, "mhealth": 6}


def test_show_tables(home: Path) -> None:
    assert rows("SHOW TABLES", home) == [
        {"tab_name": "daily"},
        {"tab_name": "events"},
        {"tab_name": "mhealth"},
    ]
    assert rows("SHOW TABLES IN other", home) == [{"tab_name": "devices"}]
    assert rows("SHOW TABLES 'mh*|ev*'", home) == [{"tab_name": "events"}, {"tab_name": "mhealth"}]


# ---- the Athena dialect ----------------------------------------------------------------------

ATHENA_SQL = [
    (
        "SELECT date_trunc('day', timestamp) AS day, count(*) AS n FROM mhealth "
        "GROUP BY 1 ORDER BY 1",
        [{"day": dt.datetime(2024, 10, 1), "n": 4}, {"day": dt.datetime(2024, 10, 2), "n": 2}],
    ),
    ("SELECT from_unixtime(86400) AS t", [{"t": dt.datetime(1970, 1, 2, tzinfo=dt.UTC)}]),
    ("SELECT approx_distinct(activity) AS k FROM mhealth", [{"k": 3}]),
    (
        "SELECT DISTINCT date_format(timestamp, '%Y-%m-%d %H:%i') AS d FROM mhealth "
        "WHERE user_id = '1' ORDER BY d",
        [{"d": "2024-10-01 23:00"}, {"d": "2024-10-02 00:00"}, {"d": "2024-10-02 01:00"}],
    ),
    (
        "SELECT CAST(sensor1 AS varchar) AS s, CAST(steps AS varchar(5)) AS n FROM mhealth "
        "WHERE user_id = '1' ORDER BY s",
        [{"s": "1.0E0", "n": "5"}, {"s": "2.0E0", "n": "2"}, {"s": "3.0E0", "n": "7"}],
    ),
    (
        'SELECT "m"."activity" FROM "phenolake"."mhealth" AS "m" WHERE "m"."user_id" = \'1\' '
        'ORDER BY "m"."timestamp" LIMIT 2',
        [{"activity": "walking"}, {"activity": "walking"}],
    ),
    (
        "WITH per_user AS (SELECT user_id, sum(steps) AS steps FROM mhealth GROUP BY user_id) "
        "SELECT user_id, steps FROM per_user ORDER BY steps DESC LIMIT 1",
        [{"user_id": "1", "steps": 14}],
    ),
    (
        "SELECT count(*) AS n FROM mhealth WHERE timestamp >= date '2024-10-01' "
        "AND timestamp < date '2024-10-01' + interval '1' day",
        [{"n": 4}],
    ),
    (
        "SELECT date '2024-10-01' + interval '1' day AS d, "
        "timestamp '2024-10-01 12:00:00' - interval '1' hour AS t",
        [{"d": dt.date(2024, 10, 2), "t": dt.datetime(2024, 10, 1, 11)}],
    ),
    # Integer division truncates on Athena (DuckDB's / would give 3.5, -3.5 and 4.666...).
    ("SELECT 7 / 2 AS a, -7 / 2 AS b, 7.0 / 2 AS c", [{"a": 3, "b": -3, "c": 3.5}]),
    ("SELECT sum(steps) / count(*) AS mean FROM mhealth WHERE user_id = '1'", [{"mean": 4}]),
    # date_diff counts whole units, as Trino does (DuckDB's date_diff would say 1).
    (
        "SELECT date_diff('day', timestamp '2024-10-01 23:00', timestamp '2024-10-02 01:00') AS d",
        [{"d": 0}],
    ),
    # A date stays a date (DuckDB would make these timestamps).
    (
        "SELECT date_trunc('month', date '2024-10-15') AS m, "
        "date_add('day', 1, date '2024-10-15') AS n, date '2024-10-15' - interval '1' month AS p",
        [{"m": dt.date(2024, 10, 1), "n": dt.date(2024, 10, 16), "p": dt.date(2024, 9, 15)}],
    ),
    (
        "SELECT date_add('hour', 1, timestamp '2024-10-15 10:00') AS h",
        [{"h": dt.datetime(2024, 10, 15, 11)}],
    ),
    # Unnamed columns are _col<i>, names are lower case.
    (
        "SELECT Activity, count(*), max(steps) AS Most FROM mhealth "
        "WHERE user_id = '3' GROUP BY Activity ORDER BY 1",
        [
            {"activity": "running", "_col1": 2, "most": 3},
            {"activity": "sitting", "_col1": 1, "most": 4},
        ],
    ),
]


@pytest.mark.parametrize(("sql", "expected"), ATHENA_SQL, ids=[s[:40] for s, _ in ATHENA_SQL])
def test_athena_sql_translates_and_runs(home: Path, sql: str, expected: list[dict]) -> None:
    assert rows(sql, home) == expected


def test_sums_of_integers_are_bigints(home: Path) -> None:
    table = query.query_local("SELECT sum(steps) AS s, count(*) AS n FROM mhealth", home)
    assert table.schema.field("s").type == pa.int64()
    assert table.to_pylist() == [{"s": 22, "n": 6}]


def test_unnamed_columns_after_a_star_count_the_expanded_columns(home: Path) -> None:
    table = query.query_local("SELECT *, 1 FROM mhealth LIMIT 1", home)
    assert table.column_names[-2:] == ["user_id", "_col5"]


def test_translation_of_the_brief_query(home: Path) -> None:
    sql = query.translate(
        "SELECT activity, count(*) AS n FROM mhealth WHERE user_id='3' "
        "GROUP BY activity ORDER BY activity",
        home,
    )
    assert "count(*)" in sql.lower() and "'3'" in sql


# ---- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "match"),
    [
        ("SELEC 1", "cannot parse the SQL"),
        ("SELECT (1", "cannot parse the SQL"),
        ("", "no SQL given"),
        (" ; ", "no SQL given"),
        ("SELECT 1; SELECT 2", "one SQL statement"),
        ("SELECT nope FROM mhealth", "Column 'nope' cannot be resolved"),
        ("SELECT CAST('x' AS integer)", "Cannot cast 'x' to INT"),
        ("SELECT activity FROM mhealth GROUP BY user_id", "activity"),
        ("CREATE TABLE t AS SELECT 1", "CREATE statements do not run locally"),
        ("DROP TABLE mhealth", "DROP statements do not run locally"),
        ("EXPLAIN SELECT 1", "EXPLAIN statements do not run locally"),
        ("SHOW PARTITIONS nope", "nope"),
    ],
)
def test_errors_are_one_line(home: Path, sql: str, match: str) -> None:
    with pytest.raises(QueryError, match=match) as caught:
        query.query_local(sql, home)
    assert "\n" not in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_an_unreadable_data_file_is_a_query_error(tmp_path: Path) -> None:
    folder = tmp_path / BUCKET / "t"
    folder.mkdir(parents=True)
    (folder / "part-0.parquet").write_bytes(b"not parquet")
    save_catalog(
        tmp_path, {"tables": {"phenolake": {"t": table_entry("t", [("v", "int")], s3("t/"))}}}
    )
    with pytest.raises(QueryError, match=r"part-0\.parquet"):
        query.query_local("SELECT * FROM t", tmp_path)


# ---- partition values survive the catalog ----------------------------------------------------

_VALUE = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("'\"/\\=%;-- "),
    min_size=1,
    max_size=20,
).filter(lambda v: v != query.DEFAULT_PARTITION)


@pytest.fixture(scope="module")
def one_file() -> Path:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write(root / BUCKET / "t" / "p=0" / "part-0.parquet", {"v": [1, 2, 3]})
        yield root


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_VALUE)
def test_partition_values_round_trip_through_the_catalog(one_file: Path, value: str) -> None:
    save_catalog(
        one_file,
        {
            "tables": {
                "phenolake": {"t": table_entry("t", [("v", "int")], s3("t/"), [("p", "string")])}
            },
            "partitions": {"phenolake": {"t": [partition([value], s3("t/p=0/"))]}},
        },
    )
    assert rows("SELECT p, count(*) AS n FROM t GROUP BY p", one_file) == [{"p": value, "n": 3}]
    literal = "'" + value.replace("'", "''") + "'"
    assert rows(f"SELECT sum(v) AS s FROM t WHERE p = {literal}", one_file) == [{"s": 6}]


# ---- output formats --------------------------------------------------------------------------


@pytest.fixture
def two_rows() -> pa.Table:
    return pa.table(
        {
            "activity": ["walking", None],
            "n": pa.array([12, 3], pa.int64()),
            "day": [dt.date(2024, 10, 1), dt.date(2024, 10, 2)],
            "first": [dt.datetime(2024, 10, 1, 8, 30), None],
            "mean": [1.5, float("nan")],
        }
    )


def test_format_table(two_rows: pa.Table) -> None:
    assert query.format_table(two_rows, "table") == (
        " activity │  n │ day        │ first               │ mean\n"
        "──────────┼────┼────────────┼─────────────────────┼──────\n"
        " walking  │ 12 │ 2024-10-01 │ 2024-10-01 08:30:00 │  1.5\n"
        " NULL     │  3 │ 2024-10-02 │ NULL                │  nan\n"
        "(2 rows)\n"
    )


def test_format_csv(two_rows: pa.Table) -> None:
    assert query.format_table(two_rows, "csv") == (
        "activity,n,day,first,mean\n"
        "walking,12,2024-10-01,2024-10-01 08:30:00,1.5\n"
        ",3,2024-10-02,,nan\n"
    )


def test_format_json(two_rows: pa.Table) -> None:
    text = query.format_table(two_rows, "json")
    assert text == (
        "[\n"
        "  {\n"
        '    "activity": "walking",\n'
        '    "n": 12,\n'
        '    "day": "2024-10-01",\n'
        '    "first": "2024-10-01T08:30:00",\n'
        '    "mean": 1.5\n'
        "  },\n"
        "  {\n"
        '    "activity": null,\n'
        '    "n": 3,\n'
        '    "day": "2024-10-02",\n'
        '    "first": null,\n'
        '    "mean": "NaN"\n'
        "  }\n"
        "]\n"
    )
    json.loads(text)  # valid JSON: no bare NaN


def test_format_of_a_query_result(home: Path) -> None:
    table = query.query_local(
        "SELECT activity, count(*) AS n FROM mhealth WHERE user_id = '3' "
        "GROUP BY activity ORDER BY activity",
        home,
    )
    assert query.format_table(table, "csv") == "activity,n\nrunning,2\nsitting,1\n"
    assert json.loads(query.format_table(table, "json")) == [
        {"activity": "running", "n": 2},
        {"activity": "sitting", "n": 1},
    ]
    assert query.format_table(table, "table").endswith("(2 rows)\n")


def test_table_format_shows_text_as_is() -> None:
    table = pa.table({"s": ["[bold]x[/bold] :smile:"], "b": [True], "l": [[1, 2]]})
    text = query.format_table(table, "table")
    assert "[bold]x[/bold] :smile:" in text and "true" in text and "[1, 2]" in text


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.text(st.characters(blacklist_categories=("Cs",))), max_size=5))
def test_csv_round_trips_any_text(values: list[str]) -> None:
    text = query.format_table(pa.table({"v": pa.array(values, pa.string())}), "csv")
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed == [["v"], *[[v] for v in values]]


# ---- types -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("glue", "duck"),
    [
        ("string", "VARCHAR"),
        ("int", "INTEGER"),
        ("bigint", "BIGINT"),
        ("double", "DOUBLE"),
        ("float", "FLOAT"),
        ("boolean", "BOOLEAN"),
        ("timestamp", "TIMESTAMP"),
        ("date", "DATE"),
        ("decimal(10, 2)", "DECIMAL(10,2)"),
        ("varchar(64)", "VARCHAR"),
        ("array<string>", "VARCHAR[]"),
        ("map<string,double>", "MAP(VARCHAR, DOUBLE)"),
        ("struct<x:int,y:array<bigint>>", 'STRUCT("x" INTEGER, "y" BIGINT[])'),
        ("uniontype<int,string>", ""),
        ("array<", ""),
    ],
)
def test_glue_types_map_to_duckdb(glue: str, duck: str) -> None:
    assert query.duckdb_type(glue) == duck


# ---- real Athena -----------------------------------------------------------------------------


def fake_wrangler(monkeypatch: pytest.MonkeyPatch, read: Any) -> None:
    monkeypatch.setitem(
        __import__("sys").modules,
        "awswrangler",
        types.SimpleNamespace(athena=types.SimpleNamespace(read_sql_query=read)),
    )


def test_query_athena_runs_the_sql_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def read(sql: str, **kwargs: Any) -> pd.DataFrame:
        calls.append((sql, kwargs))
        return pd.DataFrame({"activity": ["sitting"], "n": [2]})

    fake_wrangler(monkeypatch, read)
    sql = "SELECT activity, count(*) AS n FROM mhealth GROUP BY 1"
    table = query.query_athena(sql, "phenolake", "phenolake-wg", region="eu-west-1")
    assert table.to_pylist() == [{"activity": "sitting", "n": 2}]
    ((called, kwargs),) = calls
    assert called == sql
    assert kwargs["database"] == "phenolake" and kwargs["workgroup"] == "phenolake-wg"
    assert kwargs["ctas_approach"] is False
    assert kwargs["boto3_session"].region_name == "eu-west-1"


def test_query_athena_errors_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def read(sql: str, **kwargs: Any) -> pd.DataFrame:
        raise RuntimeError("COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved\nmore")

    fake_wrangler(monkeypatch, read)
    with pytest.raises(QueryError) as caught:
        query.query_athena("SELECT x FROM mhealth", "phenolake", "primary")
    assert str(caught.value) == "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved"


def test_csv_tells_an_empty_string_from_null() -> None:
    table = pa.table({"a": ["", None, "x\ry"]})
    assert query.format_table(table, "csv") == 'a\n""\n\n"x\ry"\n'


# ---- Athena's answers, or a refusal (never a different answer) -------------------------------

ATHENA_ANSWERS = [
    # A plain timestamp is UTC; AT TIME ZONE shows that instant in the zone.
    (
        "SELECT hour(TIMESTAMP '2024-10-17 23:30:00.000' AT TIME ZONE 'America/New_York') AS h, "
        "date(TIMESTAMP '2024-10-18 03:30:00.000' AT TIME ZONE 'America/New_York') AS d",
        [{"h": 19, "d": dt.date(2024, 10, 17)}],
    ),
    (
        "SELECT CAST(TIMESTAMP '2024-10-17 12:00:00.000 America/New_York' AS varchar) AS s, "
        "CAST(TIMESTAMP '2024-10-17 16:00:00.000' AS varchar) AS t, "
        "CAST(from_unixtime(0, 'Asia/Kolkata') AS varchar) AS u",
        [
            {
                "s": "2024-10-17 12:00:00.000 America/New_York",
                "t": "2024-10-17 16:00:00.000",
                "u": "1970-01-01 05:30:00.000 Asia/Kolkata",
            }
        ],
    ),
    (
        "SELECT format_datetime(TIMESTAMP '2024-10-17 16:05:09.120' AT TIME ZONE "
        "'America/New_York', 'yyyy-MM-dd HH:mm:ss.SSS ZZ EEE') AS f, "
        "to_iso8601(TIMESTAMP '2024-10-17 16:00:00.000' AT TIME ZONE 'America/New_York') AS i, "
        "CAST(parse_datetime('2024-10-17 12:34', 'yyyy-MM-dd HH:mm') AS varchar) AS p, "
        "current_timezone() AS z",
        [
            {
                "f": "2024-10-17 12:05:09.120 -04:00 Thu",
                "i": "2024-10-17T12:00:00.000-04:00",
                "p": "2024-10-17 12:34:00.000 UTC",
                "z": "UTC",
            }
        ],
    ),
    # ISO day of week: Monday is 1 (2024-10-20 is a Sunday).
    (
        "SELECT extract(DOW FROM DATE '2024-10-20') AS d, dow(DATE '2024-10-21') AS m",
        [{"d": 7, "m": 1}],
    ),
    # Numbers and casts.
    (
        "SELECT CAST(2.5e0 AS integer) AS a, CAST(-2.5e0 AS integer) AS b, round(2.5e0) AS c, "
        "CAST(307.9e0 AS varchar) AS d, sign(-2.5e0) AS e, typeof(sign(-2.5e0)) AS t",
        [{"a": 3, "b": -3, "c": 3.0, "d": "3.079E2", "e": -1.0, "t": "double"}],
    ),
    (
        "SELECT CAST(12345 AS bigint) / 1000.0 AS s, typeof(CAST(12345 AS bigint) / 1000.0) AS t",
        [{"s": decimal.Decimal("12.3"), "t": "decimal(21,1)"}],
    ),
    (
        "SELECT typeof(ARRAY[1, 2]) AS a, typeof(1.5) AS b, typeof('cat') AS c",
        [{"a": "array(integer)", "b": "decimal(2,1)", "c": "varchar(3)"}],
    ),
    # Functions.
    ("SELECT approx_percentile(x, 0.5) AS p FROM (VALUES 1, 2, 3, 4) AS t(x)", [{"p": 3}]),
    (
        "SELECT approx_percentile(x, ARRAY[0.1, 0.5, 0.9]) AS p FROM (VALUES 1, 2, 3, 4, 5) t(x)",
        [{"p": [1, 3, 5]}],
    ),
    (
        "SELECT sequence(DATE '2024-01-30', DATE '2024-02-01') AS s, "
        "regexp_replace('abc', '(b)', '[$1]') AS r, split_part('a,b', ',', 5) AS p, "
        "format('%s has %d rows (%.1f%%)', 'mhealth', 6, 12.25e0) AS f",
        [
            {
                "s": [dt.date(2024, 1, 30), dt.date(2024, 1, 31), dt.date(2024, 2, 1)],
                "r": "a[b]c",
                "p": None,
                "f": "mhealth has 6 rows (12.3%)",
            }
        ],
    ),
    (
        "SELECT reduce(ARRAY[5, 20, 50], 0, (s, x) -> s + x, s -> s * 10) AS r, "
        "zip_with(ARRAY[1, 2], ARRAY[3], (x, y) -> x + y) AS z, "
        "any_match(ARRAY[1, NULL], x -> x > 1) AS a, width_bucket(5.3e0, 0, 10, 5) AS w",
        [{"r": 750, "z": [4, None], "a": None, "w": 3}],
    ),
    (
        "SELECT x, y FROM UNNEST(ARRAY[1, 2, 3], ARRAY['a', 'b']) AS t(x, y)",
        [{"x": 1, "y": "a"}, {"x": 2, "y": "b"}, {"x": 3, "y": None}],
    ),
    (
        "SELECT map_agg(activity, steps) AS m FROM mhealth WHERE user_id = '1' AND steps > 4",
        [{"m": [("walking", 5), ("sitting", 7)]}],
    ),
]


@pytest.mark.parametrize(
    ("sql", "expected"), ATHENA_ANSWERS, ids=[s[:50] for s, _ in ATHENA_ANSWERS]
)
def test_athenas_answer(home: Path, sql: str, expected: list[dict]) -> None:
    got = rows(sql, home)
    if "map_agg" in sql:
        got = [{"m": sorted(r["m"])} for r in got]
        expected = [{"m": sorted(r["m"])} for r in expected]
    assert got == expected


def test_a_zone_is_carried_into_the_result(home: Path) -> None:
    table = query.query_local(
        "SELECT TIMESTAMP '2024-10-17 16:00:00.000' AT TIME ZONE 'America/New_York' AS t", home
    )
    assert table.schema.field("t").type == pa.timestamp("us", tz="America/New_York")
    assert table.schema.field("t").metadata[b"trino_type"] == b"timestamp(3) with time zone"
    assert "2024-10-17 12:00:00.000 America/New_York" in query.format_table(table, "table")
    assert (
        query.format_table(table, "csv").splitlines()[1]
        == "2024-10-17 12:00:00.000 America/New_York"
    )


def test_histogram_is_a_map(home: Path) -> None:
    table = query.query_local("SELECT histogram(activity) AS h FROM mhealth", home)
    assert pa.types.is_map(table.schema.field("h").type)
    assert dict(table.to_pylist()[0]["h"]) == {"walking": 2, "sitting": 2, "running": 2}
    assert query.format_table(table, "csv").splitlines()[1].startswith('"{')


def test_describe_and_show_columns_as_athena(home: Path) -> None:
    described = rows("DESCRIBE mhealth", home)
    assert described[:4] == [
        {"col_name": "activity", "data_type": "string", "comment": ""},
        {"col_name": "timestamp", "data_type": "timestamp", "comment": ""},
        {"col_name": "sensor1", "data_type": "double", "comment": ""},
        {"col_name": "steps", "data_type": "int", "comment": ""},
    ]
    assert {"col_name": "# Partition Information", "data_type": "", "comment": ""} in described
    assert rows("SHOW COLUMNS FROM mhealth", home) == [
        {"field": n} for n in ("activity", "timestamp", "sensor1", "steps", "user_id")
    ]
    columns = rows(
        "SELECT table_catalog, table_schema, column_name, data_type, extra_info "
        "FROM information_schema.columns WHERE table_name = 'mhealth' ORDER BY ordinal_position",
        home,
    )
    assert columns[0] == {
        "table_catalog": "awsdatacatalog",
        "table_schema": "phenolake",
        "column_name": "activity",
        "data_type": "varchar",
        "extra_info": None,
    }
    assert columns[-1]["column_name"] == "user_id" and columns[-1]["extra_info"] == "partition key"


def test_path_is_the_object_s3_uri_and_not_in_a_star(home: Path) -> None:
    paths = rows("SELECT DISTINCT \"$path\" AS p FROM mhealth WHERE user_id = '1'", home)
    assert paths == [{"p": f"s3://{BUCKET}/curated/mhealth/user_id=1/part-00000-a.snappy.parquet"}]
    assert "$path" not in query.query_local("SELECT * FROM mhealth LIMIT 1", home).column_names


@pytest.mark.parametrize(
    ("sql", "match"),
    [
        ("SELECT nope(1)", "Function 'nope' not registered"),
        ("SELECT nope FROM mhealth", "Column 'nope' cannot be resolved"),
        ("SELECT 1 / 0", "Division by zero"),
        ("SELECT steps % 0 FROM mhealth", "Division by zero"),
        ("SELECT 2147483647 + 1", "overflow"),
        (
            "SELECT activity FROM mhealth WHERE steps = 'x'",
            "Cannot apply operator: integer = varchar",
        ),
        ("SELECT 1 FROM mhealth WHERE user_id = 1", "Cannot apply operator: varchar = integer"),
        ("SELECT activity FROM mhealth LIMIT 2 OFFSET 1", "OFFSET before LIMIT"),
        ("SELECT ARRAY[1, 2][3]", "Array subscript must be less than or equal to array length"),
        ("SELECT CAST('1.5' AS integer)", "Cannot cast '1.5' to INT"),
    ],
)
def test_athenas_errors(home: Path, sql: str, match: str) -> None:
    with pytest.raises(QueryError, match=match) as caught:
        query.query_local(sql, home)
    assert not isinstance(caught.value, query.Unsupported)


@pytest.mark.parametrize(
    ("sql", "construct"),
    [
        ("SELECT regexp_position('abc', 'b')", "regexp_position"),
        ("SELECT TIME '01:00'", "time"),
        ("SELECT ts AT TIME ZONE label FROM events", "zone varies by row"),
        ("SELECT array_sort(ARRAY[2, 1], (x, y) -> 1)", "array_sort with a comparator"),
        (
            "SELECT parse_datetime('2024 +0100', 'yyyy Z')",
            "parse_datetime of a pattern with a zone",
        ),
        ("SELECT regexp_like('a', '(?<=a)b')", "(?<="),
    ],
)
def test_what_cannot_be_reproduced_is_refused_in_one_line(
    home: Path, sql: str, construct: str
) -> None:
    with pytest.raises(query.Unsupported, match="not supported by the local engine") as caught:
        query.query_local(sql, home)
    assert construct in str(caught.value) and "\n" not in str(caught.value)


def test_offset_then_limit_runs(home: Path) -> None:
    got = rows("SELECT steps FROM mhealth ORDER BY steps OFFSET 1 LIMIT 2", home)
    assert got == [{"steps": 2}, {"steps": 3}]


def test_no_library_warning_reaches_stderr(home: Path, capfd: pytest.CaptureFixture[str]) -> None:
    query.query_local("SELECT reduce(ARRAY[1, 2], 0, (s, x) -> s + x, s -> s) AS r", home)
    query.query_local("SHOW COLUMNS FROM mhealth", home)
    captured = capfd.readouterr()
    assert captured.err == ""


def test_parquet_microseconds_are_rounded_to_athenas_milliseconds(tmp_path: Path) -> None:
    write(
        tmp_path / BUCKET / "t" / "part-0.parquet",
        {
            "ts": pa.array(
                [dt.datetime(2024, 1, 1, 0, 0, 0, 1500), dt.datetime(2024, 1, 1, 0, 0, 0, 1499)],
                pa.timestamp("us"),
            )
        },
    )
    save_catalog(
        tmp_path,
        {
            "databases": {"phenolake": {}},
            "tables": {"phenolake": {"t": table_entry("t", [("ts", "timestamp")], s3("t/"))}},
            "partitions": {"phenolake": {"t": []}},
        },
    )
    assert rows("SELECT CAST(ts AS varchar) AS s FROM t ORDER BY ts", tmp_path) == [
        {"s": "2024-01-01 00:00:00.001"},
        {"s": "2024-01-01 00:00:00.002"},
    ]


def test_the_query_command_shows_athenas_text_and_refuses_with_exit_2(home: Path) -> None:
    from tests.cli import cli

    shown = cli(
        "query",
        "SELECT TIMESTAMP '2024-10-17 16:00:00.000' AT TIME ZONE 'America/New_York' AS t, "
        "CAST(307.9e0 AS varchar) AS d",
        "--format",
        "csv",
        "--home",
        str(home),
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == ["t,d", "2024-10-17 12:00:00.000 America/New_York,3.079E2"]
    refused = cli("query", "SELECT regexp_position('abc', 'b')", "--home", str(home))
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "phenolake: error: query: not supported by the local engine (Athena would run it): "
        "the function regexp_position()"
    ]
