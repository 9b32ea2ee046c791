"""Record: each object landed (or deleted) in the landing bucket, as the ledger's pending item.

The landing bucket sends its S3 events to EventBridge; a rule sends ``Object Created`` and
``Object Deleted`` of that bucket here. A created object becomes pending for the next Plan
and enters the landing-date index (``Ledger.record_pending``); a deleted one (consent
withdrawn, a manual delete) leaves both (``Ledger.unland``), so no run plans an object that
is gone. The source is the key's first path segment; a key outside every source's prefix is
ignored, with a log line. The event's ``time`` stands for the object's LastModified (S3's
event carries none, and a HeadObject would need read access to identifiable data).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from phenolake import sources, storage
from phenolake.config import Settings
from phenolake.ledger import Landed, Ledger

log = logging.getLogger(__name__)

CREATED = "Object Created"
DELETED = "Object Deleted"


class _Bucket(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str


class _Object(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    key: str
    size: int = 0
    etag: str = ""
    sequencer: str = ""
    version_id: str | None = Field(default=None, alias="version-id")


class _Detail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    bucket: _Bucket
    object: _Object


class LandingEvent(BaseModel):
    """An S3 event of the landing bucket as EventBridge delivers it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    detail_type: str = Field(alias="detail-type")
    time: dt.datetime
    detail: _Detail


def source_of(key: str) -> str | None:
    """The source whose prefix holds ``key`` (its first path segment), if any."""
    name, slash, rest = key.partition("/")
    return name if slash and rest and name in sources.REGISTRY else None


def run(event: LandingEvent, settings: Settings) -> dict[str, Any]:
    obj = event.detail.object
    bucket = event.detail.bucket.name
    source = source_of(obj.key)
    if source is None or bucket != settings.landing_bucket:
        known = ", ".join(f"{name}/" for name in sources.names())
        log.info(
            "not under a source's prefix in landing: ignored",
            extra={"bucket": bucket, "key": obj.key, "prefixes": known},
        )
        return {"key": obj.key, "recorded": False, "reason": "not under a source's prefix"}
    if obj.key.endswith("/") and not obj.size:
        return {"key": obj.key, "recorded": False, "reason": "a folder marker"}
    ledger = Ledger(storage.client("dynamodb", settings.region), settings.ledger_table)
    if event.detail_type == CREATED:
        landed = Landed(source, bucket, obj.key, obj.etag, obj.size, event.time)
        recorded = ledger.record_pending(landed, obj.sequencer)
        what = "pending"
    elif event.detail_type == DELETED:
        recorded = ledger.unland(source, obj.key, obj.sequencer)
        what = "deleted"
    else:
        return {"key": obj.key, "recorded": False, "reason": f"{event.detail_type}: not handled"}
    if not recorded:
        log.info("a later event of this key is recorded: ignored", extra={"key": obj.key})
    return {
        "key": obj.key,
        "source": source,
        "recorded": recorded,
        "as": what,
        "metrics": {f"{what}_recorded": int(recorded)},
    }
