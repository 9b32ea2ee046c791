"""Athena's Iceberg maintenance statements, executed in the embedded AWS with PyIceberg.

moto's Athena records a query execution and runs nothing. The DeleteParticipant machine sends
Athena five kinds of statement per curated Iceberg table (``phenolake.forget``); here each one
is parsed (sqlglot, Athena's dialect) and done with PyIceberg on the same Glue catalog, the way
Athena would leave the table:

* ``SELECT count(*) FROM t WHERE c = 'v'``: the rows of the table's current snapshot matching
  (the machine reads the count with GetQueryResults).
* ``DELETE FROM t WHERE c = 'v'``: ``table.delete(EqualTo(c, v))``. Athena writes position-delete
  files (merge-on-read); PyIceberg rewrites the data files (copy-on-write, the table's own
  ``write.delete.mode``): the rows are gone from the data files of the new snapshot.
* ``OPTIMIZE t REWRITE DATA USING BIN_PACK [WHERE ...]``: Athena rewrites the files that still
  have delete files. After a copy-on-write delete none are left; that is checked (a delete file
  would mean the rows are still in a data file), and nothing is committed.
* ``ALTER TABLE t SET TBLPROPERTIES ('k'='v', ...)``: the properties are set.
* ``VACUUM t``: every snapshot older than ``vacuum_max_snapshot_age_seconds`` (default 432000,
  Athena's) expires, beyond ``vacuum_min_snapshots_to_keep`` (default 1) and never the current
  one, nor a snapshot a tag or branch references; then every file under the table's
  location that no kept snapshot reaches (data files,
  delete files, manifests, manifest lists) is removed, and the metadata files beyond the current
  one and the ``vacuum_max_metadata_files_to_keep`` newest of its log. An orphan (a file no
  snapshot ever reached here) goes only when it is older than the age, as Athena's VACUUM
  leaves younger ones: they may be a writer's uncommitted files.

  Tags and branches (a data freeze's tag, ``phenolake.freezes``): Athena's VACUUM page says
  that it expires snapshots older than the age beyond the minimum to keep, and does not
  mention tags or branches; it is Iceberg's snapshot expiration (Trino's
  ``expire_snapshots``), which by the Iceberg spec ("Snapshot Retention Policy") and
  Iceberg's ``ExpireSnapshots`` keeps every snapshot a tag or branch references (until the
  ref's own ``max-ref-age-ms``, unset on a freeze's tags). So here too a referenced
  snapshot is never expired, and the files it reaches stay; only the files no kept
  snapshot reaches go. (Not verified on AWS.)

Anything else is refused with one line (``StatementRefused``), as the statement's failure
reason. Statements run with the caller's permissions, as Athena's do: the Glue calls are signed
as the caller's role, and every S3 object read, written or deleted is decided by the IAM
enforcer for that role (``CheckedFileIO``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from phenolake_local.iceberg import HomeFileIO, io_properties

#: Athena's defaults for the VACUUM table properties (VACUUM, Amazon Athena User Guide).
VACUUM_DEFAULTS = {
    "vacuum_max_snapshot_age_seconds": 432000,
    "vacuum_min_snapshots_to_keep": 1,
    "vacuum_max_metadata_files_to_keep": 100,
}
_OPTIMIZE = re.compile(
    r"^\s*(?P<table>\S+)\s+REWRITE\s+DATA\s+USING\s+BIN_PACK(?:\s+WHERE\s+(?P<where>.+?))?\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)


class StatementRefused(ValueError):
    """A statement the embedded AWS's Athena does not execute; the message is one line."""


class AccessDenied(PermissionError):
    """The caller's role may not touch an object the statement needs."""


@dataclass
class Statement:
    kind: str  # select-count, delete, optimize, set-properties, vacuum
    database: str
    table: str
    column: str = ""
    value: str = ""
    properties: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """What a statement did: the rows of its result (GetQueryResults) and its counts."""

    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    rows_deleted: int = 0
    snapshots_expired: int = 0
    files_removed: int = 0


def _table_of(node: exp.Table, database: str) -> tuple[str, str]:
    if node.catalog and node.catalog.lower() != "awsdatacatalog":
        raise StatementRefused(f"catalog {node.catalog!r}: only AwsDataCatalog is known here")
    return (node.db or database), node.name


def _equality(where: exp.Expression | None, sql: str) -> tuple[str, str]:
    """``column = 'literal'``, the only predicate these statements take."""
    condition = where.this if isinstance(where, exp.Where) else where
    if (
        isinstance(condition, exp.EQ)
        and isinstance(condition.this, exp.Column)
        and isinstance(condition.expression, exp.Literal)
        and condition.expression.is_string
    ):
        return condition.this.name, condition.expression.this
    raise StatementRefused(
        f"only WHERE <column> = '<value>' is executed here, not: {_one_line(sql)}"
    )


def _one_line(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= 160 else text[:157] + "..."


def _parse_table(text: str, database: str) -> tuple[str, str]:
    node = sqlglot.parse_one(text.replace("`", '"'), read="trino", into=exp.Table)
    return _table_of(node, database)


def parse(sql: str, database: str) -> Statement:
    """One statement, or ``StatementRefused`` naming what is not executed here."""
    head = sql.strip().split(None, 1)[0].upper() if sql.strip() else ""
    if head in ("OPTIMIZE", "VACUUM"):
        rest = sql.strip()[len(head) :].strip().rstrip(";").strip()
        if head == "VACUUM":
            if not rest or len(rest.split()) != 1:
                raise StatementRefused(f"VACUUM takes one table: {_one_line(sql)}")
            return Statement("vacuum", *_parse_table(rest, database))
        match = _OPTIMIZE.match(rest)
        if not match:
            raise StatementRefused(
                f"OPTIMIZE takes <table> REWRITE DATA USING BIN_PACK [WHERE ...]: {_one_line(sql)}"
            )
        db, table = _parse_table(match.group("table"), database)
        column = value = ""
        if match.group("where"):
            column, value = _equality(sqlglot.parse_one(match.group("where"), read="trino"), sql)
        return Statement("optimize", db, table, column, value)
    try:
        tree = sqlglot.parse_one(sql, read="athena")
    except sqlglot.errors.ParseError as exc:
        raise StatementRefused(f"cannot parse the statement: {str(exc).splitlines()[0]}") from None
    if isinstance(tree, exp.Delete):
        column, value = _equality(tree.args.get("where"), sql)
        return Statement("delete", *_table_of(tree.this, database), column, value)
    if isinstance(tree, exp.Select):
        counted = tree.expressions
        source = tree.args.get("from_") or tree.args.get("from")
        simple = not any(tree.args.get(k) for k in ("group", "having", "order", "limit", "joins"))
        if (
            simple
            and len(counted) == 1
            and isinstance(counted[0].unalias(), exp.Count)
            and isinstance(counted[0].unalias().this, exp.Star)
            and source is not None
            and isinstance(source.this, exp.Table)
        ):
            column, value = _equality(tree.args.get("where"), sql)
            return Statement("select-count", *_table_of(source.this, database), column, value)
    if isinstance(tree, exp.Alter) and tree.args.get("kind", "").upper() == "TABLE":
        actions = tree.args.get("actions") or []
        if len(actions) == 1 and isinstance(actions[0], exp.AlterSet):
            properties: dict[str, str] = {}
            for group in actions[0].expressions:
                for prop in group.expressions if isinstance(group, exp.Properties) else []:
                    key, value = prop.this, prop.args.get("value")
                    if isinstance(key, exp.Literal) and isinstance(value, exp.Literal):
                        properties[key.this] = value.this
            if properties:
                return Statement(
                    "set-properties", *_table_of(tree.this, database), properties=properties
                )
    raise StatementRefused(
        "the embedded AWS's Athena executes only SELECT count(*), DELETE, OPTIMIZE, "
        f"ALTER TABLE SET TBLPROPERTIES and VACUUM on Iceberg tables, not: {_one_line(sql)}"
    )


# ---------------------------------------------------------------------------- file access


Decide = Callable[[str, str], None]
"""(IAM action, s3:// location) -> None; raises AccessDenied when the caller may not."""


def _allow_all(action: str, location: str) -> None:
    return None


class CheckedFileIO(HomeFileIO):
    """HomeFileIO asking the caller's IAM decision before each object it reads, writes or
    deletes (Athena touches S3 with the caller's permissions)."""

    decide: Decide = staticmethod(_allow_all)

    def new_input(self, location: str) -> Any:
        self.decide("s3:GetObject", location)
        return super().new_input(location)

    def new_output(self, location: str) -> Any:
        self.decide("s3:PutObject", location)
        return super().new_output(location)

    def delete(self, location: Any) -> None:
        path = location if isinstance(location, str) else location.location
        self.decide("s3:DeleteObject", path)
        super().delete(location)


# ---------------------------------------------------------------------------- execution


def _reachable(table: Any, io: HomeFileIO) -> set[str]:
    """Every file the table's kept snapshots reach: manifest lists, manifests, data and
    delete files."""
    found: set[str] = set()
    for snapshot in table.metadata.snapshots:
        found.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(io):
            found.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(io, discard_deleted=True):
                found.add(entry.data_file.file_path)
    for stats in getattr(table.metadata, "statistics", []) or []:
        found.add(stats.statistics_path)
    return found


def _int_property(table: Any, name: str) -> int:
    value = table.properties.get(name)
    try:
        return int(value) if value is not None else VACUUM_DEFAULTS[name]
    except ValueError:
        raise StatementRefused(f"table property {name}={value!r} is not a number") from None


def _local_files(io: HomeFileIO, location: str) -> list[tuple[str, Path]]:
    root = io.local_path(location.rstrip("/"))
    if root is None or not root.exists():
        return []
    base = location.rstrip("/")
    files = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            files.append((f"{base}/{path.relative_to(root).as_posix()}", path))
    return sorted(files)


def execute(
    sql: str, database: str, catalog: Any, io: CheckedFileIO, now: dt.datetime | None = None
) -> Outcome:
    """Run one statement on the Iceberg table it names (``StatementRefused`` when it is not
    one of the five, or the table is not an Iceberg table)."""
    from pyiceberg.exceptions import NoSuchTableError
    from pyiceberg.expressions import AlwaysTrue, EqualTo

    statement = parse(sql, database)
    try:
        table = catalog.load_table((statement.database, statement.table))
    except NoSuchTableError:
        raise StatementRefused(
            f"TABLE_NOT_FOUND: {statement.database}.{statement.table} is not an Iceberg table "
            "in the Glue catalog"
        ) from None
    table.io = io
    if statement.column and statement.column not in table.schema().column_names:
        raise StatementRefused(
            f"COLUMN_NOT_FOUND: {statement.column!r} is not a column of {statement.table}"
        )
    outcome = Outcome()
    if statement.kind == "select-count":
        predicate = EqualTo(statement.column, statement.value)
        scan = table.scan(row_filter=predicate)
        for task in scan.plan_files():
            io.decide("s3:GetObject", task.file.file_path)
        count = scan.to_arrow().num_rows
        outcome.columns, outcome.rows = ["_col0"], [[str(count)]]
    elif statement.kind == "delete":
        predicate = EqualTo(statement.column, statement.value)
        scan = table.scan(row_filter=predicate)
        for task in scan.plan_files():
            io.decide("s3:GetObject", task.file.file_path)
        outcome.rows_deleted = scan.to_arrow().num_rows
        if outcome.rows_deleted:
            table.delete(predicate)
    elif statement.kind == "optimize":
        scan = table.scan(
            row_filter=EqualTo(statement.column, statement.value)
            if statement.column
            else AlwaysTrue()
        )
        left = sum(len(task.delete_files) for task in scan.plan_files())
        if left:
            raise StatementRefused(
                f"{statement.table}: {left} delete file(s) remain; the embedded AWS writes "
                "copy-on-write deletes and rewrites no merge-on-read ones"
            )
    elif statement.kind == "set-properties":
        with table.transaction() as transaction:
            transaction.set_properties(statement.properties)
    else:
        outcome.snapshots_expired, outcome.files_removed = _vacuum(table, io, now)
    return outcome


def _vacuum(table: Any, io: CheckedFileIO, now: dt.datetime | None) -> tuple[int, int]:
    now = now or dt.datetime.now(dt.UTC)
    age = _int_property(table, "vacuum_max_snapshot_age_seconds")
    keep_last = max(1, _int_property(table, "vacuum_min_snapshots_to_keep"))
    keep_metadata = _int_property(table, "vacuum_max_metadata_files_to_keep")
    current = table.current_snapshot()
    newest_first = sorted(table.metadata.snapshots, key=lambda s: s.timestamp_ms, reverse=True)
    kept = {s.snapshot_id for s in newest_first[:keep_last]}
    if current is not None:
        kept.add(current.snapshot_id)
    kept.update(ref.snapshot_id for ref in table.metadata.refs.values())
    cutoff = int((now - dt.timedelta(seconds=age)).timestamp() * 1000)
    expired = [
        s.snapshot_id for s in newest_first if s.snapshot_id not in kept and s.timestamp_ms < cutoff
    ]
    reached_before = _reachable(table, io)
    if expired:
        table.maintenance.expire_snapshots().by_ids(expired).commit()
        table = table.refresh()
        table.io = io
    reachable = _reachable(table, io)
    metadata_kept = {table.metadata_location}
    log = sorted(table.metadata.metadata_log, key=lambda m: m.timestamp_ms, reverse=True)
    metadata_kept.update(m.metadata_file for m in log[:keep_metadata])
    removed = 0
    for location, path in _local_files(io, table.location()):
        in_metadata = "/metadata/" in location and location.endswith(".metadata.json")
        if location in reachable or (in_metadata and location in metadata_kept):
            continue
        orphan = location not in reached_before and not in_metadata
        if orphan and path.stat().st_mtime * 1000 >= cutoff:
            continue  # as Athena: an orphan younger than the age may be a write in progress
        io.decide("s3:DeleteObject", location)
        path.unlink()
        removed += 1
    return len(expired), removed


# ---------------------------------------------------------------------------- the runner


def checked_io(home: Path, decide: Decide) -> CheckedFileIO:
    io = CheckedFileIO(io_properties(home))
    io.decide = decide  # type: ignore[method-assign]
    return io


class AthenaLocalRunner:
    """The ``athena-iceberg`` patch's runner: one statement, on the embedded AWS's buckets
    (written to ``home`` before, read back after, as around a local Glue job run)."""

    def __init__(self, aws: Any) -> None:
        self.aws = aws
        self._lock = threading.Lock()

    def decide(self, role: str) -> Decide:
        from phenolake_local import iam

        if not (role and iam.ENFORCER.active):
            return _allow_all
        found = iam.ENFORCER.roles.role(role)  # type: ignore[union-attr]

        def decide(action: str, location: str) -> None:
            bucket, _, key = location.partition("://")[2].partition("/")
            denial = iam.ENFORCER.decide(found, [iam.Check(action, iam.s3_arn(bucket, key))], True)
            if denial is not None:
                raise AccessDenied(f"Access denied when calling S3: {denial.message}")

        return decide

    def __call__(self, sql: str, database: str, output: str, role: str) -> Outcome:
        import boto3

        from phenolake_local import iam, template
        from phenolake_local.iceberg import catalog

        decide = self.decide(role)
        with self._lock:
            self.aws.save_buckets()  # the engine's own sync, not the caller's
            try:
                with iam.acting_as(role):
                    io = checked_io(self.aws.home, decide)
                    glue = boto3.client("glue", region_name=template.REGION)
                    outcome = execute(sql, database, catalog(self.aws.home, glue), io)
                    if output:
                        decide("s3:PutObject", output)
                        write_result(io, output, outcome)
            finally:
                self.aws.load_buckets()
        return outcome


def write_result(io: HomeFileIO, output: str, outcome: Outcome) -> None:
    """The query's result file, as Athena writes it to the output location (CSV, quoted)."""
    path = io.local_path(output)
    if path is None:
        raise StatementRefused(f"output location {output!r} is not an s3:// location")
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(f'"{c}"' for c in outcome.columns)] if outcome.columns else []
    lines += [",".join(f'"{v}"' for v in row) for row in outcome.rows]
    path.write_text("".join(f"{line}\n" for line in lines))
