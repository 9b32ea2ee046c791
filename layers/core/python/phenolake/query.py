"""Athena SQL over the lake: locally with DuckDB over the Glue catalog, or on real Athena.

Locally, the catalog is the one the embedded AWS persists (``<home>/.state/glue-catalog.json``,
the shapes boto3 ``glue.get_table`` / ``get_partitions`` return) and ``s3://bucket/key`` is the
file ``<home>/bucket/key``. Each cataloged table the query names becomes a DuckDB view (a
schema per Glue database; the default database's tables also unqualified), built the way
Athena reads the table:

* only *registered* partitions are read, each from its catalog ``Location``, and the partition
  columns' values come from the catalog's ``Values`` cast to the keys' declared types (never
  from the folder names); ``__HIVE_DEFAULT_PARTITION__`` is NULL;
* an unpartitioned table reads every ``*.parquet`` under its location, recursively; files
  and folders whose names start with ``_`` or ``.`` (``_SUCCESS``, ``.crc`` files,
  ``_temporary/``) and anything not ``*.parquet`` (``*.reason.json``) are never read;
* the columns are the declared ones, then the partition keys, each cast to its declared
  type; a declared column missing from older files reads as NULL, file columns the catalog
  does not declare are not visible, and file columns match declared ones case-insensitively.

The SQL is translated from Athena's dialect (Trino) to DuckDB's with sqlglot. Where
sqlglot's translation would give a different answer than Athena, the syntax tree is fixed
before DuckDB sees it (see ``translate``): integer division truncates, ``date_diff`` counts
whole units, ``date_trunc``, ``date_add`` and day-or-longer interval arithmetic on a date
stay dates, unnamed result columns are ``_col0``, ``_col1``... and result column names are
lower case; sums of integers come back as bigints (DuckDB makes them HUGEINT). The session
time zone is UTC, as on Athena. A query sqlglot cannot type against the catalog (a column it
cannot resolve, ...) still runs, untyped, and DuckDB has the last word: so a column alias
used in WHERE works here though Athena rejects it.

``SHOW TABLES [IN db]`` and ``SHOW PARTITIONS [db.]table`` are answered from the catalog;
other statements that are not queries (DDL, INSERT, ...) are refused: the local lake is
read-only, and a table created in a throwaway DuckDB would mislead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import io
import json
import logging
import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

CATALOG_FILE = Path(".state") / "glue-catalog.json"
DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"
ATHENA_CATALOG = "awsdatacatalog"

_SCALAR_TYPES = {
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
    "real": "FLOAT",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "binary": "BLOB",
    "varbinary": "BLOB",
}
_NESTED = ("array", "map", "struct")
_DATE_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}


class QueryError(Exception):
    """A query that cannot run; the message is one line."""


# ---------------------------------------------------------------------------------------------
# Glue types


class _TypeReader:
    """A recursive-descent reader of Hive DDL types (``array<struct<a:int,b:string>>``)."""

    def __init__(self, text: str) -> None:
        self.text = text.replace(" ", "").lower()
        self.pos = 0

    def read(self) -> str:
        kind = self._type()
        if self.pos != len(self.text):
            raise ValueError(self.text)
        return kind

    def _peek(self, char: str) -> bool:
        return self.text.startswith(char, self.pos)

    def _take(self, char: str) -> None:
        if not self._peek(char):
            raise ValueError(self.text)
        self.pos += len(char)

    def _word(self) -> str:
        match = re.compile(r"[a-z0-9_]+").match(self.text, self.pos)
        if not match:
            raise ValueError(self.text)
        self.pos = match.end()
        return match.group()

    def _type(self) -> str:
        word = self._word()
        if word == "array":
            self._take("<")
            inner = self._type()
            self._take(">")
            return f"{inner}[]"
        if word == "map":
            self._take("<")
            key = self._type()
            self._take(",")
            value = self._type()
            self._take(">")
            return f"MAP({key}, {value})"
        if word == "struct":
            self._take("<")
            fields = []
            while not self._peek(">"):
                name = self._word()
                self._take(":")
                fields.append(f"{_ident(name)} {self._type()}")
                if not self._peek(">"):
                    self._take(",")
            self._take(">")
            return f"STRUCT({', '.join(fields)})"
        if word == "decimal":
            if self._peek("("):
                start = self.pos
                self.pos = self.text.index(")", start) + 1
                return "DECIMAL" + self.text[start : self.pos]
            return "DECIMAL(10,0)"  # Hive's default precision and scale
        if word in ("varchar", "char") and self._peek("("):
            self.pos = self.text.index(")", self.pos) + 1
            return "VARCHAR"
        if word not in _SCALAR_TYPES:
            raise ValueError(word)
        return _SCALAR_TYPES[word]


def duckdb_type(glue_type: str) -> str:
    """Glue (Hive DDL) type -> DuckDB type; ``""`` for a type this does not know."""
    try:
        return _TypeReader(glue_type).read()
    except (ValueError, IndexError):
        return ""


def _is_nested(glue_type: str) -> bool:
    return glue_type.strip().lower().startswith(_NESTED)


# ---------------------------------------------------------------------------------------------
# The catalog


def load_catalog(home: Path) -> dict[str, Any]:
    """The persisted Glue catalog; an empty one when the home is fresh."""
    path = home / CATALOG_FILE
    if not path.exists():
        return {"databases": {}, "tables": {}, "partitions": {}}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise QueryError(f"cannot read the catalog {path}: {_one_line(exc)}") from None


class _Catalog:
    """The catalog's tables by lower-cased database and table name (Glue is case-insensitive)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self.partitions: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for db_name, tables in raw.get("tables", {}).items():
            entry = self.tables.setdefault(db_name.lower(), {})
            for name, table in tables.items():
                entry[name.lower()] = table
                parts = raw.get("partitions", {}).get(db_name, {}).get(name, [])
                self.partitions[(db_name.lower(), name.lower())] = parts

    def table(self, database: str, name: str) -> dict[str, Any] | None:
        return self.tables.get(database.lower(), {}).get(name.lower())

    def names(self, database: str) -> list[str]:
        return sorted(self.tables.get(database.lower(), {}))

    def schema(self) -> dict[str, dict[str, dict[str, str]]]:
        """``{db: {table: {column: type}}}`` for sqlglot: declared columns, then partition keys."""
        return {
            db: {
                name: {
                    c["Name"].lower(): c["Type"]
                    for c in table.get("StorageDescriptor", {}).get("Columns", [])
                    + table.get("PartitionKeys", [])
                }
                for name, table in tables.items()
            }
            for db, tables in self.tables.items()
        }


def local_path(uri: str, home: Path) -> Path:
    """``s3://bucket/key`` -> ``<home>/bucket/key``."""
    if not uri.startswith(("s3://", "s3a://", "s3n://")):
        raise QueryError(f"not an s3:// location in the catalog: {uri}")
    bucket, _, key = uri.split("://", 1)[1].partition("/")
    return home / bucket / key


_HIVE_ESCAPED = set("\"#%'*/:=?\\\x7f{[]^")


def _hive_escape(value: str) -> str:
    """Hive's escapePathName: how a partition value is spelled in a folder name."""
    return "".join(f"%{ord(c):02X}" if c in _HIVE_ESCAPED or ord(c) < 0x20 else c for c in value)


def _partition_folder(table: dict[str, Any], partition: dict[str, Any], home: Path) -> Path | None:
    location = partition.get("StorageDescriptor", {}).get("Location")
    if not location:
        # A partition without its own location lives under the table's, Hive-style.
        base = table.get("StorageDescriptor", {}).get("Location")
        if not base:
            return None
        keys = [k["Name"] for k in table.get("PartitionKeys", [])]
        location = (
            base.rstrip("/")
            + "/"
            + "/".join(
                f"{_hive_escape(k)}={_hive_escape(v)}"
                for k, v in zip(keys, partition["Values"], strict=True)
            )
        )
    return local_path(location, home)


# ---------------------------------------------------------------------------------------------
# Views


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _parquet_files(folder: Path) -> list[Path]:
    """Every ``*.parquet`` under folder, skipping hidden (``.x``) and ``_x`` files and folders."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*.parquet")
        if p.is_file()
        and not any(part.startswith(("_", ".")) for part in p.relative_to(folder).parts)
    )


def _file_columns(files: list[Path]) -> dict[str, str]:
    """Lower-cased name -> name as spelled, over the top-level columns of all files."""
    import pyarrow.parquet as pq

    names: dict[str, str] = {}
    for path in files:
        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowException) as exc:
            raise QueryError(f"cannot read {path}: {_one_line(exc)}") from None
        for name in schema.names:
            names.setdefault(name.lower(), name)
    return names


def _column_sql(column: dict[str, str], available: dict[str, str]) -> str:
    name, glue_type = column["Name"], column["Type"]
    kind = duckdb_type(glue_type)
    spelled = available.get(name.lower())
    if spelled is None:
        return f"CAST(NULL AS {kind or 'VARCHAR'}) AS {_ident(name)}"
    if kind and not _is_nested(glue_type):
        return f"CAST({_ident(spelled)} AS {kind}) AS {_ident(name)}"
    # Nested values keep the file's shape: DuckDB casts structs by position, not by name.
    return f"{_ident(spelled)} AS {_ident(name)}"


def _partition_value_sql(key: dict[str, str], value: str | None) -> str:
    kind = duckdb_type(key["Type"]) or "VARCHAR"
    literal = "NULL" if value is None or value == DEFAULT_PARTITION else _sql_string(value)
    return f"CAST({literal} AS {kind}) AS {_ident(key['Name'])}"


def _table_sql(table: dict[str, Any], partitions: list[dict[str, Any]], home: Path) -> str:
    """One SELECT per registered partition (or one for the table), UNION ALL'ed."""
    storage = table.get("StorageDescriptor", {})
    columns: list[dict[str, str]] = storage.get("Columns", [])
    keys: list[dict[str, str]] = table.get("PartitionKeys", [])
    sources: list[tuple[Path, list[str]]] = []
    if keys:
        for partition in partitions:
            values = partition.get("Values", [])
            folder = _partition_folder(table, partition, home)
            if folder is not None and len(values) == len(keys):
                sources.append((folder, values))
    elif storage.get("Location"):
        sources.append((local_path(storage["Location"], home), []))
    selects = []
    for folder, values in sources:
        files = _parquet_files(folder)
        if not files:
            continue
        parts = [_column_sql(c, _file_columns(files)) for c in columns]
        parts += [_partition_value_sql(k, v) for k, v in zip(keys, values, strict=True)]
        listing = "[" + ", ".join(_sql_string(str(f)) for f in files) + "]"
        reader = f"read_parquet({listing}, union_by_name = true, hive_partitioning = false)"
        selects.append(f"SELECT {', '.join(parts)} FROM {reader}")
    if not selects:
        empty = [_column_sql(c, {}) for c in columns]
        empty += [_partition_value_sql(k, None) for k in keys]
        return f"SELECT {', '.join(empty) or 'NULL AS _'} WHERE false"
    return "\nUNION ALL ".join(selects)


def _open() -> Any:
    import duckdb

    connection = duckdb.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def connect(
    home: Path,
    database: str = "phenolake",
    tables: Iterable[tuple[str, str]] | None = None,
) -> Any:
    """An in-memory DuckDB connection with a view per catalog table (a schema per database,
    the ``database``'s tables also unqualified). ``tables`` limits the views to those
    ``(database, table)`` pairs; by default every table gets one."""
    catalog = _Catalog(load_catalog(home))
    wanted = (
        {(d.lower(), t.lower()) for d, t in tables}
        if tables is not None
        else {(d, t) for d, names in catalog.tables.items() for t in names}
    )
    connection = _open()
    try:
        for db_name in sorted({database.lower(), *catalog.tables}):
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(db_name)}")
        for db_name, name in sorted(wanted):
            table = catalog.table(db_name, name)
            if table is None:
                continue
            body = _table_sql(table, catalog.partitions.get((db_name, name), []), home)
            connection.execute(f"CREATE VIEW {_ident(db_name)}.{_ident(name)} AS {body}")
            if db_name == database.lower() != "main":
                connection.execute(
                    f"CREATE VIEW main.{_ident(name)} AS "
                    f"SELECT * FROM {_ident(db_name)}.{_ident(name)}"
                )
    except Exception:
        connection.close()
        raise
    return connection


# ---------------------------------------------------------------------------------------------
# Translation


@contextlib.contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    """sqlglot logs a warning when it falls back to a Command (SHOW ...); not for users."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _parse(sql: str) -> Any:
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    if not sql.strip().strip(";").strip():
        raise QueryError("no SQL given")
    try:
        with _quiet_sqlglot():
            statements = [s for s in sqlglot.parse(sql, read="athena") if s is not None]
    except (ParseError, TokenError) as exc:
        raise QueryError(f"cannot parse the SQL: {_one_line(exc)}") from None
    if len(statements) != 1:
        raise QueryError(f"give one SQL statement, not {len(statements)}")
    return statements[0]


def _cte_names(tree: Any) -> set[str]:
    from sqlglot import exp

    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def _referenced_tables(tree: Any, database: str) -> list[tuple[str, str, str]]:
    """``(database, table, as written)`` for every catalog-style table the query names."""
    from sqlglot import exp

    ctes = _cte_names(tree)
    found = []
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue  # a table function
        db = table.db or database
        if not table.db and table.name.lower() in ctes:
            continue
        if db.lower() in ("information_schema", "pg_catalog"):
            continue
        written = ".".join(p for p in (table.db, table.name) if p)
        found.append((db.lower(), table.name.lower(), written))
    return found


def _drop_athena_catalog(tree: Any) -> None:
    """``awsdatacatalog.db.table`` (Athena's catalog) -> ``db.table``."""
    from sqlglot import exp

    for table in tree.find_all(exp.Table):
        if table.catalog.lower() == ATHENA_CATALOG:
            table.set("catalog", None)


def _outermost_select(tree: Any) -> Any:
    from sqlglot import exp

    node = tree
    while isinstance(node, exp.SetOperation | exp.Subquery):
        node = node.this
    return node if isinstance(node, exp.Select) else None


def _name_outputs(tree: Any) -> None:
    """Result columns as Athena names them, for a query sqlglot could not qualify: lower case,
    and ``_col<i>`` for unnamed expressions. A bare column is lower-cased, not aliased: an
    alias would turn DuckDB's "column not found" into a confusing self-reference error."""
    from sqlglot import exp

    select = _outermost_select(tree)
    if select is None:
        return
    after_star = False
    for index, projection in enumerate(list(select.expressions)):
        if isinstance(projection, exp.Star) or (
            isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
        ):
            after_star = True
        elif isinstance(projection, exp.Alias):
            projection.set("alias", exp.to_identifier(projection.alias.lower(), quoted=True))
        elif isinstance(projection, exp.Column):
            projection.this.set("this", projection.name.lower())
        elif not isinstance(projection, exp.Dot) and not after_star:
            # After a star its position depends on how the star expands: left to DuckDB.
            projection.replace(exp.alias_(projection.copy(), f"_col{index}", quoted=True))


def _qualify(tree: Any, catalog: _Catalog, database: str) -> Any:
    """The tree qualified against the catalog and annotated with types, or None when sqlglot
    cannot qualify it (a column it cannot resolve, ...): DuckDB then has the last word."""
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    schema = catalog.schema()
    try:
        qualified = qualify(
            tree,
            dialect="athena",
            db=database.lower(),
            schema=schema,
            expand_alias_refs=False,
            identify=True,
        )
        return annotate_types(qualified, schema=schema, dialect="athena")
    except Exception:
        return None


_UNNAMED = "__phenolake_unnamed_"


def _mark_unnamed(tree: Any) -> None:
    """Alias the unnamed outputs with a marker, so that after qualify (which expands stars and
    names outputs its own way) ``_name_marked`` can name them by their final position."""
    from sqlglot import exp

    select = _outermost_select(tree)
    if select is None:
        return
    for index, projection in enumerate(list(select.expressions)):
        if not isinstance(projection, exp.Alias | exp.Column | exp.Dot | exp.Star):
            projection.replace(exp.alias_(projection.copy(), f"{_UNNAMED}{index}", quoted=True))


def _name_marked(tree: Any) -> None:
    from sqlglot import exp

    select = _outermost_select(tree)
    if select is None:
        return
    for index, projection in enumerate(select.expressions):
        if isinstance(projection, exp.Alias) and projection.alias.startswith(_UNNAMED):
            projection.set("alias", exp.to_identifier(f"_col{index}", quoted=True))


def _athena_semantics(tree: Any) -> None:
    """Fix what sqlglot's athena -> duckdb translation would answer differently."""
    from sqlglot import exp

    for node in list(tree.find_all(exp.DateDiff)):
        # Trino's date_diff counts whole units (DuckDB's date_sub); DuckDB's date_diff counts
        # boundaries crossed: date_diff('day', 23:00, 01:00 next day) is 0 on Athena, not 1.
        unit = node.text("unit") or "DAY"
        node.replace(
            exp.Anonymous(
                this="DATE_SUB",
                expressions=[exp.Literal.string(unit.upper()), node.expression, node.this],
            )
        )
    for node in list(tree.find_all(exp.DateTrunc, exp.TimestampTrunc)):
        # date_trunc of a date is a date on Athena, a timestamp in DuckDB.
        if node.this.is_type(exp.DataType.Type.DATE):
            node.replace(exp.cast(node.copy(), exp.DataType.Type.DATE))
    for node in list(tree.find_all(exp.Add, exp.Sub)):
        # date +/- interval of whole days (or longer) is a date on Athena.
        interval = node.expression
        if (
            node.this.is_type(exp.DataType.Type.DATE)
            and isinstance(interval, exp.Interval)
            and interval.text("unit").upper() in _DATE_UNITS
        ):
            node.replace(exp.cast(node.copy(), exp.DataType.Type.DATE))
    for node in list(tree.find_all(exp.DateAdd)):
        # date_add('day', 1, a_date) is a date on Athena.
        if (
            node.this.is_type(exp.DataType.Type.DATE)
            and (node.text("unit") or "DAY").upper() in _DATE_UNITS
        ):
            node.replace(exp.cast(node.copy(), exp.DataType.Type.DATE))


def translate(sql: str, home: Path | None = None, database: str = "phenolake") -> str:
    """Athena SQL -> DuckDB SQL. With a ``home`` the query is typed against its catalog, so
    integer division of integer columns truncates as on Athena."""
    catalog = _Catalog(load_catalog(home) if home is not None else {})
    return _translate(_parse(sql), catalog, database)


def _translate(tree: Any, catalog: _Catalog, database: str) -> str:
    from sqlglot.optimizer.annotate_types import annotate_types

    tree = tree.copy()
    _drop_athena_catalog(tree)
    marked = tree.copy()
    _mark_unnamed(marked)
    qualified = _qualify(marked, catalog, database)
    if qualified is not None:
        tree = qualified
        _name_marked(tree)
    else:
        _name_outputs(tree)
        # Types of literals and casts at least (5 / 2 is 2 on Athena).
        with contextlib.suppress(Exception):
            tree = annotate_types(tree, dialect="athena")
    _athena_semantics(tree)
    try:
        return tree.sql(dialect="duckdb")
    except Exception as exc:
        raise QueryError(f"cannot translate the SQL to DuckDB: {_one_line(exc)}") from None


# ---------------------------------------------------------------------------------------------
# Running


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return re.sub(r"\s+", " ", first).strip()


def _unknown_table(missing: str, database: str, catalog: _Catalog, home: Path) -> QueryError:
    known = catalog.names(database)
    listing = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "") if known else "none"
    return QueryError(
        f"table {missing} is not in the Glue catalog at {home / CATALOG_FILE} "
        f"(database {database}; its tables: {listing})"
    )


def _command(tree: Any, catalog: _Catalog, database: str) -> pa.Table | None:
    """SHOW TABLES / SHOW PARTITIONS from the catalog; None for other statements."""
    from sqlglot import exp

    if not isinstance(tree, exp.Command):
        return None
    words = f"{tree.this} {tree.expression.name if tree.expression else ''}".split()
    upper = [w.upper() for w in words]
    if upper[:2] == ["SHOW", "TABLES"]:
        db = database
        if len(words) >= 4 and upper[2] in ("IN", "FROM"):
            db = words[3].strip('"`')
        pattern = words[-1].strip("'") if len(words) in (3, 5) else None
        names = catalog.names(db)
        if pattern:
            # Athena's pattern: * and | only.
            regex = "|".join(
                ".*".join(re.escape(p) for p in alt.split("*")) for alt in pattern.split("|")
            )
            names = [n for n in names if re.fullmatch(regex, n, re.IGNORECASE)]
        return pa.table({"tab_name": pa.array(names, pa.string())})
    if upper[:2] == ["SHOW", "PARTITIONS"] and len(words) == 3:
        parts = [p.strip('"`') for p in words[2].split(".")]
        db, name = (parts[0], parts[1]) if len(parts) == 2 else (database, parts[0])
        table = catalog.table(db, name)
        if table is None:
            raise QueryError(f"table {words[2]} is not in the Glue catalog (database {db})")
        keys = [k["Name"] for k in table.get("PartitionKeys", [])]
        rows = sorted(
            "/".join(f"{k}={v}" for k, v in zip(keys, p.get("Values", []), strict=False))
            for p in catalog.partitions.get((db.lower(), name.lower()), [])
        )
        return pa.table({"partition": pa.array(rows, pa.string())})
    raise QueryError(
        f"{words[0].upper()} statements do not run locally: queries (SELECT, WITH), DESCRIBE, "
        "SHOW TABLES and SHOW PARTITIONS do"
    )


def _bigints(table: pa.Table, description: list[Any]) -> pa.Table:
    """DuckDB sums integers into HUGEINT (a decimal(38,0) in Arrow); Athena's sum of integers
    is a bigint. Back to int64 where the values fit (Athena would fail on an overflow)."""
    import pyarrow.compute as pc

    for index, column in enumerate(description):
        if index < table.num_columns and str(column[1]) in ("HUGEINT", "UHUGEINT"):
            try:
                cast = pc.cast(table.column(index), pa.int64())
            except pa.ArrowInvalid:
                continue
            table = table.set_column(index, table.field(index).with_type(pa.int64()), cast)
    return table


def query_local(sql: str, home: Path, database: str = "phenolake") -> pa.Table:
    """Run Athena SQL with DuckDB over the local lake's cataloged tables."""
    import duckdb
    from sqlglot import exp

    tree = _parse(sql)
    catalog = _Catalog(load_catalog(home))
    shown = _command(tree, catalog, database)
    if shown is not None:
        return shown
    if not isinstance(tree, exp.Query | exp.Describe):
        raise QueryError(
            f"{tree.key.upper()} statements do not run locally (the local lake is read-only): "
            "queries (SELECT, WITH), DESCRIBE, SHOW TABLES and SHOW PARTITIONS do"
        )
    _drop_athena_catalog(tree)
    referenced = _referenced_tables(tree, database)
    for db, name, written in referenced:
        if catalog.table(db, name) is None:
            raise _unknown_table(written, database, catalog, home)
    # Views for the tables the query names; all of them when it looks at information_schema.
    wanted = (
        None
        if any(t.db.lower() == "information_schema" for t in tree.find_all(exp.Table))
        else [(db, name) for db, name, _ in referenced]
    )
    translated = _translate(tree, catalog, database)
    try:
        connection = connect(home, database, wanted)
    except duckdb.Error as exc:
        raise QueryError(_one_line(exc)) from None
    try:
        result = connection.execute(translated)
        return _bigints(result.to_arrow_table(), result.description or [])
    except duckdb.CatalogException as exc:
        missing = re.search(r"with name (\S+) does not exist", str(exc))
        if missing:
            raise _unknown_table(missing.group(1), database, catalog, home) from None
        raise QueryError(_one_line(exc)) from None
    except duckdb.Error as exc:
        raise QueryError(_one_line(exc)) from None
    finally:
        connection.close()


def query_athena(sql: str, database: str, workgroup: str, region: str | None = None) -> pa.Table:
    """Run the SQL on Athena (awswrangler; the workgroup's result location)."""
    import awswrangler as wr
    import boto3

    try:
        frame = wr.athena.read_sql_query(
            sql,
            database=database,
            workgroup=workgroup,
            ctas_approach=False,
            boto3_session=boto3.Session(region_name=region),
            dtype_backend="pyarrow",
        )
        return pa.Table.from_pandas(frame, preserve_index=False)
    except Exception as exc:
        raise QueryError(_one_line(exc)) from None


def table_row_counts(home: Path, database: str = "phenolake") -> dict[str, int]:
    """Rows per table of the database, as Athena would count them."""
    import duckdb

    names = _Catalog(load_catalog(home)).names(database)
    if not names:
        return {}
    sql = " UNION ALL ".join(
        f"SELECT {_sql_string(n)} AS t, count(*) AS n FROM {_ident(database.lower())}.{_ident(n)}"
        for n in names
    )
    connection = connect(home, database)
    try:
        return {t: n for t, n in connection.execute(sql).fetchall()}
    except duckdb.Error as exc:
        raise QueryError(_one_line(exc)) from None
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------------
# Output


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        # Not valid JSON as numbers; Trino's JSON spells them so.
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, decimal.Decimal):
        return str(value)  # exact; a float would round
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dt.timedelta):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _text_value(value: Any, null: str) -> str:
    if value is None:
        return null
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return json.dumps(_json_value(value), ensure_ascii=False)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _csv_field(text: str) -> str:
    """RFC 4180 quoting, also of a lone CR (Python's csv module leaves that bare when lines
    end in LF) and of the empty string, so that it differs from NULL (an empty field)."""
    if text == "" or any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _columns(table: pa.Table) -> list[list[Any]]:
    return [table.column(i).to_pylist() for i in range(table.num_columns)]


def format_table(table: pa.Table, fmt: Literal["table", "csv", "json"]) -> str:
    """The result as text: a table for people, CSV with a header, or a JSON array of rows
    (dates and timestamps as ISO 8601 strings). NULL is empty in CSV, null in JSON, NULL in
    the table."""
    columns = _columns(table)
    rows = list(zip(*columns, strict=True)) if columns else []
    names = table.column_names
    if fmt == "json":
        objects = [{n: _json_value(v) for n, v in zip(names, row, strict=True)} for row in rows]
        return json.dumps(objects, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        lines = [",".join(_csv_field(n) for n in names)]
        lines += [
            ",".join("" if v is None else _csv_field(_text_value(v, "")) for v in row)
            for row in rows
        ]
        return "\n".join(lines) + "\n"
    if fmt != "table":
        raise QueryError(f"unknown format {fmt!r}: table, csv or json")
    from rich import box
    from rich.console import Console
    from rich.table import Table

    rendered = Table(box=box.SQUARE, show_edge=False)
    for index, name in enumerate(names):
        numeric = (
            pa.types.is_integer(table.schema.field(index).type)
            or pa.types.is_floating(table.schema.field(index).type)
            or pa.types.is_decimal(table.schema.field(index).type)
        )
        rendered.add_column(name, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        rendered.add_row(*[_text_value(v, "NULL") for v in row])
    console = Console(
        file=io.StringIO(),
        width=100_000,
        color_system=None,
        highlight=False,
        markup=False,
        emoji=False,
    )
    console.print(rendered)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    lines = [line.rstrip() for line in text.splitlines()]
    count = table.num_rows
    lines.append(f"({count} row{'' if count == 1 else 's'})")
    return "\n".join(lines) + "\n"
