"""What every step event carries, and the helpers steps share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from phenolake import contracts, storage
from phenolake.config import Settings


class StepEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    run_id: str
    execution_id: str = ""


def s3_client(settings: Settings) -> Any:
    return storage.client("s3", settings.region)


def write_work_list(
    s3: Any, settings: Settings, run_id: str, stage: str, items: Sequence[BaseModel]
) -> dict[str, Any]:
    """Write a Map's items to S3 (a Distributed Map reads them from there); returns the
    ``contracts.WorkListRef`` the state machine passes to the Map's ItemReader."""
    from phenolake import lake

    key = lake.work_key(run_id, stage)
    storage.put_json(s3, settings.lake_bucket, key, [contracts.dump(item) for item in items])
    ref = contracts.WorkListRef(bucket=settings.lake_bucket, key=key, count=len(items))
    return contracts.dump(ref)


def read_work_list(
    s3: Any, settings: Settings, run_id: str, stage: str, model: type[contracts.Model]
) -> list[contracts.Model]:
    """A work list ``write_work_list`` wrote, each item validated as ``model``."""
    from phenolake import lake

    key = lake.work_key(run_id, stage)
    found = storage.get_json(s3, settings.lake_bucket, key)
    return contracts.load_list(model, found, lake.s3_uri(settings.lake_bucket, key))


def read_manifest(
    s3: Any, settings: Settings, key: str, model: type[contracts.Model]
) -> contracts.Model:
    """A manifest another step wrote, validated as its writer's model."""
    from phenolake import lake

    found = storage.get_json(s3, settings.lake_bucket, key)
    return contracts.load(model, found, lake.s3_uri(settings.lake_bucket, key))
