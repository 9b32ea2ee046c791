"""``phenolake migrate``: an existing lake's curated Hive tables become Iceberg tables, once.

Before issue 15 every curated table was Hive-style partitioned Parquet registered in Glue
(``curated/<table>/<key>=<value>/...``, partitions registered one by one). A migration turns
each table a source declares as curated (``sources/<name>/spec.py``; the steps' own tables,
such as ``participant_days``, are left alone) into the Iceberg table the curate jobs now write
(``phenolake.iceberg``): the same name, the Glue columns then the partition keys, an identity
partition spec on the former partition keys, ``TABLE_PROPERTIES``, at the same
``curated/<table>/`` location (data under ``data/``, metadata under ``metadata/``).

The rows come from the table's own curated files, read the way Athena reads the Hive table:
only registered partitions, each from its catalog location, partition values from the catalog's
``Values`` cast to the keys' types, declared columns matched case-insensitively (a column an
older file lacks is null). Raw and stage are never read.

The Hive files are removed only after the Iceberg commit succeeded and its row count (the
committed data files' record counts) equals the Hive table's (the Parquet footers' row counts).
A mismatch stops that table with one line and leaves it as it was. Every step is recorded in
the catalog, so a rerun after a crash finishes the job:

* locally (PyIceberg through the embedded AWS) the table is first written under a staging name
  (``<table>__to_iceberg``) at the final location, then swapped in for the Hive entry;
* on AWS (``--athena``) the Hive entry is renamed ``<table>__hive``, Athena creates the Iceberg
  table and ``INSERT INTO ... SELECT``s the rows from the renamed one (at most 100 partitions
  per INSERT, Athena's limit; a batch already in the table is skipped), then drops it.

A table already Iceberg is skipped; if this migration made it, any Hive files an interrupted
run left beside it are removed.
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from phenolake.catalog import table_entries
from phenolake.iceberg import is_iceberg
from phenolake_tools.query import _split_top as split_top

#: The staging name of a table the local migration is writing (never a declared table's name).
STAGING_SUFFIX = "__to_iceberg"
#: The name the Athena migration gives the Hive entry while Athena copies its rows.
HIVE_SUFFIX = "__hive"
#: Hive's name for a null partition value.
DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"
#: Where an Iceberg table keeps its files below its location; everything else there is Hive's.
ICEBERG_FOLDERS = ("data/", "metadata/")


class MigrationError(Exception):
    """One table could not be converted; the message is one line."""


class BadInput(ValueError):
    """The command's input is wrong (an unknown table): exit code 2."""


@dataclass(frozen=True)
class Outcome:
    """What the migration did to one table, as the command prints it."""

    table: str
    rows: int = 0
    partitions: int = 0
    snapshot: int | None = None
    already: bool = False
    removed_files: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def line(self) -> str:
        if self.error is not None:
            return f"{self.table}: error: {self.error}"
        if self.already:
            left = (
                f" (removed {self.removed_files} Hive file(s) an earlier run left)"
                if self.removed_files
                else ""
            )
            return f"{self.table}: already Iceberg{left}"
        return (
            f"{self.table}: {self.rows} rows in {self.partitions} partitions "
            f"-> Iceberg snapshot {self.snapshot}"
        )


# ---------------------------------------------------------------------------------------------
# Which tables


def is_curated(table: str) -> bool:
    """Whether a source declares the table as one of its curated tables."""
    from phenolake import sources

    if table.endswith((STAGING_SUFFIX, HIVE_SUFFIX)):
        return False
    return any(sources.get(n).spec.table(table) for n in sources.names())


def glue_tables(glue: Any, database: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    try:
        for table in table_entries(glue, database):
            found[table["Name"]] = table
    except glue.exceptions.EntityNotFoundException:
        raise BadInput(f"--database: no Glue database {database!r}") from None
    return found


def chosen_tables(catalog: dict[str, dict[str, Any]], wanted: Sequence[str]) -> list[str]:
    """The curated tables to migrate: the declared ones in the catalog (also those an earlier
    run left under a staging or renamed name), or ``wanted`` checked against them."""
    names = {n for n in catalog if is_curated(n)}
    for name in catalog:
        for suffix in (STAGING_SUFFIX, HIVE_SUFFIX):
            if name.endswith(suffix) and is_curated(name.removesuffix(suffix)):
                names.add(name.removesuffix(suffix))
    for name in wanted:
        if not is_curated(name):
            raise BadInput(f"--table: {name!r} is no source's curated table (sources/*/spec.py)")
        if name not in names:
            raise BadInput(f"--table: no table {name!r} in the catalog")
    return sorted(wanted) if wanted else sorted(names)


# ---------------------------------------------------------------------------------------------
# Types: Glue (Hive DDL) -> Iceberg


def iceberg_type(glue_type: str, ids: Iterator[int] | None = None) -> Any:
    """The Iceberg type of a Glue column type. Iceberg has no tinyint, smallint or char:
    they become int and string, as Athena's Iceberg tables have them. ``timestamp`` is
    Iceberg's timestamp without zone, which is what Athena's Hive ``timestamp`` is (a UTC
    wall time) and the only timestamp Athena's Iceberg DDL creates."""
    from pyiceberg import types as t

    ids = ids if ids is not None else itertools.count(1000)
    text = glue_type.strip()
    lower = text.lower()
    simple = {
        "string": t.StringType(),
        "int": t.IntegerType(),
        "integer": t.IntegerType(),
        "tinyint": t.IntegerType(),
        "smallint": t.IntegerType(),
        "bigint": t.LongType(),
        "double": t.DoubleType(),
        "float": t.FloatType(),
        "real": t.FloatType(),
        "boolean": t.BooleanType(),
        "date": t.DateType(),
        "timestamp": t.TimestampType(),
        "binary": t.BinaryType(),
    }
    if lower in simple:
        return simple[lower]
    if re.fullmatch(r"(var)?char\(\d+\)", lower):
        return t.StringType()
    found = re.fullmatch(r"decimal(?:\((\d+)\s*,\s*(\d+)\))?", lower)
    if found:
        return t.DecimalType(int(found.group(1) or 10), int(found.group(2) or 0))
    head, _, rest = text.partition("<")
    if rest.endswith(">"):
        inner = rest[:-1]
        kind = head.strip().lower()
        if kind == "array":
            return t.ListType(next(ids), iceberg_type(inner, ids), element_required=False)
        if kind == "map":
            key, value = split_top(inner)
            return t.MapType(
                next(ids), iceberg_type(key, ids), next(ids), iceberg_type(value, ids), False
            )
        if kind == "struct":
            fields = []
            for part in split_top(inner):
                name, _, kind_text = part.partition(":")
                fields.append(
                    t.NestedField(next(ids), name.strip(), iceberg_type(kind_text, ids), False)
                )
            return t.StructType(*fields)
    raise MigrationError(f"Glue type {glue_type!r} has no Iceberg type here")


def athena_ddl_type(kind: Any) -> str:
    """How Athena's CREATE TABLE spells an Iceberg type (Hive DDL)."""
    from pyiceberg import types as t

    if isinstance(kind, t.ListType):
        return f"array<{athena_ddl_type(kind.element_type)}>"
    if isinstance(kind, t.MapType):
        return f"map<{athena_ddl_type(kind.key_type)},{athena_ddl_type(kind.value_type)}>"
    if isinstance(kind, t.StructType):
        inner = ",".join(f"{f.name}:{athena_ddl_type(f.field_type)}" for f in kind.fields)
        return f"struct<{inner}>"
    if isinstance(kind, t.DecimalType):
        return f"decimal({kind.precision},{kind.scale})"
    names = {
        t.StringType: "string",
        t.IntegerType: "int",
        t.LongType: "bigint",
        t.DoubleType: "double",
        t.FloatType: "float",
        t.BooleanType: "boolean",
        t.DateType: "date",
        t.TimestampType: "timestamp",
        t.BinaryType: "binary",
    }
    return names[type(kind)]


@dataclass(frozen=True)
class Layout:
    """A Hive table's shape: its columns (name, Glue type), partition keys and location."""

    name: str
    columns: tuple[tuple[str, str], ...]
    keys: tuple[tuple[str, str], ...]
    location: str

    @classmethod
    def of(cls, glue_table: dict[str, Any]) -> Layout:
        storage = glue_table.get("StorageDescriptor", {})
        location = storage.get("Location", "")
        if not location:
            raise MigrationError("the Hive table has no location")
        return cls(
            glue_table["Name"],
            tuple((c["Name"], c["Type"]) for c in storage.get("Columns", [])),
            tuple((k["Name"], k["Type"]) for k in glue_table.get("PartitionKeys", [])),
            location.rstrip("/") + "/",
        )

    def schema(self) -> Any:
        from pyiceberg.schema import Schema
        from pyiceberg.types import NestedField

        nested = itertools.count(10_000)
        return Schema(
            *(
                NestedField(i, name, iceberg_type(kind, nested), required=False)
                for i, (name, kind) in enumerate((*self.columns, *self.keys), start=1)
            )
        )

    def spec(self, schema: Any) -> Any:
        from pyiceberg.partitioning import PartitionField, PartitionSpec
        from pyiceberg.transforms import IdentityTransform

        return PartitionSpec(
            *(
                PartitionField(
                    source_id=schema.find_field(name).field_id,
                    field_id=1000 + i,
                    transform=IdentityTransform(),
                    name=name,
                )
                for i, (name, _) in enumerate(self.keys)
            )
        )


def partitions(glue: Any, database: str, table: str) -> list[dict[str, Any]]:
    return sorted(
        (
            p
            for page in glue.get_paginator("get_partitions").paginate(
                DatabaseName=database, TableName=table
            )
            for p in page["Partitions"]
        ),
        key=lambda p: p["Values"],
    )


# ---------------------------------------------------------------------------------------------
# Local: PyIceberg through the embedded AWS


_HIVE_ESCAPED = set("\"#%'*/:=?\\\x7f{[]^")


def _hive_escape(value: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in _HIVE_ESCAPED or ord(c) < 0x20 else c for c in value)


def partition_location(layout: Layout, partition: dict[str, Any]) -> str:
    """A partition's catalog location, or the Hive folder below the table's when it has none."""
    location = partition.get("StorageDescriptor", {}).get("Location")
    if location:
        return location.rstrip("/") + "/"
    return (
        layout.location
        + "/".join(
            f"{_hive_escape(k)}={_hive_escape(v)}"
            for (k, _), v in zip(layout.keys, partition["Values"], strict=True)
        )
        + "/"
    )


class LocalLake:
    """The embedded AWS's buckets as folders (``s3://bucket/key`` is ``<home>/bucket/key``)."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home).resolve()

    def path(self, uri: str) -> Path:
        scheme, _, rest = uri.partition("://")
        if scheme not in ("s3", "s3a", "s3n"):
            raise MigrationError(f"not an s3:// location: {uri}")
        return self.home / rest

    def parquet_files(self, uri: str) -> list[Path]:
        """What Athena reads of a folder: every ``*.parquet`` below it, hidden ones skipped."""
        folder = self.path(uri)
        if not folder.is_dir():
            return []
        return sorted(
            p
            for p in folder.rglob("*.parquet")
            if p.is_file()
            and not any(part.startswith(("_", ".")) for part in p.relative_to(folder).parts)
        )

    def remove_below(self, uri: str, keep: Callable[[str], bool]) -> int:
        """Delete the files below ``uri`` whose relative key ``keep`` refuses; returns how many."""
        folder = self.path(uri)
        if not folder.is_dir():
            return 0
        removed = 0
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not keep(path.relative_to(folder).as_posix()):
                path.unlink()
                removed += 1
        for path in sorted(folder.rglob("*"), key=lambda p: -len(p.parts)):
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
        return removed


def _iceberg_file(key: str) -> bool:
    return key.startswith(ICEBERG_FOLDERS)


#: The table property that says a table was made by this migration (from a Hive table).
MIGRATED = "phenolake.migrated-from"


def migrated_properties(hive: dict[str, Any]) -> dict[str, str]:
    """The properties a migrated table gets beside TABLE_PROPERTIES: the mark, and the Hive
    table's description as Iceberg's ``comment``."""
    found = {MIGRATED: "hive"}
    if hive.get("Description"):
        found["comment"] = hive["Description"]
    return found


def remove_leftovers(lake: LocalLake | S3Lake, table: dict[str, Any]) -> int:
    """The Hive files a crash left beside a table this migration made (never below a table
    it did not make: those files are no one's to judge here)."""
    location = table.get("StorageDescriptor", {}).get("Location", "")
    if not location or table.get("Parameters", {}).get(MIGRATED) != "hive":
        return 0
    return lake.remove_below(location, _iceberg_file)


def _arrow_value(value: str | None, kind: pa.DataType) -> pa.Array:
    if value is None or value == DEFAULT_PARTITION:
        return pa.nulls(1, kind)
    try:
        return pa.array([value], pa.string()).cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise MigrationError(f"partition value {value!r} is no {kind}: {exc}") from None


def _cast(column: pa.ChunkedArray, kind: pa.DataType, name: str, path: Path) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type) and pa.types.is_timestamp(kind):
        # the files' instants (Spark: UTC-adjusted) are the UTC wall times Athena shows
        column = column.cast(pa.timestamp(column.type.unit))
    try:
        return column.cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise MigrationError(
            f"{path.name}: column {name} ({column.type}) is no {kind}: {exc}"
        ) from None


def read_partition(
    lake: LocalLake, layout: Layout, target: pa.Schema, files: list[Path], values: Sequence[str]
) -> pa.Table:
    """A partition's rows as Athena reads them, in the Iceberg table's Arrow schema."""
    import pyarrow.parquet as pq

    pieces = []
    key_values = {k: v for (k, _), v in zip(layout.keys, values, strict=True)}
    for path in files:
        found = pq.read_table(path)
        by_name = {n.lower(): n for n in found.column_names}
        arrays = []
        for field in target:
            if field.name in key_values:
                constant = _arrow_value(key_values[field.name], field.type)
                arrays.append(pa.chunked_array([constant.take([0] * found.num_rows)], field.type))
            elif field.name.lower() in by_name:
                column = found.column(by_name[field.name.lower()])
                arrays.append(_cast(column, field.type, field.name, path))
            else:
                arrays.append(pa.chunked_array([pa.nulls(found.num_rows, field.type)]))
        pieces.append(pa.Table.from_arrays(arrays, schema=target))
    return pa.concat_tables(pieces) if pieces else target.empty_table()


def _footer_rows(files: Iterable[Path]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in files)


def committed_rows(table: Any) -> int:
    """Rows of the table's current snapshot: its data files' record counts (copy-on-write
    tables have no delete files)."""
    return sum(task.file.record_count for task in table.scan().plan_files())


class _Migration:
    """What the local and the Athena migration share: the Glue entry of a name, and one
    table's migration turned into its outcome line (its own error, or AWS's first line)."""

    glue: Any
    database: str

    def _get(self, name: str) -> dict[str, Any] | None:
        try:
            return self.glue.get_table(DatabaseName=self.database, Name=name)["Table"]
        except self.glue.exceptions.EntityNotFoundException:
            return None

    def migrate(self, name: str) -> Outcome:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._migrate(name)
        except MigrationError as exc:
            return Outcome(name, error=str(exc))
        except (BotoCoreError, ClientError) as exc:  # e.g. a call the caller may not make
            return Outcome(name, error=str(exc).splitlines()[0])

    def _migrate(self, name: str) -> Outcome:
        raise NotImplementedError


class LocalMigration(_Migration):
    """Migrate the tables of one Glue database with PyIceberg: ``glue`` is the embedded AWS's
    (moto's) client, ``catalog`` PyIceberg's GlueCatalog on it, ``io`` its FileIO and
    ``persist`` writes the catalog to the home (the embedded AWS keeps it in memory until it
    closes), so that a crash after a step leaves the step recorded."""

    def __init__(
        self,
        glue: Any,
        catalog: Any,
        io: Any,
        lake: LocalLake,
        database: str,
        persist: Callable[[], None] = lambda: None,
        check_rows: Callable[[Any], int] = committed_rows,
    ) -> None:
        self.glue = glue
        self.catalog = catalog
        self.io = io
        self.lake = lake
        self.database = database
        self.persist = persist
        self.check_rows = check_rows

    def _migrate(self, name: str) -> Outcome:
        current, staged = self._get(name), self._get(name + STAGING_SUFFIX)
        if current is None and staged is None:
            raise MigrationError("not in the catalog")
        if current is None:
            # an earlier run verified the staged table and dropped the Hive entry: finish
            assert staged is not None
            return self._swap_in(name, staged, None, rows=None, partitions=None)
        if is_iceberg(current):
            if staged is not None:
                self.glue.delete_table(DatabaseName=self.database, Name=name + STAGING_SUFFIX)
                self.persist()
            return Outcome(name, already=True, removed_files=remove_leftovers(self.lake, current))
        layout = Layout.of(current)
        if staged is not None:  # an interrupted attempt: start again from the Hive table
            self.glue.delete_table(DatabaseName=self.database, Name=name + STAGING_SUFFIX)
            self.persist()
        self.lake.remove_below(layout.location, lambda key: not _iceberg_file(key))
        return self._convert(name, current, layout)

    def _convert(self, name: str, current: dict[str, Any], layout: Layout) -> Outcome:
        from pyiceberg.io.pyarrow import _dataframe_to_data_files, schema_to_pyarrow

        from phenolake.iceberg import TABLE_PROPERTIES

        schema = layout.schema()
        transaction = self.catalog.create_table_transaction(
            (self.database, name + STAGING_SUFFIX),
            schema,
            location=layout.location.rstrip("/"),
            partition_spec=layout.spec(schema),
            properties={**TABLE_PROPERTIES, **migrated_properties(current)},
        )
        metadata = transaction.table_metadata
        target = schema_to_pyarrow(metadata.schema(), include_field_ids=False)
        registered = partitions(self.glue, self.database, name) if layout.keys else []
        sources = (
            [(partition_location(layout, p), p["Values"]) for p in registered]
            if layout.keys
            else [(layout.location, [])]
        )
        write_uuid, counter = uuid.uuid4(), itertools.count(0)
        hive_rows, data_files = 0, []
        for location, values in sources:
            if len(values) != len(layout.keys):
                raise MigrationError(f"partition {values} does not match keys {layout.keys}")
            files = self.lake.parquet_files(location)
            if not files:
                continue
            try:
                hive_rows += _footer_rows(files)
                rows = read_partition(self.lake, layout, target, files, values)
            except (OSError, pa.ArrowException) as exc:
                # nothing is committed: the data files written so far go, the Hive table stays
                self.lake.remove_below(layout.location, lambda key: not _iceberg_file(key))
                text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise MigrationError(f"cannot read {location}: {text}; left as it was") from None
            data_files += _dataframe_to_data_files(metadata, rows, self.io, write_uuid, counter)
        with transaction.update_snapshot(
            snapshot_properties={MIGRATED: "hive"}
        ).fast_append() as append:
            for data_file in data_files:
                append.append_data_file(data_file)
        transaction.commit_transaction()
        self.persist()
        table = self.catalog.load_table((self.database, name + STAGING_SUFFIX))
        written = self.check_rows(table)
        if written != hive_rows:
            self.glue.delete_table(DatabaseName=self.database, Name=name + STAGING_SUFFIX)
            self.persist()
            self.lake.remove_below(layout.location, lambda key: not _iceberg_file(key))
            raise MigrationError(
                f"the Iceberg commit holds {written} rows, the Hive table {hive_rows}: "
                "left as it was"
            )
        staged = self._get(name + STAGING_SUFFIX)
        assert staged is not None
        return self._swap_in(name, staged, current, rows=hive_rows, partitions=len(sources))

    def _swap_in(
        self,
        name: str,
        staged: dict[str, Any],
        hive: dict[str, Any] | None,
        rows: int | None,
        partitions: int | None,
    ) -> Outcome:
        """The verified staged table takes the Hive table's name; then the Hive files go."""
        if hive is not None:
            self.glue.delete_table(DatabaseName=self.database, Name=name)  # and its partitions
            self.persist()
        self.catalog.rename_table((self.database, name + STAGING_SUFFIX), (self.database, name))
        self.persist()
        table = self.catalog.load_table((self.database, name))
        location = staged["StorageDescriptor"]["Location"]
        self.lake.remove_below(location, _iceberg_file)
        snapshot = table.current_snapshot()
        if rows is None:
            rows = committed_rows(table)
            partitions = len({task.file.partition for task in table.scan().plan_files()})
        return Outcome(
            name,
            rows=rows,
            partitions=partitions or 0,
            snapshot=snapshot.snapshot_id if snapshot else None,
        )


def migrate_local(
    home: Path, database: str, wanted: Sequence[str], on_outcome: Callable[[Outcome], None]
) -> list[Outcome]:
    """``phenolake migrate``: the local lake's tables, through the embedded AWS."""
    from phenolake_local import iceberg, mirror
    from phenolake_local.engine import EmbeddedAWS

    done: list[Outcome] = []
    with EmbeddedAWS(home) as aws:
        try:
            names = chosen_tables(glue_tables(aws.glue, database), wanted)
            lake = LocalLake(aws.home)
            migration = LocalMigration(
                aws.glue,
                iceberg.catalog(aws.home, aws.glue),
                iceberg.HomeFileIO(iceberg.io_properties(aws.home)),
                lake,
                database,
                persist=lambda: mirror.dump_catalog(aws.glue, aws.state_dir / mirror.CATALOG_FILE),
            )
            for name in names:
                outcome = migration.migrate(name)
                done.append(outcome)
                on_outcome(outcome)
        finally:
            aws.load_buckets()  # the folders are the truth: moto's buckets follow them
    return done


# ---------------------------------------------------------------------------------------------
# AWS: Athena


class Athena:
    """Athena statements run one at a time, waited for (the workgroup's result location)."""

    def __init__(self, client: Any, workgroup: str, database: str, poll: float = 1.0) -> None:
        self.client = client
        self.workgroup = workgroup
        self.database = database
        self.poll = poll

    def run(self, sql: str) -> list[list[str | None]]:
        started = self.client.start_query_execution(
            QueryString=sql,
            QueryExecutionContext={"Database": self.database},
            WorkGroup=self.workgroup,
        )["QueryExecutionId"]
        while True:
            status = self.client.get_query_execution(QueryExecutionId=started)["QueryExecution"][
                "Status"
            ]
            if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                break
            time.sleep(self.poll)
        if status["State"] != "SUCCEEDED":
            reason = status.get("StateChangeReason", status["State"]).splitlines()[0]
            raise MigrationError(f"Athena: {reason}")
        rows: list[list[str | None]] = []
        for page in self.client.get_paginator("get_query_results").paginate(
            QueryExecutionId=started
        ):
            for row in page["ResultSet"]["Rows"]:
                rows.append([d.get("VarCharValue") for d in row["Data"]])
        return rows[1:] if rows else rows  # the first row of a SELECT's results is its header

    def count(self, table: str, where: str = "") -> int:
        condition = f" WHERE {where}" if where else ""
        return int(self.run(f'SELECT count(*) FROM "{table}"{condition}')[0][0] or 0)


def athena_create_sql(name: str, layout: Layout) -> str:
    """Athena's CREATE TABLE takes its own property names only (it creates format v2 tables);
    the rest of TABLE_PROPERTIES is set on the table afterwards (``set_properties``)."""
    schema = layout.schema()
    columns = ",\n  ".join(f"`{f.name}` {athena_ddl_type(f.field_type)}" for f in schema.fields)
    keys = ", ".join(f"`{k}`" for k, _ in layout.keys)
    properties = {"table_type": "ICEBERG", "format": "parquet", "write_compression": "zstd"}
    listed = ", ".join(f"'{k}'='{v}'" for k, v in properties.items())
    partitioned = f"\nPARTITIONED BY ({keys})" if keys else ""
    return (
        f"CREATE TABLE `{name}` (\n  {columns}\n){partitioned}\n"
        f"LOCATION '{layout.location}'\nTBLPROPERTIES ({listed})"
    )


def athena_insert_sql(name: str, hive: str, layout: Layout, where: str = "") -> str:
    names = ", ".join(f'"{n}"' for n, _ in (*layout.columns, *layout.keys))
    condition = f" WHERE {where}" if where else ""
    return f'INSERT INTO "{name}" ({names}) SELECT {names} FROM "{hive}"{condition}'


#: Athena writes at most 100 partitions in one INSERT INTO (its open-writers limit).
PARTITIONS_PER_INSERT = 100


def _sql_type(kind: Any) -> str:
    """An Iceberg type as Athena's DML (Trino) names it, for a CAST."""
    return {"string": "varchar", "int": "integer"}.get(athena_ddl_type(kind), athena_ddl_type(kind))


def batch_predicates(
    layout: Layout, values: Sequence[Sequence[str]], size: int = PARTITIONS_PER_INSERT
) -> list[str]:
    """WHERE conditions selecting the registered partitions ``size`` at a time (one empty
    condition for an unpartitioned table)."""
    if not layout.keys:
        return [""]
    schema = layout.schema()
    kinds = [_sql_type(schema.find_field(k).field_type) for k, _ in layout.keys]

    def match(row: Sequence[str]) -> str:
        terms = []
        for (key, _), kind, value in zip(layout.keys, kinds, row, strict=True):
            if value == DEFAULT_PARTITION:
                terms.append(f'"{key}" IS NULL')
            else:
                literal = value.replace("'", "''")
                terms.append(f"\"{key}\" = CAST('{literal}' AS {kind})")
        return "(" + " AND ".join(terms) + ")"

    rows = sorted(values)
    return [
        " OR ".join(match(row) for row in rows[start : start + size])
        for start in range(0, len(rows), size)
    ]


class S3Lake:
    """The deployed lake bucket's objects below a location, by the S3 API."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    def remove_below(self, uri: str, keep: Callable[[str], bool]) -> int:
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        keys = [
            item["Key"]
            for page in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=prefix
            )
            for item in page.get("Contents", [])
            if not keep(item["Key"][len(prefix) :])
        ]
        for start in range(0, len(keys), 1000):
            self.s3.delete_objects(
                Bucket=bucket,
                Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]},
            )
        return len(keys)


class AthenaMigration(_Migration):
    """Migrate with Athena: the Hive entry is renamed ``<table>__hive`` (Glue API: a copy of
    the table and its partitions, then the delete), Athena creates the Iceberg table at the same
    location and copies the rows from the renamed one, the counts are compared, and only then
    are the Hive entry and files removed. Each step is visible in the catalog, so a rerun
    continues where a crash stopped."""

    def __init__(
        self,
        glue: Any,
        athena: Athena,
        lake: S3Lake,
        database: str,
        set_properties: Callable[[str, dict[str, str]], None],
    ) -> None:
        self.glue = glue
        self.athena = athena
        self.lake = lake
        self.database = database
        self.set_properties = set_properties

    def _copy_table(self, table: dict[str, Any], new_name: str) -> None:
        keys = ("Description", "StorageDescriptor", "PartitionKeys", "TableType", "Parameters")
        table_input = {k: table[k] for k in keys if k in table}
        self.glue.create_table(
            DatabaseName=self.database, TableInput={**table_input, "Name": new_name}
        )
        found = partitions(self.glue, self.database, table["Name"])
        for start in range(0, len(found), 100):
            self.glue.batch_create_partition(
                DatabaseName=self.database,
                TableName=new_name,
                PartitionInputList=[
                    {"Values": p["Values"], "StorageDescriptor": p["StorageDescriptor"]}
                    for p in found[start : start + 100]
                ],
            )

    def _migrate(self, name: str) -> Outcome:
        hive_name = name + HIVE_SUFFIX
        current, renamed = self._get(name), self._get(hive_name)
        if current is None and renamed is None:
            raise MigrationError("not in the catalog")
        if current is not None and is_iceberg(current) and renamed is None:
            return Outcome(name, already=True, removed_files=remove_leftovers(self.lake, current))
        if current is not None and not is_iceberg(current):
            if renamed is not None:  # a rename a crash interrupted: the copy goes, then again
                self.glue.delete_table(DatabaseName=self.database, Name=hive_name)
            self._copy_table(current, hive_name)
            self.glue.delete_table(DatabaseName=self.database, Name=name)
            current, renamed = None, self._get(hive_name)
        assert renamed is not None
        layout = Layout.of(renamed)
        hive_rows = self.athena.count(hive_name)
        if current is None:
            self.athena.run(athena_create_sql(name, layout))
        registered = partitions(self.glue, self.database, hive_name)
        for where in batch_predicates(layout, [p["Values"] for p in registered]):
            # each INSERT is one commit of whole partitions: a batch is in the table or not
            if self.athena.count(name, where) == 0 and self.athena.count(hive_name, where):
                self.athena.run(athena_insert_sql(name, hive_name, layout, where))
        written = self.athena.count(name)
        if written != hive_rows:
            # back to the Hive table: the Iceberg entry and its files go, the name returns
            self.glue.delete_table(DatabaseName=self.database, Name=name)
            self.lake.remove_below(layout.location, lambda key: not _iceberg_file(key))
            self._copy_table(renamed, name)
            self.glue.delete_table(DatabaseName=self.database, Name=hive_name)
            raise MigrationError(
                f"the Iceberg table holds {written} rows, the Hive table {hive_rows}: "
                "left as it was"
            )
        self.set_properties(name, migrated_properties(renamed))
        partition_count = len(registered)
        self.glue.delete_table(DatabaseName=self.database, Name=hive_name)
        self.lake.remove_below(layout.location, _iceberg_file)
        snapshot = self.athena.run(
            f'SELECT snapshot_id FROM "{name}$snapshots" ORDER BY committed_at DESC LIMIT 1'
        )
        return Outcome(
            name,
            rows=hive_rows,
            partitions=partition_count,
            snapshot=int(snapshot[0][0]) if snapshot and snapshot[0][0] else None,
        )


def iceberg_properties(glue: Any, database: str, name: str, extra: dict[str, str]) -> None:
    """TABLE_PROPERTIES (and ``extra``) on a table Athena created: a metadata-only commit,
    PyIceberg's GlueCatalog with the caller's credentials and S3."""
    from pyiceberg.catalog.glue import GlueCatalog

    from phenolake.iceberg import SPARK_CATALOG, TABLE_PROPERTIES

    table = GlueCatalog(SPARK_CATALOG, client=glue).load_table((database, name))
    wanted = {k: v for k, v in TABLE_PROPERTIES.items() if k != "format-version"} | extra
    if any(table.properties.get(k) != v for k, v in wanted.items()):
        with table.transaction() as transaction:
            transaction.set_properties(wanted)


def migrate_athena(
    database: str,
    workgroup: str,
    wanted: Sequence[str],
    on_outcome: Callable[[Outcome], None],
    region: str | None = None,
) -> list[Outcome]:
    """``phenolake migrate --athena``: the deployed lake's tables, with the caller's
    credentials (Glue, Athena and the lake bucket)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.Session(region_name=region)
    glue = session.client("glue")
    try:
        names = chosen_tables(glue_tables(glue, database), wanted)
    except (BotoCoreError, ClientError) as exc:
        raise BadInput(f"--athena: {str(exc).splitlines()[0]}") from None
    migration = AthenaMigration(
        glue,
        Athena(session.client("athena"), workgroup, database),
        S3Lake(session.client("s3")),
        database,
        set_properties=lambda name, extra: iceberg_properties(glue, database, name, extra),
    )
    done = []
    for name in names:
        outcome = migration.migrate(name)
        done.append(outcome)
        on_outcome(outcome)
    return done
