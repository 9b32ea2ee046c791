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
  does not declare are not visible, and file columns match declared ones case-insensitively;
* an Iceberg table (``table_type=ICEBERG``) is read from its metadata file instead: the data
  files PyIceberg plans for the current snapshot (or the one ``FOR VERSION / TIMESTAMP AS OF``
  names), columns by Iceberg field id, position deletes applied (see "Iceberg tables" below);
  ``"t$snapshots"``, ``"t$history"`` and ``"t$refs"`` are its metadata tables.

The SQL is parsed with sqlglot (Trino's dialect, function calls kept as written) and
qualified against the catalog; ``_Translator`` then translates every expression itself, with
its Trino type (and, for a ``timestamp with time zone``, its zone), into DuckDB SQL, using
macros and a few Python functions where DuckDB's built-ins answer differently. The rule: a
query returns Athena's answer (values, types, column names, order) or stops with one line
(``Unsupported``) naming the construct the local engine cannot reproduce; a query Athena
itself rejects fails with Athena's reason. The session time zone is UTC, as on Athena.

``SHOW TABLES [IN db]``, ``SHOW PARTITIONS [db.]table`` (refused for Iceberg tables, as
Athena does), ``SHOW COLUMNS`` and ``DESCRIBE`` are answered from the catalog (an Iceberg table's
from its schema), ``information_schema`` from it too;
other statements that are not queries (DDL, INSERT, ...) are refused: the local lake is
read-only, and a table created in a throwaway DuckDB would mislead.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import decimal
import functools
import io
import json
import logging
import math
import re
import typing
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from phenolake.iceberg import is_iceberg

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


@dataclasses.dataclass(frozen=True)
class _Column:
    """A column as Athena shows it: its Trino type, its Hive (Glue) spelling for DESCRIBE."""

    name: str
    trino: str
    hive: str
    comment: str = ""
    partition_key: bool = False


@dataclasses.dataclass
class _Virtual:
    """A relation a query names that is no Glue table of its own: an Iceberg table at a
    snapshot (``FOR VERSION / TIMESTAMP AS OF``) or one of its metadata tables (``t$snapshots``)."""

    kind: Literal["snapshot", "snapshots", "history", "refs"]
    database: str
    table: str
    snapshot_id: int | None = None


class _Catalog:
    """The catalog's tables by lower-cased database and table name (Glue is case-insensitive)."""

    def __init__(self, raw: dict[str, Any], home: Path | None = None) -> None:
        self.home = home
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self.partitions: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.virtual: dict[tuple[str, str], _Virtual] = {}
        self._iceberg: dict[tuple[str, str], _IcebergTable] = {}
        for db_name, tables in raw.get("tables", {}).items():
            entry = self.tables.setdefault(db_name.lower(), {})
            for name, table in tables.items():
                entry[name.lower()] = table
                parts = raw.get("partitions", {}).get(db_name, {}).get(name, [])
                self.partitions[(db_name.lower(), name.lower())] = parts

    def table(self, database: str, name: str) -> dict[str, Any] | None:
        return self.tables.get(database.lower(), {}).get(name.lower())

    def exists(self, database: str, name: str) -> bool:
        key = (database.lower(), name.lower())
        return key in self.virtual or self.table(*key) is not None

    def names(self, database: str) -> list[str]:
        return sorted(self.tables.get(database.lower(), {}))

    def iceberg(self, database: str, name: str) -> _IcebergTable | None:
        """The Iceberg table behind a Glue entry (read once per query), None for Hive tables."""
        key = (database.lower(), name.lower())
        entry = self.table(*key)
        if entry is None or not is_iceberg(entry):
            return None
        if key not in self._iceberg:
            if self.home is None:
                raise QueryError(f"{key[0]}.{key[1]} is an Iceberg table: give the lake's home")
            self._iceberg[key] = _IcebergTable(key[0], key[1], entry, self.home)
        return self._iceberg[key]

    def columns(self, database: str, name: str) -> list[_Column]:
        """Declared columns then partition keys (Hive), the schema (Iceberg), or a virtual
        relation's columns."""
        key = (database.lower(), name.lower())
        virtual = self.virtual.get(key)
        if virtual is not None:
            if virtual.kind == "snapshot":
                base = self.iceberg(virtual.database, virtual.table)
                assert base is not None
                return base.columns(virtual.snapshot_id)
            return list(_ICEBERG_METADATA_COLUMNS[virtual.kind])
        iceberg = self.iceberg(*key)
        if iceberg is not None:
            return iceberg.columns()
        table = self.table(*key)
        if table is None:
            return []
        declared = table.get("StorageDescriptor", {}).get("Columns", [])
        keys = table.get("PartitionKeys", [])
        return [
            _Column(c["Name"], trino_type(c["Type"]), c["Type"], c.get("Comment", ""))
            for c in declared
        ] + [
            _Column(k["Name"], trino_type(k["Type"]), k["Type"], k.get("Comment", ""), True)
            for k in keys
        ]

    def has_path(self, database: str, name: str) -> bool:
        """Whether the relation has Athena's hidden ``"$path"`` (data tables; not metadata)."""
        virtual = self.virtual.get((database.lower(), name.lower()))
        return virtual is None or virtual.kind == "snapshot"

    def schema(
        self, wanted: Iterable[tuple[str, str]] | None = None
    ) -> dict[str, dict[str, dict[str, str]]]:
        """``{db: {table: {column: type}}}`` for sqlglot, of the ``wanted`` relations (default:
        every Glue table)."""
        keys = (
            {(d.lower(), t.lower()) for d, t in wanted}
            if wanted is not None
            else {(d, t) for d, names in self.tables.items() for t in names}
        )
        found: dict[str, dict[str, dict[str, str]]] = {}
        for db, name in sorted(keys):
            if not self.exists(db, name):
                continue
            columns = {c.name.lower(): c.hive for c in self.columns(db, name)}
            if self.has_path(db, name):
                columns["$path"] = "string"
            found.setdefault(db, {})[name] = columns
        return found


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
    if kind == "TIMESTAMP":
        # Athena's timestamp is timestamp(3): finer Parquet values are rounded (half up).
        micros = f"epoch_us(CAST({_ident(spelled)} AS TIMESTAMP))"
        return f"make_timestamp(CAST(round({micros} / 1000.0) AS BIGINT) * 1000) AS {_ident(name)}"
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
        # Athena's "$path": the object's S3 URI.
        parts.append(f"'s3://' || substr(__pl_file, {len(str(home)) + 2}) AS \"$path\"")
        listing = "[" + ", ".join(_sql_string(str(f)) for f in files) + "]"
        reader = (
            f"read_parquet({listing}, union_by_name = true, hive_partitioning = false, "
            "filename = '__pl_file')"
        )
        selects.append(f"SELECT {', '.join(parts)} FROM {reader}")
    if not selects:
        empty = [_column_sql(c, {}) for c in columns]
        empty += [_partition_value_sql(k, None) for k in keys]
        empty.append('CAST(NULL AS VARCHAR) AS "$path"')
        return f"SELECT {', '.join(empty)} WHERE false"
    return "\nUNION ALL ".join(selects)


# ---------------------------------------------------------------------------------------------
# Iceberg tables
#
# A Glue entry with ``table_type=ICEBERG`` is read the way Athena reads it: its metadata file
# (``metadata_location``) names the schema, the snapshots and, through the snapshot's manifests,
# the data files; PyIceberg plans the files of the snapshot (the current one, or the one a
# ``FOR VERSION / TIMESTAMP AS OF`` names) and DuckDB reads exactly those, never the folder (it
# also holds the files of older snapshots). Columns are matched by Iceberg field id where the
# files carry ids, else by name, so a renamed column keeps its values and one added later reads
# as NULL in older files.

_ICEBERG_METADATA_COLUMNS: dict[str, tuple[_Column, ...]] = {
    # Trino's Iceberg connector (plugin/trino-iceberg .../system/SnapshotsTable.java, HistoryTable)
    "snapshots": (
        _Column("committed_at", "timestamp(3) with time zone", "timestamp"),
        _Column("snapshot_id", "bigint", "bigint"),
        _Column("parent_id", "bigint", "bigint"),
        _Column("operation", "varchar", "string"),
        _Column("manifest_list", "varchar", "string"),
        _Column("summary", "map(varchar, varchar)", "map<string,string>"),
    ),
    "history": (
        _Column("made_current_at", "timestamp(3) with time zone", "timestamp"),
        _Column("snapshot_id", "bigint", "bigint"),
        _Column("parent_id", "bigint", "bigint"),
        _Column("is_current_ancestor", "boolean", "boolean"),
    ),
    "refs": (
        _Column("name", "varchar", "string"),
        _Column("type", "varchar", "string"),
        _Column("snapshot_id", "bigint", "bigint"),
        _Column("max_reference_age_in_ms", "bigint", "bigint"),
        _Column("min_snapshots_to_keep", "integer", "int"),
        _Column("max_snapshot_age_in_ms", "bigint", "bigint"),
    ),
}
#: metadata tables Athena has that the local engine does not build (refused, not "unknown"):
#: their statistics columns (bounds, per-column min/max) have no exact local rendering yet
_ICEBERG_METADATA_REFUSED = ("files", "manifests", "partitions")


def _iceberg_trino_type(kind: Any) -> str:
    """An Iceberg type -> the Trino type Athena reads it as (timestamps in milliseconds:
    Athena reads and writes Iceberg timestamps at millisecond precision)."""
    from pyiceberg import types as t

    simple = {
        t.BooleanType: "boolean",
        t.IntegerType: "integer",
        t.LongType: "bigint",
        t.FloatType: "real",
        t.DoubleType: "double",
        t.DateType: "date",
        t.TimeType: "time(6)",
        t.TimestampType: "timestamp(3)",
        t.TimestamptzType: "timestamp(3) with time zone",
        t.StringType: "varchar",
        t.UUIDType: "uuid",
        t.BinaryType: "varbinary",
        t.FixedType: "varbinary",
    }
    for cls, name in simple.items():
        if isinstance(kind, cls):
            return name
    if isinstance(kind, t.DecimalType):
        return f"decimal({kind.precision},{kind.scale})"
    if isinstance(kind, t.ListType):
        return f"array({_iceberg_trino_type(kind.element_type)})"
    if isinstance(kind, t.MapType):
        return f"map({_iceberg_trino_type(kind.key_type)}, {_iceberg_trino_type(kind.value_type)})"
    if isinstance(kind, t.StructType):
        inner = ", ".join(f"{f.name} {_iceberg_trino_type(f.field_type)}" for f in kind.fields)
        return f"row({inner})"
    return str(kind)


def _iceberg_hive_type(kind: Any) -> str:
    """An Iceberg type as the Glue catalog (and Athena's DESCRIBE) spells it."""
    from pyiceberg.catalog.glue import _IcebergSchemaToGlueType
    from pyiceberg.schema import visit

    return str(visit(kind, _IcebergSchemaToGlueType()))


def _java_instant(epoch_ms: int) -> str:
    """``java.time.Instant.toString()`` of a millisecond instant (Trino's error texts)."""
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=epoch_ms)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def _sql_literal(value: Any, kind: Any) -> str:
    """An identity partition value (PyIceberg's internal form) as a DuckDB literal."""
    from pyiceberg import types as t

    if value is None:
        return "NULL"
    if isinstance(kind, t.StringType):
        return _sql_string(str(value))
    if isinstance(kind, t.BooleanType):
        return "true" if value else "false"
    if isinstance(kind, t.IntegerType | t.LongType):
        return str(int(value))
    if isinstance(kind, t.DateType):
        day = dt.date(1970, 1, 1) + dt.timedelta(days=int(value))
        return f"DATE '{day.isoformat()}'"
    if isinstance(kind, t.TimestampType | t.TimestamptzType):
        return f"make_timestamp({int(value)})"
    raise _refuse(f"an identity partition value of type {kind} that its data file leaves out")


class _IcebergTable:
    """One Iceberg table of the Glue catalog, opened from its current metadata file."""

    def __init__(self, database: str, name: str, entry: dict[str, Any], home: Path) -> None:
        self.database, self.name, self.home = database, name, home
        location = entry.get("Parameters", {}).get("metadata_location")
        if not location:
            raise QueryError(f"{database}.{name} is an Iceberg table without a metadata_location")
        from phenolake_local.iceberg import static_table

        try:
            self.table = static_table(home, location)
        except Exception as exc:  # a missing or unreadable metadata file, whatever raised it
            raise QueryError(
                f"cannot read the Iceberg metadata of {database}.{name} at {location}: "
                f"{_one_line(exc)}"
            ) from None
        self.metadata = self.table.metadata

    @property
    def quoted(self) -> str:
        return f'"{self.database}"."{self.name}"'

    def schema(self, snapshot_id: int | None = None) -> Any:
        """The current schema, or the schema a snapshot was written with (Trino's time travel
        reads a snapshot with its own schema)."""
        if snapshot_id is not None:
            snapshot = self.metadata.snapshot_by_id(snapshot_id)
            if snapshot is not None and snapshot.schema_id is not None:
                found = self.metadata.schema_by_id(snapshot.schema_id)
                if found is not None:
                    return found
        return self.metadata.schema()

    def columns(self, snapshot_id: int | None = None) -> list[_Column]:
        return [
            _Column(
                f.name,
                _iceberg_trino_type(f.field_type),
                _iceberg_hive_type(f.field_type),
                f.doc or "",
            )
            for f in self.schema(snapshot_id).fields
        ]

    # ---- time travel -----------------------------------------------------------------------

    def snapshot_of_version(self, value: Any, kind: str) -> int:
        """``FOR VERSION AS OF``: a snapshot id (bigint) or a branch / tag name (varchar)."""
        if _is_int(kind):
            if self.metadata.snapshot_by_id(int(value)) is None:
                raise QueryError(f"Iceberg snapshot ID does not exists: {int(value)}")
            return int(value)
        if _is_string(kind):
            ref = self.metadata.refs.get(str(value))
            if ref is None:
                raise QueryError(f"Cannot find snapshot with reference name: {value}")
            return int(ref.snapshot_id)
        raise QueryError(f"Unsupported type for table version: {kind}")

    def snapshot_as_of(self, epoch_ms: int) -> int:
        """``FOR TIMESTAMP AS OF``: the snapshot that was current at that instant."""
        found = None
        for entry in self.metadata.snapshot_log:
            if entry.timestamp_ms <= epoch_ms and (
                found is None or entry.timestamp_ms >= found.timestamp_ms
            ):
                found = entry
        if found is None:
            raise QueryError(
                f"No version history table {self.quoted} at or before {_java_instant(epoch_ms)}"
            )
        return int(found.snapshot_id)

    # ---- rows ------------------------------------------------------------------------------

    def data_sql(self, snapshot_id: int | None, home: Path) -> str:
        """The rows of a snapshot (default: the current one) as one DuckDB SELECT."""
        import pyarrow.parquet as pq
        from pyiceberg.manifest import DataFileContent, FileFormat
        from pyiceberg.transforms import IdentityTransform

        schema = self.schema(snapshot_id)
        fields = list(schema.fields)
        if snapshot_id is None and self.metadata.current_snapshot_id is None:
            tasks = []
        else:
            try:
                tasks = list(self.table.scan(snapshot_id=snapshot_id).plan_files())
            except ValueError as exc:  # PyIceberg plans no equality deletes
                raise _refuse(f"{self.database}.{self.name}: {_one_line(exc)}") from None
        identity = {
            spec.spec_id: {
                f.source_id: index
                for index, f in enumerate(spec.fields)
                if isinstance(f.transform, IdentityTransform)
            }
            for spec in self.metadata.partition_specs
        }
        mapping = self.metadata.name_mapping()
        mapped = {
            name: f.field_id for f in (mapping or []) if f.field_id is not None for name in f.names
        }
        groups: dict[tuple[Any, ...], list[Path]] = {}
        # data file -> the position delete files PyIceberg's planning applies to it (by
        # sequence number); our tables are copy-on-write, but Athena's DELETE and other
        # writers' merge-on-read leave these, and Athena applies them
        deletes: dict[str, list[str]] = {}
        for task in tasks:
            data_file = task.file
            for delete in task.delete_files:
                if delete.content != DataFileContent.POSITION_DELETES or (
                    delete.file_format != FileFormat.PARQUET
                ):
                    raise _refuse(
                        f"the {delete.content.name.lower()} file {delete.file_path} "
                        f"({delete.file_format}) of {self.database}.{self.name}"
                    )
                deletes.setdefault(data_file.file_path, []).append(delete.file_path)
            if data_file.file_format != FileFormat.PARQUET:
                raise _refuse(f"an Iceberg data file in {data_file.file_format} ({self.name})")
            scheme = data_file.file_path.split("://", 1)[0]
            path = local_path(data_file.file_path, home)
            try:
                file_schema = pq.read_schema(path)
            except (OSError, pa.ArrowException) as exc:
                raise QueryError(f"cannot read {path}: {_one_line(exc)}") from None
            by_id: dict[int, str] = {}
            for column in file_schema:
                raw_id = (column.metadata or {}).get(b"PARQUET:field_id")
                if raw_id is not None:
                    by_id[int(raw_id)] = column.name
            if not by_id:
                # a file without ids (imported): the table's name mapping gives them
                by_id = {mapped[n]: n for n in file_schema.names if n in mapped}
            by_name = {n: n for n in file_schema.names} | {
                n.lower(): n for n in file_schema.names if n.lower() not in file_schema.names
            }
            sources: list[tuple[str, str]] = []
            for field in fields:
                physical = (
                    by_id.get(field.field_id)
                    if by_id
                    else by_name.get(field.name, by_name.get(field.name.lower()))
                )
                if physical is not None:
                    sources.append(("column", physical))
                    continue
                position = identity.get(data_file.spec_id, {}).get(field.field_id)
                if position is not None:
                    value = data_file.partition[position]
                    sources.append(("literal", _sql_literal(value, field.field_type)))
                else:
                    sources.append(("null", ""))
            groups.setdefault((scheme, tuple(sources)), []).append(path)
        selects = []
        prefix = len(str(home)) + 2
        for (scheme, sources), paths in groups.items():
            parts = [
                _iceberg_column_sql(field, source)
                for field, source in zip(fields, sources, strict=True)
            ]
            file_path = f"'{scheme}://' || substr(__pl_file, {prefix})"
            parts.append(f'{file_path} AS "$path"')
            listing = "[" + ", ".join(_sql_string(str(p)) for p in paths) + "]"
            reader = (
                f"read_parquet({listing}, union_by_name = true, hive_partitioning = false, "
                "filename = '__pl_file'" + (", file_row_number = true)" if deletes else ")")
            )
            select = f"SELECT {', '.join(parts)} FROM {reader}"
            if deletes:
                select += (
                    f" WHERE NOT EXISTS (SELECT 1 FROM ({_position_deletes_sql(deletes, home)})"
                    f" AS __pl_deleted WHERE __pl_deleted.file_path = {file_path}"
                    " AND __pl_deleted.pos = file_row_number)"
                )
            selects.append(select)
        if not selects:
            empty = [_iceberg_column_sql(f, ("null", "")) for f in fields]
            empty.append('CAST(NULL AS VARCHAR) AS "$path"')
            return f"SELECT {', '.join(empty)} WHERE false"
        return "\nUNION ALL ".join(selects)

    # ---- metadata tables -------------------------------------------------------------------

    def snapshots(self) -> pa.Table:
        rows = [
            {
                "committed_at": _utc_millis(s.timestamp_ms),
                "snapshot_id": s.snapshot_id,
                "parent_id": s.parent_snapshot_id,
                "operation": s.summary.operation.value if s.summary else None,
                "manifest_list": s.manifest_list,
                "summary": list(s.summary.additional_properties.items()) if s.summary else None,
            }
            for s in self.metadata.snapshots
        ]
        return pa.Table.from_pylist(rows, schema=_metadata_arrow_schema("snapshots"))

    def history(self) -> pa.Table:
        ancestors = set()
        snapshot = self.metadata.current_snapshot()
        while snapshot is not None:
            ancestors.add(snapshot.snapshot_id)
            parent = snapshot.parent_snapshot_id
            snapshot = self.metadata.snapshot_by_id(parent) if parent is not None else None
        rows = []
        for entry in self.metadata.snapshot_log:
            snapshot = self.metadata.snapshot_by_id(entry.snapshot_id)
            rows.append(
                {
                    "made_current_at": _utc_millis(entry.timestamp_ms),
                    "snapshot_id": entry.snapshot_id,
                    "parent_id": snapshot.parent_snapshot_id if snapshot else None,
                    "is_current_ancestor": entry.snapshot_id in ancestors,
                }
            )
        return pa.Table.from_pylist(rows, schema=_metadata_arrow_schema("history"))

    def refs(self) -> pa.Table:
        """Branches and tags (Iceberg's RefsTable: type ``BRANCH`` or ``TAG``)."""
        rows = [
            {
                "name": name,
                "type": ref.snapshot_ref_type.value.upper(),
                "snapshot_id": ref.snapshot_id,
                "max_reference_age_in_ms": ref.max_ref_age_ms,
                "min_snapshots_to_keep": ref.min_snapshots_to_keep,
                "max_snapshot_age_in_ms": ref.max_snapshot_age_ms,
            }
            for name, ref in self.metadata.refs.items()
        ]
        return pa.Table.from_pylist(rows, schema=_metadata_arrow_schema("refs"))


def _position_deletes_sql(deletes: dict[str, list[str]], home: Path) -> str:
    """``(file_path, pos)`` of every row the position delete files remove, each delete file
    read only for the data files the planning applied it to (the spec's column names)."""
    selects = []
    for data_path, delete_paths in sorted(deletes.items()):
        listing = ", ".join(
            _sql_string(str(local_path(d, home))) for d in sorted(set(delete_paths))
        )
        selects.append(
            f"SELECT file_path, pos FROM read_parquet([{listing}]) "
            f"WHERE file_path = {_sql_string(data_path)}"
        )
    return " UNION ALL ".join(selects)


def _utc_millis(epoch_ms: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=epoch_ms)


def _metadata_arrow_schema(kind: str) -> pa.Schema:
    arrow = {
        "timestamp(3) with time zone": pa.timestamp("ms", tz="UTC"),
        "bigint": pa.int64(),
        "varchar": pa.string(),
        "boolean": pa.bool_(),
        "integer": pa.int32(),
        "map(varchar, varchar)": pa.map_(pa.string(), pa.string()),
    }
    return pa.schema([(c.name, arrow[c.trino]) for c in _ICEBERG_METADATA_COLUMNS[kind]])


def _iceberg_column_sql(field: Any, source: tuple[str, str]) -> str:
    """One column of the view: the file's column (by field id) or the partition value or
    NULL, as the Trino type's DuckDB type (timestamps rounded to milliseconds, as Athena)."""
    kind = _iceberg_trino_type(field.field_type)
    name = _ident(field.name)
    try:
        duck = _duck_type(kind)
    except Unsupported:
        duck = ""
    what, text = source
    if what == "null":
        return f"CAST(NULL AS {duck or 'VARCHAR'}) AS {name}"
    value = _ident(text) if what == "column" else text
    if _base(kind) in ("timestamp", "timestamptz"):
        micros = f"epoch_us(CAST({value} AS {duck}))"
        rounded = f"make_timestamp(CAST(round({micros} / 1000.0) AS BIGINT) * 1000)"
        return f"CAST({rounded} AS {duck}) AS {name}"
    if duck and _base(kind) not in ("array", "map", "row"):
        return f"CAST({value} AS {duck}) AS {name}"
    # nested values keep the file's shape (DuckDB casts structs by position, not by name)
    return f"{value} AS {name}"


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
    catalog: _Catalog | None = None,
) -> Any:
    """An in-memory DuckDB connection with a view per catalog table (a schema per database,
    the ``database``'s tables also unqualified). ``tables`` limits the views to those
    ``(database, table)`` pairs; by default every table gets one. ``catalog`` is the query's
    own (with its time-travel and metadata relations); by default the home's."""
    if catalog is None:
        catalog = _Catalog(load_catalog(home), home)
    wanted = (
        {(d.lower(), t.lower()) for d, t in tables}
        if tables is not None
        else {(d, t) for d, names in catalog.tables.items() for t in names}
    )
    connection = _open()
    try:
        for db_name in sorted({database.lower(), *catalog.tables}):
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(db_name)}")
        for index, (db_name, name) in enumerate(sorted(wanted)):
            body = _relation_sql(catalog, db_name, name, home, connection, index)
            if body is None:
                continue
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


def _relation_sql(
    catalog: _Catalog, db_name: str, name: str, home: Path, connection: Any, index: int
) -> str | None:
    """The SELECT behind one relation's view: a Hive table's registered partitions, an
    Iceberg table's snapshot, or an Iceberg metadata table (registered as Arrow)."""
    virtual = catalog.virtual.get((db_name, name))
    if virtual is not None:
        base = catalog.iceberg(virtual.database, virtual.table)
        assert base is not None
        if virtual.kind == "snapshot":
            return base.data_sql(virtual.snapshot_id, home)
        arrow = {"snapshots": base.snapshots, "history": base.history, "refs": base.refs}[
            virtual.kind
        ]()
        connection.register(f"__pl_meta_{index}", arrow)
        return f"SELECT * FROM __pl_meta_{index}"
    iceberg = catalog.iceberg(db_name, name)
    if iceberg is not None:
        return iceberg.data_sql(None, home)
    table = catalog.table(db_name, name)
    if table is None:
        return None
    return _table_sql(table, catalog.partitions.get((db_name, name), []), home)


# ---------------------------------------------------------------------------------------------
# Trino semantics: types
#
# Every expression is translated by ``_Translator`` into DuckDB SQL together with its Trino type
# (and, for a ``timestamp with time zone``, its zone). A construct without a translation that
# gives Athena's answer is refused (``Unsupported``); a query Athena itself rejects fails with
# Athena's reason (a type error, an unknown function or column).

_TZ = " with time zone"
_INT_DIGITS = {"tinyint": 3, "smallint": 5, "integer": 10, "bigint": 19}
_INT_RANK = ["tinyint", "smallint", "integer", "bigint"]
_DAY_SECOND = "interval day to second"
_YEAR_MONTH = "interval year to month"
_DUCK_SCALARS = {
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "varbinary": "BLOB",
    "unknown": "INTEGER",
}
_HIVE_TO_TRINO = {
    "string": "varchar",
    "varchar": "varchar",
    "int": "integer",
    "integer": "integer",
    "bigint": "bigint",
    "smallint": "smallint",
    "tinyint": "tinyint",
    "double": "double",
    "float": "real",
    "real": "real",
    "boolean": "boolean",
    "timestamp": "timestamp(3)",
    "date": "date",
    "binary": "varbinary",
}


class Unsupported(QueryError):
    """A valid Athena construct the local engine cannot answer exactly as Athena would."""


def _refuse(construct: str) -> Unsupported:
    return Unsupported(f"not supported by the local engine (Athena would run it): {construct}")


def _split_top(text: str) -> list[str]:
    """``a, map(b, c), d`` -> ``['a', 'map(b, c)', 'd']``."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "(<":
            depth += 1
        elif char in ")>":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _base(kind: str) -> str:
    if kind.startswith("timestamp") and kind.endswith(_TZ):
        return "timestamptz"
    return kind.split("(", 1)[0].strip()


def _args(kind: str) -> list[str]:
    return _split_top(kind[kind.index("(") + 1 : kind.rindex(")")]) if "(" in kind else []


def _is_int(kind: str) -> bool:
    return kind in _INT_DIGITS


def _is_numeric(kind: str) -> bool:
    return _is_int(kind) or _base(kind) in ("decimal", "real", "double")


def _is_string(kind: str) -> bool:
    return _base(kind) in ("varchar", "char")


def _is_time(kind: str) -> bool:
    return _base(kind) in ("date", "timestamp", "timestamptz")


def _decimal_ps(kind: str) -> tuple[int, int]:
    if _is_int(kind):
        return _INT_DIGITS[kind], 0
    precision, scale = (int(a) for a in _args(kind))
    return precision, scale


def _ts_precision(kind: str) -> int:
    return int(_args(kind.removesuffix(_TZ))[0])


def _row_fields(kind: str) -> list[tuple[str, str]]:
    fields = []
    for part in _args(kind):
        name, _, field_type = part.partition(" ")
        fields.append((name.strip('"'), field_type.strip()))
    return fields


def _duck_type(kind: str) -> str:
    """The DuckDB type that holds a Trino type's values."""
    base = _base(kind)
    if base in _DUCK_SCALARS:
        return _DUCK_SCALARS[base]
    if base in ("varchar", "char", "json"):
        return "VARCHAR"
    if base == "decimal":
        precision, scale = _decimal_ps(kind)
        return f"DECIMAL({precision},{scale})"
    if base == "timestamp":
        return "TIMESTAMP"
    if base == "timestamptz":
        return "TIMESTAMPTZ"
    if base == "array":
        return _duck_type(_args(kind)[0]) + "[]"
    if base == "map":
        key, value = _args(kind)
        return f"MAP({_duck_type(key)}, {_duck_type(value)})"
    if base == "row":
        return (
            "STRUCT("
            + ", ".join(f"{_ident(n)} {_duck_type(t)}" for n, t in _row_fields(kind))
            + ")"
        )
    raise _refuse(f"the type {kind}")


class _HiveTypes:
    """Hive DDL types (the Glue catalog's) -> Trino type names, as Athena maps them."""

    def __init__(self, text: str) -> None:
        self.text = text.replace(" ", "").lower()
        self.pos = 0

    def read(self) -> str:
        kind = self._type()
        if self.pos != len(self.text):
            raise ValueError(self.text)
        return kind

    def _word(self) -> str:
        match = re.compile(r"[a-z0-9_]+").match(self.text, self.pos)
        if not match:
            raise ValueError(self.text)
        self.pos = match.end()
        return match.group()

    def _take(self, char: str) -> None:
        if not self.text.startswith(char, self.pos):
            raise ValueError(self.text)
        self.pos += 1

    def _type(self) -> str:
        word = self._word()
        if word == "array":
            self._take("<")
            inner = self._type()
            self._take(">")
            return f"array({inner})"
        if word == "map":
            self._take("<")
            key = self._type()
            self._take(",")
            value = self._type()
            self._take(">")
            return f"map({key}, {value})"
        if word == "struct":
            self._take("<")
            fields = []
            while not self.text.startswith(">", self.pos):
                name = self._word()
                self._take(":")
                fields.append(f"{name} {self._type()}")
                if not self.text.startswith(">", self.pos):
                    self._take(",")
            self._take(">")
            return f"row({', '.join(fields)})"
        if word in ("decimal", "varchar", "char") and self.text.startswith("(", self.pos):
            end = self.text.index(")", self.pos)
            params = self.text[self.pos + 1 : end].split(",")
            self.pos = end + 1
            if word == "decimal":
                scale = params[1] if len(params) > 1 else "0"
                return f"decimal({int(params[0])},{int(scale)})"
            return f"{word}({int(params[0])})"
        if word == "decimal":
            return "decimal(10,0)"  # Hive's default precision and scale
        if word == "char":
            return "char(1)"
        if word not in _HIVE_TO_TRINO:
            raise ValueError(word)
        return _HIVE_TO_TRINO[word]


def trino_type(glue_type: str) -> str:
    """Glue (Hive DDL) type -> the Trino type Athena reads it as; ``""`` when unknown."""
    try:
        return _HiveTypes(glue_type).read()
    except (ValueError, IndexError):
        return ""


def _type_from_ast(node: Any) -> str:
    """A sqlglot DataType (a CAST target) -> Trino type name."""
    text = node.sql(dialect="trino").lower()
    text = re.sub(r"\s+", " ", text).strip()
    return _normal_type(text)


def _normal_type(text: str) -> str:
    text = text.strip()
    aliases = {"int": "integer", "float": "real", "string": "varchar", "double precision": "double"}
    if text in aliases:
        return aliases[text]
    if text in ("timestamp", "timestamp with time zone"):
        return "timestamp(3)" + (_TZ if "zone" in text else "")
    match = re.fullmatch(r"timestamp\((\d)\)( with time zone)?", text)
    if match:
        return f"timestamp({match.group(1)})" + (_TZ if match.group(2) else "")
    if text == "decimal":
        return "decimal(38,0)"
    match = re.fullmatch(r"decimal\((\d+)(?:,\s*(\d+))?\)", text)
    if match:
        return f"decimal({int(match.group(1))},{int(match.group(2) or 0)})"
    base = text.split("(", 1)[0].strip()
    if base == "array":
        return f"array({_normal_type(_args(text)[0])})"
    if base == "map":
        key, value = _args(text)
        return f"map({_normal_type(key)}, {_normal_type(value)})"
    if base == "row":
        fields = []
        for part in _args(text):
            name, _, field_type = part.partition(" ")
            fields.append(f"{name.strip(chr(34))} {_normal_type(field_type)}")
        return f"row({', '.join(fields)})"
    return text


def _common_type(left: str, right: str) -> str | None:
    """Trino's common super type of two types (for CASE, COALESCE, UNION, IN, ...)."""
    if left == right:
        return left
    if left == "unknown":
        return right
    if right == "unknown":
        return left
    if _is_string(left) and _is_string(right):
        if _base(left) == _base(right) == "varchar" and "(" in left and "(" in right:
            return f"varchar({max(int(_args(left)[0]), int(_args(right)[0]))})"
        return "varchar"
    if _is_numeric(left) and _is_numeric(right):
        if "double" in (left, right):
            return "double"
        if "real" in (left, right):
            return "real"
        if _is_int(left) and _is_int(right):
            return max(left, right, key=_INT_RANK.index)
        (p1, s1), (p2, s2) = _decimal_ps(left), _decimal_ps(right)
        scale = max(s1, s2)
        return f"decimal({min(38, max(p1 - s1, p2 - s2) + scale)},{scale})"
    if _base(left) == "timestamp" and _base(right) == "timestamp":
        return f"timestamp({max(_ts_precision(left), _ts_precision(right))})"
    if {_base(left), _base(right)} == {"date", "timestamp"}:
        return left if _base(left) == "timestamp" else right
    if _base(left) == _base(right) == "array":
        inner = _common_type(_args(left)[0], _args(right)[0])
        return f"array({inner})" if inner else None
    if _base(left) == _base(right) == "map":
        (k1, v1), (k2, v2) = _args(left), _args(right)
        key, value = _common_type(k1, k2), _common_type(v1, v2)
        return f"map({key}, {value})" if key and value else None
    return None


def _comparable(left: str, right: str) -> bool:
    if "unknown" in (left, right) or _common_type(left, right):
        return True
    return _is_time(left) and _is_time(right)


# ---------------------------------------------------------------------------------------------
# Trino semantics: time zones


def _zone_key(text: str) -> str:
    """A zone as Trino names it: an IANA id in its canonical spelling, ``UTC``, or ``+hh:mm``."""
    import zoneinfo

    value = text.strip()
    if value.upper() in ("UTC", "Z", "UT", "GMT", "ZULU", "UCT", "ETC/UTC", "ETC/GMT", "ETC/UCT"):
        return "UTC"
    match = re.fullmatch(r"([+-])(\d{1,2})(?::?(\d{2}))?", value)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes > 59:
            raise QueryError(f"Invalid zone offset: {text}")
        if hours == minutes == 0:
            return "UTC"
        return f"{sign}{hours:02d}:{minutes:02d}"
    names = {n.lower(): n for n in zoneinfo.available_timezones()}
    if value.lower() in names:
        return names[value.lower()]
    raise QueryError(f"Time zone not supported: {text}")


_DYNAMIC = "sql:"


def _zone_sql(zone: str) -> str:
    """DuckDB SQL for a zone: a literal, or the expression of a zone that varies by row."""
    return zone.removeprefix(_DYNAMIC) if zone.startswith(_DYNAMIC) else _sql_string(zone)


def _offset_minutes(zone: str) -> int | None:
    """Minutes east of UTC for a fixed-offset zone; None for a region."""
    if zone == "UTC":
        return 0
    match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", zone)
    if not match:
        return None
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    return minutes if match.group(1) == "+" else -minutes


def _wall(instant_sql: str, zone: str) -> str:
    """DuckDB TIMESTAMP: the wall-clock time in ``zone`` of a TIMESTAMPTZ instant."""
    offset = _offset_minutes(zone)
    if offset is None:
        return f"timezone({_zone_sql(zone)}, {instant_sql})"
    if offset == 0:
        return f"CAST({instant_sql} AS TIMESTAMP)"
    return f"(CAST({instant_sql} AS TIMESTAMP) + INTERVAL ({offset}) MINUTE)"


def _instant(wall_sql: str, zone: str) -> str:
    """DuckDB TIMESTAMPTZ: the instant a wall-clock TIMESTAMP in ``zone`` stands for."""
    offset = _offset_minutes(zone)
    if offset is None:
        return f"timezone({_zone_sql(zone)}, {wall_sql})"
    if offset == 0:
        return f"CAST({wall_sql} AS TIMESTAMPTZ)"
    return f"CAST({wall_sql} - INTERVAL ({offset}) MINUTE AS TIMESTAMPTZ)"


_TS_LITERAL = re.compile(
    r"\s*(\d{4,})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,12}))?)?)?\s*(.*?)\s*"
)


def _timestamp_literal(text: str) -> tuple[dt.datetime, int, str | None]:
    """``'2024-10-17 12:00:00.5 America/New_York'`` -> (wall clock, precision, zone)."""
    match = _TS_LITERAL.fullmatch(text)
    if not match:
        raise QueryError(f"Value cannot be cast to timestamp: {text}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    digits = fraction or ""
    if len(digits) > 6:
        raise _refuse(f"timestamp precision above 6 ({text})")
    try:
        wall = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int(digits.ljust(6, "0")) if digits else 0,
        )
    except ValueError:
        raise QueryError(f"Value cannot be cast to timestamp: {text}") from None
    return wall, len(digits), (_zone_key(zone) if zone else None)


# ---------------------------------------------------------------------------------------------
# Trino semantics: expressions


@dataclasses.dataclass(frozen=True)
class _V:
    """A translated expression: DuckDB SQL, its Trino type and, for a ``timestamp with time
    zone`` (held as a DuckDB TIMESTAMPTZ instant), the zone it is shown in."""

    sql: str
    type: str
    zone: str | None = None


_DATE_UNITS_ALL = (
    "millisecond",
    "second",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "quarter",
    "year",
)
_FIELDS = {
    "year": "year",
    "quarter": "quarter",
    "month": "month",
    "week": "week",
    "week_of_year": "week",
    "day": "day",
    "day_of_month": "day",
    "day_of_week": "isodow",
    "dow": "isodow",
    "day_of_year": "dayofyear",
    "doy": "dayofyear",
    "year_of_week": "isoyear",
    "yow": "isoyear",
    "hour": "hour",
    "minute": "minute",
    "second": "second",
    "millisecond": "millisecond",
}
_TIME_OF_DAY_FIELDS = ("hour", "minute", "second", "millisecond")
# Trino's trim() removes Java's whitespace (Character.isWhitespace), not only spaces.
_WHITESPACE = " || ".join(
    f"chr({c})"
    for c in [9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 0x1680, *range(0x2000, 0x2007),
              *range(0x2008, 0x200B), 0x2028, 0x2029, 0x205F, 0x3000]
)  # fmt: skip
_SIMPLE_DOUBLE = {
    "sqrt": "sqrt",
    "cbrt": "cbrt",
    "exp": "exp",
    "ln": "ln",
    "log2": "log2",
    "log10": "log10",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "asin": "asin",
    "acos": "acos",
    "atan": "atan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "degrees": "degrees",
    "radians": "radians",
}
_AGGREGATES = {
    "count", "count_if", "sum", "avg", "min", "max", "arbitrary", "any_value", "bool_and",
    "bool_or", "every", "array_agg", "approx_distinct", "approx_percentile", "histogram",
    "map_agg", "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop", "corr",
    "covar_samp", "covar_pop", "max_by", "min_by", "geometric_mean", "regr_slope",
    "regr_intercept", "checksum", "reduce_agg", "listagg", "multimap_agg",
}  # fmt: skip
_WINDOW_ONLY = {
    "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
    "first_value", "last_value", "nth_value",
}  # fmt: skip


@dataclasses.dataclass
class _Ctx:
    """Where an expression is: the columns in scope, lambda parameters, the select's outputs."""

    env: dict[str, dict[str, _V]]
    lambdas: dict[str, _V] = dataclasses.field(default_factory=dict)
    outputs: dict[str, _V] = dataclasses.field(default_factory=dict)
    parent: _Ctx | None = None

    def with_lambdas(self, params: dict[str, _V]) -> _Ctx:
        return dataclasses.replace(self, lambdas={**self.lambdas, **params})


def _lit(node: Any) -> Any:
    """The Python value of a literal argument (string or number), else raise."""
    from sqlglot import exp

    if isinstance(node, exp.Paren):
        return _lit(node.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        text = node.this
        return int(text) if re.fullmatch(r"\d+", text) else float(text)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return -_lit(node.this)
    raise _NotLiteral


class _NotLiteral(Exception):
    pass


def _literal_string(node: Any, what: str) -> str:
    try:
        value = _lit(node)
    except _NotLiteral:
        raise _refuse(f"{what} that is not a string literal") from None
    if not isinstance(value, str):
        raise QueryError(f"{what} must be a varchar")
    return value


def _double_text(value: float | None) -> str | None:
    """Trino's CAST(double AS varchar): the shortest digits in scientific notation."""
    if value is None:
        return None
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    digits, exponent = _shortest_digits(abs(value))
    mantissa = digits[0] + "." + (digits[1:] or "0")
    return f"{sign}{mantissa}E{exponent}"


def _shortest_digits(value: float) -> tuple[str, int]:
    if value == 0:
        return "0", 0
    text = repr(value)
    mantissa, _, exp_text = text.partition("e")
    exponent = int(exp_text) if exp_text else 0
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    exponent += len(whole.lstrip("0")) - 1 if whole.lstrip("0") else 0
    if not whole.lstrip("0"):
        leading = len(fraction) - len(fraction.lstrip("0"))
        exponent -= leading + 1
    digits = digits.rstrip("0") or "0"
    return digits, exponent


def _re2_replacement(text: str) -> str:
    """A Java regex replacement (``$1``, ``\\$``) in RE2's spelling (``\\1``)."""
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            out.append("\\\\" if following == "\\" else following)
            index += 2
        elif char == "$":
            group = re.match(r"\d+", text[index + 1 :])
            if group is None:
                if text.startswith("${", index):
                    raise _refuse("a named group reference ${name} in a replacement")
                raise QueryError("Illegal group reference in the regexp_replace replacement")
            if len(group.group()) > 1:
                raise _refuse("a group reference above $9 in a replacement")
            out.append("\\" + group.group())
            index += 1 + len(group.group())
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _simple_case(text: str | None, upper: bool) -> str | None:
    """Java's Character.toUpperCase / toLowerCase, code point by code point."""
    if text is None:
        return None
    out = []
    for char in text:
        mapped = char.upper() if upper else char.lower()
        out.append(mapped if len(mapped) == 1 else char)
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def _row_zone(text: str | None) -> str | None:
    """A zone that varies by row, as Trino names it; a region (the local engine shifts a
    row's clock with ICU's zone rules, which take names, not offsets)."""
    if text is None:
        return None
    zone = _zone_key(text)
    if _offset_minutes(zone) not in (None, 0):
        raise ValueError(
            f"not supported by the local engine (Athena would run it): the fixed-offset zone "
            f"{text} in a zone that varies by row"
        )
    return zone


def _luhn_check(text: str | None) -> bool | None:
    """Trino's luhn_check: the Luhn checksum of a string of digits."""
    if text is None:
        return None
    if not text.isdigit():
        raise ValueError("Input contains non-digit character")
    total = 0
    for index, char in enumerate(reversed(text)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _iso_date(text: str | None) -> dt.date | None:
    """Trino's from_iso8601_date: a calendar date, a week date or an ordinal date."""
    if text is None:
        return None
    ordinal = re.fullmatch(r"(\d{4})-(\d{3})", text)
    try:
        if ordinal:
            year, day = int(ordinal.group(1)), int(ordinal.group(2))
            value = dt.date(year, 1, 1) + dt.timedelta(days=day - 1)
            if value.year != year:
                raise ValueError(text)
            return value
        if not re.fullmatch(r"\d{4}-(\d{2}-\d{2}|W\d{2}(-\d)?)", text):
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f'Invalid format: "{text}"') from None


def _decimal_divide(left: str | None, right: str | None, scale: int) -> str | None:
    """Trino's decimal division: exact, rounded half up to the result's scale."""
    if left is None or right is None:
        return None
    a, b = decimal.Decimal(left), decimal.Decimal(right)
    if b == 0:
        raise ValueError("Division by zero")
    with decimal.localcontext() as context:
        context.prec = 80
        quotient = a / b
        return str(quotient.quantize(decimal.Decimal(1).scaleb(-scale), decimal.ROUND_HALF_UP))


def _decimal_modulo(left: str | None, right: str | None, scale: int) -> str | None:
    if left is None or right is None:
        return None
    a, b = decimal.Decimal(left), decimal.Decimal(right)
    if b == 0:
        raise ValueError("Division by zero")
    with decimal.localcontext() as context:
        context.prec = 80
        remainder = a.copy_abs() % b.copy_abs()
        remainder = remainder.copy_sign(a) if remainder else remainder
        return str(remainder.quantize(decimal.Decimal(1).scaleb(-scale)))


# ---------------------------------------------------------------------------------------------
# Trino semantics: formatting (Java's Formatter, Joda and MySQL date patterns)


def _java_double(value: float) -> str:
    """Java's Double.toString."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        if "e" in text:
            text = format(decimal.Decimal(text), "f")
        return text if "." in text else text + ".0"
    return _double_text(value) or ""


_FORMAT_SPEC = re.compile(r"%(?:(\d+)\$)?([-#+ 0,(]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])")


def _java_format(pattern: str, kinds: list[str], values: list[str | None]) -> str:
    """Trino's format(): Java's String.format with Trino's argument conversions."""
    out, position, ordinary = [], 0, 0
    for match in _FORMAT_SPEC.finditer(pattern):
        out.append(pattern[position : match.start()])
        position = match.end()
        index, flags, width, precision, conversion = match.groups()
        if conversion == "%":
            out.append("%")
            continue
        if conversion == "n":
            out.append("\n")
            continue
        if index:
            slot = int(index) - 1
        else:
            slot = ordinary
            ordinary += 1
        if slot >= len(values):
            raise ValueError(f"Invalid format string: {pattern} (missing argument)")
        out.append(_java_field(values[slot], kinds[slot], flags, width, precision, conversion))
    if "%" in pattern[position:]:
        raise ValueError(f"Invalid format string: {pattern}")
    out.append(pattern[position:])
    return "".join(out)


def _java_field(
    raw: str | None, kind: str, flags: str, width: str | None, precision: str | None, conv: str
) -> str:
    lower = conv.lower()
    if lower == "s":
        if raw is None:
            text = "null"
        elif kind == "double":
            text = _java_double(float(raw))
        elif _is_numeric(kind) or _is_string(kind) or kind in ("boolean", "date"):
            text = raw
        else:
            raise ValueError(f"format: %s of a {kind} is not supported locally")
        if precision:
            text = text[: int(precision)]
    elif raw is None:
        text = "null"
    elif lower in ("d", "x", "o"):
        if not _is_int(kind):
            raise ValueError(f"format: %{conv} needs an integer, not {kind}")
        number = int(raw)
        if lower == "d":
            text = format(number, "," if "," in flags else "")
            if "+" in flags and number >= 0:
                text = "+" + text
        else:
            if number < 0:
                number += 1 << 64
            text = format(number, "x" if lower == "x" else "o")
    elif lower in ("f", "e"):
        if _base(kind) not in ("double", "real", "decimal"):
            raise ValueError(f"format: %{conv} needs a floating point number, not {kind}")
        digits = int(precision) if precision is not None else 6
        number = decimal.Decimal(raw) if kind != "double" else decimal.Decimal(repr(float(raw)))
        if lower == "f":
            rounded = number.quantize(decimal.Decimal(1).scaleb(-digits), decimal.ROUND_HALF_UP)
            text = format(rounded, (",." if "," in flags else ".") + f"{digits}f")
        else:
            text = format(number, f".{digits}e").replace("e", "e")
            mantissa, _, exponent = text.partition("e")
            text = f"{mantissa}e{int(exponent):+03d}"
        if "+" in flags and not text.startswith("-"):
            text = "+" + text
    elif lower == "b":
        text = "false" if raw is None else ("true" if raw not in ("false",) else "false")
    else:
        raise ValueError(f"format: the conversion %{conv} is not supported locally")
    if conv.isupper():
        text = text.upper()
    if width and len(text) < int(width):
        if "-" in flags:
            text = text.ljust(int(width))
        elif "0" in flags and lower in ("d", "f", "e", "x", "o"):
            sign = text[0] if text[0] in "+-" else ""
            text = sign + text[len(sign) :].rjust(int(width) - len(sign), "0")
        else:
            text = text.rjust(int(width))
    return text


_JODA_TOKEN = re.compile(r"'(?:[^']|'')*'|([a-zA-Z])\1*|[^a-zA-Z']+")
_JODA_SUPPORTED = set("yYxwMdDeEaKhHkmsSzZC")
_MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _joda_tokens(pattern: str) -> list[tuple[str, int, str]]:
    """(letter, count, literal text) per token of a Joda pattern; letter '' for literals."""
    tokens = []
    for match in _JODA_TOKEN.finditer(pattern):
        text = match.group(0)
        if text.startswith("'"):
            tokens.append(("", 0, "'" if text == "''" else text[1:-1].replace("''", "'")))
        elif text[0].isalpha():
            if text[0] not in _JODA_SUPPORTED:
                raise _refuse(f"the Joda pattern letter {text[0]!r} in {pattern!r}")
            tokens.append((text[0], len(text), ""))
        else:
            tokens.append(("", 0, text))
    return tokens


def _check_joda(pattern: str, parsing: bool = False) -> None:
    for letter, count, _ in _joda_tokens(pattern):
        if letter == "z" and count >= 4:
            raise _refuse(f"the Joda pattern {'z' * count} (long zone names)")
        if parsing and letter and letter in "zZ":
            raise _refuse("parse_datetime of a pattern with a zone (the zone varies by row)")
        if parsing and letter and letter in "YxwCeDKk":
            raise _refuse(f"parse_datetime with the pattern letter {letter!r}")


def _joda_format(instant: dt.datetime | None, pattern: str, zone: str) -> str | None:
    """Joda DateTimeFormat of an instant (naive UTC) shown in ``zone``."""
    if instant is None:
        return None
    import zoneinfo

    aware = instant.replace(tzinfo=dt.UTC)
    offset = _offset_minutes(zone)
    tz = (
        dt.timezone(dt.timedelta(minutes=offset)) if offset is not None else zoneinfo.ZoneInfo(zone)
    )
    local = aware.astimezone(tz)
    out = []
    for letter, count, literal in _joda_tokens(pattern):
        if not letter:
            out.append(literal)
        elif letter in "yY":
            year = local.year
            out.append(f"{year % 100:02d}" if count == 2 else str(year).zfill(count))
        elif letter == "x":
            year = local.isocalendar()[0]
            out.append(f"{year % 100:02d}" if count == 2 else str(year).zfill(count))
        elif letter == "C":
            out.append(str(local.year // 100).zfill(count))
        elif letter == "w":
            out.append(str(local.isocalendar()[1]).zfill(count))
        elif letter == "e":
            out.append(str(local.isoweekday()).zfill(count))
        elif letter == "E":
            name = _DAYS[local.weekday()]
            out.append(name if count >= 4 else name[:3])
        elif letter == "M":
            if count >= 4:
                out.append(_MONTHS[local.month - 1])
            elif count == 3:
                out.append(_MONTHS[local.month - 1][:3])
            else:
                out.append(str(local.month).zfill(count))
        elif letter == "d":
            out.append(str(local.day).zfill(count))
        elif letter == "D":
            out.append(str(local.timetuple().tm_yday).zfill(count))
        elif letter == "a":
            out.append("AM" if local.hour < 12 else "PM")
        elif letter == "K":
            out.append(str(local.hour % 12).zfill(count))
        elif letter == "h":
            out.append(str(local.hour % 12 or 12).zfill(count))
        elif letter == "H":
            out.append(str(local.hour).zfill(count))
        elif letter == "k":
            out.append(str(local.hour or 24).zfill(count))
        elif letter == "m":
            out.append(str(local.minute).zfill(count))
        elif letter == "s":
            out.append(str(local.second).zfill(count))
        elif letter == "S":
            out.append(f"{local.microsecond // 1000:03d}"[:count].ljust(count, "0"))
        elif letter == "Z":
            if count >= 3:
                out.append(zone)
            else:
                minutes = int(local.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
                sign = "+" if minutes >= 0 else "-"
                hours, rest = divmod(abs(minutes), 60)
                out.append(f"{sign}{hours:02d}{':' if count == 2 else ''}{rest:02d}")
        elif letter == "z":
            out.append("UTC" if zone == "UTC" else (local.tzname() or zone))
    return "".join(out)


def _joda_parse(text: str | None, pattern: str) -> dt.datetime | None:
    """Joda parsing of a pattern without zone fields -> naive wall clock (read as UTC)."""
    if text is None:
        return None
    tokens = _joda_tokens(pattern)
    regex, fields = [], []
    for index, (letter, count, literal) in enumerate(tokens):
        if not letter:
            regex.append(re.escape(literal))
            continue
        following, next_count = tokens[index + 1][:2] if index + 1 < len(tokens) else ("", 0)
        fixed = (
            bool(following)
            and following not in "aEzZ"
            and not (following == "M" and next_count >= 3)
        )
        if (letter == "M" and count >= 3) or letter == "E":
            regex.append("([A-Za-z]+)")
        elif letter == "a":
            regex.append("([AaPp][Mm])")
        elif letter == "S":
            regex.append(f"(\\d{{{count}}})" if fixed else "(\\d{1,9})")
        else:
            regex.append(f"(\\d{{{count}}})" if fixed else "([-+]?\\d{1,9})")
        fields.append((letter, count))
    match = re.fullmatch("".join(regex), text, re.IGNORECASE)
    if not match:
        raise ValueError(f'Invalid format: "{text}"')
    values = {"y": 1970, "M": 1, "d": 1, "H": 0, "m": 0, "s": 0, "S": 0}
    pm: bool | None = None
    hour12: int | None = None
    for (letter, count), raw in zip(fields, match.groups(), strict=True):
        if letter == "M" and count >= 3:
            names = [m.lower() for m in _MONTHS]
            short = [m[:3] for m in names]
            key = raw.lower()
            if key in names:
                values["M"] = names.index(key) + 1
            elif key in short:
                values["M"] = short.index(key) + 1
            else:
                raise ValueError(f'Invalid format: "{text}"')
        elif letter == "E":
            continue
        elif letter == "a":
            pm = raw.lower() == "pm"
        elif letter == "h":
            hour12 = int(raw) % 12
        elif letter == "S":
            values["S"] = int(raw.ljust(3, "0")[:3]) * 1000
        elif letter == "y" and count == 2:
            year = int(raw)
            values["y"] = 2000 + year if year < 50 else 1900 + year  # Joda's pivot: 1950..2049
        else:
            values[letter] = int(raw)
    if hour12 is not None:
        values["H"] = hour12 + (12 if pm else 0)
    elif pm:
        values["H"] = values["H"] % 12 + 12
    try:
        return dt.datetime(
            values["y"],
            values["M"],
            values["d"],
            values["H"],
            values["m"],
            values["s"],
            values["S"],
        )
    except ValueError:
        raise ValueError(f'Invalid format: "{text}"') from None


_MYSQL = {
    "a": "%a", "b": "%b", "c": "%-m", "d": "%d", "e": "%-d", "f": "%f", "H": "%H", "h": "%I",
    "I": "%I", "i": "%M", "j": "%j", "k": "%-H", "l": "%-I", "M": "%B", "m": "%m", "p": "%p",
    "r": "%I:%M:%S %p", "S": "%S", "s": "%S", "T": "%H:%M:%S", "v": "%V", "W": "%A",
    "x": "%G", "Y": "%Y", "y": "%y", "%": "%%",
}  # fmt: skip


def _mysql_format(wall: dt.datetime | None, pattern: str) -> str | None:
    """Trino's date_format (MySQL specifiers) of a wall-clock time."""
    if wall is None:
        return None
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "%" and index + 1 < len(pattern):
            spec = pattern[index + 1]
            index += 2
            if spec in "DUuVwX":
                raise ValueError(f"date_format: %{spec} is not supported")
            if spec == "f":
                out.append(f"{wall.microsecond // 1000 * 1000:06d}")
            elif spec in _MYSQL:
                out.append(_strftime(wall, _MYSQL[spec]))
            else:
                out.append(spec)
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _strftime(value: dt.datetime, spec: str) -> str:
    pieces = re.split(r"(%-?[a-zA-Z%])", spec)
    out = []
    for piece in pieces:
        if piece.startswith("%-"):
            out.append(str(int(value.strftime("%" + piece[2:]))))
        elif piece == "%%":
            out.append("%")
        elif piece.startswith("%"):
            out.append(value.strftime(piece))
        else:
            out.append(piece)
    return "".join(out)


def _mysql_parse(text: str | None, pattern: str) -> dt.datetime | None:
    """Trino's date_parse (MySQL specifiers) -> timestamp."""
    if text is None:
        return None
    regex, fields, index = [], [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "%" and index + 1 < len(pattern):
            spec = pattern[index + 1]
            index += 2
            if spec in "YxX":
                regex.append(r"(\d{4})")
            elif spec in "mdHhIisSjkcel":
                regex.append(r"(\d{1,2})" if spec != "j" else r"(\d{1,3})")
            elif spec == "y":
                regex.append(r"(\d{2})")
            elif spec == "f":
                regex.append(r"(\d{1,9})")
            elif spec == "p":
                regex.append(r"([AaPp][Mm])")
            elif spec in "bMaW":
                regex.append(r"([A-Za-z]+)")
            elif spec == "T":
                regex.append(r"(\d{1,2}):(\d{1,2}):(\d{1,2})")
                fields += ["H", "i"]
                spec = "s"
            elif spec == "%":
                regex.append("%")
                continue
            else:
                raise ValueError(f"date_parse: %{spec} is not supported")
            fields.append(spec)
        else:
            regex.append(re.escape(char))
            index += 1
    match = re.fullmatch("".join(regex), text)
    if not match:
        raise ValueError(f'Invalid format: "{text}" is malformed')
    parts = {"Y": 1970, "m": 1, "d": 1, "H": 0, "i": 0, "s": 0, "f": 0}
    pm = None
    for spec, raw in zip(fields, match.groups(), strict=True):
        if spec in "YxX":
            parts["Y"] = int(raw)
        elif spec == "y":
            year = int(raw)
            parts["Y"] = 2000 + year if year < 70 else 1900 + year
        elif spec in "mc":
            parts["m"] = int(raw)
        elif spec in "de":
            parts["d"] = int(raw)
        elif spec in "Hk":
            parts["H"] = int(raw)
        elif spec in "hIl":
            parts["H"] = int(raw) % 12
        elif spec == "i":
            parts["i"] = int(raw)
        elif spec in "sS":
            parts["s"] = int(raw)
        elif spec == "f":
            parts["f"] = int(raw.ljust(3, "0")[:3]) * 1000
        elif spec == "p":
            pm = raw.lower() == "pm"
        elif spec in "bM":
            names = [m.lower() for m in _MONTHS]
            key = raw.lower()
            month = names.index(key) + 1 if key in names else [n[:3] for n in names].index(key) + 1
            parts["m"] = month
    if pm:
        parts["H"] = parts["H"] % 12 + 12
    try:
        return dt.datetime(
            parts["Y"], parts["m"], parts["d"], parts["H"], parts["i"], parts["s"], parts["f"]
        )
    except ValueError:
        raise ValueError(f'Invalid format: "{text}" is malformed') from None


# ---------------------------------------------------------------------------------------------
# Trino semantics: the translator


class _Translator:
    """Athena (Trino) syntax tree, qualified -> DuckDB SQL with Athena's answers."""

    def __init__(self, catalog: _Catalog, database: str) -> None:
        self.catalog = catalog
        self.database = database.lower()
        self.outputs: dict[int, list[tuple[str, _V]]] = {}
        self.calls = 0

    # ---- queries ---------------------------------------------------------------------------

    def run(self, tree: Any) -> tuple[str, list[tuple[str, _V]]]:
        from sqlglot import exp
        from sqlglot.optimizer.scope import traverse_scope

        scopes = traverse_scope(tree)
        if not scopes:
            raise _refuse(f"the statement {tree.key.upper()}")
        for scope in scopes:
            self._scope(scope)
        root = tree.this if isinstance(tree, exp.Subquery) else tree
        return tree.sql(dialect="duckdb"), self.outputs[id(root)]

    def _source_env(self, scope: Any) -> dict[str, dict[str, _V]]:
        from sqlglot import exp

        env: dict[str, dict[str, _V]] = {}
        for alias, source in scope.sources.items():
            if isinstance(source, exp.Table):
                env[alias] = self._table_columns(source, alias)
            elif hasattr(source, "expression"):
                node = source.expression
                outputs = self.outputs.get(id(node))
                if outputs is None:
                    continue
                env[alias] = {
                    name: dataclasses.replace(v, sql=f"{_ident(alias)}.{_ident(name)}")
                    for name, v in outputs
                }
        return env

    def _table_columns(self, table: Any, alias: str) -> dict[str, _V]:
        db = (table.db or self.database).lower()
        name = table.name.lower()
        if db == "information_schema":
            columns = _INFORMATION_SCHEMA.get(name)
            if columns is None:
                raise QueryError(f"Table 'awsdatacatalog.information_schema.{name}' does not exist")
            return {c: _V(f"{_ident(alias)}.{_ident(c)}", t) for c, t in columns}
        if not self.catalog.exists(db, name):
            raise QueryError(f"Table 'awsdatacatalog.{db}.{name}' does not exist")
        columns = {}
        for column in self.catalog.columns(db, name):
            kind = column.trino or "unsupported"
            try:
                _duck_type(kind)
            except Unsupported:
                kind = "unsupported"
            zone = "UTC" if _base(kind) == "timestamptz" else None
            columns[column.name.lower()] = _V(
                f"{_ident(alias)}.{_ident(column.name.lower())}", kind, zone
            )
        if self.catalog.has_path(db, name):
            columns["$path"] = _V(f"{_ident(alias)}.{_ident('$path')}", "varchar")
        return columns

    def _scope(self, scope: Any) -> None:
        from sqlglot import exp

        node = scope.expression
        if isinstance(node, exp.Unnest | exp.Values):
            return  # translated with the FROM clause that holds it
        if isinstance(node, exp.SetOperation):
            self._set_operation(node)
            return
        if not isinstance(node, exp.Select):
            raise _refuse(f"the query form {node.key.upper()}")
        env = dict(self._source_env(scope))
        parent = None
        if scope.parent is not None:
            parent = _Ctx(self._parent_env(scope.parent))
        ctx = _Ctx(env, parent=parent)
        for key in ("laterals", "pivots", "windows", "qualify", "connect", "prewhere", "sample"):
            if node.args.get(key):
                clause = {"windows": "WINDOW", "sample": "TABLESAMPLE"}.get(key, key.upper())
                raise _refuse(f"the clause {clause}")
        from_ = node.args.get("from_")
        if from_ is not None:
            self._from_item(from_, "this", ctx)
        for join in node.args.get("joins") or []:
            self._from_item(join, "this", ctx)
            if join.args.get("on") is not None:
                on = self.expr(join.args["on"], ctx)
                self._boolean(on, "JOIN ... ON")
                join.set("on", _raw(on.sql))
        if node.args.get("where") is not None:
            condition = self.expr(node.args["where"].this, ctx)
            self._boolean(condition, "WHERE")
            node.args["where"].set("this", _raw(condition.sql))
        group = node.args.get("group")
        if group is not None:
            for key in ("rollup", "cube", "grouping_sets", "totals"):
                if group.args.get(key):
                    raise _refuse(f"GROUP BY {key.upper().replace('_', ' ')}")
            items = []
            for item in group.expressions:
                if isinstance(item, exp.Literal) and not item.is_string:
                    items.append(item)
                elif isinstance(item, exp.Rollup | exp.Cube | exp.GroupingSets):
                    items.append(_raw(self._grouping_element(item, ctx)))
                else:
                    items.append(_raw(self.expr(item, ctx).sql))
            group.set("expressions", items)
        outputs: list[tuple[str, _V]] = []
        projections = []
        for projection in node.expressions:
            if isinstance(projection, exp.Alias):
                name, inner = projection.alias, projection.this
            elif isinstance(projection, exp.Column) and not isinstance(projection.this, exp.Star):
                name, inner = projection.name, projection
            else:
                raise _refuse(f"the select item {projection.sql(dialect='trino')}")
            value = self.expr(inner, ctx)
            if value.type == "unsupported":
                raise _refuse(f"a column of a type the local engine does not know ({name})")
            if "interval" in value.type and not _base(value.type).startswith("interval"):
                raise _refuse(f"an interval inside a {_base(value.type)} ({name})")
            outputs.append((name, value))
            projections.append(exp.alias_(_raw(value.sql), name, quoted=True))
        node.set("expressions", projections)
        if node.args.get("having") is not None:
            condition = self.expr(node.args["having"].this, ctx)
            self._boolean(condition, "HAVING")
            node.args["having"].set("this", _raw(condition.sql))
        named = dict(outputs)
        self._order(node, dataclasses.replace(ctx, outputs=named), outputs)
        self._limits(node)
        self.outputs[id(node)] = outputs

    def _grouping_element(self, item: Any, ctx: _Ctx) -> str:
        """ROLLUP (a, b), CUBE (a, b), GROUPING SETS ((a), (a, b), ()): the same grouping sets
        in DuckDB (Trino's select.md, "Complex grouping operations")."""
        from sqlglot import exp

        def column(node: Any) -> str:
            if isinstance(node, exp.Literal) and not node.is_string:
                raise _refuse("a column position inside ROLLUP, CUBE or GROUPING SETS")
            if isinstance(node, exp.Tuple | exp.Paren | exp.Rollup | exp.Cube):
                raise _refuse("a nested grouping element")
            return self.expr(node, ctx).sql

        if isinstance(item, exp.GroupingSets):
            sets = []
            for element in item.expressions:
                if isinstance(element, exp.Tuple):
                    members = element.expressions
                elif isinstance(element, exp.Paren):
                    members = [element.this]
                else:
                    members = [element]
                sets.append("(" + ", ".join(column(m) for m in members) + ")")
            return f"GROUPING SETS ({', '.join(sets)})"
        name = "ROLLUP" if isinstance(item, exp.Rollup) else "CUBE"
        return f"{name} ({', '.join(column(m) for m in item.expressions)})"

    def _e_grouping(self, node: Any, ctx: _Ctx) -> _V:
        return self._f_grouping(node.expressions, ctx)

    def _f_grouping(self, nodes: list[Any], ctx: _Ctx) -> _V:
        # grouping(a, b): an integer, the bit of an argument set when the row's grouping set
        # leaves it out, the first argument the highest bit (aggregate.md, "grouping")
        if not nodes:
            raise QueryError("Unexpected parameters for function grouping")
        args = ", ".join(self.expr(e, ctx).sql for e in nodes)
        return _V(f"CAST(GROUPING({args}) AS INTEGER)", "integer")

    def _parent_env(self, scope: Any) -> dict[str, dict[str, _V]]:
        env = dict(self._source_env(scope))
        if scope.parent is not None:
            for alias, columns in self._parent_env(scope.parent).items():
                env.setdefault(alias, columns)
        return env

    def _set_operation(self, node: Any) -> None:
        from sqlglot import exp

        def outputs_of(side: Any) -> list[tuple[str, _V]]:
            while isinstance(side, exp.Subquery):
                side = side.this
            found = self.outputs.get(id(side))
            if found is None:
                raise _refuse("this set operation")
            return found

        left, right = outputs_of(node.left), outputs_of(node.right)
        if len(left) != len(right):
            raise QueryError(
                f"{node.key.upper()} query has different number of fields: "
                f"{len(left)}, {len(right)}"
            )
        outputs = []
        for (name, a), (_, b) in zip(left, right, strict=True):
            kind = _common_type(a.type, b.type)
            if kind is None or a.zone != b.zone:
                raise QueryError(
                    f"column {name} in {node.key.upper()} query has incompatible types: "
                    f"{a.type}, {b.type}"
                )
            outputs.append((name, _V(_ident(name), kind, a.zone)))
        self._order(node, _Ctx({}, outputs=dict(outputs)), outputs)
        self._limits(node)
        self.outputs[id(node)] = outputs

    def _order(self, node: Any, ctx: _Ctx, outputs: list[tuple[str, _V]]) -> None:
        from sqlglot import exp

        order = node.args.get("order")
        if order is None:
            return
        items = []
        for ordered in order.expressions:
            target = ordered.this
            if isinstance(target, exp.Literal) and not target.is_string:
                position = int(target.this)
                if not 1 <= position <= len(outputs):
                    raise QueryError(f"ORDER BY position {position} is not in select list")
                sql = str(position)
            elif isinstance(target, exp.Column) and not target.table and target.name in ctx.outputs:
                sql = _ident(target.name)
            else:
                sql = self.expr(target, ctx).sql
            direction = "DESC" if ordered.args.get("desc") else "ASC"
            nulls = "NULLS FIRST" if ordered.args.get("nulls_first") else "NULLS LAST"
            items.append(_raw(f"{sql} {direction} {nulls}"))
        order.set("expressions", items)

    def _limits(self, node: Any) -> None:
        for key in ("limit", "offset"):
            clause = node.args.get(key)
            if clause is None:
                continue
            value = clause.args.get("expression")
            try:
                count = _lit(value)
            except _NotLiteral:
                raise _refuse(f"{key.upper()} with an expression") from None
            if not isinstance(count, int):
                raise QueryError(f"{key.upper()} must be an integer")
        if node.args.get("fetch") is not None:
            raise _refuse("FETCH FIRST (use LIMIT)")

    def _from_item(self, holder: Any, key: str, ctx: _Ctx) -> None:
        from sqlglot import exp

        item = holder.args.get(key)
        if isinstance(item, exp.Unnest):
            alias, columns, sql = self._unnest(item, ctx)
            ctx.env[alias] = columns
            holder.set(key, _raw(sql))
        elif isinstance(item, exp.Values):
            alias, columns, sql = self._values_clause(item, ctx)
            ctx.env[alias] = columns
            holder.set(key, _raw(sql))
        elif isinstance(item, exp.Table):
            if not isinstance(item.this, exp.Identifier):
                raise _refuse(f"the table function {item.sql(dialect='trino')}")
            if item.args.get("sample") or item.args.get("version"):
                raise _refuse("TABLESAMPLE / time travel")
        elif isinstance(item, exp.Subquery):
            if item.args.get("sample"):
                raise _refuse("TABLESAMPLE")
        elif item is not None:
            raise _refuse(f"the FROM item {item.sql(dialect='trino')}")

    def _unnest(self, node: Any, ctx: _Ctx) -> tuple[str, dict[str, _V], str]:
        alias_node = node.args.get("alias")
        alias = alias_node.name if alias_node is not None and alias_node.name else "_unnest"
        names = [c.name for c in alias_node.columns] if alias_node is not None else []
        pieces: list[tuple[str, str, str | None]] = []
        arrays = [self.expr(e, ctx) for e in node.expressions]
        lengths = []
        for value in arrays:
            base = _base(value.type)
            if base == "array":
                inner = _args(value.type)[0]
                if _base(inner) == "row":
                    raise _refuse("UNNEST of an array of rows")
                pieces.append((f"UNNEST({value.sql})", inner, value.zone))
                lengths.append(f"len({value.sql})")
            elif base == "map":
                key, val = _args(value.type)
                pieces.append((f"UNNEST(map_keys({value.sql}))", key, None))
                pieces.append((f"UNNEST(map_values({value.sql}))", val, None))
                lengths.append(f"cardinality({value.sql})")
            else:
                raise QueryError(f"Cannot unnest type: {value.type}")
        offset = node.args.get("offset")
        if offset:
            longest = lengths[0] if len(lengths) == 1 else f"greatest({', '.join(lengths)})"
            pieces.append((f"UNNEST(range(1, coalesce({longest}, 0) + 1))", "bigint", None))
            from sqlglot import exp

            if isinstance(offset, exp.Identifier) and len(names) < len(pieces):
                names = [*names, offset.name]
        if len(names) < len(pieces):
            names = names + [f"_col{i}" for i in range(len(names), len(pieces))]
        if len(names) != len(pieces):
            raise QueryError(
                f"Column alias list has {len(names)} entries but UNNEST has {len(pieces)} columns"
            )
        select = ", ".join(
            f"{sql} AS {_ident(n)}" for (sql, _, _), n in zip(pieces, names, strict=True)
        )
        columns = {
            n.lower(): _V(f"{_ident(alias)}.{_ident(n)}", kind, zone)
            for (_, kind, zone), n in zip(pieces, names, strict=True)
        }
        return alias, columns, f"LATERAL (SELECT {select}) AS {_ident(alias)}"

    def _values_clause(self, node: Any, ctx: _Ctx) -> tuple[str, dict[str, _V], str]:
        from sqlglot import exp

        alias_node = node.args.get("alias")
        alias = alias_node.name if alias_node is not None and alias_node.name else "_values"
        rows = []
        for row in node.expressions:
            cells = row.expressions if isinstance(row, exp.Tuple) else [row]
            rows.append([self.expr(c, ctx) for c in cells])
        width = len(rows[0])
        if any(len(r) != width for r in rows):
            raise QueryError("VALUES rows have different numbers of columns")
        kinds = []
        for index in range(width):
            kind = rows[0][index].type
            for row in rows[1:]:
                merged = _common_type(kind, row[index].type)
                if merged is None:
                    raise QueryError(
                        f"VALUES column {index + 1} has incompatible types: {kind}, "
                        f"{row[index].type}"
                    )
                kind = merged
            zones = {r[index].zone for r in rows}
            if len(zones) > 1:
                raise _refuse("VALUES with timestamps in different zones in one column")
            kinds.append((kind, zones.pop()))
        names = [c.name for c in alias_node.columns] if alias_node is not None else []
        names += [f"_col{i}" for i in range(len(names), width)]
        body = ", ".join(
            "("
            + ", ".join(self._coerce(v, k).sql for v, (k, _) in zip(r, kinds, strict=True))
            + ")"
            for r in rows
        )
        columns = {
            n.lower(): _V(f"{_ident(alias)}.{_ident(n)}", k, z)
            for n, (k, z) in zip(names, kinds, strict=True)
        }
        column_list = ", ".join(_ident(n) for n in names)
        return alias, columns, f"(VALUES {body}) AS {_ident(alias)}({column_list})"

    # ---- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _boolean(value: _V, where: str) -> None:
        if value.type not in ("boolean", "unknown"):
            raise QueryError(f"{where} clause must evaluate to a boolean: actual type {value.type}")

    def _coerce(self, value: _V, kind: str) -> _V:
        """The value as ``kind`` (an implicit coercion Trino would make)."""
        if value.type == kind:
            return value
        if value.type == "unknown":
            return _V(f"CAST({value.sql} AS {_duck_type(kind)})", kind)
        if _base(kind) == "timestamptz" and _base(value.type) in ("date", "timestamp"):
            return _V(f"CAST({value.sql} AS TIMESTAMPTZ)", kind, "UTC")
        return _V(f"CAST({value.sql} AS {_duck_type(kind)})", kind, value.zone)

    def _unify(self, values: list[_V], what: str) -> tuple[str, str | None, list[_V]]:
        kind = "unknown"
        for value in values:
            merged = _common_type(kind, value.type)
            if merged is None:
                if _is_time(kind) and _is_time(value.type):
                    merged = kind if _base(kind) == "timestamptz" else value.type
                else:
                    raise QueryError(
                        f"All {what} values must be the same type: {kind}, {value.type}"
                    )
            kind = merged
        zones = {v.zone for v in values if v.type.endswith(_TZ)}
        if len(zones) > 1:
            raise _refuse(f"{what} over timestamps in different zones")
        zone = zones.pop() if zones else ("UTC" if kind.endswith(_TZ) else None)
        return kind, zone, [self._coerce(v, kind) for v in values]

    # ---- expressions -----------------------------------------------------------------------

    def expr(self, node: Any, ctx: _Ctx) -> _V:
        from sqlglot import exp

        if isinstance(node, _RAW_TYPES):
            raise _refuse("an expression translated twice")
        method = getattr(self, f"_e_{type(node).__name__.lower()}", None)
        if method is None:
            raise _refuse(f"the expression {node.sql(dialect='trino')[:60]}")
        value = method(node, ctx)
        del exp
        return value

    def _e_paren(self, node: Any, ctx: _Ctx) -> _V:
        inner = self.expr(node.this, ctx)
        return dataclasses.replace(inner, sql=f"({inner.sql})")

    def _e_literal(self, node: Any, ctx: _Ctx) -> _V:
        text = node.this
        if node.is_string:
            return _V(_sql_string(text), f"varchar({len(text)})")
        if re.fullmatch(r"\d+", text):
            number = int(text)
            if number <= 2**31 - 1:
                return _V(text, "integer")
            if number <= 2**63 - 1:
                return _V(f"CAST({text} AS BIGINT)", "bigint")
            raise QueryError(f"Invalid numeric literal: {text}")
        if re.fullmatch(r"\d*\.\d*", text):
            whole, _, fraction = text.partition(".")
            digits = (whole.lstrip("0") + fraction) or "0"
            precision = max(len(digits.lstrip("0")) or 1, len(fraction), 1)
            scale = len(fraction)
            precision = max(precision, scale)
            if precision > 38:
                return _V(f"CAST({_sql_string(text)} AS DOUBLE)", "double")
            return _V(
                f"CAST({_sql_string(text)} AS DECIMAL({precision},{scale}))",
                f"decimal({precision},{scale})",
            )
        return _V(f"CAST({_sql_string(text)} AS DOUBLE)", "double")

    def _e_boolean(self, node: Any, ctx: _Ctx) -> _V:
        return _V("true" if node.this else "false", "boolean")

    def _e_null(self, node: Any, ctx: _Ctx) -> _V:
        return _V("NULL", "unknown")

    def _e_column(self, node: Any, ctx: _Ctx) -> _V:
        from sqlglot import exp

        if isinstance(node.this, exp.Star):
            raise _refuse("a star in this position")
        name = node.name.lower() if not node.this.quoted else node.name
        table = node.table
        if node.args.get("db"):
            raise _refuse(f"the column reference {node.sql(dialect='trino')}")
        if not table:
            if name in ctx.lambdas:
                return ctx.lambdas[name]
            if name in ctx.outputs:
                return dataclasses.replace(ctx.outputs[name], sql=_ident(name))
            matches = [cols[name] for cols in ctx.env.values() if name in cols]
            if len(matches) == 1:
                return matches[0]
            raise QueryError(f"Column '{node.name}' cannot be resolved")
        scope: _Ctx | None = ctx
        while scope is not None:
            columns = scope.env.get(table)
            if columns is not None:
                if name in columns:
                    return columns[name]
                lowered = name.lower()
                if lowered in columns:
                    return columns[lowered]
                break
            scope = scope.parent
        raise QueryError(f"Column '{node.name}' cannot be resolved")

    def _e_identifier(self, node: Any, ctx: _Ctx) -> _V:
        name = node.name.lower()
        if name in ctx.lambdas:
            return ctx.lambdas[name]
        raise QueryError(f"Column '{node.name}' cannot be resolved")

    def _e_dot(self, node: Any, ctx: _Ctx) -> _V:
        base = self.expr(node.this, ctx)
        field = node.expression.name.lower()
        if _base(base.type) != "row":
            raise QueryError(f"Expression {node.this.sql(dialect='trino')} is not of type ROW")
        for name, kind in _row_fields(base.type):
            if name.lower() == field:
                return _V(f"struct_extract({base.sql}, {_sql_string(name)})", kind)
        raise QueryError(f"Column '{field}' cannot be resolved")

    # arithmetic

    def _arith(self, op: str, left: _V, right: _V) -> _V:
        lt, rt = left.type, right.type
        if "unknown" in (lt, rt):
            other = rt if lt == "unknown" else lt
            if op in "*/" and _base(other).startswith("interval"):
                return _V("CAST(NULL AS INTERVAL)", other)
            return _V("NULL", other if _is_numeric(other) else "unknown")
        if _is_numeric(lt) and _is_numeric(rt):
            return self._numeric(op, left, right)
        if op in "+-" and _base(rt).startswith("interval") and _is_time(lt):
            return self._shift(left, right, op)
        if op == "+" and _base(lt).startswith("interval") and _is_time(rt):
            return self._shift(right, left, op)
        if op in "+-" and _base(lt).startswith("interval") and lt == rt:
            days = "days" if left.zone == right.zone == "days" else None
            return _V(f"({left.sql} {op} {right.sql})", lt, days)
        if op == "*" and rt == _DAY_SECOND and _is_numeric(lt):
            return self._scale_interval(right, left, op)
        if op in "*/" and lt == _DAY_SECOND and _is_numeric(rt):
            return self._scale_interval(left, right, op)
        if op in "*/" and _YEAR_MONTH in (lt, rt) and (_is_numeric(lt) or _is_numeric(rt)):
            raise _refuse(f"{lt} {op} {rt}")
        if op == "-" and {_base(lt), _base(rt)} <= {"timestamp", "timestamptz"}:
            return self._timestamp_difference(left, right)
        if op == "-" and "date" in (_base(lt), _base(rt)) and _is_time(lt) and _is_time(rt):
            raise _refuse(f"{lt} - {rt}")
        raise QueryError(f"Cannot apply operator: {lt} {op} {rt}")

    def _scale_interval(self, interval: _V, factor: _V, op: str) -> _V:
        """Trino's IntervalDayTimeOperators: milliseconds times a bigint, or times (over) a
        double truncated toward zero (Java's ``(long)``); an integer coerces to bigint, a
        decimal or real to double; no division by a bigint (it coerces to double)."""
        if _is_int(factor.type) and op == "*":
            days = "days" if interval.zone == "days" else None
            return _V(f"(CAST({factor.sql} AS BIGINT) * {interval.sql})", _DAY_SECOND, days)
        number = f"CAST({factor.sql} AS DOUBLE)"
        if op == "*":
            check = f"WHEN isnan({number}) THEN error('Cannot multiply by double NaN') "
            scaled = f"CAST(epoch_ms({interval.sql}) AS DOUBLE) * {number}"
        else:
            check = (
                f"WHEN isnan({number}) OR {number} = 0 THEN error('Cannot divide by double ' "
                f"|| CASE WHEN isnan({number}) THEN 'NaN' ELSE CAST({number} AS VARCHAR) END) "
            )
            scaled = f"CAST(epoch_ms({interval.sql}) AS DOUBLE) / {number}"
        sql = (
            f"(CASE WHEN {interval.sql} IS NULL OR {number} IS NULL THEN NULL {check}"
            f"ELSE to_milliseconds(CAST(trunc({scaled}) AS BIGINT)) END)"
        )
        return _V(sql, _DAY_SECOND)

    def _timestamp_difference(self, left: _V, right: _V) -> _V:
        """timestamp(p) - timestamp(p) (or two instants): an interval day to second. Plain
        timestamps: the microseconds apart rounded half up to milliseconds (TimestampOperators'
        TimestampMinusTimestamp); instants: the epoch milliseconds apart, then one more or less
        when the sub-millisecond parts differ by half a millisecond or more
        (TimestampWithTimeZoneOperators)."""
        if _base(left.type) == _base(right.type) == "timestamp":
            micros = f"(epoch_us({left.sql}) - epoch_us({right.sql}))"
            return _V(f"to_milliseconds(__pl_round_us_to_ms({micros}))", _DAY_SECOND)
        # a plain timestamp is an instant in the session zone (UTC on Athena)
        left, right = (
            self._coerce(v, "timestamp(3) with time zone") if _base(v.type) == "timestamp" else v
            for v in (left, right)
        )
        sql = f"__pl_instant_diff_ms(epoch_us({left.sql}), epoch_us({right.sql}))"
        return _V(f"to_milliseconds({sql})", _DAY_SECOND)

    def _numeric(self, op: str, left: _V, right: _V) -> _V:
        lt, rt = left.type, right.type
        if "double" in (lt, rt) or "real" in (lt, rt):
            kind = "double" if "double" in (lt, rt) else "real"
            duck = _duck_type(kind)
            a, b = f"CAST({left.sql} AS {duck})", f"CAST({right.sql} AS {duck})"
            if op == "/":
                return _V(f"({a} / {b})", kind)  # IEEE: x/0 is +-Infinity or NaN, as on Trino
            if op == "%":
                return _V(f"fmod({a}, {b})", kind)
            return _V(f"({a} {op} {b})", kind)
        if _is_int(lt) and _is_int(rt):
            kind = max(lt, rt, key=_INT_RANK.index)
            duck = _duck_type(kind)
            a, b = f"CAST({left.sql} AS {duck})", f"CAST({right.sql} AS {duck})"
            if op in "/%":
                function = "__pl_int_div" if op == "/" else "__pl_int_mod"
                return _V(f"CAST({function}({a}, {b}) AS {duck})", kind)
            return _V(f"({a} {op} {b})", kind)
        (p1, s1), (p2, s2) = _decimal_ps(lt), _decimal_ps(rt)
        if op in "+-":
            scale = max(s1, s2)
            precision = min(38, 1 + scale + max(p1 - s1, p2 - s2))
        elif op == "*":
            precision, scale = min(38, p1 + p2), s1 + s2
            if scale > 38:
                raise QueryError("DECIMAL scale must be in range [0, precision]")
        elif op == "/":
            scale = max(s1, s2)
            precision = min(38, p1 + s2 + max(0, s2 - s1))
        else:
            scale = max(s1, s2)
            precision = min(38, min(p1 - s1, p2 - s2) + scale)
        kind = f"decimal({precision},{scale})"
        a = f"CAST({left.sql} AS DECIMAL({p1},{s1}))"
        b = f"CAST({right.sql} AS DECIMAL({p2},{s2}))"
        if op in "/%":
            function = "__pl_decimal_div" if op == "/" else "__pl_decimal_mod"
            return _V(
                f"CAST({function}(CAST({a} AS VARCHAR), CAST({b} AS VARCHAR), {scale}) "
                f"AS DECIMAL({precision},{scale}))",
                kind,
            )
        wide_a = f"CAST({a} AS DECIMAL(38,{s1}))"
        wide_b = f"CAST({b} AS DECIMAL(38,{s2}))"
        return _V(f"CAST(({wide_a} {op} {wide_b}) AS DECIMAL({precision},{scale}))", kind)

    def _shift(self, moment: _V, interval: _V, op: str) -> _V:
        base = _base(moment.type)
        months = interval.type == "interval year to month"
        if base == "date":
            shifted = f"CAST(({moment.sql} {op} {interval.sql}) AS DATE)"
            if not months and interval.zone != "days":
                # whole days only, checked on the value (DateTimeOperators.datePlusInterval...)
                shifted = (
                    f"CASE WHEN epoch_ms({interval.sql}) % 86400000 <> 0 "
                    f"THEN error('Cannot add hour, minutes or seconds to a date') "
                    f"ELSE {shifted} END"
                )
            return _V(shifted, "date")
        kind = moment.type
        if not months and _ts_precision(kind) < 3:
            # timestamp(p) +- interval day to second is timestamp(max(3, p)) (TimestampOperators)
            kind = kind.replace(f"({_ts_precision(kind)})", "(3)", 1)
        if base == "timestamp":
            return _V(f"({moment.sql} {op} {interval.sql})", kind)
        zone = moment.zone or "UTC"
        if months:
            # Months move the wall clock in the value's zone; day-to-second intervals are a
            # duration (Trino adds milliseconds to the instant).
            wall = _wall(moment.sql, zone)
            return _V(_instant(f"({wall} {op} {interval.sql})", zone), kind, zone)
        return _V(f"({moment.sql} {op} {interval.sql})", kind, zone)

    def _e_add(self, node: Any, ctx: _Ctx) -> _V:
        return self._arith("+", self.expr(node.this, ctx), self.expr(node.expression, ctx))

    def _e_sub(self, node: Any, ctx: _Ctx) -> _V:
        return self._arith("-", self.expr(node.this, ctx), self.expr(node.expression, ctx))

    def _e_mul(self, node: Any, ctx: _Ctx) -> _V:
        return self._arith("*", self.expr(node.this, ctx), self.expr(node.expression, ctx))

    def _e_div(self, node: Any, ctx: _Ctx) -> _V:
        return self._arith("/", self.expr(node.this, ctx), self.expr(node.expression, ctx))

    def _e_mod(self, node: Any, ctx: _Ctx) -> _V:
        return self._arith("%", self.expr(node.this, ctx), self.expr(node.expression, ctx))

    def _e_neg(self, node: Any, ctx: _Ctx) -> _V:
        from sqlglot import exp

        if isinstance(node.this, exp.Literal) and not node.this.is_string:
            text = node.this.this
            if text == "2147483648":
                return _V("CAST(-2147483648 AS INTEGER)", "integer")
            if text == "9223372036854775808":
                return _V("CAST(-9223372036854775808 AS BIGINT)", "bigint")
        inner = self.expr(node.this, ctx)
        if _base(inner.type).startswith("interval"):
            return _V(f"(- {inner.sql})", inner.type, inner.zone)
        if not _is_numeric(inner.type) and inner.type != "unknown":
            raise QueryError(f"Cannot negate {inner.type}")
        return _V(f"(- {inner.sql})", inner.type)

    def _e_interval(self, node: Any, ctx: _Ctx) -> _V:
        from sqlglot import exp

        unit = (node.text("unit") or "").lower()
        this = node.this
        try:
            amount = _lit(this)
        except _NotLiteral:
            raise _refuse("an INTERVAL whose amount is not a literal") from None
        text = str(amount).strip()
        if unit.endswith("s"):
            unit = unit[:-1]
        if not re.fullmatch(r"-?\d+", text) or unit not in (
            "year", "month", "day", "hour", "minute", "second",
        ):  # fmt: skip
            if isinstance(node.args.get("unit"), exp.IntervalSpan):
                raise _refuse("an INTERVAL ... TO ... span")
            raise _refuse(f"the interval {node.sql(dialect='trino')}")
        kind = "interval year to month" if unit in ("year", "month") else "interval day to second"
        return _V(f"INTERVAL ({int(text)}) {unit.upper()}", kind, "days" if unit == "day" else None)

    # comparisons and logic

    def _compare(self, op: str, node: Any, ctx: _Ctx) -> _V:
        left, right = self.expr(node.this, ctx), self.expr(node.expression, ctx)
        if not _comparable(left.type, right.type):
            raise QueryError(f"Cannot apply operator: {left.type} {op} {right.type}")
        if _base(left.type) in ("map",) and op not in ("=", "<>"):
            raise QueryError(f"Cannot apply operator: {left.type} {op} {right.type}")
        return _V(f"({left.sql} {op} {right.sql})", "boolean")

    def _e_eq(self, node: Any, ctx: _Ctx) -> _V:
        return self._compare("=", node, ctx)

    def _e_neq(self, node: Any, ctx: _Ctx) -> _V:
        return self._compare("<>", node, ctx)

    def _e_gt(self, node: Any, ctx: _Ctx) -> _V:
        return self._compare(">", node, ctx)

    def _e_gte(self, node: Any, ctx: _Ctx) -> _V:
        return self._compare(">=", node, ctx)

    def _e_lt(self, node: Any, ctx: _Ctx) -> _V:
        return self._compare("<", node, ctx)

    def _e_lte(self, node: Any, ctx: _Ctx) -> _V:
        return self._compare("<=", node, ctx)

    def _e_nullsafeeq(self, node: Any, ctx: _Ctx) -> _V:
        return self._compare("IS NOT DISTINCT FROM", node, ctx)

    def _e_nullsafeneq(self, node: Any, ctx: _Ctx) -> _V:
        return self._compare("IS DISTINCT FROM", node, ctx)

    def _logic(self, op: str, node: Any, ctx: _Ctx) -> _V:
        left, right = self.expr(node.this, ctx), self.expr(node.expression, ctx)
        for side in (left, right):
            if side.type not in ("boolean", "unknown"):
                raise QueryError(f"{op} operand must be boolean, not {side.type}")
        return _V(f"({left.sql} {op} {right.sql})", "boolean")

    def _e_and(self, node: Any, ctx: _Ctx) -> _V:
        return self._logic("AND", node, ctx)

    def _e_or(self, node: Any, ctx: _Ctx) -> _V:
        return self._logic("OR", node, ctx)

    def _e_not(self, node: Any, ctx: _Ctx) -> _V:
        inner = self.expr(node.this, ctx)
        if inner.type not in ("boolean", "unknown"):
            raise QueryError(f"NOT operand must be boolean, not {inner.type}")
        return _V(f"(NOT {inner.sql})", "boolean")

    def _e_is(self, node: Any, ctx: _Ctx) -> _V:
        from sqlglot import exp

        inner = self.expr(node.this, ctx)
        target = node.expression
        if isinstance(target, exp.Null):
            return _V(f"({inner.sql} IS NULL)", "boolean")
        if isinstance(target, exp.Boolean):
            return _V(f"({inner.sql} IS {'TRUE' if target.this else 'FALSE'})", "boolean")
        raise _refuse(f"IS {target.sql(dialect='trino')}")

    def _e_between(self, node: Any, ctx: _Ctx) -> _V:
        value = self.expr(node.this, ctx)
        low, high = self.expr(node.args["low"], ctx), self.expr(node.args["high"], ctx)
        for bound in (low, high):
            if not _comparable(value.type, bound.type):
                raise QueryError(
                    f"Cannot check if {value.type} is BETWEEN {low.type} and {high.type}"
                )
        return _V(f"({value.sql} BETWEEN {low.sql} AND {high.sql})", "boolean")

    def _e_in(self, node: Any, ctx: _Ctx) -> _V:
        value = self.expr(node.this, ctx)
        query = node.args.get("query")
        if query is not None:
            sub = self._subquery_outputs(query)
            if len(sub) != 1:
                raise QueryError("Multiple columns returned by subquery are not yet supported")
            if not _comparable(value.type, sub[0][1].type):
                raise QueryError(
                    "Value expression and result of subquery must be of the same type: "
                    f"{value.type} vs {sub[0][1].type}"
                )
            return _V(f"({value.sql} IN {query.sql(dialect='duckdb')})", "boolean")
        if node.args.get("unnest") or node.args.get("field"):
            raise _refuse("this IN form")
        items = [self.expr(e, ctx) for e in node.expressions]
        for item in items:
            if not _comparable(value.type, item.type):
                raise QueryError(
                    f"IN value and list items must be the same type: {value.type}, {item.type}"
                )
        return _V(f"({value.sql} IN ({', '.join(i.sql for i in items)}))", "boolean")

    def _subquery_outputs(self, node: Any) -> list[tuple[str, _V]]:
        from sqlglot import exp

        inner = node
        while isinstance(inner, exp.Subquery):
            inner = inner.this
        found = self.outputs.get(id(inner))
        if found is None:
            raise _refuse("this subquery")
        return found

    def _e_subquery(self, node: Any, ctx: _Ctx) -> _V:
        outputs = self._subquery_outputs(node)
        if len(outputs) != 1:
            raise QueryError("Multiple columns returned by subquery are not yet supported")
        value = outputs[0][1]
        return _V(f"({node.this.sql(dialect='duckdb')})", value.type, value.zone)

    def _e_exists(self, node: Any, ctx: _Ctx) -> _V:
        self._subquery_outputs(node.this)
        return _V(f"EXISTS ({node.this.sql(dialect='duckdb')})", "boolean")

    def _like(self, node: Any, ctx: _Ctx, escape: _V | None) -> _V:
        value, pattern = self.expr(node.this, ctx), self.expr(node.expression, ctx)
        for side in (value, pattern):
            if not _is_string(side.type) and side.type != "unknown":
                raise QueryError(f"Cannot apply operator: {value.type} LIKE {pattern.type}")
        tail = f" ESCAPE {escape.sql}" if escape is not None else " ESCAPE ''"
        return _V(f"({value.sql} LIKE {pattern.sql}{tail})", "boolean")

    def _e_like(self, node: Any, ctx: _Ctx) -> _V:
        return self._like(node, ctx, None)

    def _e_escape(self, node: Any, ctx: _Ctx) -> _V:
        from sqlglot import exp

        if not isinstance(node.this, exp.Like):
            raise _refuse("ESCAPE here")
        return self._like(node.this, ctx, self.expr(node.expression, ctx))

    def _e_dpipe(self, node: Any, ctx: _Ctx) -> _V:
        return self._concat([self.expr(node.this, ctx), self.expr(node.expression, ctx)])

    def _concat(self, values: list[_V]) -> _V:
        arrays = [v for v in values if _base(v.type) == "array"]
        if arrays:
            element = _args(arrays[0].type)[0]
            lists = []
            for value in values:
                if _base(value.type) == "array" or value.type == "unknown":
                    lists.append(value)
                elif _common_type(element, value.type):
                    lists.append(_V(f"[{value.sql}]", f"array({value.type})", value.zone))
                else:
                    raise QueryError(f"Cannot apply operator: {arrays[0].type} || {value.type}")
            kind, _, coerced = self._unify(lists, "array concatenation")
            return _V("list_concat(" + ", ".join(v.sql for v in coerced) + ")", kind)
        for value in values:
            if not _is_string(value.type) and value.type != "unknown":
                raise QueryError(f"Cannot apply operator: varchar || {value.type}")
        # Trino's || is NULL when any operand is NULL (DuckDB's concat() would skip it).
        return _V("(" + " || ".join(f"CAST({v.sql} AS VARCHAR)" for v in values) + ")", "varchar")

    def _e_ceil(self, node: Any, ctx: _Ctx) -> _V:
        if node.args.get("decimals") is not None:
            raise QueryError("Unexpected parameters for function ceil")
        return self.call("ceil", [node.this], ctx, node)

    def _e_floor(self, node: Any, ctx: _Ctx) -> _V:
        if node.args.get("decimals") is not None:
            raise QueryError("Unexpected parameters for function floor")
        return self.call("floor", [node.this], ctx, node)

    def _e_argmax(self, node: Any, ctx: _Ctx) -> _V:
        args = [a for a in (node.this, node.expression, node.args.get("count")) if a is not None]
        return self.call("max_by", args, ctx, node)

    def _e_argmin(self, node: Any, ctx: _Ctx) -> _V:
        args = [a for a in (node.this, node.expression, node.args.get("count")) if a is not None]
        return self.call("min_by", args, ctx, node)

    def _e_chr(self, node: Any, ctx: _Ctx) -> _V:
        return self.call("chr", list(node.expressions), ctx, node)

    def _e_unicodestring(self, node: Any, ctx: _Ctx) -> _V:
        text = re.sub(
            r"\\\+([0-9A-Fa-f]{6})|\\([0-9A-Fa-f]{4})",
            lambda m: chr(int(m.group(1) or m.group(2), 16)),
            node.this,
        )
        return _V(_sql_string(text), f"varchar({len(text)})")

    # conditionals

    def _e_case(self, node: Any, ctx: _Ctx) -> _V:
        subject = self.expr(node.this, ctx) if node.this is not None else None
        conditions, results = [], []
        for branch in node.args.get("ifs") or []:
            condition = self.expr(branch.this, ctx)
            if subject is not None:
                if not _comparable(subject.type, condition.type):
                    raise QueryError(
                        "CASE operand type does not match WHEN clause: "
                        f"{subject.type} vs {condition.type}"
                    )
            elif condition.type not in ("boolean", "unknown"):
                raise QueryError(f"WHEN clause must evaluate to a boolean: {condition.type}")
            conditions.append(condition)
            results.append(self.expr(branch.args["true"], ctx))
        default = node.args.get("default")
        if default is not None:
            results.append(self.expr(default, ctx))
        kind, zone, coerced = self._unify(results, "CASE")
        parts = ["CASE"]
        if subject is not None:
            parts.append(subject.sql)
        for condition, result in zip(conditions, coerced, strict=False):
            parts.append(f"WHEN {condition.sql} THEN {result.sql}")
        if default is not None:
            parts.append(f"ELSE {coerced[-1].sql}")
        parts.append("END")
        return _V(" ".join(parts), kind, zone)

    def _e_if(self, node: Any, ctx: _Ctx) -> _V:
        condition = self.expr(node.this, ctx)
        if condition.type not in ("boolean", "unknown"):
            raise QueryError(f"IF condition must evaluate to a boolean: {condition.type}")
        branches = [self.expr(node.args["true"], ctx)]
        if node.args.get("false") is not None:
            branches.append(self.expr(node.args["false"], ctx))
        kind, zone, coerced = self._unify(branches, "IF")
        otherwise = coerced[1].sql if len(coerced) > 1 else "NULL"
        return _V(
            f"CASE WHEN {condition.sql} THEN {coerced[0].sql} ELSE {otherwise} END", kind, zone
        )

    # casts

    def _e_cast(self, node: Any, ctx: _Ctx) -> _V:
        return self._cast(node, ctx, safe=False)

    def _e_trycast(self, node: Any, ctx: _Ctx) -> _V:
        return self._cast(node, ctx, safe=True)

    def _cast(self, node: Any, ctx: _Ctx, safe: bool) -> _V:
        from sqlglot import exp

        if node.meta.get(_DECIMAL_LITERAL):
            return self._decimal_literal(node)
        target = _type_from_ast(node.to)
        if isinstance(node.this, exp.Literal) and node.this.is_string and _base(target) in (
            "date", "timestamp", "timestamptz",
        ):  # fmt: skip
            return self._time_literal(node.this.this, target, safe)
        value = self.expr(node.this, ctx)
        return self.cast(value, target, safe)

    @staticmethod
    def _decimal_literal(node: Any) -> _V:
        """``DECIMAL '-12.345'``: decimal(5,3), its digits (less leading zeros, at least one)
        and those after the point (Trino's decimal.md, "Decimal literals"; Decimals.parse)."""
        from sqlglot import exp

        if node.to.expressions or not (isinstance(node.this, exp.Literal) and node.this.is_string):
            raise QueryError(f"cannot parse the SQL: {node.sql(dialect='trino')}")
        text = node.this.this
        match = re.fullmatch(r"([+-]?)0*(\d*)(?:\.(\d*))?", text)
        if match is None or not re.search(r"\d", text):
            raise QueryError(f"Invalid decimal literal: '{text}'")
        integral, fraction = match.group(2), match.group(3) or ""
        scale = len(fraction)
        precision = max(len(integral) + scale, 1)
        if precision > 38:
            raise _refuse(f"a DECIMAL literal of more than 38 digits ({text})")
        kind = f"decimal({precision},{scale})"
        return _V(f"CAST({_sql_string(text)} AS DECIMAL({precision},{scale}))", kind)

    def _time_literal(self, text: str, target: str, safe: bool) -> _V:
        base = _base(target)
        if base == "date":
            match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*", text)
            if not match:
                if safe:
                    return _V("CAST(NULL AS DATE)", "date")
                raise QueryError(f"Value cannot be cast to date: {text}")
            try:
                day = dt.date(*(int(g) for g in match.groups()))
            except ValueError:
                if safe:
                    return _V("CAST(NULL AS DATE)", "date")
                raise QueryError(f"Value cannot be cast to date: {text}") from None
            return _V(f"DATE '{day.isoformat()}'", "date")
        try:
            wall, precision, zone = _timestamp_literal(text)
        except QueryError:
            if safe:
                return _V("CAST(NULL AS TIMESTAMP)", "timestamp(3)")
            raise
        literal = f"TIMESTAMP '{wall.isoformat(sep=' ')}'"
        if zone is not None:
            kind = f"timestamp({precision}){_TZ}"
            return _V(_instant(literal, zone), kind, zone)
        if base == "timestamptz":
            return _V(_instant(literal, "UTC"), f"timestamp({precision}){_TZ}", "UTC")
        return _V(literal, f"timestamp({precision})")

    def cast(self, value: _V, target: str, safe: bool = False) -> _V:
        source = value.type
        sb, tb = _base(source), _base(target)
        cast = "TRY_CAST" if safe else "CAST"
        duck = _duck_type(target) if tb != "json" else ""
        if source == target:
            return value
        if source == "unknown":
            return _V(f"CAST(NULL AS {duck})", target, "UTC" if tb == "timestamptz" else None)
        if tb in ("varchar", "char"):
            text = self._to_varchar(value, safe)
            if tb == "varchar" and "(" in target:
                length = int(_args(target)[0])
                return _V(f"left({text.sql}, {length})", target)
            if tb == "char":
                raise _refuse("CAST to char(n)")
            return text
        if _is_int(target):
            if sb in ("double", "real"):
                return _V(f"{cast}(round({value.sql}) AS {duck})", target)
            if sb == "decimal":
                return _V(f"{cast}(round({value.sql}) AS {duck})", target)
            if _is_int(source) or sb == "boolean":
                return _V(f"{cast}({value.sql} AS {duck})", target)
            if _is_string(source):
                return self._text_cast(value, r"[+-]?[0-9]+", target, safe)
        if tb in ("double", "real"):
            if _is_numeric(source) or sb == "boolean":
                return _V(f"{cast}({value.sql} AS {duck})", target)
            if _is_string(source):
                # Java's Double.parseDouble: trimmed, NaN and Infinity spelled so, d/f suffix.
                number = r"[+-]?(NaN|Infinity|([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?)[dDfF]?"
                return self._text_cast(value, number, target, safe, strip_suffix=True)
        if tb == "decimal":
            if _is_numeric(source):
                return _V(f"{cast}({value.sql} AS {duck})", target)
            if _is_string(source):
                number = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
                return self._text_cast(value, number, target, safe)
        if tb == "boolean":
            if _is_numeric(source):
                return _V(f"({value.sql} <> 0)", target)
            if _is_string(source):
                return self._text_cast(value, r"(?i)true|false|t|f|1|0", target, safe)
        if tb == "date":
            if sb == "timestamp":
                return _V(f"CAST({value.sql} AS DATE)", target)
            if sb == "timestamptz":
                return _V(f"CAST({_wall(value.sql, value.zone or 'UTC')} AS DATE)", target)
            if _is_string(source):
                return self._text_cast(value, r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}", target, safe)
        if tb == "timestamp":
            precision = _ts_precision(target)
            if sb == "date":
                return _V(f"CAST({value.sql} AS TIMESTAMP)", target)
            if sb == "timestamp":
                if _ts_precision(source) <= precision:
                    return _V(value.sql, target)
                return _V(f"__pl_round_ts({value.sql}, {precision})", target)
            if sb == "timestamptz":
                wall = _wall(value.sql, value.zone or "UTC")
                if _ts_precision(source) > precision:
                    wall = f"__pl_round_ts({wall}, {precision})"
                return _V(wall, target)
            if _is_string(source):
                pattern = (
                    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
                    r"( [0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?"
                )
                return self._text_cast(value, pattern, target, safe)
        if tb == "timestamptz":
            if sb in ("date", "timestamp"):
                return _V(f"CAST(CAST({value.sql} AS TIMESTAMP) AS TIMESTAMPTZ)", target, "UTC")
            if sb == "timestamptz":
                return _V(value.sql, target, value.zone)
        if tb == "array" and sb == "array":
            inner_target = _args(target)[0]
            inner = self.cast(_V("__pl_x", _args(source)[0], value.zone), inner_target, safe)
            return _V(f"list_transform({value.sql}, __pl_x -> {inner.sql})", target)
        if tb == "json":
            raise _refuse("CAST to JSON")
        raise QueryError(f"Cannot cast {source} to {target}")

    def _text_cast(
        self, value: _V, pattern: str, target: str, safe: bool, strip_suffix: bool = False
    ) -> _V:
        """CAST(varchar AS ...) of only the text Trino accepts; an error naming the value, or
        NULL for TRY_CAST."""
        text = value.sql
        if strip_suffix:
            # Java's Double.parseDouble trims whitespace and control characters first.
            text = f"regexp_replace({value.sql}, '^[\\x00-\\x20]+|[\\x00-\\x20]+$', '', 'g')"
        body = f"regexp_replace({text}, '[dDfF]$', '')" if strip_suffix else text
        good = f"regexp_full_match({text}, {_sql_string(pattern)})"
        word = {"integer": "INT"}.get(target, target.upper())
        quote = "''''"
        failed = (
            "NULL"
            if safe
            else f"error('Cannot cast ' || {quote} || {value.sql} || {quote} || ' to {word}')"
        )
        sql = (
            f"CASE WHEN {value.sql} IS NULL THEN NULL WHEN {good} "
            f"THEN CAST({body} AS {_duck_type(target)}) ELSE {failed} END"
        )
        return _V(sql, target)

    def _to_varchar(self, value: _V, safe: bool) -> _V:
        sb = _base(value.type)
        if _is_string(value.type):
            return _V(value.sql, "varchar")
        if _is_int(value.type) or sb in ("decimal", "boolean", "date"):
            return _V(f"CAST({value.sql} AS VARCHAR)", "varchar")
        if sb == "double":
            return _V(f"__pl_double_text(CAST({value.sql} AS DOUBLE))", "varchar")
        if sb == "timestamp":
            return _V(f"__pl_ts_text({value.sql}, {_ts_precision(value.type)})", "varchar")
        if sb == "timestamptz":
            zone = value.zone or "UTC"
            wall = _wall(value.sql, zone)
            text = f"__pl_ts_text({wall}, {_ts_precision(value.type)})"
            return _V(f"({text} || ' ' || {_zone_sql(zone)})", "varchar")
        if value.type == _DAY_SECOND:
            return _V(f"__pl_day_second_text(epoch_ms({value.sql}))", "varchar")
        if value.type == _YEAR_MONTH:
            months = f"(date_part('year', {value.sql}) * 12 + date_part('month', {value.sql}))"
            return _V(f"__pl_year_month_text({months})", "varchar")
        raise _refuse(f"CAST({value.type} AS varchar)")

    # time zones

    def _e_attimezone(self, node: Any, ctx: _Ctx) -> _V:
        value = self.expr(node.this, ctx)
        zone = self._zone_arg(node.args["zone"], ctx)
        return self._at_zone(value, zone)

    def _at_zone(self, value: _V, zone: str) -> _V:
        base = _base(value.type)
        if base == "timestamp":
            # A plain timestamp is read in the session zone (UTC on Athena), then shown in zone.
            kind = f"timestamp({_ts_precision(value.type)}){_TZ}"
            return _V(f"CAST({value.sql} AS TIMESTAMPTZ)", kind, zone)
        if base == "timestamptz":
            return _V(value.sql, value.type, zone)
        if base == "date":
            return _V(
                f"CAST(CAST({value.sql} AS TIMESTAMP) AS TIMESTAMPTZ)", f"timestamp(0){_TZ}", zone
            )
        if value.type == "unknown":
            return _V("CAST(NULL AS TIMESTAMPTZ)", f"timestamp(3){_TZ}", zone)
        raise QueryError(f"Cannot apply AT TIME ZONE to {value.type}")

    def _zone_arg(self, node: Any, ctx: _Ctx) -> str:
        """The zone of AT TIME ZONE and friends: a literal's canonical name, or (for a zone
        that varies by row, e.g. a participant's zone column) the expression."""
        from sqlglot import exp

        if isinstance(node, exp.Interval):
            raise _refuse("AT TIME ZONE INTERVAL ...")
        try:
            text = _lit(node)
        except _NotLiteral:
            value = self.expr(node, ctx)
            if not _is_string(value.type):
                raise QueryError(f"a time zone must be a varchar, not {value.type}") from None
            return _DYNAMIC + f"__pl_zone({value.sql})"
        if not isinstance(text, str):
            raise QueryError("a time zone must be a varchar")
        return _zone_key(text)

    def _moment(self, value: _V, what: str) -> tuple[str, str]:
        """(wall-clock DuckDB TIMESTAMP, zone) of a date/timestamp/tz argument."""
        base = _base(value.type)
        if base == "timestamptz":
            zone = value.zone or "UTC"
            return _wall(value.sql, zone), zone
        if base == "timestamp":
            return value.sql, "UTC"
        if base == "date":
            return f"CAST({value.sql} AS TIMESTAMP)", "UTC"
        if value.type == "unknown":
            return "CAST(NULL AS TIMESTAMP)", "UTC"
        raise QueryError(f"Unexpected parameters ({value.type}) for function {what}")

    # functions

    def _e_anonymous(self, node: Any, ctx: _Ctx) -> _V:
        return self.call(node.name.lower(), list(node.expressions), ctx, node)

    def _e_currentdate(self, node: Any, ctx: _Ctx) -> _V:
        return _V("current_date", "date")

    def _e_currenttimestamp(self, node: Any, ctx: _Ctx) -> _V:
        return _V("CAST(current_timestamp AS TIMESTAMPTZ)", f"timestamp(3){_TZ}", "UTC")

    def _e_currenttimezone(self, node: Any, ctx: _Ctx) -> _V:
        return _V("'UTC'", "varchar")

    def _e_extract(self, node: Any, ctx: _Ctx) -> _V:
        field = node.this.name.lower()
        aliases = {
            "day_of_month": "day",
            "dow": "day_of_week",
            "doy": "day_of_year",
            "yow": "year_of_week",
        }
        field = aliases.get(field, field)
        if field in ("timezone_hour", "timezone_minute"):
            raise _refuse(f"extract({field.upper()} ...)")
        if field not in _FIELDS:
            raise QueryError(f"Invalid EXTRACT field: {field}")
        return self._field(field, self.expr(node.expression, ctx))

    def _field(self, field: str, value: _V) -> _V:
        if _base(value.type) == "date" and field in _TIME_OF_DAY_FIELDS:
            raise QueryError(f"Unexpected parameters (date) for function {field}")
        wall, _ = self._moment(value, field)
        sql = f"{_FIELDS[field]}({wall})"
        if field == "millisecond":
            sql = f"(millisecond({wall}) % 1000)"
        return _V(f"CAST({sql} AS BIGINT)", "bigint")

    def _e_substring(self, node: Any, ctx: _Ctx) -> _V:
        args = [node.this, node.args.get("start")]
        if node.args.get("length") is not None:
            args.append(node.args["length"])
        return self.call("substr", args, ctx, node)

    def _e_trim(self, node: Any, ctx: _Ctx) -> _V:
        position = (node.args.get("position") or "BOTH").upper()
        value = self.expr(node.this, ctx)
        chars = node.args.get("expression")
        function = {"LEADING": "ltrim", "TRAILING": "rtrim"}.get(position, "trim")
        if chars is not None:
            characters = self.expr(chars, ctx)
            return _V(f"{function}({value.sql}, {characters.sql})", "varchar")
        return _V(f"{function}({value.sql}, {_WHITESPACE})", "varchar")

    def _e_strposition(self, node: Any, ctx: _Ctx) -> _V:
        if node.args.get("position") is not None or node.args.get("occurrence") is not None:
            raise _refuse("strpos with an instance")
        value, sub = self.expr(node.this, ctx), self.expr(node.args["substr"], ctx)
        return _V(f"CAST(strpos({value.sql}, {sub.sql}) AS BIGINT)", "bigint")

    def _e_array(self, node: Any, ctx: _Ctx) -> _V:
        items = [self.expr(e, ctx) for e in node.expressions]
        if not items:
            return _V("[]", "array(unknown)")
        kind, zone, coerced = self._unify(items, "ARRAY")
        return _V("[" + ", ".join(v.sql for v in coerced) + "]", f"array({kind})", zone)

    def _e_tuple(self, node: Any, ctx: _Ctx) -> _V:
        return self.call("row", list(node.expressions), ctx, node)

    def _e_bracket(self, node: Any, ctx: _Ctx) -> _V:
        from sqlglot import exp

        base = self.expr(node.this, ctx)
        if len(node.expressions) != 1:
            raise _refuse("a subscript with several indexes")
        index_node = node.expressions[0]
        kind = _base(base.type)
        if kind == "array":
            # sqlglot stores Trino's 1-based literal index 0-based.
            if isinstance(index_node, exp.Literal) and not index_node.is_string:
                position = int(index_node.this) + int(node.args.get("offset") or 1)
                index = _V(str(position), "bigint")
            else:
                raise _refuse("an array subscript that is not a literal")
            return _V(f"__pl_subscript({base.sql}, {index.sql})", _args(base.type)[0], base.zone)
        if kind == "map":
            key = self.expr(index_node, ctx)
            value_type = _args(base.type)[1]
            return _V(f"__pl_map_subscript({base.sql}, {key.sql})", value_type)
        if kind == "row":
            raise _refuse("a row subscript")
        raise QueryError(f"Cannot use subscript on {base.type}")

    def _e_filter(self, node: Any, ctx: _Ctx) -> _V:
        condition = self.expr(node.expression.this, ctx)
        self._boolean(condition, "FILTER")
        return self._with_filter(self.expr(node.this, ctx), condition)

    def _with_filter(self, inner: _V, condition: _V) -> _V:
        call = _CALL.match(inner.sql)
        if call is None or call.group(1) != _AGG_MARK:
            raise _refuse("FILTER (WHERE ...) on this function")
        slot = f"\x01F{call.group(2)}\x01"
        sql = inner.sql.replace(slot, f" FILTER (WHERE {condition.sql})")
        return dataclasses.replace(inner, sql=sql)

    def _e_window(self, node: Any, ctx: _Ctx) -> _V:
        function = self.expr(node.this, ctx)
        if node.args.get("alias") is not None:
            raise _refuse("a named WINDOW")
        parts = []
        partition = node.args.get("partition_by") or []
        if partition:
            parts.append("PARTITION BY " + ", ".join(self.expr(p, ctx).sql for p in partition))
        order = node.args.get("order")
        if order is not None:
            items = []
            for ordered in order.expressions:
                direction = "DESC" if ordered.args.get("desc") else "ASC"
                nulls = "NULLS FIRST" if ordered.args.get("nulls_first") else "NULLS LAST"
                items.append(f"{self.expr(ordered.this, ctx).sql} {direction} {nulls}")
            parts.append("ORDER BY " + ", ".join(items))
        spec = node.args.get("spec")
        if spec is not None:
            parts.append(self._frame(spec))
        call = _CALL.match(function.sql)
        if call is None:
            raise QueryError("OVER applies to aggregate and window functions only")
        sql = function.sql[call.end() :]
        sql = sql.replace(f"\x01O{call.group(2)}\x01", f" OVER ({' '.join(parts)})")
        return _V(sql, function.type, function.zone)

    def _frame(self, spec: Any) -> str:
        kind = (spec.args.get("kind") or "ROWS").upper()
        if kind not in ("ROWS", "RANGE"):
            raise _refuse(f"a {kind} window frame")

        def bound(value: Any, side: str) -> str:
            text = value if isinstance(value, str) else value.sql(dialect="trino")
            text = text.upper()
            if text in ("UNBOUNDED", "CURRENT ROW"):
                return text if text == "CURRENT ROW" else f"UNBOUNDED {side}"
            if re.fullmatch(r"\d+", text):
                if kind == "RANGE":
                    raise _refuse("a RANGE frame with an offset")
                return f"{text} {side}"
            raise _refuse(f"the window frame bound {text}")

        start = bound(spec.args.get("start"), (spec.args.get("start_side") or "PRECEDING").upper())
        if spec.args.get("end") is None:
            return f"{kind} BETWEEN {start} AND CURRENT ROW"
        end = bound(spec.args["end"], (spec.args.get("end_side") or "FOLLOWING").upper())
        return f"{kind} BETWEEN {start} AND {end}"

    def _e_lambda(self, node: Any, ctx: _Ctx) -> _V:
        raise _refuse("a lambda outside a function argument")

    def _e_distinct(self, node: Any, ctx: _Ctx) -> _V:
        raise _refuse("DISTINCT in this function")

    def _lambda(
        self,
        node: Any,
        ctx: _Ctx,
        kinds: list[tuple[str, str | None]],
        sqls: list[str] | None = None,
    ) -> tuple[list[str], _V]:
        from sqlglot import exp

        if not isinstance(node, exp.Lambda):
            raise QueryError("a lambda expression (x -> ...) is expected here")
        names = [p.name.lower() for p in node.expressions]
        if len(names) != len(kinds):
            raise QueryError(f"the lambda takes {len(kinds)} arguments, not {len(names)}")
        params = {}
        duck_names = []
        for index, (name, (kind, zone)) in enumerate(zip(names, kinds, strict=True)):
            duck = sqls[index] if sqls else f"__pl_{name}_{len(ctx.lambdas)}"
            duck_names.append(duck)
            params[name] = _V(duck, kind, zone)
        body = self.expr(node.this, ctx.with_lambdas(params))
        return duck_names, body

    def call(self, name: str, nodes: list[Any], ctx: _Ctx, node: Any) -> _V:
        from sqlglot import exp

        handler = getattr(self, f"_f_{name}", None)
        if name in _ALIASES:
            handler = getattr(self, f"_f_{_ALIASES[name]}")
        if handler is None:
            if name in _SIMPLE_DOUBLE:
                (arg,) = self._values(nodes, ctx, name, 1)
                self._numeric_args(name, [arg])
                return _V(f"{_SIMPLE_DOUBLE[name]}(CAST({arg.sql} AS DOUBLE))", "double")
            if name in _TRINO_FUNCTIONS:
                raise _refuse(f"the function {name}()")
            raise QueryError(f"Function '{name}' not registered")
        distinct = bool(nodes) and isinstance(nodes[0], exp.Distinct)
        if distinct and name not in (
            "count",
            "sum",
            "avg",
            "array_agg",
            "approx_distinct",
            "min",
            "max",
        ):
            raise _refuse(f"{name}(DISTINCT ...)")
        return handler(nodes, ctx)

    def _values(self, nodes: list[Any], ctx: _Ctx, name: str, *counts: int) -> list[_V]:
        if counts and len(nodes) not in counts:
            raise QueryError(f"Unexpected parameters for function {name}: {len(nodes)} arguments")
        return [self.expr(n, ctx) for n in nodes]

    @staticmethod
    def _numeric_args(name: str, values: list[_V]) -> None:
        for value in values:
            if not _is_numeric(value.type) and value.type != "unknown":
                raise QueryError(
                    f"Unexpected parameters ({', '.join(v.type for v in values)}) "
                    f"for function {name}"
                )

    # aggregates

    def _agg(self, sql: str, kind: str, zone: str | None = None) -> _V:
        if _FILTER_SLOT not in sql:
            sql = f"{sql}{_FILTER_SLOT}{_OVER_SLOT}"
        return _V(self._tag(_AGG_MARK, sql), kind, zone)

    def _tag(self, mark: str, sql: str) -> str:
        """Number this call's FILTER and OVER slots (those of nested calls are numbered
        already), so that a FILTER or OVER clause goes to every slot of this call."""
        self.calls += 1
        number = self.calls
        sql = sql.replace(_FILTER_SLOT, f"\x01F{number}\x01").replace(
            _OVER_SLOT, f"\x01O{number}\x01"
        )
        return f"\x01{mark}{number}\x01{sql}"

    def _distinct_arg(self, nodes: list[Any], ctx: _Ctx, name: str) -> tuple[str, _V]:
        from sqlglot import exp

        if nodes and isinstance(nodes[0], exp.Distinct):
            inner = nodes[0].expressions
            if len(inner) != 1:
                raise _refuse(f"{name}(DISTINCT a, b)")
            return "DISTINCT ", self.expr(inner[0], ctx)
        if len(nodes) != 1:
            raise QueryError(f"Unexpected parameters for function {name}")
        return "", self.expr(nodes[0], ctx)

    def _f_count(self, nodes: list[Any], ctx: _Ctx) -> _V:
        from sqlglot import exp

        if not nodes or isinstance(nodes[0], exp.Star):
            return self._agg("count(*)", "bigint")
        prefix, value = self._distinct_arg(nodes, ctx, "count")
        return self._agg(f"count({prefix}{value.sql})", "bigint")

    def _f_count_if(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "count_if", 1)
        self._boolean(value, "count_if")
        # DuckDB's count_if is a HUGEINT; Trino's a bigint
        return self._agg(
            f"CAST(count_if({value.sql}){_FILTER_SLOT}{_OVER_SLOT} AS BIGINT)", "bigint"
        )

    def _f_sum(self, nodes: list[Any], ctx: _Ctx) -> _V:
        prefix, value = self._distinct_arg(nodes, ctx, "sum")
        kind = value.type
        if _is_int(kind):
            return self._agg(
                f"__pl_checked_bigint(sum({prefix}{value.sql}){_FILTER_SLOT}{_OVER_SLOT})",
                "bigint",
            )
        if _base(kind) == "decimal":
            _, scale = _decimal_ps(kind)
            return self._agg(
                f"CAST(sum({prefix}{value.sql}){_FILTER_SLOT}{_OVER_SLOT} AS DECIMAL(38,{scale}))",
                f"decimal(38,{scale})",
            )
        if kind == "double":
            return self._agg(f"sum({prefix}{value.sql})", kind)
        if kind == "real":
            return self._agg(
                f"CAST(sum({prefix}{value.sql}){_FILTER_SLOT}{_OVER_SLOT} AS FLOAT)", kind
            )
        if kind == _DAY_SECOND:
            # DuckDB has no sum(INTERVAL); Trino adds the milliseconds
            return self._agg(
                f"to_milliseconds(CAST(sum({prefix}epoch_ms({value.sql}))"
                f"{_FILTER_SLOT}{_OVER_SLOT} AS BIGINT))",
                kind,
            )
        if kind == _YEAR_MONTH:
            raise _refuse("sum(interval year to month)")
        raise QueryError(f"Unexpected parameters ({kind}) for function sum")

    def _f_avg(self, nodes: list[Any], ctx: _Ctx) -> _V:
        prefix, value = self._distinct_arg(nodes, ctx, "avg")
        kind = value.type
        if _is_int(kind) or kind == "double":
            return self._agg(f"avg({prefix}CAST({value.sql} AS DOUBLE))", "double")
        if kind == "real":
            return self._agg(
                f"CAST(avg({prefix}{value.sql}){_FILTER_SLOT}{_OVER_SLOT} AS FLOAT)", "real"
            )
        if _base(kind) == "decimal":
            precision, scale = _decimal_ps(kind)
            return self._agg(
                f"CAST(__pl_decimal_div("
                f"CAST(sum({prefix}{value.sql}){_FILTER_SLOT}{_OVER_SLOT} AS VARCHAR), "
                f"CAST(count({prefix}{value.sql}){_FILTER_SLOT}{_OVER_SLOT} AS VARCHAR), "
                f"{scale}) AS DECIMAL({precision},{scale}))",
                kind,
            )
        if _base(kind).startswith("interval"):
            raise _refuse(f"avg({kind})")
        raise QueryError(f"Unexpected parameters ({kind}) for function avg")

    def _minmax(self, name: str, nodes: list[Any], ctx: _Ctx) -> _V:
        if len(nodes) == 2:
            raise _refuse(f"{name}(x, n)")
        _, value = self._distinct_arg(nodes, ctx, name)
        if _base(value.type) in ("map",):
            raise QueryError(f"Unexpected parameters ({value.type}) for function {name}")
        return self._agg(f"{name}({value.sql})", value.type, value.zone)

    def _f_min(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._minmax("min", nodes, ctx)

    def _f_max(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._minmax("max", nodes, ctx)

    def _f_arbitrary(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "arbitrary", 1)
        return self._agg(f"any_value({value.sql})", value.type, value.zone)

    def _f_bool_and(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "bool_and", 1)
        self._boolean(value, "bool_and")
        return self._agg(f"bool_and({value.sql})", "boolean")

    def _f_bool_or(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "bool_or", 1)
        self._boolean(value, "bool_or")
        return self._agg(f"bool_or({value.sql})", "boolean")

    def _f_array_agg(self, nodes: list[Any], ctx: _Ctx) -> _V:
        from sqlglot import exp

        if nodes and isinstance(nodes[0], exp.Order):
            prefix, value = self._distinct_arg([nodes[0].this], ctx, "array_agg")
            items = []
            for ordered in nodes[0].expressions:
                key = self.expr(ordered.this, ctx)
                if prefix and key.sql != value.sql:
                    raise QueryError(
                        "For aggregate function with DISTINCT, ORDER BY expressions must "
                        "appear in arguments"
                    )
                direction = "DESC" if ordered.args.get("desc") else "ASC"
                nulls = "NULLS FIRST" if ordered.args.get("nulls_first") else "NULLS LAST"
                items.append(f"{key.sql} {direction} {nulls}")
            return self._agg(
                f"list({prefix}{value.sql} ORDER BY {', '.join(items)})",
                f"array({value.type})",
                value.zone,
            )
        prefix, value = self._distinct_arg(nodes, ctx, "array_agg")
        # Without ORDER BY the order is unspecified on Athena too (with DISTINCT as without);
        # NULLs are kept, as there (DISTINCT keeps one).
        return self._agg(f"list({prefix}{value.sql})", f"array({value.type})", value.zone)

    def _f_approx_distinct(self, nodes: list[Any], ctx: _Ctx) -> _V:
        if len(nodes) != 1:
            raise _refuse("approx_distinct with a maximum standard error")
        _, value = self._distinct_arg(nodes, ctx, "approx_distinct")
        # Exact: within the HyperLogLog's standard error (2.3%), and what it gives on small sets.
        return self._agg(f"count(DISTINCT {value.sql})", "bigint")

    def _f_approx_percentile(self, nodes: list[Any], ctx: _Ctx) -> _V:
        if len(nodes) != 2:
            raise _refuse("approx_percentile with a weight or an accuracy")
        value, percentile = self._values(nodes, ctx, "approx_percentile", 2)
        if not _is_numeric(value.type):
            raise QueryError(
                f"Unexpected parameters ({value.type}, {percentile.type}) "
                "for function approx_percentile"
            )
        listed = f"list_sort(list({value.sql}){_FILTER_SLOT}{_OVER_SLOT})"
        if _base(percentile.type) == "array":
            from sqlglot import exp

            try:
                wanted = (
                    [_lit(e) for e in nodes[1].expressions]
                    if isinstance(nodes[1], exp.Array)
                    else None
                )
            except _NotLiteral:
                wanted = None
            if wanted is None or wanted != sorted(wanted):
                raise _refuse("approx_percentile with an ARRAY that is not literal and increasing")
            sql = f"list_transform({percentile.sql}, __pl_q -> __pl_percentile({listed}, __pl_q))"
            return _V(self._tag(_AGG_MARK, sql), f"array({value.type})")
        return _V(self._tag(_AGG_MARK, f"__pl_percentile({listed}, {percentile.sql})"), value.type)

    def _f_histogram(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "histogram", 1)
        kind = f"map({value.type}, bigint)"
        return _V(
            self._tag(
                _AGG_MARK,
                f"CAST(histogram({value.sql}){_FILTER_SLOT}{_OVER_SLOT} AS {_duck_type(kind)})",
            ),
            kind,
        )

    def _f_map_agg(self, nodes: list[Any], ctx: _Ctx) -> _V:
        key, value = self._values(nodes, ctx, "map_agg", 2)
        listed = f"list(struct_pack(k := {key.sql}, v := {value.sql})){_FILTER_SLOT}{_OVER_SLOT}"
        return _V(self._tag(_AGG_MARK, f"__pl_map_agg({listed})"), f"map({key.type}, {value.type})")

    def _stat(self, function: str, nodes: list[Any], ctx: _Ctx, count: int = 1) -> _V:
        values = self._values(nodes, ctx, function, count)
        self._numeric_args(function, values)
        args = ", ".join(f"CAST({v.sql} AS DOUBLE)" for v in values)
        return self._agg(f"{function}({args})", "double")

    def _f_stddev(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._stat("stddev_samp", nodes, ctx)

    def _f_stddev_pop(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._stat("stddev_pop", nodes, ctx)

    def _f_variance(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._stat("var_samp", nodes, ctx)

    def _f_var_pop(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._stat("var_pop", nodes, ctx)

    def _f_corr(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._stat("corr", nodes, ctx, 2)

    def _f_covar_samp(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._stat("covar_samp", nodes, ctx, 2)

    def _f_covar_pop(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._stat("covar_pop", nodes, ctx, 2)

    def _f_regr_slope(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._stat("regr_slope", nodes, ctx, 2)

    def _f_regr_intercept(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._stat("regr_intercept", nodes, ctx, 2)

    def _f_geometric_mean(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "geometric_mean", 1)
        self._numeric_args("geometric_mean", [value])
        return self._agg(f"exp(avg(ln(CAST({value.sql} AS DOUBLE))))", "double")

    def _f_max_by(self, nodes: list[Any], ctx: _Ctx) -> _V:
        if len(nodes) != 2:
            raise _refuse("max_by(x, y, n)")
        value, key = self._values(nodes, ctx, "max_by", 2)
        return self._agg(f"arg_max({value.sql}, {key.sql})", value.type, value.zone)

    def _f_min_by(self, nodes: list[Any], ctx: _Ctx) -> _V:
        if len(nodes) != 2:
            raise _refuse("min_by(x, y, n)")
        value, key = self._values(nodes, ctx, "min_by", 2)
        return self._agg(f"arg_min({value.sql}, {key.sql})", value.type, value.zone)

    # window functions

    def _win(self, sql: str, kind: str, zone: str | None = None) -> _V:
        return _V(self._tag(_WINDOW_MARK, f"{sql}{_OVER_SLOT}"), kind, zone)

    def _f_row_number(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._win("row_number()", "bigint")

    def _f_rank(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._win("rank()", "bigint")

    def _f_dense_rank(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._win("dense_rank()", "bigint")

    def _f_percent_rank(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._win("percent_rank()", "double")

    def _f_cume_dist(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._win("cume_dist()", "double")

    def _f_ntile(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (count,) = self._values(nodes, ctx, "ntile", 1)
        return self._win(f"ntile({count.sql})", "bigint")

    def _offset_window(self, name: str, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, name, 1, 2, 3)
        value = values[0]
        args = [value.sql]
        if len(values) > 1:
            args.append(values[1].sql)
        if len(values) > 2:
            kind, zone, coerced = self._unify([value, values[2]], name)
            args = [coerced[0].sql, values[1].sql, coerced[1].sql]
            return self._win(f"{name}({', '.join(args)})", kind, zone)
        return self._win(f"{name}({', '.join(args)})", value.type, value.zone)

    def _f_lag(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._offset_window("lag", nodes, ctx)

    def _f_lead(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._offset_window("lead", nodes, ctx)

    def _f_first_value(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "first_value", 1)
        return self._win(f"first_value({value.sql})", value.type, value.zone)

    def _f_last_value(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "last_value", 1)
        return self._win(f"last_value({value.sql})", value.type, value.zone)

    def _f_nth_value(self, nodes: list[Any], ctx: _Ctx) -> _V:
        value, offset = self._values(nodes, ctx, "nth_value", 2)
        return self._win(f"nth_value({value.sql}, {offset.sql})", value.type, value.zone)

    # conditional and misc

    def _f_coalesce(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "coalesce")
        kind, zone, coerced = self._unify(values, "COALESCE")
        return _V("coalesce(" + ", ".join(v.sql for v in coerced) + ")", kind, zone)

    def _f_nullif(self, nodes: list[Any], ctx: _Ctx) -> _V:
        first, second = self._values(nodes, ctx, "nullif", 2)
        if not _comparable(first.type, second.type):
            raise QueryError(f"Types are not comparable with NULLIF: {first.type} vs {second.type}")
        return _V(f"nullif({first.sql}, {second.sql})", first.type, first.zone)

    def _f_if(self, nodes: list[Any], ctx: _Ctx) -> _V:
        from sqlglot import exp

        node = exp.If(this=nodes[0], true=nodes[1], false=nodes[2] if len(nodes) > 2 else None)
        return self._e_if(node, ctx)

    def _f_typeof(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "typeof", 1)
        return _V(_sql_string(value.type), f"varchar({len(value.type)})")

    def _f_greatest(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._extreme("greatest", nodes, ctx)

    def _f_least(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._extreme("least", nodes, ctx)

    def _extreme(self, name: str, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, name)
        kind, zone, coerced = self._unify(values, name)
        args = ", ".join(v.sql for v in coerced)
        # Trino: NULL if any argument is NULL (DuckDB skips NULLs).
        nulls = " OR ".join(f"({v.sql}) IS NULL" for v in coerced)
        nan = ""
        if kind in ("double", "real"):
            nan = " OR ".join(f"isnan({v.sql})" for v in coerced)
            return _V(
                f"CASE WHEN {nulls} THEN NULL WHEN {nan} THEN CAST('NaN' AS DOUBLE) "
                f"ELSE {name}({args}) END",
                kind,
            )
        return _V(f"CASE WHEN {nulls} THEN NULL ELSE {name}({args}) END", kind, zone)

    def _f_row(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "row")
        fields = ", ".join(f"field{i} {v.type}" for i, v in enumerate(values))
        raise _refuse(f"ROW values (row({fields}))")

    # math

    def _f_abs(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "abs", 1)
        self._numeric_args("abs", [value])
        return _V(f"CAST(abs({value.sql}) AS {_duck_type(value.type)})", value.type)

    def _rounding(self, function: str, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, function, 1)
        self._numeric_args(function, [value])
        if _base(value.type) == "decimal":
            precision, scale = _decimal_ps(value.type)
            kind = f"decimal({min(38, precision - scale + (1 if scale else 0))},0)"
            return _V(f"CAST({function}({value.sql}) AS {_duck_type(kind)})", kind)
        return _V(f"CAST({function}({value.sql}) AS {_duck_type(value.type)})", value.type)

    def _f_ceil(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._rounding("ceil", nodes, ctx)

    def _f_floor(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._rounding("floor", nodes, ctx)

    def _f_round(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "round", 1, 2)
        value = values[0]
        self._numeric_args("round", values)
        if len(values) == 1:
            if _is_int(value.type):
                return value
            if _base(value.type) == "decimal":
                precision, scale = _decimal_ps(value.type)
                kind = f"decimal({min(38, precision - scale + (1 if scale else 0))},0)"
                return _V(f"CAST(round({value.sql}) AS {_duck_type(kind)})", kind)
            return _V(f"CAST(round({value.sql}) AS {_duck_type(value.type)})", value.type)
        digits = values[1]
        if _is_int(value.type):
            return _V(
                f"CAST(round({value.sql}, {digits.sql}) AS {_duck_type(value.type)})", value.type
            )
        if _base(value.type) == "decimal":
            # Trino keeps the scale: round(1.2345, 2) is 1.2300 (DECIMAL(p+1, s)).
            precision, scale = _decimal_ps(value.type)
            kind = f"decimal({min(38, precision + 1)},{scale})"
            return _V(f"CAST(round({value.sql}, {digits.sql}) AS {_duck_type(kind)})", kind)
        # Half away from zero on the exact decimal digits, as Trino's round(double, n).
        return (
            _V(f"__pl_round_double(CAST({value.sql} AS DOUBLE), {digits.sql})", "double")
            if value.type == "double"
            else _V(
                f"CAST(__pl_round_double(CAST({value.sql} AS DOUBLE), {digits.sql}) AS FLOAT)",
                "real",
            )
        )

    def _f_truncate(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "truncate", 1, 2)
        self._numeric_args("truncate", values)
        if len(values) == 2:
            raise _refuse("truncate(x, n)")
        value = values[0]
        if value.type != "double" and value.type != "real":
            raise _refuse(f"truncate({value.type})")
        return _V(f"trunc({value.sql})", value.type)

    def _f_sign(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "sign", 1)
        self._numeric_args("sign", [value])
        if value.type in ("double", "real"):
            duck = _duck_type(value.type)
            return _V(
                f"CASE WHEN isnan({value.sql}) THEN CAST('NaN' AS {duck}) "
                f"ELSE CAST(sign({value.sql}) AS {duck}) END",
                value.type,
            )
        if _base(value.type) == "decimal":
            return _V(f"CAST(sign({value.sql}) AS DECIMAL(1,0))", "decimal(1,0)")
        return _V(f"CAST(sign({value.sql}) AS {_duck_type(value.type)})", value.type)

    def _f_mod(self, nodes: list[Any], ctx: _Ctx) -> _V:
        left, right = self._values(nodes, ctx, "mod", 2)
        return self._arith("%", left, right)

    def _f_power(self, nodes: list[Any], ctx: _Ctx) -> _V:
        left, right = self._values(nodes, ctx, "power", 2)
        self._numeric_args("power", [left, right])
        return _V(f"pow(CAST({left.sql} AS DOUBLE), CAST({right.sql} AS DOUBLE))", "double")

    def _f_log(self, nodes: list[Any], ctx: _Ctx) -> _V:
        base, value = self._values(nodes, ctx, "log", 2)
        self._numeric_args("log", [base, value])
        return _V(f"(ln(CAST({value.sql} AS DOUBLE)) / ln(CAST({base.sql} AS DOUBLE)))", "double")

    def _f_pi(self, nodes: list[Any], ctx: _Ctx) -> _V:
        self._values(nodes, ctx, "pi", 0)
        return _V("pi()", "double")

    def _f_e(self, nodes: list[Any], ctx: _Ctx) -> _V:
        self._values(nodes, ctx, "e", 0)
        return _V("exp(1)", "double")

    def _f_nan(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return _V("CAST('NaN' AS DOUBLE)", "double")

    def _f_infinity(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return _V("CAST('Infinity' AS DOUBLE)", "double")

    def _f_is_nan(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "is_nan", 1)
        return _V(f"isnan(CAST({value.sql} AS DOUBLE))", "boolean")

    def _f_is_finite(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "is_finite", 1)
        return _V(f"isfinite(CAST({value.sql} AS DOUBLE))", "boolean")

    def _f_is_infinite(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "is_infinite", 1)
        return _V(f"isinf(CAST({value.sql} AS DOUBLE))", "boolean")

    def _f_width_bucket(self, nodes: list[Any], ctx: _Ctx) -> _V:
        if len(nodes) == 2:
            raise _refuse("width_bucket(x, bins)")
        values = self._values(nodes, ctx, "width_bucket", 4)
        self._numeric_args("width_bucket", values)
        args = ", ".join(f"CAST({v.sql} AS DOUBLE)" for v in values[:3])
        return _V(f"__pl_width_bucket({args}, CAST({values[3].sql} AS BIGINT))", "bigint")

    # strings

    def _string_args(self, name: str, values: list[_V]) -> None:
        for value in values:
            if not _is_string(value.type) and value.type != "unknown":
                raise QueryError(
                    f"Unexpected parameters ({', '.join(v.type for v in values)}) "
                    f"for function {name}"
                )

    def _f_length(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "length", 1)
        self._string_args("length", [value])
        return _V(f"CAST(length({value.sql}) AS BIGINT)", "bigint")

    def _same_string(self, name: str, function: str, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, name, 1)
        self._string_args(name, [value])
        return _V(f"{function}({value.sql})", value.type if "(" in value.type else "varchar")

    def _f_lower(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._same_string("lower", "__pl_lower", nodes, ctx)

    def _f_upper(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._same_string("upper", "__pl_upper", nodes, ctx)

    def _f_reverse(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "reverse", 1)
        if _base(value.type) == "array":
            return _V(f"list_reverse({value.sql})", value.type, value.zone)
        return self._same_string("reverse", "reverse", nodes, ctx)

    def _f_trim(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "trim", 1, 2)
        chars = values[1].sql if len(values) > 1 else _WHITESPACE
        return _V(f"trim({values[0].sql}, {chars})", "varchar")

    def _f_ltrim(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "ltrim", 1, 2)
        chars = values[1].sql if len(values) > 1 else _WHITESPACE
        return _V(f"ltrim({values[0].sql}, {chars})", "varchar")

    def _f_rtrim(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "rtrim", 1, 2)
        chars = values[1].sql if len(values) > 1 else _WHITESPACE
        return _V(f"rtrim({values[0].sql}, {chars})", "varchar")

    def _f_substr(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "substr", 2, 3)
        self._string_args("substr", values[:1])
        args = ", ".join(v.sql for v in values)
        return _V(f"__pl_substr({args}{', NULL' if len(values) == 2 else ''})", "varchar")

    def _f_concat(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._concat(self._values(nodes, ctx, "concat"))

    def _f_replace(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "replace", 2, 3)
        self._string_args("replace", values)
        target = values[2].sql if len(values) == 3 else "''"
        return _V(f"__pl_replace({values[0].sql}, {values[1].sql}, {target})", "varchar")

    def _pad(self, name: str, nodes: list[Any], ctx: _Ctx) -> _V:
        value, size, fill = self._values(nodes, ctx, name, 3)
        return _V(f"__pl_{name}({value.sql}, CAST({size.sql} AS BIGINT), {fill.sql})", "varchar")

    def _f_lpad(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._pad("lpad", nodes, ctx)

    def _f_rpad(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._pad("rpad", nodes, ctx)

    def _f_split(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "split", 2)
        self._string_args("split", values)
        return _V(f"__pl_split({values[0].sql}, {values[1].sql})", "array(varchar)")

    def _f_split_part(self, nodes: list[Any], ctx: _Ctx) -> _V:
        value, delimiter, index = self._values(nodes, ctx, "split_part", 3)
        self._string_args("split_part", [value, delimiter])
        return _V(
            f"__pl_split_part({value.sql}, {delimiter.sql}, CAST({index.sql} AS BIGINT))", "varchar"
        )

    def _f_strpos(self, nodes: list[Any], ctx: _Ctx) -> _V:
        if len(nodes) == 3:
            raise _refuse("strpos(string, substring, instance)")
        value, sub = self._values(nodes, ctx, "strpos", 2)
        self._string_args("strpos", [value, sub])
        return _V(f"CAST(strpos({value.sql}, {sub.sql}) AS BIGINT)", "bigint")

    def _f_starts_with(self, nodes: list[Any], ctx: _Ctx) -> _V:
        value, prefix = self._values(nodes, ctx, "starts_with", 2)
        self._string_args("starts_with", [value, prefix])
        return _V(f"starts_with({value.sql}, {prefix.sql})", "boolean")

    def _f_chr(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "chr", 1)
        return _V(f"chr(CAST({value.sql} AS INTEGER))", "varchar(1)")

    def _f_codepoint(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "codepoint", 1)
        return _V(f"CAST(unicode({value.sql}) AS INTEGER)", "integer")

    def _f_format(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "format")
        if not values:
            raise QueryError("format needs a format string")
        pattern = _literal_string(nodes[0], "a format() pattern")
        for match in _FORMAT_SPEC.finditer(pattern):
            if match.group(5).lower() not in "sdxofebn%":
                raise _refuse(f"the format() conversion %{match.group(5)}")
        kinds = [v.type for v in values[1:]]
        for kind in kinds:
            if not (
                _is_numeric(kind) or _is_string(kind) or kind in ("boolean", "date", "unknown")
            ):
                raise _refuse(f"format() of a {kind}")
        texts = ", ".join(f"CAST({v.sql} AS VARCHAR)" for v in values[1:])
        kinds_sql = _sql_string("|".join(kinds))
        return _V(f"__pl_format({values[0].sql}, {kinds_sql}, [{texts}]::VARCHAR[])", "varchar")

    # regular expressions

    def _f_regexp_like(self, nodes: list[Any], ctx: _Ctx) -> _V:
        value, pattern = self._values(nodes, ctx, "regexp_like", 2)
        return _V(f"regexp_matches({value.sql}, {self._regex(nodes[1], pattern)})", "boolean")

    def _regex(self, node: Any, value: _V) -> str:
        try:
            pattern = _lit(node)
        except _NotLiteral:
            raise _refuse("a regular expression that is not a literal") from None
        if not isinstance(pattern, str):
            raise QueryError("a regular expression must be a varchar")
        for construct in (
            "(?<=",
            "(?<!",
            "(?=",
            "(?!",
            "\\p{",
            "\\P{",
            "(?<",
            "\\Q",
            "\\z",
            "\\Z",
            "++",
            "*+",
            "?+",
            "\\h",
            "\\R",
        ):
            if construct in pattern:
                raise _refuse(f"the regular expression construct {construct} (Java and RE2 differ)")
        if re.search(r"\\[1-9]", pattern):
            raise _refuse("back references in a regular expression")
        return value.sql

    def _f_regexp_extract(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "regexp_extract", 2, 3)
        pattern = self._regex(nodes[1], values[1])
        group = values[2].sql if len(values) == 3 else "0"
        value = values[0].sql
        return _V(
            f"CASE WHEN regexp_matches({value}, {pattern}) "
            f"THEN regexp_extract({value}, {pattern}, {group}) END",
            "varchar",
        )

    def _f_regexp_extract_all(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "regexp_extract_all", 2, 3)
        pattern = self._regex(nodes[1], values[1])
        group = values[2].sql if len(values) == 3 else "0"
        return _V(f"regexp_extract_all({values[0].sql}, {pattern}, {group})", "array(varchar)")

    def _f_regexp_replace(self, nodes: list[Any], ctx: _Ctx) -> _V:
        from sqlglot import exp

        values_nodes = nodes
        if len(nodes) == 3 and isinstance(nodes[2], exp.Lambda):
            raise _refuse("regexp_replace with a lambda")
        values = self._values(values_nodes, ctx, "regexp_replace", 2, 3)
        pattern = self._regex(nodes[1], values[1])
        if len(values) == 2:
            replacement = "''"
        else:
            try:
                text = _lit(nodes[2])
            except _NotLiteral:
                raise _refuse("a regexp_replace replacement that is not a literal") from None
            replacement = _sql_string(_re2_replacement(str(text)))
        return _V(f"regexp_replace({values[0].sql}, {pattern}, {replacement}, 'g')", "varchar")

    def _f_regexp_split(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "regexp_split", 2)
        pattern = self._regex(nodes[1], values[1])
        return _V(f"regexp_split_to_array({values[0].sql}, {pattern})", "array(varchar)")

    def _f_regexp_count(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "regexp_count", 2)
        pattern = self._regex(nodes[1], values[1])
        return _V(f"CAST(len(regexp_extract_all({values[0].sql}, {pattern})) AS BIGINT)", "bigint")

    # dates and times

    def _extract_function(self, field: str, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, field, 1)
        return self._field(field, value)

    def _f_year(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._extract_function("year", nodes, ctx)

    def _f_quarter(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._extract_function("quarter", nodes, ctx)

    def _f_month(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._extract_function("month", nodes, ctx)

    def _f_week(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._extract_function("week", nodes, ctx)

    def _f_day(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._extract_function("day", nodes, ctx)

    def _f_day_of_week(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._extract_function("day_of_week", nodes, ctx)

    def _f_day_of_year(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._extract_function("day_of_year", nodes, ctx)

    def _f_year_of_week(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._extract_function("year_of_week", nodes, ctx)

    def _f_hour(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._extract_function("hour", nodes, ctx)

    def _f_minute(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._extract_function("minute", nodes, ctx)

    def _f_second(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._extract_function("second", nodes, ctx)

    def _f_millisecond(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._extract_function("millisecond", nodes, ctx)

    def _f_date(self, nodes: list[Any], ctx: _Ctx) -> _V:
        from sqlglot import exp

        if len(nodes) == 1 and isinstance(nodes[0], exp.Literal) and nodes[0].is_string:
            return self._time_literal(nodes[0].this, "date", False)
        (value,) = self._values(nodes, ctx, "date", 1)
        return self.cast(value, "date")

    def _f_last_day_of_month(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "last_day_of_month", 1)
        wall, _ = self._moment(value, "last_day_of_month")
        return _V(f"last_day(CAST({wall} AS DATE))", "date")

    def _unit(self, node: Any, name: str) -> str:
        unit = _literal_string(node, f"the unit of {name}").lower()
        if unit not in _DATE_UNITS_ALL:
            raise QueryError(f"'{unit}' is not a valid Time field")
        return unit

    def _f_date_trunc(self, nodes: list[Any], ctx: _Ctx) -> _V:
        if len(nodes) != 2:
            raise QueryError("Unexpected parameters for function date_trunc")
        unit = self._unit(nodes[0], "date_trunc")
        value = self.expr(nodes[1], ctx)
        base = _base(value.type)
        if base == "date":
            if unit in ("millisecond", "second", "minute", "hour"):
                raise QueryError(f"'{unit}' is not a valid DATE field")
            return _V(f"CAST(date_trunc('{unit}', {value.sql}) AS DATE)", "date")
        if base == "timestamp":
            return _V(f"date_trunc('{unit}', {value.sql})", value.type)
        if base == "timestamptz":
            zone = value.zone or "UTC"
            wall = _wall(value.sql, zone)
            if unit in ("millisecond", "second", "minute", "hour"):
                # Keep the value's own offset, as Joda's roundFloor does: in the hour a DST
                # change repeats, 01:30 BST and 01:30 GMT truncate to two different hours.
                return _V(
                    f"({value.sql} - ({wall} - date_trunc('{unit}', {wall})))", value.type, zone
                )
            return _V(_instant(f"date_trunc('{unit}', {wall})", zone), value.type, zone)
        raise QueryError(f"Unexpected parameters ({value.type}) for function date_trunc")

    def _f_date_add(self, nodes: list[Any], ctx: _Ctx) -> _V:
        if len(nodes) != 3:
            raise QueryError("Unexpected parameters for function date_add")
        unit = self._unit(nodes[0], "date_add")
        amount = self.expr(nodes[1], ctx)
        value = self.expr(nodes[2], ctx)
        if not _is_int(amount.type) and amount.type != "unknown":
            raise QueryError(f"Unexpected parameters ({amount.type}) for function date_add")
        step = {"week": ("day", 7), "quarter": ("month", 3), "millisecond": ("millisecond", 1)}
        duck_unit, factor = step.get(unit, (unit, 1))
        interval = f"(INTERVAL 1 {duck_unit.upper()} * (CAST({amount.sql} AS BIGINT) * {factor}))"
        if duck_unit == "millisecond":
            interval = f"to_milliseconds(CAST({amount.sql} AS BIGINT))"
        base = _base(value.type)
        if base == "date":
            if unit in ("millisecond", "second", "minute", "hour"):
                raise QueryError(f"'{unit}' is not a valid DATE field")
            return _V(f"CAST(({value.sql} + {interval}) AS DATE)", "date")
        if base == "timestamp":
            return _V(f"({value.sql} + {interval})", value.type)
        if base == "timestamptz":
            zone = value.zone or "UTC"
            if unit in ("millisecond", "second", "minute", "hour"):
                return _V(f"({value.sql} + {interval})", value.type, zone)
            wall = f"({_wall(value.sql, zone)} + {interval})"
            return _V(_instant(wall, zone), value.type, zone)
        raise QueryError(f"Unexpected parameters ({value.type}) for function date_add")

    def _f_date_diff(self, nodes: list[Any], ctx: _Ctx) -> _V:
        if len(nodes) != 3:
            raise QueryError("Unexpected parameters for function date_diff")
        unit = self._unit(nodes[0], "date_diff")
        first, second = self.expr(nodes[1], ctx), self.expr(nodes[2], ctx)
        if not (_is_time(first.type) and _is_time(second.type)):
            raise QueryError(
                f"Unexpected parameters ({first.type}, {second.type}) for function date_diff"
            )
        if (_base(first.type) == "date") != (_base(second.type) == "date"):
            raise QueryError(
                f"Unexpected parameters ({first.type}, {second.type}) for function date_diff"
            )
        if _base(first.type) == "date" and unit in ("millisecond", "second", "minute", "hour"):
            raise QueryError(f"'{unit}' is not a valid DATE field")
        zones = {v.zone for v in (first, second) if v.zone}
        if unit in ("day", "week", "month", "quarter", "year") and len(zones) > 1:
            raise _refuse("date_diff of calendar units between different zones")
        if unit in ("millisecond", "second", "minute", "hour") and zones:
            a = f"CAST({first.sql} AS TIMESTAMPTZ)"
            b = f"CAST({second.sql} AS TIMESTAMPTZ)"
        else:
            a, _ = self._moment(first, "date_diff")
            b, _ = self._moment(second, "date_diff")
        # Trino counts whole units elapsed (DuckDB's date_sub), not boundaries crossed.
        return _V(f"CAST(date_sub('{unit}', {a}, {b}) AS BIGINT)", "bigint")

    def _f_to_milliseconds(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "to_milliseconds", 1)
        if value.type not in (_DAY_SECOND, "unknown"):
            raise QueryError(
                f"Unexpected parameters ({value.type}) for function to_milliseconds. "
                "Expected: to_milliseconds(interval day to second)"
            )
        return _V(f"epoch_ms({value.sql})", "bigint")

    def _f_from_unixtime(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "from_unixtime", 1, 2, 3)
        self._numeric_args("from_unixtime", values[:1])
        if len(values) == 1:
            zone = "UTC"
        elif len(values) == 2:
            zone = self._zone_arg(nodes[1], ctx)
        else:
            try:
                hours, minutes = int(_lit(nodes[1])), int(_lit(nodes[2]))
            except (_NotLiteral, TypeError, ValueError):
                raise _refuse("from_unixtime with an offset that is not a literal") from None
            sign = "-" if hours < 0 or minutes < 0 else "+"
            zone = _zone_key(f"{sign}{abs(hours):02d}:{abs(minutes):02d}")
        # Trino keeps milliseconds (rounding the seconds to them).
        seconds = values[0].sql
        sql = f"make_timestamptz(CAST(round(CAST({seconds} AS DOUBLE) * 1000) AS BIGINT) * 1000)"
        return _V(sql, f"timestamp(3){_TZ}", zone)

    def _f_to_unixtime(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "to_unixtime", 1)
        base = _base(value.type)
        if base == "timestamptz":
            return _V(f"(epoch_ms({value.sql}) / 1000.0)", "double")
        if base == "timestamp":
            return _V(f"(epoch_ms({value.sql}) / 1000.0)", "double")
        raise QueryError(f"Unexpected parameters ({value.type}) for function to_unixtime")

    def _f_at_timezone(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value, _) = self._values(nodes, ctx, "at_timezone", 2)
        return self._at_zone(value, self._zone_arg(nodes[1], ctx))

    def _f_with_timezone(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value, _) = self._values(nodes, ctx, "with_timezone", 2)
        zone = self._zone_arg(nodes[1], ctx)
        if _base(value.type) != "timestamp":
            raise QueryError(
                f"Unexpected parameters ({value.type}, varchar) for function with_timezone"
            )
        kind = f"timestamp({_ts_precision(value.type)}){_TZ}"
        return _V(_instant(value.sql, zone), kind, zone)

    def _f_current_timezone(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return _V("'UTC'", "varchar")

    def _f_now(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return _V("CAST(current_timestamp AS TIMESTAMPTZ)", f"timestamp(3){_TZ}", "UTC")

    def _f_timezone_hour(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._offset_part(nodes, ctx, "timezone_hour")

    def _f_timezone_minute(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._offset_part(nodes, ctx, "timezone_minute")

    def _offset_part(self, nodes: list[Any], ctx: _Ctx, name: str) -> _V:
        (value,) = self._values(nodes, ctx, name, 1)
        if _base(value.type) != "timestamptz":
            raise QueryError(f"Unexpected parameters ({value.type}) for function {name}")
        zone = value.zone or "UTC"
        offset = f"(epoch({_wall(value.sql, zone)}) - epoch({value.sql}))"
        minutes = f"CAST({offset} / 60 AS BIGINT)"
        if name == "timezone_hour":
            return _V(f"CAST(trunc({minutes} / 60) AS BIGINT)", "bigint")
        return _V(f"CAST({minutes} % 60 AS BIGINT)", "bigint")

    def _f_timezone(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "timezone", 1)
        if _base(value.type) != "timestamptz":
            raise QueryError(f"Unexpected parameters ({value.type}) for function timezone")
        return _V(_zone_sql(value.zone or "UTC"), "varchar")

    def _f_to_iso8601(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "to_iso8601", 1)
        base = _base(value.type)
        if base == "date":
            return _V(f"CAST({value.sql} AS VARCHAR)", "varchar")
        if base == "timestamp":
            return _V(
                f"replace(__pl_ts_text({value.sql}, {_ts_precision(value.type)}), ' ', 'T')",
                "varchar",
            )
        if base == "timestamptz":
            zone = value.zone or "UTC"
            wall = _wall(value.sql, zone)
            text = f"replace(__pl_ts_text({wall}, {_ts_precision(value.type)}), ' ', 'T')"
            minutes = f"CAST((epoch({wall}) - epoch({value.sql})) / 60 AS BIGINT)"
            offset = f"__pl_iso_offset({minutes})"
            return _V(f"({text} || {offset})", "varchar")
        raise QueryError(f"Unexpected parameters ({value.type}) for function to_iso8601")

    def _f_from_iso8601_date(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "from_iso8601_date", 1)
        return _V(f"__pl_iso_date({value.sql})", "date")

    def _f_trim_array(self, nodes: list[Any], ctx: _Ctx) -> _V:
        array, count = self._values(nodes, ctx, "trim_array", 2)
        self._array_arg(array, "trim_array")
        return _V(
            f"__pl_trim_array({array.sql}, CAST({count.sql} AS BIGINT))", array.type, array.zone
        )

    def _f_ends_with(self, nodes: list[Any], ctx: _Ctx) -> _V:
        value, suffix = self._values(nodes, ctx, "ends_with", 2)
        self._string_args("ends_with", [value, suffix])
        return _V(f"ends_with({value.sql}, {suffix.sql})", "boolean")

    def _f_concat_ws(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "concat_ws")
        if len(values) < 2:
            raise QueryError("There must be two or more arguments to concat_ws")
        if len(values) == 2 and _base(values[1].type) == "array":
            parts = f"list_filter({values[1].sql}, __pl_p -> __pl_p IS NOT NULL)"
            return _V(
                f"CASE WHEN {values[0].sql} IS NULL THEN NULL "
                f"ELSE array_to_string({parts}, {values[0].sql}) END",
                "varchar",
            )
        self._string_args("concat_ws", values)
        return _V(f"concat_ws({', '.join(v.sql for v in values)})", "varchar")

    def _f_levenshtein_distance(self, nodes: list[Any], ctx: _Ctx) -> _V:
        first, second = self._values(nodes, ctx, "levenshtein_distance", 2)
        self._string_args("levenshtein_distance", [first, second])
        return _V(f"CAST(levenshtein({first.sql}, {second.sql}) AS BIGINT)", "bigint")

    def _f_hamming_distance(self, nodes: list[Any], ctx: _Ctx) -> _V:
        first, second = self._values(nodes, ctx, "hamming_distance", 2)
        self._string_args("hamming_distance", [first, second])
        return _V(
            f"CASE WHEN length({first.sql}) <> length({second.sql}) THEN error('The input "
            f"strings to hamming_distance function must have the same length') "
            f"ELSE CAST(hamming({first.sql}, {second.sql}) AS BIGINT) END",
            "bigint",
        )

    def _f_luhn_check(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "luhn_check", 1)
        self._string_args("luhn_check", [value])
        return _V(f"__pl_luhn_check({value.sql})", "boolean")

    def _f_array_first(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (array,) = self._values(nodes, ctx, "array_first", 1)
        inner = self._array_arg(array, "array_first")
        return _V(f"{array.sql}[1]", inner, array.zone)

    def _f_array_last(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (array,) = self._values(nodes, ctx, "array_last", 1)
        inner = self._array_arg(array, "array_last")
        return _V(f"{array.sql}[len({array.sql})]", inner, array.zone)

    def _f_array_histogram(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (array,) = self._values(nodes, ctx, "array_histogram", 1)
        inner = self._array_arg(array, "array_histogram")
        kind = f"map({inner}, bigint)"
        return _V(f"CAST(__pl_array_histogram({array.sql}) AS {_duck_type(kind)})", kind)

    def _f_translate(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "translate", 3)
        self._string_args("translate", values)
        return _V(f"__pl_translate({', '.join(v.sql for v in values)})", "varchar")

    def _map_lambda(self, name: str, nodes: list[Any], ctx: _Ctx) -> tuple[_V, str, str, _V]:
        container = self.expr(nodes[0], ctx)
        if _base(container.type) != "map":
            raise QueryError(f"Unexpected parameters ({container.type}) for function {name}")
        key, value = _args(container.type)
        sqls = ["struct_extract(__pl_e, 'key')", "struct_extract(__pl_e, 'value')"]
        _, body = self._lambda(nodes[1], ctx, [(key, None), (value, None)], sqls)
        return container, key, value, body

    def _f_map_filter(self, nodes: list[Any], ctx: _Ctx) -> _V:
        container, _, _, body = self._map_lambda("map_filter", nodes, ctx)
        self._boolean(body, "map_filter")
        return _V(
            f"map_from_entries(list_filter(map_entries({container.sql}), "
            f"__pl_e -> coalesce({body.sql}, false)))",
            container.type,
        )

    def _f_transform_values(self, nodes: list[Any], ctx: _Ctx) -> _V:
        container, key, _, body = self._map_lambda("transform_values", nodes, ctx)
        entry = f"{{'key': struct_extract(__pl_e, 'key'), 'value': {body.sql}}}"
        return _V(
            f"map_from_entries(list_transform(map_entries({container.sql}), __pl_e -> {entry}))",
            f"map({key}, {body.type})",
        )

    def _f_transform_keys(self, nodes: list[Any], ctx: _Ctx) -> _V:
        container, _, value, body = self._map_lambda("transform_keys", nodes, ctx)
        entry = f"{{'key': {body.sql}, 'value': struct_extract(__pl_e, 'value')}}"
        return _V(
            f"__pl_map_entries(list_transform(map_entries({container.sql}), __pl_e -> {entry}))",
            f"map({body.type}, {value})",
        )

    def _f_format_datetime(self, nodes: list[Any], ctx: _Ctx) -> _V:
        value, pattern = self._values(nodes, ctx, "format_datetime", 2)
        text = _literal_string(nodes[1], "a format_datetime pattern")
        _check_joda(text)
        base = _base(value.type)
        if base == "timestamptz":
            instant, zone = f"CAST({value.sql} AS TIMESTAMP)", value.zone or "UTC"
        elif base == "timestamp":
            instant, zone = value.sql, "UTC"
        elif base == "date":
            instant, zone = f"CAST({value.sql} AS TIMESTAMP)", "UTC"
        else:
            raise QueryError(
                f"Unexpected parameters ({value.type}, varchar) for function format_datetime"
            )
        return _V(f"__pl_joda_format({instant}, {pattern.sql}, {_zone_sql(zone)})", "varchar")

    def _f_parse_datetime(self, nodes: list[Any], ctx: _Ctx) -> _V:
        value, pattern = self._values(nodes, ctx, "parse_datetime", 2)
        text = _literal_string(nodes[1], "a parse_datetime pattern")
        _check_joda(text, parsing=True)
        return _V(
            f"CAST(__pl_joda_parse({value.sql}, {pattern.sql}) AS TIMESTAMPTZ)",
            f"timestamp(3){_TZ}",
            "UTC",
        )

    def _f_date_format(self, nodes: list[Any], ctx: _Ctx) -> _V:
        value, pattern = self._values(nodes, ctx, "date_format", 2)
        text = _literal_string(nodes[1], "a date_format pattern")
        for spec in re.findall(r"%(.)", text):
            if spec in "DUuVwX":
                raise _refuse(f"the date_format specifier %{spec}")
        wall, _ = self._moment(value, "date_format")
        return _V(f"__pl_mysql_format({wall}, {pattern.sql})", "varchar")

    def _f_date_parse(self, nodes: list[Any], ctx: _Ctx) -> _V:
        value, pattern = self._values(nodes, ctx, "date_parse", 2)
        _literal_string(nodes[1], "a date_parse pattern")
        return _V(f"__pl_mysql_parse({value.sql}, {pattern.sql})", "timestamp(3)")

    # arrays

    def _array_arg(self, value: _V, name: str) -> str:
        if _base(value.type) != "array":
            if value.type == "unknown":
                return "unknown"
            raise QueryError(f"Unexpected parameters ({value.type}) for function {name}")
        return _args(value.type)[0]

    def _f_cardinality(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "cardinality", 1)
        if _base(value.type) == "map":
            return _V(f"CAST(cardinality({value.sql}) AS BIGINT)", "bigint")
        self._array_arg(value, "cardinality")
        return _V(f"CAST(len({value.sql}) AS BIGINT)", "bigint")

    def _f_contains(self, nodes: list[Any], ctx: _Ctx) -> _V:
        array, item = self._values(nodes, ctx, "contains", 2)
        self._array_arg(array, "contains")
        # Trino: NULL when not found and the array holds a NULL.
        return _V(
            f"CASE WHEN list_contains({array.sql}, {item.sql}) THEN true "
            f"WHEN list_count({array.sql}) < len({array.sql}) THEN NULL ELSE false END",
            "boolean",
        )

    def _f_element_at(self, nodes: list[Any], ctx: _Ctx) -> _V:
        container, key = self._values(nodes, ctx, "element_at", 2)
        if _base(container.type) == "map":
            return _V(f"{container.sql}[{key.sql}]", _args(container.type)[1])
        inner = self._array_arg(container, "element_at")
        return _V(
            f"__pl_element_at({container.sql}, CAST({key.sql} AS BIGINT))", inner, container.zone
        )

    def _f_array_join(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "array_join", 2, 3)
        inner = self._array_arg(values[0], "array_join")
        element = self._to_varchar(_V("__pl_e", inner), False).sql
        texts = f"list_transform({values[0].sql}, __pl_e -> {element})"
        if len(values) == 3:
            texts = f"list_transform({texts}, __pl_t -> coalesce(__pl_t, {values[2].sql}))"
        return _V(f"array_to_string({texts}, {values[1].sql})", "varchar")

    def _f_array_distinct(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "array_distinct", 1)
        self._array_arg(value, "array_distinct")
        # Trino keeps first occurrences in order (DuckDB's list_distinct does not keep order).
        return _V(
            f"list_filter({value.sql}, (__pl_v, __pl_i) -> "
            f"list_position({value.sql}, __pl_v) = __pl_i)",
            value.type,
            value.zone,
        )

    def _f_array_max(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "array_max", 1)
        inner = self._array_arg(value, "array_max")
        return _V(
            f"CASE WHEN list_count({value.sql}) < len({value.sql}) THEN NULL "
            f"ELSE list_max({value.sql}) END",
            inner,
            value.zone,
        )

    def _f_array_min(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "array_min", 1)
        inner = self._array_arg(value, "array_min")
        return _V(
            f"CASE WHEN list_count({value.sql}) < len({value.sql}) THEN NULL "
            f"ELSE list_min({value.sql}) END",
            inner,
            value.zone,
        )

    def _f_array_sort(self, nodes: list[Any], ctx: _Ctx) -> _V:
        if len(nodes) != 1:
            raise _refuse("array_sort with a comparator")
        (value,) = self._values(nodes, ctx, "array_sort", 1)
        self._array_arg(value, "array_sort")
        return _V(f"list_sort({value.sql}, 'ASC', 'NULLS LAST')", value.type, value.zone)

    def _f_array_position(self, nodes: list[Any], ctx: _Ctx) -> _V:
        array, item = self._values(nodes, ctx, "array_position", 2)
        self._array_arg(array, "array_position")
        return _V(f"CAST(coalesce(list_position({array.sql}, {item.sql}), 0) AS BIGINT)", "bigint")

    def _f_array_remove(self, nodes: list[Any], ctx: _Ctx) -> _V:
        array, item = self._values(nodes, ctx, "array_remove", 2)
        self._array_arg(array, "array_remove")
        return _V(
            f"list_filter({array.sql}, __pl_v -> __pl_v IS DISTINCT FROM {item.sql})",
            array.type,
            array.zone,
        )

    def _f_slice(self, nodes: list[Any], ctx: _Ctx) -> _V:
        array, start, length = self._values(nodes, ctx, "slice", 3)
        self._array_arg(array, "slice")
        return _V(
            f"__pl_slice({array.sql}, CAST({start.sql} AS BIGINT), CAST({length.sql} AS BIGINT))",
            array.type,
            array.zone,
        )

    def _f_flatten(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "flatten", 1)
        inner = self._array_arg(value, "flatten")
        return _V(f"flatten({value.sql})", inner, value.zone)

    def _f_repeat(self, nodes: list[Any], ctx: _Ctx) -> _V:
        item, count = self._values(nodes, ctx, "repeat", 2)
        return _V(
            f"list_transform(range(CAST({count.sql} AS BIGINT)), __pl_r -> {item.sql})",
            f"array({item.type})",
            item.zone,
        )

    def _f_arrays_overlap(self, nodes: list[Any], ctx: _Ctx) -> _V:
        first, second = self._values(nodes, ctx, "arrays_overlap", 2)
        return _V(f"list_has_any({first.sql}, {second.sql})", "boolean")

    def _f_sequence(self, nodes: list[Any], ctx: _Ctx) -> _V:
        values = self._values(nodes, ctx, "sequence", 2, 3)
        start, stop = values[0], values[1]
        if _is_int(start.type) and _is_int(stop.type):
            step = (
                values[2].sql
                if len(values) == 3
                else f"CASE WHEN {start.sql} <= {stop.sql} THEN 1 ELSE -1 END"
            )
            sql = (
                f"__pl_sequence(CAST({start.sql} AS BIGINT), CAST({stop.sql} AS BIGINT), "
                f"CAST({step} AS BIGINT))"
            )
            return _V(sql, "array(bigint)")
        if _base(start.type) == "date" and _base(stop.type) == "date":
            if len(values) == 3:
                if values[2].type == "interval year to month":
                    raise _refuse("sequence of dates by months")
                step = values[2].sql
            else:
                step = (
                    f"CASE WHEN {start.sql} <= {stop.sql} THEN INTERVAL 1 DAY "
                    "ELSE INTERVAL (-1) DAY END"
                )
            return _V(
                f"CAST(__pl_time_sequence(CAST({start.sql} AS TIMESTAMP), "
                f"CAST({stop.sql} AS TIMESTAMP), {step}) AS DATE[])",
                "array(date)",
            )
        if (
            _base(start.type) == "timestamp"
            and _base(stop.type) == "timestamp"
            and len(values) == 3
        ):
            kind = _common_type(start.type, stop.type) or start.type
            return _V(
                f"__pl_time_sequence({start.sql}, {stop.sql}, {values[2].sql})", f"array({kind})"
            )
        raise _refuse(f"sequence({', '.join(v.type for v in values)})")

    # lambdas

    def _f_transform(self, nodes: list[Any], ctx: _Ctx) -> _V:
        array = self.expr(nodes[0], ctx)
        inner = self._array_arg(array, "transform")
        (param,), body = self._lambda(nodes[1], ctx, [(inner, array.zone)])
        return _V(
            f"list_transform({array.sql}, {param} -> {body.sql})", f"array({body.type})", body.zone
        )

    def _f_filter(self, nodes: list[Any], ctx: _Ctx) -> _V:
        array = self.expr(nodes[0], ctx)
        inner = self._array_arg(array, "filter")
        (param,), body = self._lambda(nodes[1], ctx, [(inner, array.zone)])
        self._boolean(body, "filter")
        return _V(
            f"list_filter({array.sql}, {param} -> coalesce({body.sql}, false))",
            array.type,
            array.zone,
        )

    def _match(self, name: str, nodes: list[Any], ctx: _Ctx) -> _V:
        array = self.expr(nodes[0], ctx)
        inner = self._array_arg(array, name)
        (param,), body = self._lambda(nodes[1], ctx, [(inner, array.zone)])
        self._boolean(body, name)
        results = f"list_transform({array.sql}, {param} -> {body.sql})"
        return _V(f"__pl_{name}({results})", "boolean")

    def _f_any_match(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._match("any_match", nodes, ctx)

    def _f_all_match(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._match("all_match", nodes, ctx)

    def _f_none_match(self, nodes: list[Any], ctx: _Ctx) -> _V:
        return self._match("none_match", nodes, ctx)

    def _f_reduce(self, nodes: list[Any], ctx: _Ctx) -> _V:
        if len(nodes) != 4:
            raise QueryError("Unexpected parameters for function reduce: 4 arguments expected")
        array = self.expr(nodes[0], ctx)
        inner = self._array_arg(array, "reduce")
        initial = self.expr(nodes[1], ctx)
        state = initial.type if initial.type != "unknown" else inner
        sqls = ["struct_extract(__pl_acc, 's')", "struct_extract(__pl_item, 'x')"]
        _, merged = self._lambda(nodes[2], ctx, [(state, None), (inner, array.zone)], sqls)
        if merged.type != state and merged.type != "unknown":
            raise _refuse(f"reduce whose lambda returns {merged.type} for a state of type {state}")
        start = self._coerce(initial, state)
        (final,), finished = self._lambda(nodes[3], ctx, [(state, None)])
        s_type, x_type = _duck_type(state), _duck_type(inner)
        items = f"list_transform({array.sql}, __pl_a -> {{'s': NULL::{s_type}, 'x': __pl_a}})"
        step = f"{{'s': CAST({self._coerce(merged, state).sql} AS {s_type}), 'x': NULL::{x_type}}}"
        seed = f"{{'s': CAST({start.sql} AS {s_type}), 'x': NULL::{x_type}}}"
        folded = (
            f"struct_extract(list_reduce({items}, (__pl_acc, __pl_item) -> {step}, {seed}), 's')"
        )
        return _V(
            f"list_transform([{folded}], {final} -> {finished.sql})[1]",
            finished.type,
            finished.zone,
        )

    def _f_zip_with(self, nodes: list[Any], ctx: _Ctx) -> _V:
        first, second = self.expr(nodes[0], ctx), self.expr(nodes[1], ctx)
        a, b = self._array_arg(first, "zip_with"), self._array_arg(second, "zip_with")
        sqls = ["struct_extract(__pl_pair, 1)", "struct_extract(__pl_pair, 2)"]
        _, body = self._lambda(nodes[2], ctx, [(a, first.zone), (b, second.zone)], sqls)
        # Trino pads the shorter array with NULLs, as DuckDB's list_zip does.
        return _V(
            f"list_transform(list_zip({first.sql}, {second.sql}), __pl_pair -> {body.sql})",
            f"array({body.type})",
            body.zone,
        )

    # maps

    def _f_map(self, nodes: list[Any], ctx: _Ctx) -> _V:
        if not nodes:
            return _V("MAP()", "map(unknown, unknown)")
        keys, values = self._values(nodes, ctx, "map", 2)
        key_type, value_type = self._array_arg(keys, "map"), self._array_arg(values, "map")
        return _V(f"__pl_map({keys.sql}, {values.sql})", f"map({key_type}, {value_type})")

    def _f_map_keys(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "map_keys", 1)
        if _base(value.type) != "map":
            raise QueryError(f"Unexpected parameters ({value.type}) for function map_keys")
        return _V(f"map_keys({value.sql})", f"array({_args(value.type)[0]})")

    def _f_map_values(self, nodes: list[Any], ctx: _Ctx) -> _V:
        (value,) = self._values(nodes, ctx, "map_values", 1)
        if _base(value.type) != "map":
            raise QueryError(f"Unexpected parameters ({value.type}) for function map_values")
        return _V(f"map_values({value.sql})", f"array({_args(value.type)[1]})")


# ---------------------------------------------------------------------------------------------
# Trino semantics: the pieces the translation uses in DuckDB

_AGG_MARK = "agg"
_WINDOW_MARK = "win"
_CALL = re.compile("^\x01(agg|win)(\\d+)\x01")
_FILTER_SLOT = "\x01filter\x01"
_OVER_SLOT = "\x01over\x01"
_ALIASES = {
    "ceiling": "ceil",
    "pow": "power",
    "any_value": "arbitrary",
    "every": "bool_and",
    "stddev_samp": "stddev",
    "var_samp": "variance",
    "day_of_month": "day",
    "dow": "day_of_week",
    "doy": "day_of_year",
    "yow": "year_of_week",
    "week_of_year": "week",
    "substring": "substr",
    "position": "strpos",
}
# Trino's functions (its documentation's list of functions and operators): a name here
# without a translation is refused; any other name is not a function on Athena either.
_TRINO_FUNCTION_NAMES = """
    abs acos all_match any_match any_value approx_distinct approx_most_frequent
    approx_percentile approx_set arbitrary array_agg array_distinct array_except array_first
    array_histogram array_intersect array_join array_last array_max array_min array_position
    array_remove array_sort array_union arrays_overlap asin at_timezone atan atan2 avg bar
    beta_cdf bing_tile bing_tile_at bing_tile_coordinates bing_tile_polygon bing_tile_quadkey
    bing_tile_zoom_level bing_tiles_around bit_count bitwise_and bitwise_and_agg
    bitwise_left_shift bitwise_not bitwise_or bitwise_or_agg bitwise_right_shift
    bitwise_right_shift_arithmetic bitwise_xor bitwise_xor_agg bool_and bool_or cardinality
    cast cbrt ceil ceiling char2hexint checksum chr classifier classify coalesce codepoint
    collect color combinations concat concat_ws contains contains_sequence convex_hull_agg corr
    cos cosh cosine_distance cosine_similarity count count_if covar_pop covar_samp crc32
    cume_dist current_date current_groups current_time current_timestamp current_timezone
    current_user date date_add date_diff date_format date_parse date_trunc day day_of_month
    day_of_week day_of_year degrees dense_rank dot_product dow doy e element element_at
    empty_approx_set ends_with euclidean_distance evaluate_classifier_predictions every
    exclude_columns exp extract features filter first first_value flatten floor format
    format_datetime format_number from_base from_base32 from_base64 from_base64url
    from_big_endian_32 from_big_endian_64 from_encoded_polyline from_geojson_geometry from_hex
    from_ieee754_32 from_ieee754_64 from_iso8601_date from_iso8601_timestamp
    from_iso8601_timestamp_nanos from_unixtime from_unixtime_nanos from_utf8 fusion
    geometric_mean geometry_collect_agg geometry_from_hadoop_shape geometry_invalid_reason
    geometry_nearest_points geometry_to_bing_tiles geometry_union geometry_union_agg
    great_circle_distance greatest hamming_distance hash_counts histogram hmac_md5 hmac_sha1
    hmac_sha256 hmac_sha512 hour human_readable_seconds if index infinity intersection
    intersection_cardinality inverse_beta_cdf inverse_normal_cdf is_finite is_infinite
    is_json_scalar is_nan jaccard_index json json_array json_array_contains json_array_get
    json_array_length json_exists json_extract json_extract_scalar json_format json_object
    json_parse json_query json_scalar json_serialize json_size json_value kurtosis lag last
    last_day_of_month last_value lead learn_classifier learn_libsvm_classifier
    learn_libsvm_regressor learn_regressor least length levenshtein_distance
    line_interpolate_point line_interpolate_points line_locate_point listagg ln localtime
    localtimestamp log log10 log2 lower lpad ltrim luhn_check make_set_digest map map_agg
    map_concat map_entries map_filter map_from_entries map_keys map_union map_values
    map_zip_with match_number max max_by md5 merge merge_set_digest millisecond min min_by
    minute mod month multimap_agg multimap_from_entries murmur3 nan next ngrams none_match
    normal_cdf normalize now nth_value ntile nullif numeric_histogram objectid
    objectid_timestamp overlay parse_data_size parse_datetime parse_duration percent_rank
    permute pi position pow power prev qdigest_agg quarter radians rand random rank reduce
    reduce_agg regexp_count regexp_extract regexp_extract_all regexp_like regexp_position
    regexp_replace regexp_split regr_intercept regr_slope regress render repeat replace reverse
    rgb round row row_number rpad rtrim second sequence set sha1 sha256 sha512 shuffle sign
    simplify_geometry sin sinh skewness slice soundex spatial_partitioning spatial_partitions
    split split_part split_to_map split_to_multimap spooky_hash_v2_32 spooky_hash_v2_64 sqrt
    st_area st_asbinary st_asewkb st_asewkt st_astext st_boundary st_buffer st_centroid
    st_collect st_contains st_convexhull st_coorddim st_crosses st_difference st_dimension
    st_disjoint st_distance st_endpoint st_envelope st_envelopeaspts st_equals st_exteriorring
    st_force2d st_force3d st_geometries st_geometryfromtext st_geometryn st_geometrytype
    st_geomfrombinary st_geomfromewkt st_geomfromkml st_interiorringn st_interiorrings
    st_intersection st_intersects st_isclosed st_isempty st_isring st_issimple st_isvalid
    st_length st_linefromtext st_linemerge st_linestring st_makeline st_makepolygon
    st_minimumboundingcircle st_multi st_multipoint st_normalize st_numgeometries
    st_numinteriorring st_numpoints st_orientedenvelope st_overlaps st_point st_pointn
    st_pointonsurface st_points st_polygon st_polygonize st_reduceprecision st_relate
    st_setsrid st_srid st_startpoint st_symdifference st_touches st_transform st_union
    st_voronoipolygons st_within st_x st_xmax st_xmin st_y st_ymax st_ymin st_z starts_with
    stddev stddev_pop stddev_samp strpos substr substring sum tan tanh tdigest_agg
    theta_sketch_cardinality theta_sketch_union timestamp_objectid timezone timezone_hour
    timezone_minute title_case to_base to_base32 to_base64 to_base64url to_big_endian_32
    to_big_endian_64 to_char to_date to_encoded_polyline to_geojson_geometry to_geometry to_hex
    to_ieee754_32 to_ieee754_64 to_iso8601 to_milliseconds to_spherical_geography to_timestamp
    to_unixtime to_utf8 transform transform_keys transform_values translate trim trim_array
    truncate try try_cast typeof upper url_decode url_encode url_extract_fragment
    url_extract_host url_extract_parameter url_extract_path url_extract_port
    url_extract_protocol url_extract_query uuid value_at_quantile values_at_quantiles var_pop
    var_samp variance version week week_of_year width_bucket wilson_interval_lower
    wilson_interval_upper with_timezone word_stem xxhash64 year year_of_week yow zip zip_with
    """
_TRINO_FUNCTIONS = set(_TRINO_FUNCTION_NAMES.split())
_INFORMATION_SCHEMA = {
    "schemata": [("catalog_name", "varchar"), ("schema_name", "varchar")],
    "tables": [
        ("table_catalog", "varchar"),
        ("table_schema", "varchar"),
        ("table_name", "varchar"),
        ("table_type", "varchar"),
    ],
    "columns": [
        ("table_catalog", "varchar"),
        ("table_schema", "varchar"),
        ("table_name", "varchar"),
        ("column_name", "varchar"),
        ("ordinal_position", "bigint"),
        ("column_default", "varchar"),
        ("is_nullable", "varchar"),
        ("data_type", "varchar"),
        ("comment", "varchar"),
        ("extra_info", "varchar"),
    ],
}
_MACROS = [
    "__pl_int_div(a, b) AS CASE WHEN b = 0 THEN error('Division by zero') ELSE a // b END",
    "__pl_round_us_to_ms(d) AS CASE WHEN d >= 0 THEN (d + 500) // 1000 "
    "ELSE -((499 - d) // 1000) END",
    "__pl_instant_diff_ms(a, b) AS (floor(a / 1000) - floor(b / 1000))::BIGINT "
    "+ CASE WHEN (a - 1000 * floor(a / 1000)) - (b - 1000 * floor(b / 1000)) >= 500 THEN 1 "
    "WHEN (a - 1000 * floor(a / 1000)) - (b - 1000 * floor(b / 1000)) <= -500 THEN -1 "
    "ELSE 0 END",
    # IntervalDayTime.formatMillis and IntervalYearMonth.formatMonths (Trino's interval text)
    "__pl_day_second_text(m) AS CASE WHEN m < 0 THEN '-' ELSE '' END "
    "|| CAST(abs(m) // 86400000 AS VARCHAR) || ' ' "
    "|| lpad(CAST(abs(m) % 86400000 // 3600000 AS VARCHAR), 2, '0') || ':' "
    "|| lpad(CAST(abs(m) % 3600000 // 60000 AS VARCHAR), 2, '0') || ':' "
    "|| lpad(CAST(abs(m) % 60000 // 1000 AS VARCHAR), 2, '0') || '.' "
    "|| lpad(CAST(abs(m) % 1000 AS VARCHAR), 3, '0')",
    "__pl_year_month_text(m) AS CASE WHEN m < 0 THEN '-' ELSE '' END "
    "|| CAST(abs(m) // 12 AS VARCHAR) || '-' || CAST(abs(m) % 12 AS VARCHAR)",
    "__pl_int_mod(a, b) AS CASE WHEN b = 0 THEN error('Division by zero') ELSE a % b END",
    "__pl_checked_bigint(x) AS CASE WHEN x > 9223372036854775807 OR x < -9223372036854775808 "
    "THEN error('bigint addition overflow') ELSE CAST(x AS BIGINT) END",
    "__pl_subscript(l, i) AS CASE WHEN i < 1 THEN error('SQL array indices start at 1') "
    "WHEN i > len(l) THEN error('Array subscript must be less than or equal to array length: ' "
    "|| i || ' > ' || len(l)) ELSE l[i] END",
    "__pl_element_at(l, i) AS CASE WHEN i = 0 THEN error('SQL array indices start at 1') "
    "WHEN abs(i) > len(l) THEN NULL WHEN i < 0 THEN l[len(l) + i + 1] ELSE l[i] END",
    "__pl_map_subscript(m, k) AS CASE WHEN m IS NULL OR k IS NULL THEN NULL "
    "WHEN NOT list_contains(map_keys(m), k) "
    "THEN error('Key not present in map: ' || CAST(k AS VARCHAR)) ELSE m[k] END",
    "__pl_percentile(l, q) AS CASE WHEN q < 0 OR q > 1 "
    "THEN error('Percentile must be between 0 and 1') "
    "ELSE list_filter(l, v -> v IS NOT NULL)[least(len(list_filter(l, v -> v IS NOT NULL)), "
    "CAST(floor(q * len(list_filter(l, v -> v IS NOT NULL))) AS BIGINT) + 1)] END",
    "__pl_map_agg(l) AS map_from_entries(list_transform(list_distinct(list_transform("
    "list_filter(l, e -> e.k IS NOT NULL), e -> e.k)), "
    "u -> {'key': u, 'value': list_filter(l, e -> e.k = u)[1].v}))",
    "__pl_map_entries(l) AS CASE WHEN list_count(list_transform(l, e -> e.key)) < len(l) "
    "THEN error('map key cannot be null') "
    "WHEN len(list_distinct(list_transform(l, e -> e.key))) < len(l) "
    "THEN error('Duplicate map keys are not allowed') ELSE map_from_entries(l) END",
    "__pl_trim_array(l, n) AS CASE WHEN n < 0 OR n > len(l) "
    "THEN error('size must not be negative or greater than the array size') "
    "ELSE l[1:len(l) - n] END",
    "__pl_translate(s, f, t) AS translate(s, f, t)",
    # Trino maps case code point by code point (no 'ß' -> 'SS', nor DuckDB's 'ß' -> 'ẞ').
    "__pl_upper(s) AS CASE WHEN regexp_full_match(s, '[\\x00-\\x7F]*') THEN upper(s) "
    "ELSE __pl_simple_case(s, true) END",
    "__pl_lower(s) AS CASE WHEN regexp_full_match(s, '[\\x00-\\x7F]*') THEN lower(s) "
    "ELSE __pl_simple_case(s, false) END",
    "__pl_array_histogram(l) AS map_from_entries(list_transform(list_distinct(l), "
    "k -> {'key': k, 'value': len(list_filter(l, e -> e = k))}))",
    "__pl_width_bucket(x, lo, hi, n) AS CASE WHEN n <= 0 "
    "THEN error('bucketCount must be greater than 0') "
    "WHEN isnan(x) OR isnan(lo) OR isnan(hi) THEN error('operand, bound1, bound2 must not be NaN') "
    "WHEN lo = hi THEN error('bounds cannot equal each other') "
    "WHEN lo < hi THEN (CASE WHEN x < lo THEN 0 WHEN x >= hi THEN n + 1 "
    "ELSE CAST(floor((x - lo) / (hi - lo) * n) AS BIGINT) + 1 END) "
    "ELSE (CASE WHEN x > lo THEN 0 WHEN x <= hi THEN n + 1 "
    "ELSE CAST(floor((lo - x) / (lo - hi) * n) AS BIGINT) + 1 END) END",
    "__pl_substr(s, start, n) AS CASE WHEN start = 0 OR (n IS NOT NULL AND n <= 0) THEN '' "
    "WHEN start > 0 THEN (CASE WHEN n IS NULL THEN substring(s, start) "
    "ELSE substring(s, start, n) END) "
    "WHEN length(s) + start < 0 THEN '' "
    "ELSE (CASE WHEN n IS NULL THEN substring(s, length(s) + start + 1) "
    "ELSE substring(s, length(s) + start + 1, n) END) END",
    "__pl_replace(s, f, r) AS CASE WHEN f = '' THEN r || array_to_string("
    "list_transform(string_split(s, ''), c -> c || r), '') ELSE replace(s, f, r) END",
    "__pl_lpad(s, n, f) AS CASE WHEN f = '' THEN error('Padding string must not be empty') "
    "WHEN n < 0 THEN error('Target length must be in the range [0..2147483647]') "
    "ELSE lpad(s, CAST(n AS INTEGER), f) END",
    "__pl_rpad(s, n, f) AS CASE WHEN f = '' THEN error('Padding string must not be empty') "
    "WHEN n < 0 THEN error('Target length must be in the range [0..2147483647]') "
    "ELSE rpad(s, CAST(n AS INTEGER), f) END",
    "__pl_split(s, d) AS CASE WHEN d = '' THEN error('The delimiter may not be the empty string') "
    "ELSE string_split(s, d) END",
    "__pl_split_part(s, d, i) AS CASE WHEN i <= 0 THEN error('Index must be greater than zero') "
    "WHEN d = '' THEN error('The delimiter may not be the empty string') "
    "ELSE string_split(s, d)[i] END",
    "__pl_slice(l, start, n) AS CASE WHEN start = 0 THEN error('SQL array indices start at 1') "
    "WHEN n < 0 THEN error('length must be greater than or equal to 0') "
    "WHEN start > 0 THEN l[start:start + n - 1] "
    "WHEN len(l) + start < 0 THEN [] ELSE l[len(l) + start + 1:len(l) + start + n] END",
    "__pl_sequence(a, b, step) AS CASE WHEN step = 0 THEN error('step must not be zero') "
    "WHEN (step > 0 AND a > b) OR (step < 0 AND a < b) "
    "THEN error('sequence stop value should be greater than or equal to start value if step is "
    "greater than zero otherwise stop should be less than or equal to start') "
    "ELSE generate_series(a, b, step) END",
    "__pl_time_sequence(a, b, step) AS generate_series(a, b, step)",
    "__pl_any_match(l) AS CASE WHEN list_contains(l, true) THEN true "
    "WHEN list_count(l) < len(l) THEN NULL ELSE false END",
    "__pl_all_match(l) AS CASE WHEN list_contains(l, false) THEN false "
    "WHEN list_count(l) < len(l) THEN NULL ELSE true END",
    "__pl_none_match(l) AS CASE WHEN list_contains(l, true) THEN false "
    "WHEN list_count(l) < len(l) THEN NULL ELSE true END",
    "__pl_map(k, v) AS CASE WHEN len(k) <> len(v) "
    "THEN error('Key and value arrays must be the same length') "
    "WHEN list_count(k) < len(k) THEN error('map key cannot be null') "
    "WHEN len(list_distinct(k)) < len(k) THEN error('Duplicate map keys are not allowed') "
    "ELSE map(k, v) END",
    "__pl_ts_text(t, p) AS strftime(t, '%Y-%m-%d %H:%M:%S') || "
    "CASE WHEN p = 0 THEN '' ELSE '.' || substr(strftime(t, '%f'), 1, p) END",
    "__pl_iso_offset(m) AS CASE WHEN m = 0 THEN 'Z' ELSE (CASE WHEN m < 0 THEN '-' ELSE '+' END) "
    "|| lpad(CAST(abs(m) // 60 AS VARCHAR), 2, '0') || ':' "
    "|| lpad(CAST(abs(m) % 60 AS VARCHAR), 2, '0') END",
    "__pl_round_double(x, d) AS CASE WHEN isnan(x) OR isinf(x) THEN x "
    "WHEN x < 0 THEN -(floor(-x * pow(10, d) + 0.5) / pow(10, d)) "
    "ELSE floor(x * pow(10, d) + 0.5) / pow(10, d) END",
]


def _register(connection: Any) -> None:
    """The macros and Python functions the translated SQL calls."""
    from duckdb import sqltypes

    varchar, double, integer = sqltypes.VARCHAR, sqltypes.DOUBLE, sqltypes.INTEGER
    timestamp = sqltypes.TIMESTAMP
    functions = [
        ("__pl_double_text", _double_text, [double], varchar),
        ("__pl_decimal_div", _decimal_divide, [varchar, varchar, integer], varchar),
        ("__pl_decimal_mod", _decimal_modulo, [varchar, varchar, integer], varchar),
        (
            "__pl_format",
            lambda pattern, kinds, values: _java_format(pattern, kinds.split("|"), values),
            [varchar, varchar, connection.list_type(varchar)],
            varchar,
        ),
        ("__pl_joda_format", _joda_format, [timestamp, varchar, varchar], varchar),
        ("__pl_joda_parse", _joda_parse, [varchar, varchar], timestamp),
        ("__pl_mysql_format", _mysql_format, [timestamp, varchar], varchar),
        ("__pl_mysql_parse", _mysql_parse, [varchar, varchar], timestamp),
        ("__pl_iso_date", _iso_date, [varchar], sqltypes.DATE),
        ("__pl_luhn_check", _luhn_check, [varchar], sqltypes.BOOLEAN),
        ("__pl_zone", _row_zone, [varchar], varchar),
        ("__pl_simple_case", _simple_case, [varchar, sqltypes.BOOLEAN], varchar),
    ]
    for name, function, parameters, result in functions:
        connection.create_function(name, function, parameters, result, side_effects=False)
    for macro in _MACROS:  # after the functions they call
        connection.execute(f"CREATE MACRO {macro}")


def _raw(sql: str) -> Any:
    """A piece of DuckDB SQL in the syntax tree (sqlglot prints a Var as written)."""
    from sqlglot import exp

    return exp.Var(this=sql)


_RAW_TYPES: tuple[type, ...] = ()


def _clean(sql: str) -> str:
    if re.search("\x01win\\d+\x01", sql):
        raise QueryError("a window function needs an OVER clause")
    return re.sub("\x01[^\x01]*\x01", "", sql)


# ---------------------------------------------------------------------------------------------
# Translation


_DECIMAL_LITERAL = "phenolake_decimal_literal"


class _Dialect:
    """Athena's DML dialect (Trino), parsed with every function call kept as written."""

    _instance: Any = None

    @classmethod
    def get(cls) -> Any:
        if cls._instance is None:
            from sqlglot import exp
            from sqlglot.dialects.trino import Trino

            def decimal_literal(parser: Any, this: Any, data_type: Any) -> Any:
                # ``DECIMAL '1.2'`` is a literal of its own type, not CAST('1.2' AS DECIMAL)
                cast = parser.expression(exp.Cast(this=this, to=data_type))
                cast.meta[_DECIMAL_LITERAL] = True
                return cast

            class AthenaTrino(Trino):  # type: ignore[misc]
                class Parser(Trino.Parser):  # type: ignore[name-defined,misc]
                    FUNCTIONS: typing.ClassVar[dict[str, Any]] = {}
                    TYPE_LITERAL_PARSERS: typing.ClassVar[dict[Any, Any]] = {
                        **Trino.Parser.TYPE_LITERAL_PARSERS,
                        exp.DType.DECIMAL: decimal_literal,
                    }

            cls._instance = AthenaTrino
        return cls._instance


@contextlib.contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    """sqlglot logs warnings (a fallback to a Command, unsupported syntax); not for users."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
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
            statements = [s for s in sqlglot.parse(sql, read=_Dialect.get()) if s is not None]
    except (ParseError, TokenError) as exc:
        raise QueryError(f"cannot parse the SQL: {_one_line(exc)}") from None
    if len(statements) != 1:
        raise QueryError(f"give one SQL statement, not {len(statements)}")
    _check_limit_offset(sql)
    return statements[0]


def _check_limit_offset(sql: str) -> None:
    """Trino (Athena) takes ``OFFSET m LIMIT n`` and rejects ``LIMIT n OFFSET m``."""
    from sqlglot.tokens import TokenType

    tokens = _Dialect.get()().tokenize(sql)
    depth, seen_limit = 0, {0: False}
    for token in tokens:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
            seen_limit[depth] = False
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif token.token_type == TokenType.LIMIT:
            seen_limit[depth] = True
        elif token.token_type == TokenType.OFFSET and seen_limit.get(depth):
            raise QueryError(
                "mismatched input 'OFFSET': Athena takes OFFSET before LIMIT "
                "(OFFSET m LIMIT n), not LIMIT n OFFSET m"
            )


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
        if db.lower() in ("information_schema",):
            continue
        written = ".".join(p for p in (table.db, table.name) if p)
        found.append((db.lower(), table.name.lower(), written))
    return found


def _resolve_iceberg(tree: Any, catalog: _Catalog, database: str) -> None:
    """Give each Iceberg time travel (``t FOR VERSION AS OF 123``, ``FOR TIMESTAMP AS OF ...``)
    and each Iceberg metadata table (``"t$snapshots"``) a relation of its own in the query's
    catalog: the travelled table becomes ``"t@<snapshot id>" AS t``, resolved here to the
    snapshot Athena would read, with Athena's error when there is none."""
    from sqlglot import exp

    ctes = _cte_names(tree)
    started_ms = (dt.datetime.now(dt.UTC) - _EPOCH_UTC) // dt.timedelta(milliseconds=1)
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier):
            continue
        db, name = (table.db or database).lower(), table.name
        version = table.args.get("version")
        if not table.db and name.lower() in ctes:
            if version is not None:
                raise QueryError("This connector does not support versioned tables")
            continue
        if "$" in name and catalog.table(db, name) is None:
            base_name, _, suffix = name.partition("$")
            base = catalog.iceberg(db, base_name)
            if base is None:
                continue  # an unknown table, said so with the catalog's tables
            suffix = suffix.lower()
            if suffix in _ICEBERG_METADATA_REFUSED:
                raise _refuse(
                    f'the Iceberg metadata table "{name}" (local: $snapshots, $history, $refs)'
                )
            if suffix not in _ICEBERG_METADATA_COLUMNS:
                raise QueryError(f"Table 'awsdatacatalog.{db}.{name.lower()}' does not exist")
            if version is not None:
                raise QueryError("This connector does not support versioned tables")
            catalog.virtual[(db, name.lower())] = _Virtual(
                typing.cast(Literal["snapshots", "history", "refs"], suffix),
                db,
                base_name.lower(),
            )
            continue
        if version is None:
            continue
        iceberg = catalog.iceberg(db, name)
        if iceberg is None:
            if catalog.table(db, name) is None:
                continue  # an unknown table, said so with the catalog's tables
            raise QueryError("This connector does not support versioned tables")
        if str(version.args.get("kind", "")).upper() != "AS OF":
            raise _refuse(f"the time travel {version.sql(dialect='trino')}")
        value, kind = _constant(version.expression, catalog, database)
        temporal = str(version.this).upper() != "VERSION"
        if temporal and kind != "unknown" and _base(kind) not in _TEMPORAL_POINTERS:
            raise QueryError(
                f"Type {kind} invalid. Temporal pointers must be of type Timestamp, "
                "Timestamp with Time Zone, or Date."
            )
        if value is None:
            raise QueryError("Pointer value cannot be NULL")
        if temporal:
            epoch_ms = _pointer_millis(value, kind)
            if epoch_ms >= started_ms:
                # Trino: a state at or after the query's start may still change
                raise QueryError(f"Pointer value '{trino_text(value, kind)}' is not in the past")
            snapshot = iceberg.snapshot_as_of(epoch_ms)
        else:
            snapshot = iceberg.snapshot_of_version(value, kind)
        virtual_name = f"{name.lower()}@{snapshot}"
        catalog.virtual[(db, virtual_name)] = _Virtual("snapshot", db, name.lower(), snapshot)
        table.set("version", None)
        table.set("this", exp.to_identifier(virtual_name, quoted=True))
        if table.args.get("alias") is None:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(name)))


def pin_versions(
    tree: Any, catalog: _Catalog, database: str, versions: Mapping[str, int], pinned_by: str
) -> None:
    """Every reference to an Iceberg table of ``database`` becomes ``t FOR VERSION AS OF <its
    snapshot in versions>`` (a data freeze read as Athena would with the ids ``phenolake
    freeze sql`` prints). A table the freeze does not hold, or a time travel of the query's
    own, is an error: the answer would not be the freeze's (so is a Hive-style table, which
    has no snapshots)."""
    from sqlglot import exp

    ctes = _cte_names(tree)
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier) or "$" in table.name:
            continue
        db, name = (table.db or database).lower(), table.name.lower()
        if (not table.db and name in ctes) or catalog.table(db, name) is None:
            continue  # a CTE, or an unknown table (said so with the catalog's tables)
        if catalog.iceberg(db, name) is None:
            raise QueryError(
                f"table {db}.{name} is not in {pinned_by}: it is not an Iceberg table, "
                "so it has no snapshots to freeze"
            )
        if table.args.get("version") is not None:
            raise QueryError(f"{name}: {pinned_by} fixes its snapshot; drop the FOR ... AS OF")
        if db != database.lower() or name not in versions:
            raise QueryError(f"table {db}.{name} is not in {pinned_by}")
        table.set(
            "version",
            exp.Version(
                this="VERSION", kind="AS OF", expression=exp.Literal.number(versions[name])
            ),
        )


_TEMPORAL_POINTERS = ("timestamp", "timestamptz", "date")
_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _pointer_millis(value: Any, kind: str) -> int:
    """A temporal pointer as epoch milliseconds: a ``timestamp`` without zone and a ``date``
    (its start) are in UTC, Athena's session zone."""
    if _base(kind) == "timestamptz":
        instant = value.astimezone(dt.UTC)
    elif _base(kind) == "timestamp":
        instant = value.replace(tzinfo=dt.UTC)
    else:
        instant = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return (instant - _EPOCH_UTC) // dt.timedelta(milliseconds=1)


def _constant(node: Any, catalog: _Catalog, database: str) -> tuple[Any, str]:
    """The value and Trino type of a constant expression (a time travel's version), computed
    by the engine itself: ``current_timestamp - interval '1' day`` as Athena computes it."""
    import duckdb
    from sqlglot import exp

    if any(isinstance(n, exp.Subquery | exp.Select) for n in node.walk()):
        raise QueryError("Constant expression cannot contain a subquery")
    sql, outputs = _translate(exp.select(node.copy()), catalog, database)
    connection = _open()
    try:
        _register(connection)
        row = connection.execute(sql).fetchone()
    except duckdb.Error as exc:
        raise _error(exc) from None
    finally:
        connection.close()
    return (row[0] if row else None), outputs[0][1].type


def _drop_athena_catalog(tree: Any) -> None:
    """``awsdatacatalog.db.table`` (Athena's catalog) -> ``db.table``."""
    from sqlglot import exp

    for table in tree.find_all(exp.Table):
        if table.catalog:
            if table.catalog.lower() != ATHENA_CATALOG:
                raise QueryError(f"Catalog '{table.catalog}' does not exist")
            table.set("catalog", None)


def _outermost_select(tree: Any) -> Any:
    from sqlglot import exp

    node = tree
    while isinstance(node, exp.SetOperation | exp.Subquery):
        node = node.this
    return node if isinstance(node, exp.Select) else None


_UNNAMED = "__phenolake_unnamed_"


_EXPLICIT_PATH = "__phenolake_path"


def _mark_unnamed(tree: Any) -> None:
    """Alias the unnamed outputs with a marker, so that after qualify (which expands stars and
    names outputs its own way) ``_name_outputs`` can name them by their final position; and
    mark a ``"$path"`` asked for by name, which a star never expands to."""
    from sqlglot import exp

    for select in tree.find_all(exp.Select):
        for projection in list(select.expressions):
            if isinstance(projection, exp.Column) and projection.name == "$path":
                projection.replace(exp.alias_(projection.copy(), _EXPLICIT_PATH, quoted=True))
    select = _outermost_select(tree)
    if select is None:
        return
    for index, projection in enumerate(list(select.expressions)):
        if not isinstance(projection, exp.Alias | exp.Column | exp.Dot | exp.Star):
            projection.replace(exp.alias_(projection.copy(), f"{_UNNAMED}{index}", quoted=True))


def _name_outputs(tree: Any) -> None:
    """Result columns as Athena names them: ``_col<i>`` for unnamed expressions, and no
    ``$path`` from a star."""
    from sqlglot import exp

    for select in tree.find_all(exp.Select):
        kept = []
        for projection in select.expressions:
            inner = projection.this if isinstance(projection, exp.Alias) else projection
            if isinstance(inner, exp.Column) and inner.name == "$path":
                if isinstance(projection, exp.Alias) and projection.alias == _EXPLICIT_PATH:
                    projection.set("alias", exp.to_identifier("$path", quoted=True))
                elif isinstance(projection, exp.Alias) and projection.alias != "$path":
                    pass
                else:
                    continue
            kept.append(projection)
        select.set("expressions", kept)
    select = _outermost_select(tree)
    if select is None:
        return
    for index, projection in enumerate(select.expressions):
        if isinstance(projection, exp.Alias) and projection.alias.startswith(_UNNAMED):
            projection.set("alias", exp.to_identifier(f"_col{index}", quoted=True))


def _qualify(tree: Any, catalog: _Catalog, database: str) -> Any:
    """The tree with every column qualified by its source and every star expanded."""
    from sqlglot.errors import OptimizeError
    from sqlglot.optimizer.qualify import qualify

    schema = catalog.schema([(db, name) for db, name, _ in _referenced_tables(tree, database)])
    schema["information_schema"] = {
        name: dict(columns) for name, columns in _INFORMATION_SCHEMA.items()
    }
    try:
        with _quiet_sqlglot():
            return qualify(
                tree,
                dialect=_Dialect.get(),
                db=database.lower(),
                schema=schema,
                expand_alias_refs=False,
                identify=True,
                validate_qualify_columns=True,
            )
    except OptimizeError as exc:
        message = _one_line(exc)
        column = re.search(r"Column '(?:\"?)([^'\"]+)(?:\"?)' could not be resolved", message)
        if column:
            raise QueryError(f"Column '{column.group(1)}' cannot be resolved") from None
        unknown = re.search(r"Unknown table: (\S+)", message)
        if unknown:
            raise QueryError(f"Table '{unknown.group(1)}' does not exist") from None
        raise QueryError(f"cannot analyse the query: {message}") from None


def translate(sql: str, home: Path | None = None, database: str = "phenolake") -> str:
    """Athena SQL -> the DuckDB SQL the local engine runs (typed against the home's catalog)."""
    catalog = _Catalog(load_catalog(home) if home is not None else {}, home)
    tree = _parse(sql)
    _drop_athena_catalog(tree)
    _resolve_iceberg(tree, catalog, database)
    sql_text, _ = _translate(tree, catalog, database)
    return sql_text


def _translate(tree: Any, catalog: _Catalog, database: str) -> tuple[str, list[tuple[str, _V]]]:
    tree = tree.copy()
    _drop_athena_catalog(tree)
    _mark_unnamed(tree)
    qualified = _qualify(tree, catalog, database)
    _name_outputs(qualified)
    sql, outputs = _Translator(catalog, database).run(qualified)
    for name, value in outputs:
        if value.zone and value.zone.startswith(_DYNAMIC):
            raise _refuse(
                f"a timestamp with time zone result whose zone varies by row ({name}); "
                "format it (format_datetime, CAST AS varchar) or take its fields"
            )
    return _clean(sql), outputs


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


def _table_name(text: str, database: str) -> tuple[str, str]:
    parts = [p.strip('"`') for p in text.split(".")]
    if len(parts) == 3 and parts[0].lower() == ATHENA_CATALOG:
        parts = parts[1:]
    return (parts[0], parts[1]) if len(parts) == 2 else (database, parts[0])


def _command(tree: Any, catalog: _Catalog, database: str, home: Path) -> pa.Table | None:
    """SHOW TABLES / PARTITIONS / COLUMNS and DESCRIBE from the catalog; None for queries."""
    from sqlglot import exp

    if isinstance(tree, exp.Describe):
        table = tree.this
        if not isinstance(table, exp.Table) or tree.args.get("kind") or tree.args.get("style"):
            raise _refuse(f"the statement {tree.sql(dialect='trino')}")
        db, name = (table.db or database), table.name
        return _describe(catalog, db, name, home, database)
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
        db, name = _table_name(words[2], database)
        table = catalog.table(db, name)
        if table is None:
            raise QueryError(f"table {words[2]} is not in the Glue catalog (database {db})")
        iceberg = catalog.iceberg(db, name)
        if iceberg is not None:
            schema = iceberg.schema()
            keys = [schema.find_field(f.source_id).name for f in iceberg.metadata.spec().fields]
            listing = f"SELECT DISTINCT {', '.join(keys)} FROM {words[2]}" if keys else "none"
            raise QueryError(
                f"{db}.{name} is an Iceberg table: Athena does not run SHOW PARTITIONS on "
                f"Iceberg tables (their partitions are hidden); its partitions: {listing}"
            )
        keys = [k["Name"] for k in table.get("PartitionKeys", [])]
        rows = sorted(
            "/".join(f"{k}={v}" for k, v in zip(keys, p.get("Values", []), strict=False))
            for p in catalog.partitions.get((db.lower(), name.lower()), [])
        )
        return pa.table({"partition": pa.array(rows, pa.string())})
    if upper[:2] == ["SHOW", "COLUMNS"] and len(words) in (4, 6) and upper[2] in ("IN", "FROM"):
        db, name = _table_name(words[3], database)
        if len(words) == 6:
            if upper[4] not in ("IN", "FROM"):
                raise QueryError(f"cannot parse the SQL: {' '.join(words)}")
            db = words[5].strip('"`')
        if catalog.table(db, name) is None:
            raise _unknown_table(words[3], db, catalog, home)
        columns = catalog.columns(db, name)
        return pa.table({"field": pa.array([c.name for c in columns], pa.string())})
    raise QueryError(
        f"{upper[0]} statements do not run locally: queries (SELECT, WITH), "
        "DESCRIBE, SHOW TABLES, SHOW COLUMNS and SHOW PARTITIONS do"
    )


def _describe(catalog: _Catalog, db: str, name: str, home: Path, database: str) -> pa.Table:
    """Athena's DESCRIBE (a Hive DDL statement): name, Hive type and comment per column, then
    the partition keys under ``# Partition Information``."""
    table = catalog.table(db, name)
    if table is None:
        raise _unknown_table(name, db, catalog, home)
    iceberg = catalog.iceberg(db, name)
    if iceberg is not None:
        return _describe_iceberg(iceberg)
    columns = table.get("StorageDescriptor", {}).get("Columns", [])
    keys = table.get("PartitionKeys", [])
    rows = [(c["Name"], c["Type"], c.get("Comment", "")) for c in columns + keys]
    if keys:
        rows += [
            ("", "", ""),
            ("# Partition Information", "", ""),
            ("# col_name", "data_type", "comment"),
            ("", "", ""),
        ]
        rows += [(k["Name"], k["Type"], k.get("Comment", "")) for k in keys]
    return pa.table(
        {
            "col_name": pa.array([r[0] for r in rows], pa.string()),
            "data_type": pa.array([r[1] for r in rows], pa.string()),
            "comment": pa.array([r[2] for r in rows], pa.string()),
        }
    )


def _describe_iceberg(iceberg: _IcebergTable) -> pa.Table:
    """Athena's DESCRIBE of an Iceberg table: ``# Table schema:`` (Hive type names), then
    ``# Partition spec:`` with each partition field's transform and source column."""
    schema = iceberg.schema()
    rows = [("# Table schema:", "", ""), ("# col_name", "data_type", "comment")]
    rows += [(c.name, c.hive, c.comment) for c in iceberg.columns()]
    rows += [
        ("", "", ""),
        ("# Partition spec:", "", ""),
        ("# field_name", "field_transform", "column_name"),
    ]
    for field in iceberg.metadata.spec().fields:
        source = schema.find_field(field.source_id)
        rows.append((field.name, str(field.transform), source.name))
    return pa.table(
        {
            "col_name": pa.array([r[0] for r in rows], pa.string()),
            "data_type": pa.array([r[1] for r in rows], pa.string()),
            "comment": pa.array([r[2] for r in rows], pa.string()),
        }
    )


def _information_schema(connection: Any, catalog: _Catalog) -> None:
    """Athena's information_schema over the catalog: catalog ``awsdatacatalog``, Trino types."""
    schemata, tables, columns = [], [], []
    for db in sorted({*catalog.tables, "information_schema"}):
        schemata.append((ATHENA_CATALOG, db))
    for db, entries in sorted(catalog.tables.items()):
        for name in sorted(entries):
            tables.append((ATHENA_CATALOG, db, name, "BASE TABLE"))
            for position, column in enumerate(catalog.columns(db, name), start=1):
                extra = "partition key" if column.partition_key else None
                columns.append(
                    (
                        ATHENA_CATALOG, db, name, column.name.lower(), position, None, "YES",
                        column.trino or column.hive, column.comment or None, extra,
                    )
                )  # fmt: skip
    for name, fields in _INFORMATION_SCHEMA.items():
        rows = {"schemata": schemata, "tables": tables, "columns": columns}[name]
        arrays = {
            field: pa.array([r[i] for r in rows], pa.int64() if kind == "bigint" else pa.string())
            for i, (field, kind) in enumerate(fields)
        }
        connection.register(f"__pl_is_{name}", pa.table(arrays))
        connection.execute(f"CREATE VIEW information_schema_{name} AS SELECT * FROM __pl_is_{name}")


def _use_information_schema(tree: Any) -> bool:
    from sqlglot import exp

    found = False
    for table in tree.find_all(exp.Table):
        if table.db.lower() == "information_schema":
            table.set("db", None)
            table.set("this", exp.to_identifier(f"information_schema_{table.name.lower()}"))
            found = True
    return found


def _error(exc: Exception) -> QueryError:
    """DuckDB's error, in Athena's words where the cause is one Athena names."""
    message = _one_line(exc)
    for needle, said in (
        ("Division by zero", "Division by zero"),
        ("Map keys must be unique", "Duplicate map keys are not allowed"),
        ("Overflow in", "Arithmetic overflow: " + message.split("Error: ", 1)[-1]),
        ("Out of Range", "Out of range: " + message.split("Error: ", 1)[-1]),
    ):
        if needle in message:
            if said is None:
                return _refuse("map_agg with a repeated key (Athena keeps one of the values)")
            return QueryError(said)
    refused = message.find("not supported by the local engine")
    if refused >= 0:
        return Unsupported(message[refused:])
    raised = re.search(r"(?:ValueError|ZeroDivisionError|OverflowError): (.*)", message)
    if raised:
        return QueryError(raised.group(1))
    if "Invalid Input Error" in message:
        return QueryError(message.split("Invalid Input Error: ", 1)[-1])
    return QueryError(message)


def query_local(
    sql: str,
    home: Path,
    database: str = "phenolake",
    versions: Mapping[str, int] | None = None,
    pinned_by: str = "",
) -> pa.Table:
    """Run Athena SQL with DuckDB over the local lake's cataloged tables: Athena's answer, or
    a one-line error naming what the local engine cannot reproduce. ``versions`` (a data
    freeze's snapshot per table, ``pinned_by`` naming it) makes every Iceberg table the query
    reads read that snapshot (``pin_versions``)."""
    import duckdb
    from sqlglot import exp

    tree = _parse(sql)
    catalog = _Catalog(load_catalog(home), home)
    if versions is not None:
        pin_versions(tree, catalog, database, versions, pinned_by or "the freeze")
    shown = _command(tree, catalog, database, home)
    if shown is not None:
        return shown
    if not isinstance(tree, exp.Query):
        raise QueryError(
            f"{tree.key.upper()} statements do not run locally (the local lake is read-only): "
            "queries (SELECT, WITH), DESCRIBE, SHOW TABLES, SHOW COLUMNS and SHOW PARTITIONS do"
        )
    _drop_athena_catalog(tree)
    _resolve_iceberg(tree, catalog, database)
    referenced = _referenced_tables(tree, database)
    for db, name, written in referenced:
        if not catalog.exists(db, name):
            raise _unknown_table(written, database, catalog, home)
    translated, outputs = _translate(tree, catalog, database)
    try:
        connection = connect(
            home, database, [(db, name) for db, name, _ in referenced], catalog=catalog
        )
    except duckdb.Error as exc:
        raise QueryError(_one_line(exc)) from None
    try:
        _register(connection)
        schema_tree = _parse_duckdb(translated)
        if _use_information_schema(schema_tree):
            _information_schema(connection, catalog)
            translated = schema_tree.sql(dialect="duckdb")
        result = connection.execute(translated)
        return _athena_result(result.to_arrow_table(), outputs)
    except duckdb.Error as exc:
        raise _error(exc) from None
    finally:
        connection.close()


def _parse_duckdb(sql: str) -> Any:
    import sqlglot

    with _quiet_sqlglot():
        return sqlglot.parse_one(sql, read="duckdb")


_ARROW_INTEGERS = {
    "tinyint": pa.int8(),
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
}


def _interval_millis(column: Any) -> Any:
    """A DuckDB INTERVAL column of day-to-second values (days and microseconds; Trino's are
    whole milliseconds) as an Arrow duration in milliseconds."""
    values = column.to_pylist()
    if any(v is not None and v.months for v in values):
        raise _refuse("an interval day to second holding months")
    millis = [
        None if v is None else v.days * 86_400_000 + v.nanoseconds // 1_000_000 for v in values
    ]
    return pa.array(millis, pa.int64()).cast(pa.duration("ms"))


def _athena_result(table: pa.Table, outputs: list[tuple[str, _V]]) -> pa.Table:
    """The result with Athena's column names, each field carrying its Trino type (metadata
    ``trino_type``); a ``timestamp with time zone`` carries its zone."""
    import pyarrow.compute as pc

    columns, fields = [], []
    for index, (name, value) in enumerate(outputs):
        column = table.column(index)
        kind = column.type
        if value.type.endswith(_TZ) and pa.types.is_timestamp(kind):
            kind = pa.timestamp(kind.unit, tz=value.zone or "UTC")
            column = pc.cast(column, kind)
        if value.type == _DAY_SECOND and pa.types.is_interval(kind):
            column = _interval_millis(column)
            kind = column.type
        integer = _ARROW_INTEGERS.get(value.type)
        if integer is not None and kind != integer:
            # a DuckDB HUGEINT (decimal(38,0) in Arrow) where Trino's type is an integer
            try:
                column = pc.cast(column, integer)
            except pa.ArrowInvalid:
                raise QueryError(f"{value.type} overflow") from None
            kind = integer
        fields.append(pa.field(name, kind, metadata={"trino_type": value.type}))
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


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
    connection = connect(home, database, [(database, n) for n in names])
    try:
        return {t: n for t, n in connection.execute(sql).fetchall()}
    except duckdb.Error as exc:
        raise QueryError(_one_line(exc)) from None
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------------
# Output


def _zone_name(value: dt.datetime) -> str:
    """The zone of an aware datetime as Trino names it."""
    key = getattr(value.tzinfo, "key", None)
    if key and key not in ("UTC", "Etc/UTC"):
        return key
    offset = value.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _day_second_text(value: dt.timedelta) -> str:
    """``2 03:00:00.000``: days, then the time of day, as Trino's IntervalDayTime.formatMillis
    spells an interval day to second."""
    millis = (value.days * 86_400 + value.seconds) * 1000 + value.microseconds // 1000
    sign = "-" if millis < 0 else ""
    millis = abs(millis)
    days, millis = divmod(millis, 86_400_000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    seconds, millis = divmod(millis, 1000)
    return f"{sign}{days} {hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _year_month_text(months: int) -> str:
    """``3-5``: years, then months (Trino's IntervalYearMonth.formatMonths)."""
    sign = "-" if months < 0 else ""
    years, rest = divmod(abs(months), 12)
    return f"{sign}{years}-{rest}"


def trino_text(value: Any, kind: str) -> str:
    """A value as Athena (Trino) shows it: timestamps with their precision (and zone), doubles
    as Java prints them, arrays ``[1, 2]``, maps ``{k=v}``, NULL as ``NULL``."""
    if value is None:
        return "NULL"
    base = _base(kind) if kind else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == _DAY_SECOND and isinstance(value, dt.timedelta):
        return _day_second_text(value)
    if kind == _YEAR_MONTH and hasattr(value, "months"):
        return _year_month_text(value.months)
    if base == "array" and isinstance(value, list):
        inner = _args(kind)[0]
        return "[" + ", ".join(trino_text(v, inner) for v in value) + "]"
    if base == "map" and isinstance(value, list):
        key, item = _args(kind)
        return (
            "{" + ", ".join(f"{trino_text(k, key)}={trino_text(v, item)}" for k, v in value) + "}"
        )
    if base == "row" and isinstance(value, dict):
        fields = dict(_row_fields(kind))
        return (
            "{"
            + ", ".join(f"{k}={trino_text(v, fields.get(k, ''))}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, float):
        return _java_double(value) if base != "real" else repr(value)
    if isinstance(value, dt.datetime):
        precision = _ts_precision(kind) if base in ("timestamp", "timestamptz") else 3
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        if precision:
            text += "." + f"{value.microsecond:06d}"[:precision].ljust(precision, "0")
        if base == "timestamptz":
            text += " " + _zone_name(value)
        return text
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex(" ")
    return str(value)


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


def _kinds(table: pa.Table) -> list[str | None]:
    """Each column's Trino type, where the local engine recorded it."""
    kinds: list[str | None] = []
    for field in table.schema:
        metadata = field.metadata or {}
        kind = metadata.get(b"trino_type")
        kinds.append(kind.decode() if kind else None)
    return kinds


def _shown(value: Any, kind: str | None, null: str) -> str:
    if value is None:
        return null
    if kind is not None and not isinstance(value, str):
        return trino_text(value, kind)
    return _text_value(value, null)


def format_table(table: pa.Table, fmt: Literal["table", "csv", "json"]) -> str:
    """The result as text: a table for people, CSV with a header, or a JSON array of rows
    (dates and timestamps as ISO 8601 strings). NULL is empty in CSV, null in JSON, NULL in
    the table. In the table and CSV, values of a local query are spelled as Athena shows them
    (``2024-10-17 12:00:00.000 America/New_York``, ``3.079E2`` only where a cast made it so,
    arrays ``[1, 2]``, maps ``{k=v}``)."""
    kinds = _kinds(table)
    columns = _columns(table)
    rows = list(zip(*columns, strict=True)) if columns else []
    names = table.column_names
    if fmt == "json":
        objects = [
            {
                n: trino_text(v, k)
                if v is not None and k in (_DAY_SECOND, _YEAR_MONTH)
                else _json_value(v)
                for n, v, k in zip(names, row, kinds, strict=True)
            }
            for row in rows
        ]
        return json.dumps(objects, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        lines = [",".join(_csv_field(n) for n in names)]
        lines += [
            ",".join(
                "" if v is None else _csv_field(_shown(v, k, ""))
                for v, k in zip(row, kinds, strict=True)
            )
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
        rendered.add_row(*[_shown(v, k, "NULL") for v, k in zip(row, kinds, strict=True)])
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
