"""Reproducible data freezes: every curated Iceberg table's snapshot at one moment, tagged.

A freeze is what a paper's analysis ran on. ``freeze create NAME`` records, for each curated
Iceberg table, the snapshot current then (or at ``--as-of``), and tags it (``freeze_<name>``)
so snapshot expiry (Athena's VACUUM, Iceberg's ``expire_snapshots``) never removes it: both
keep every snapshot a branch or tag references. A query on the freeze reads exactly those
snapshots (Athena ``FOR VERSION AS OF <snapshot id>``, ``phenolake query --freeze NAME``), so
it gives the same answer after later runs, replays and upkeep.

A freeze is never a way around deletion: a consent withdrawal rewrites each frozen snapshot
that holds the participant on a branch (a copy-on-write delete, so no delete files), moves
the tag to the rewritten snapshot and records the change (rows before and after, the
deletion's audit record) in the manifest; the VACUUM that follows then expires the old
snapshot with the files only it reached.

This module is the pure part, the same in the Glue job (``glue_jobs/freeze.py``, which does
the Iceberg writes with Spark), the CLI and the tests: the name rule, tag and branch names,
the manifest (``s3://<lake>/manifests/freezes/<name>.json``), choosing a table's snapshot for
``--as-of`` from its snapshot log, and the Athena SQL a researcher runs. The manifest never
holds a participant id (a change names the deletion's audit record, which holds the sha256).
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from phenolake import lake

PREFIX = posixpath.join(lake.MANIFESTS, "freezes") + "/"
TAG_PREFIX = "freeze_"
WITHDRAWAL_REASON = "consent withdrawal"
#: a Glue-style name: it goes into tag names and S3 keys as it is
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class FreezeError(ValueError):
    """Bad freeze input (a bad or used name, an unknown freeze, a bad --as-of): one line."""


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise FreezeError(
            f"freeze name {name!r}: use 1-63 lower case letters, digits and _, "
            "starting with a letter"
        )
    return name


def tag_name(name: str) -> str:
    """The Iceberg tag a freeze puts on each of its tables' snapshots."""
    return TAG_PREFIX + check_name(name)


def branch_name(name: str) -> str:
    """The short-lived branch a withdrawal rewrites a frozen snapshot on."""
    return f"{tag_name(name)}_withdrawal"


def manifest_key(name: str) -> str:
    return f"{PREFIX}{check_name(name)}.json"


def name_of_key(key: str) -> str | None:
    if not key.startswith(PREFIX) or not key.endswith(".json"):
        return None
    name = key[len(PREFIX) : -len(".json")]
    return name if _NAME.match(name) else None


def parse_as_of(text: str) -> dt.datetime:
    """An ISO 8601 instant (a date is its start); without a zone it is UTC, as in Athena."""
    try:
        found = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise FreezeError(
            f"--as-of {text!r}: not an ISO 8601 timestamp (e.g. 2024-10-18T12:00:00Z)"
        ) from None
    return found if found.tzinfo else found.replace(tzinfo=dt.UTC)


def epoch_ms(instant: dt.datetime) -> int:
    return int(instant.timestamp() * 1000)


def snapshot_as_of(log: Iterable[tuple[int, int]], at_ms: int) -> int | None:
    """The snapshot current at ``at_ms`` from a table's snapshot log of ``(made current at
    ms, snapshot id)`` entries (Iceberg's ``snapshot-log``, Spark's ``<table>.history``):
    the last made current at or before it; None when the table had none yet."""
    found: tuple[int, int] | None = None
    for made_current, snapshot_id in log:
        if made_current <= at_ms and (found is None or made_current >= found[0]):
            found = (made_current, snapshot_id)
    return found[1] if found else None


def summary_counts(summary: Mapping[str, Any]) -> tuple[int, int]:
    """(rows, data files) of a snapshot, from its summary (Spark, PyIceberg and Athena all
    write ``total-records`` and ``total-data-files``)."""
    return int(summary.get("total-records", 0)), int(summary.get("total-data-files", 0))


@dataclass
class FrozenTable:
    snapshot_id: int
    tag: str
    rows: int
    data_files: int


@dataclass
class TableChange:
    rows_before: int
    rows_after: int
    snapshot_before: int
    snapshot_after: int


@dataclass
class Change:
    """One rewrite of the freeze: when, why, which deletion (its audit record), per table."""

    at: str
    reason: str
    audit_id: str
    tables: dict[str, TableChange] = field(default_factory=dict)


@dataclass
class Freeze:
    name: str
    created_at: str
    as_of: str
    code_version: str
    study_sha256: str
    tables: dict[str, FrozenTable] = field(default_factory=dict)
    #: tables the catalog holds that the freeze does not, and why (created after --as-of)
    left_out: dict[str, str] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["tables"] = dict(sorted(document["tables"].items()))
        return document

    def to_json(self) -> bytes:
        return json.dumps(self.as_dict(), indent=1, sort_keys=True).encode()

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Freeze:
        return cls(
            name=document["name"],
            created_at=document["created_at"],
            as_of=document.get("as_of", ""),
            code_version=document.get("code_version", ""),
            study_sha256=document.get("study_sha256", ""),
            tables={t: FrozenTable(**v) for t, v in document.get("tables", {}).items()},
            left_out=dict(document.get("left_out", {})),
            changes=[
                Change(
                    at=c["at"],
                    reason=c["reason"],
                    audit_id=c["audit_id"],
                    tables={t: TableChange(**v) for t, v in c.get("tables", {}).items()},
                )
                for c in document.get("changes", [])
            ],
        )

    @classmethod
    def from_json(cls, body: bytes | str) -> Freeze:
        return cls.from_dict(json.loads(body))

    def versions(self) -> dict[str, int]:
        """Each frozen table's snapshot id, what a query on the freeze reads."""
        return {t: frozen.snapshot_id for t, frozen in self.tables.items()}

    def withdrawn(
        self, audit_id: str, tables: Mapping[str, TableChange], at: dt.datetime
    ) -> Change:
        """Record a withdrawal's rewrite: each table's new snapshot and rows, and the change."""
        change = Change(
            at=at.isoformat(timespec="seconds"),
            reason=WITHDRAWAL_REASON,
            audit_id=audit_id,
            tables=dict(sorted(tables.items())),
        )
        for table, changed in tables.items():
            frozen = self.tables[table]
            frozen.snapshot_id, frozen.rows = changed.snapshot_after, changed.rows_after
        self.changes.append(change)
        return change


def study_text(sha256: str) -> str:
    """How a freeze names the study configuration it was made under."""
    if not sha256:
        return "no study configuration published (the defaults)"
    return f"study configuration sha256 {sha256}"


def athena_sql(freeze: Freeze, database: str) -> str:
    """What a researcher runs in Athena to read the freeze: one ``SELECT ... FOR VERSION AS
    OF <snapshot id>`` per table. Athena's documentation shows version travel in SELECT
    statements only and does not say whether a view may hold one (nor whether a tag name may
    stand for the id), so it is per-table statements with the snapshot ids, not views."""
    lines = [
        f"-- freeze {freeze.name}: created {freeze.created_at}"
        + (f", as of {freeze.as_of}" if freeze.as_of else "")
        + f"; code {freeze.code_version}, {study_text(freeze.study_sha256)}",
    ]
    if freeze.changes:
        lines.append(
            f"-- rewritten {len(freeze.changes)} time(s) since (consent withdrawal): "
            "use these snapshot ids, not older ones"
        )
    for table, frozen in sorted(freeze.tables.items()):
        lines.append(
            f'SELECT * FROM "{database}"."{table}" FOR VERSION AS OF {frozen.snapshot_id};'
            f"  -- {frozen.rows} rows, tag {frozen.tag}"
        )
    return "\n".join(lines) + "\n"
