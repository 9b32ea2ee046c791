"""Worklist: gather what the previous Map's items wrote and write the next Maps' work lists.

A Distributed Map's results can be far larger than a state may carry, so each item writes
a small manifest under ``manifests/<run>/<stage>/`` and this step folds them into the item
lists the next Maps read from S3:

- ``extracted`` -> ``redact.json`` (image batches) and ``convert.json`` (data files)
- ``converted`` -> ``merge.json`` (participant x metric x day) and the sources to curate;
  it also folds the Redact batches' audit rows into the ``image_redactions`` table
  (``phenolake.image_audit``: Redact itself runs without pyarrow)
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from phenolake import image_audit, lake, sources, storage
from phenolake.config import Settings
from phenolake.steps.common import StepEvent, s3_client, write_work_list
from phenolake.steps.redact import audit_rows

IMAGE_BATCH = 16


class WorklistEvent(StepEvent):
    stage: Literal["extracted", "converted"]
    participants: list[str] = Field(default_factory=list)


def _manifests(s3: Any, settings: Settings, run_id: str, stage: str) -> list[dict[str, Any]]:
    prefix = lake.manifest_key(run_id, stage) + "/"
    return [
        storage.get_json(s3, settings.lake_bucket, obj.key)
        for obj in sorted(
            storage.list_objects(s3, settings.lake_bucket, prefix), key=lambda o: o.key
        )
        if obj.key.endswith(".json")
    ]


def after_extract(manifests: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    redact: list[dict[str, Any]] = []
    convert: list[dict[str, Any]] = []
    for manifest in manifests:
        source = manifest["source"]
        images = manifest["images"]
        for i in range(0, len(images), IMAGE_BATCH):
            redact.append({"source": source, "images": images[i : i + IMAGE_BATCH]})
        convert.extend({"source": source, **data} for data in manifest["data"])
    return redact, convert


def after_convert(
    manifests: list[dict[str, Any]], participants: list[str]
) -> tuple[list[dict], list[dict]]:
    days: dict[tuple[str, ...], dict[str, str]] = {}
    touched: dict[str, set[str]] = {}
    for manifest in manifests:
        for day in manifest.get("days", []):
            if participants and day["participant"] not in participants:
                continue
            key = (day["source"], day["metric"], day["participant"], day["device"], day["day"])
            days[key] = {k: day[k] for k in ("source", "metric", "participant", "day", "device")}
            touched.setdefault(day["source"], set()).add(day["participant"])
    merge = [days[k] for k in sorted(days)]
    curate = [
        {"source": name, "participants": ",".join(sorted(touched[name]))}
        for name in sorted(touched)
        if name in sources.REGISTRY
    ]
    return merge, curate


def run(event: WorklistEvent, settings: Settings) -> dict[str, Any]:
    s3 = s3_client(settings)
    if event.stage == "extracted":
        redact, convert = after_extract(_manifests(s3, settings, event.run_id, "extracted"))
        return {
            "redact": write_work_list(s3, settings, event.run_id, "redact", redact),
            "convert": write_work_list(s3, settings, event.run_id, "convert", convert),
            "metrics": {"image_batches": len(redact), "data_files": len(convert)},
        }
    merge, curate = after_convert(
        _manifests(s3, settings, event.run_id, "converted"), event.participants
    )
    audit = audit_rows(s3, settings, event.run_id)
    partitions = image_audit.fold(
        s3,
        storage.client("glue", settings.region),
        settings.lake_bucket,
        settings.glue_database,
        event.run_id,
        audit,
    )
    return {
        "merge": write_work_list(s3, settings, event.run_id, "merge", merge),
        "curate": curate,
        "metrics": {
            "days": len(merge),
            "sources_to_curate": len(curate),
            "images_audited": len(audit),
            "audit_partitions": partitions,
        },
    }
