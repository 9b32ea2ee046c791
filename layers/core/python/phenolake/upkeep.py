"""Table upkeep: the weekly maintenance of the curated Iceberg tables, as pure parts.

Each daily commit of a curated table adds a metadata file, a manifest list, manifests and, for
a replaced day, new data files beside the superseded ones; the table's folder grows with every
run although its rows do not. Upkeep is Iceberg's own Spark procedures, run by the maintain
Glue job (``glue_jobs/maintain.py``) on every Iceberg table of the catalog, in this order:

1. ``rewrite_data_files``: bin-pack the small data files of a partition toward the target size
   (a partition with two or more small files; a lone file is left alone);
2. ``rewrite_manifests``: one manifest per partition spec instead of one per commit;
3. ``expire_snapshots``: drop the snapshots older than the retention (the current one always
   stays) and the files only they reached. Iceberg never expires a snapshot a tag or a branch
   references (a freeze, ``freeze_<name>``), nor the files it reaches;
4. ``remove_orphan_files``: delete files under the table's folder that no kept snapshot or
   metadata file names (a failed write's leftovers), only when older than the orphan age, so a
   write in flight is never taken for an orphan. Iceberg's procedure refuses an age under 24 h.

Rows are never changed: every query answers the same before and after. This module says which
tables, the procedures' SQL from the parameters and the report; it imports nothing of Spark,
so the CLI reads the report with it too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from phenolake.iceberg import SPARK_CATALOG, TABLE_PROPERTIES

#: Iceberg's remove_orphan_files refuses a younger age (it could delete a write in flight).
MIN_ORPHAN_AGE_HOURS = 24
#: The stack's defaults (template.yaml SnapshotRetentionDays, OrphanFileAgeHours): a week of
#: time travel to any snapshot; three days before a file no snapshot names is an orphan.
DEFAULT_RETENTION_DAYS = 7
DEFAULT_ORPHAN_AGE_HOURS = 72
#: A data file of a partition is rewritten only with at least one other small one.
MIN_INPUT_FILES = 2
#: Where each upkeep run's report goes in the lake bucket.
REPORT_PREFIX = "manifests/upkeep/"

#: Properties upkeep sets on every table that lacks them: each commit then deletes the
#: metadata files beyond the newest ten (expiry keeps snapshots, not old metadata files;
#: time travel and tags need only the current metadata file).
METADATA_PROPERTIES: dict[str, str] = {
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "10",
}

_NAME = re.compile(r"^[a-z0-9_]+$")


class UpkeepError(ValueError):
    """A parameter upkeep cannot run with; the message names it."""


@dataclass(frozen=True)
class Settings:
    retention_days: float
    orphan_age_hours: float
    target_file_size_bytes: int

    def snapshots_older_than(self, now: dt.datetime) -> dt.datetime:
        return now - dt.timedelta(days=self.retention_days)

    def orphans_older_than(self, now: dt.datetime) -> dt.datetime:
        return now - dt.timedelta(hours=self.orphan_age_hours)


def default_target_mb() -> int:
    return int(TABLE_PROPERTIES["write.target-file-size-bytes"]) // (1024 * 1024)


def _number(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UpkeepError(f"{name}: not a number: {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise UpkeepError(f"{name}: not a number: {value!r}")
    return number


def settings(retention_days: Any, orphan_age_hours: Any, target_mb: Any) -> Settings:
    """The parameters as upkeep runs with them, or UpkeepError naming the bad one."""
    retention = _number(retention_days, "retention_days")
    if retention < 0:
        raise UpkeepError(f"retention_days: must be 0 or more, not {retention_days!r}")
    orphan_age = _number(orphan_age_hours, "orphan_age_hours")
    if orphan_age < MIN_ORPHAN_AGE_HOURS:
        raise UpkeepError(
            f"orphan_age_hours: must be at least {MIN_ORPHAN_AGE_HOURS} (Iceberg's "
            f"remove_orphan_files refuses a younger age), not {orphan_age_hours!r}"
        )
    target = _number(target_mb, "target_mb")
    if target < 1 or target != int(target):
        raise UpkeepError(f"target_mb: must be a whole number of MB, 1 or more, not {target_mb!r}")
    return Settings(retention, orphan_age, int(target) * 1024 * 1024)


def _checked(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise UpkeepError(f"{what} {name!r}: not a catalog name (a-z, 0-9, _)")
    return name


def _timestamp(value: dt.datetime) -> str:
    """A Spark TIMESTAMP literal in UTC (the job's session time zone is UTC)."""
    utc = value.astimezone(dt.UTC).replace(tzinfo=None)
    return f"TIMESTAMP '{utc.isoformat(sep=' ', timespec='microseconds')}'"


@dataclass(frozen=True)
class Procedure:
    name: str
    sql: str


def procedures(database: str, table: str, chosen: Settings, now: dt.datetime) -> list[Procedure]:
    """The four procedure calls for one table, in the order they run."""
    call = f"CALL {SPARK_CATALOG}.system"
    name = f"'{_checked(database, 'database')}.{_checked(table, 'table')}'"
    options = {
        "target-file-size-bytes": str(chosen.target_file_size_bytes),
        "min-input-files": str(MIN_INPUT_FILES),
        "partial-progress.enabled": "true",
    }
    pairs = ", ".join(f"'{k}', '{v}'" for k, v in options.items())
    return [
        Procedure(
            "rewrite_data_files",
            f"{call}.rewrite_data_files(table => {name}, strategy => 'binpack', "
            f"options => map({pairs}))",
        ),
        Procedure("rewrite_manifests", f"{call}.rewrite_manifests(table => {name})"),
        Procedure(
            "expire_snapshots",
            f"{call}.expire_snapshots(table => {name}, "
            f"older_than => {_timestamp(chosen.snapshots_older_than(now))}, retain_last => 1)",
        ),
        Procedure(
            "remove_orphan_files",
            f"{call}.remove_orphan_files(table => {name}, "
            f"older_than => {_timestamp(chosen.orphans_older_than(now))})",
        ),
    ]


def missing_properties(current: Mapping[str, str]) -> dict[str, str]:
    """The metadata properties a table does not have yet (an ALTER only when needed: each
    is a commit)."""
    return {k: v for k, v in METADATA_PROPERTIES.items() if current.get(k) != v}


def properties_sql(table_identifier: str, wanted: Mapping[str, str]) -> str:
    pairs = ", ".join(f"'{k}'='{v}'" for k, v in wanted.items())
    return f"ALTER TABLE {table_identifier} SET TBLPROPERTIES ({pairs})"


# ---------------------------------------------------------------------------------------------
# The report


@dataclass(frozen=True)
class TableState:
    """A table as upkeep measures it: its current snapshot's data files, the snapshots kept,
    and every object under its folder (what the storage bill counts)."""

    data_files: int
    data_bytes: int
    snapshots: int
    storage_files: int
    storage_bytes: int


@dataclass(frozen=True)
class TableUpkeep:
    table: str
    before: TableState
    after: TableState
    #: each procedure's result row (counts), by procedure name
    results: dict[str, dict[str, int]] = field(default_factory=dict)
    properties_set: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    run_id: str
    database: str
    started: str
    retention_days: float
    orphan_age_hours: float
    target_file_size_bytes: int
    tables: list[TableUpkeep]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def report_key(run_id: str) -> str:
    if not run_id or "/" in run_id:
        raise UpkeepError(f"run_id {run_id!r}: not a run name")
    return f"{REPORT_PREFIX}{run_id}.json"


def parse_report(document: Mapping[str, Any]) -> Report:
    """A report read back (the CLI's table); UpkeepError naming what is missing."""
    try:
        tables = [
            TableUpkeep(
                table=t["table"],
                before=TableState(**t["before"]),
                after=TableState(**t["after"]),
                results={k: dict(v) for k, v in t.get("results", {}).items()},
                properties_set=dict(t.get("properties_set", {})),
            )
            for t in document["tables"]
        ]
        return Report(
            run_id=document["run_id"],
            database=document["database"],
            started=document["started"],
            retention_days=document["retention_days"],
            orphan_age_hours=document["orphan_age_hours"],
            target_file_size_bytes=document["target_file_size_bytes"],
            tables=tables,
        )
    except (KeyError, TypeError) as exc:
        raise UpkeepError(f"upkeep report: missing or malformed {exc}") from None


def result_counts(row: Mapping[str, Any]) -> dict[str, int]:
    """A procedure's result row as counts (the numeric columns Iceberg returns)."""
    return {k: int(v) for k, v in row.items() if isinstance(v, int | float) and v is not None}
