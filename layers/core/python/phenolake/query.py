"""Athena SQL over the lake: locally with DuckDB over the Glue catalog, or on real Athena.

Locally, the catalog is the one the embedded AWS persists (``<home>/.state/glue-catalog.json``)
and ``s3://bucket/key`` is the file ``<home>/bucket/key``. Only cataloged tables exist and
only *registered* partitions are read, with partition values taken from the catalog, as
Athena does. The SQL is translated from Athena's dialect to DuckDB's with sqlglot.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import re
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

CATALOG_FILE = Path(".state") / "glue-catalog.json"

_TYPES = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "binary": "BLOB",
}


class QueryError(Exception):
    """A query that cannot run; the message is one line."""


def duckdb_type(glue_type: str) -> str:
    """Glue (Hive DDL) type -> DuckDB type; nested types are left to the Parquet reader."""
    lowered = glue_type.strip().lower()
    if lowered.startswith("decimal"):
        return lowered.upper()
    if lowered.startswith(("varchar", "char")):
        return "VARCHAR"
    return _TYPES.get(lowered, "")


def local_path(uri: str, home: Path) -> Path:
    if not uri.startswith("s3://"):
        raise QueryError(f"not an s3:// location in the catalog: {uri}")
    bucket, _, key = uri[5:].partition("/")
    return home / bucket / key


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _parquet_files(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(
        str(p)
        for p in folder.rglob("*.parquet")
        if not any(part.startswith(("_", ".")) for part in p.relative_to(folder).parts)
    )


def _select_columns(columns: list[dict[str, str]], available: set[str]) -> list[str]:
    """Declared columns in order; one missing from the files (an older schema) reads as NULL."""
    parts = []
    for column in columns:
        name, kind = column["Name"], duckdb_type(column["Type"])
        if name in available:
            parts.append(
                f"CAST({_ident(name)} AS {kind}) AS {_ident(name)}" if kind else _ident(name)
            )
        else:
            parts.append(f"CAST(NULL AS {kind or 'VARCHAR'}) AS {_ident(name)}")
    return parts


def _table_sql(
    connection: Any, table: dict[str, Any], partitions: list[dict[str, Any]], home: Path
) -> str:
    storage = table.get("StorageDescriptor", {})
    columns = storage.get("Columns", [])
    keys = table.get("PartitionKeys", [])
    empty = ", ".join(
        [
            f"CAST(NULL AS {duckdb_type(c['Type']) or 'VARCHAR'}) AS {_ident(c['Name'])}"
            for c in columns + keys
        ]
    )
    if keys:
        sources = [
            (local_path(p["StorageDescriptor"]["Location"], home), p["Values"])
            for p in partitions
            if p.get("StorageDescriptor", {}).get("Location")
        ]
    else:
        sources = [(local_path(storage["Location"], home), [])]
    selects = []
    for folder, values in sources:
        files = _parquet_files(folder)
        if not files:
            continue
        listing = "[" + ", ".join(_sql_string(f) for f in files) + "]"
        reader = f"read_parquet({listing}, union_by_name=true, hive_partitioning=false)"
        available = {
            row[0] for row in connection.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        }
        parts = _select_columns(columns, available)
        for key, value in zip(keys, values, strict=True):
            kind = duckdb_type(key["Type"]) or "VARCHAR"
            parts.append(f"CAST({_sql_string(value)} AS {kind}) AS {_ident(key['Name'])}")
        selects.append(f"SELECT {', '.join(parts)} FROM {reader}")
    if not selects:
        return f"SELECT {empty} WHERE false"
    return " UNION ALL ".join(selects)


def load_catalog(home: Path) -> dict[str, Any]:
    path = home / CATALOG_FILE
    if not path.exists():
        return {"databases": {}, "tables": {}, "partitions": {}}
    return json.loads(path.read_text())


def connect(home: Path, database: str = "phenolake") -> Any:
    """A DuckDB connection with one view per catalog table (schema per database)."""
    import duckdb

    connection = duckdb.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    catalog = load_catalog(home)
    for db_name, tables in catalog.get("tables", {}).items():
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(db_name.lower())}")
        for name, table in tables.items():
            partitions = catalog.get("partitions", {}).get(db_name, {}).get(name, [])
            body = _table_sql(connection, table, partitions, home)
            connection.execute(
                f"CREATE VIEW {_ident(db_name.lower())}.{_ident(name.lower())} AS {body}"
            )
            if db_name.lower() == database.lower():
                connection.execute(f"CREATE VIEW {_ident(name.lower())} AS {body}")
    return connection


def translate(sql: str) -> str:
    import sqlglot
    from sqlglot.errors import ParseError

    try:
        statements = sqlglot.transpile(sql, read="athena", write="duckdb")
    except ParseError as exc:
        raise QueryError(f"cannot parse the SQL: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise QueryError("give exactly one SQL statement")
    return statements[0]


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"\s+", " ", text)


def query_local(sql: str, home: Path, database: str = "phenolake") -> pa.Table:
    import duckdb

    translated = translate(sql)
    connection = connect(home, database)
    try:
        return connection.execute(translated).fetch_arrow_table()
    except duckdb.CatalogException as exc:
        missing = re.search(r"Table with name (\S+) does not exist", str(exc))
        if missing:
            raise QueryError(f"table {missing.group(1)} is not in the catalog of {home}") from None
        raise QueryError(_one_line(exc)) from None
    except duckdb.Error as exc:
        raise QueryError(_one_line(exc)) from None
    finally:
        connection.close()


def query_athena(sql: str, database: str, workgroup: str, region: str | None = None) -> pa.Table:
    import awswrangler as wr
    import boto3

    try:
        frame = wr.athena.read_sql_query(
            sql,
            database=database,
            workgroup=workgroup,
            ctas_approach=False,
            boto3_session=boto3.Session(region_name=region),
        )
    except Exception as exc:
        raise QueryError(_one_line(exc)) from None
    return pa.Table.from_pandas(frame, preserve_index=False)


def table_row_counts(home: Path, database: str = "phenolake") -> dict[str, int]:
    names = sorted(load_catalog(home).get("tables", {}).get(database, {}))
    if not names:
        return {}
    sql = " UNION ALL ".join(
        f"SELECT {_sql_string(n)} AS t, count(*) AS n FROM {_ident(n.lower())}" for n in names
    )
    connection = connect(home, database)
    try:
        return {t: n for t, n in connection.execute(sql).fetchall()}
    except Exception as exc:
        raise QueryError(_one_line(exc)) from None
    finally:
        connection.close()


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def format_table(table: pa.Table, fmt: Literal["table", "csv", "json"]) -> str:
    rows = [{k: _plain(v) for k, v in row.items()} for row in table.to_pylist()]
    if fmt == "json":
        return json.dumps(rows, indent=1) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(table.column_names)
        for row in rows:
            writer.writerow(["" if row[c] is None else row[c] for c in table.column_names])
        return out.getvalue()
    from rich.console import Console
    from rich.table import Table

    rendered = Table(show_edge=False, header_style="bold")
    for name in table.column_names:
        rendered.add_column(name)
    for row in rows:
        rendered.add_row(*["NULL" if row[c] is None else str(row[c]) for c in table.column_names])
    console = Console(file=io.StringIO(), width=200, color_system=None, highlight=False)
    console.print(rendered)
    console.print(f"({table.num_rows} row{'s' if table.num_rows != 1 else ''})")
    return console.file.getvalue()  # type: ignore[attr-defined]
