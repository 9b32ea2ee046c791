"""Redact (Map item over image batches): fail closed until a face detector is installed.

Nothing with a face may reach the lake unredacted. Until the detector lands (the OpenCV
layer and the CenterFace model), every image is withheld: it is quarantined with that
reason, never written to ``images/``, and its unredacted scratch copy is deleted.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from phenolake import storage
from phenolake.config import Settings
from phenolake.steps.common import StepEvent, s3_client

WITHHELD = "image withheld: no face detector is installed, so it cannot be redacted (fail closed)"


class ImageRef(BaseModel):
    model_config = ConfigDict(extra="ignore")

    bucket: str
    key: str


class ImageBatch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    source: str
    images: list[ImageRef]


class RedactEvent(StepEvent):
    item: ImageBatch


def run(event: RedactEvent, settings: Settings) -> dict[str, Any]:
    s3 = s3_client(settings)
    withheld = 0
    for image in event.item.images:
        storage.quarantine(
            s3,
            lake_bucket=settings.lake_bucket,
            run_id=event.run_id,
            source_bucket=image.bucket,
            source_key=image.key,
            reason=WITHHELD,
            detail={"step": "redact", "source": event.item.source},
            body=b"",
        )
        s3.delete_object(Bucket=image.bucket, Key=image.key)
        withheld += 1
    counts = {"images_published": 0, "images_withheld": withheld}
    return {**counts, "metrics": counts}
