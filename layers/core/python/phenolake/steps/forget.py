"""Forget (the DeleteParticipant state machine): a participant withdrew consent.

The work is in ``phenolake.forget``; this step parses the request, runs it, tells the study
team (SNS) what was deleted and what could not be, and returns the audit record.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from phenolake import forget, storage
from phenolake.config import Settings, environ

log = logging.getLogger(__name__)


class ForgetEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    participant: str = Field(min_length=1)
    execution_id: str = ""


def run(event: ForgetEvent, settings: Settings) -> dict[str, Any]:
    retention = environ().get("TIMESTREAM_RETENTION_DAYS", "")
    audit = forget.forget(
        settings,
        event.participant,
        requested_by=event.execution_id,
        timestream_retention_days=int(retention) if retention.isdigit() else None,
    )
    deleted = sum(audit["deleted_objects"].values())
    if settings.topic_arn:
        lines = [
            f"phenolake: participant sha256 {audit['participant_sha256'][:12]}… deleted",
            f"objects {deleted}, partitions {sum(audit['partitions_dropped'].values())}, "
            f"rows rewritten away {sum(audit['rows_removed'].values())}",
            *[f"not deleted: {n}" for n in audit["not_deleted"]],
            f"audit: {audit['audit']}",
        ]
        storage.client("sns", settings.region).publish(
            TopicArn=settings.topic_arn,
            Subject="phenolake participant deleted",
            Message="\n".join(lines),
        )
    return {**audit, "metrics": {"objects_deleted": deleted}}
