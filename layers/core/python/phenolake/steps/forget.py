"""Forget (the DeleteParticipant state machine): a participant withdrew consent.

The work is in ``phenolake.forget``. The machine calls this step twice: ``delete`` removes the
participant from every zone and every Hive-style table and returns the Athena statements the
machine then runs on each curated Iceberg table; ``record`` adds what those statements did to
the audit record, tells the study team (SNS) what was deleted and what could not be, and
returns the audit record.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from phenolake import forget, storage
from phenolake.config import Settings, environ

log = logging.getLogger(__name__)


class TableOutcome(BaseModel):
    """One Iceberg table after the machine's statements: Athena's result set of the count
    taken before the DELETE (GetQueryResults' ``ResultSet.Rows``: header, then the count)."""

    model_config = ConfigDict(extra="forbid")

    table: str = Field(min_length=1)
    before: str = Field(pattern=r"^s3://")
    count: list[dict[str, Any]]

    def rows(self) -> int:
        try:
            return int(self.count[1]["Data"][0]["VarCharValue"])
        except (IndexError, KeyError, ValueError):
            raise ValueError(f"{self.table}: the count's result set is not one number") from None


class ForgetEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    participant: str = Field(min_length=1)
    execution_id: str = ""
    phase: Literal["delete", "record"] = "delete"
    #: the audit record the delete phase wrote (record phase)
    audit: str = ""
    tables: list[TableOutcome] = Field(default_factory=list)


def run(event: ForgetEvent, settings: Settings) -> dict[str, Any]:
    if event.phase == "record":
        return record(event, settings)
    retention = environ().get("TIMESTREAM_RETENTION_DAYS", "")
    audit = forget.forget(
        settings,
        event.participant,
        requested_by=event.execution_id,
        timestream_retention_days=int(retention) if retention.isdigit() else None,
    )
    deleted = sum(audit["deleted_objects"].values())
    return {**audit, "metrics": {"objects_deleted": deleted}}


def record(event: ForgetEvent, settings: Settings) -> dict[str, Any]:
    if not event.audit:
        raise ValueError("record: the delete phase's audit record is missing")
    outcomes = [{"table": t.table, "before": t.before, "rows": t.rows()} for t in event.tables]
    audit = forget.record(settings, event.audit, outcomes)
    deleted = sum(audit["deleted_objects"].values())
    iceberg = audit["iceberg_tables"]
    rows = sum(audit["rows_removed"].values()) + sum(t["rows_deleted"] for t in iceberg.values())
    if settings.topic_arn:
        lines = [
            f"phenolake: participant sha256 {audit['participant_sha256'][:12]}… deleted",
            f"objects {deleted}, partitions {sum(audit['partitions_dropped'].values())}, "
            f"rows deleted {rows}",
            *[
                f"table {name}: {t['rows_deleted']} row(s) deleted, {t['snapshots_expired']} "
                f"snapshot(s) expired, {t['files_removed']} file(s) removed"
                for name, t in iceberg.items()
            ],
            *[f"not deleted: {n}" for n in audit["not_deleted"]],
            f"audit: {audit['audit']}",
        ]
        storage.client("sns", settings.region).publish(
            TopicArn=settings.topic_arn,
            Subject="phenolake participant deleted",
            Message="\n".join(lines),
        )
    return {**audit, "metrics": {"objects_deleted": deleted, "rows_deleted": rows}}
