"""What every step event carries, and the helpers steps share."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from phenolake import storage
from phenolake.config import Settings


class StepEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    run_id: str
    execution_id: str = ""


def s3_client(settings: Settings) -> Any:
    return storage.client("s3", settings.region)


def write_work_list(
    s3: Any, settings: Settings, run_id: str, stage: str, items: list[dict[str, Any]]
) -> dict[str, Any]:
    """Write a Map's items to S3 (a Distributed Map reads them from there)."""
    from phenolake import lake

    key = lake.work_key(run_id, stage)
    storage.put_json(s3, settings.lake_bucket, key, items)
    return {"bucket": settings.lake_bucket, "key": key, "count": len(items)}
