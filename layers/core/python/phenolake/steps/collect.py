"""Collect: gather what the previous Maps' items wrote into what the next steps read.

A Distributed Map's results can be far larger than a state may carry (256 KiB), so each
item writes a small manifest under ``manifests/<run>/<stage>/`` and returns its key, the Map
exports the items' results with ResultWriter, and this step reads that export
(``phenolake.map_results``) to fold the manifests of the items that succeeded into the item
lists the next Maps read from S3:

- ``extracted`` (state ``CollectExtracted``) -> ``redact.json`` (image batches) and
  ``convert.json`` (data files)
- ``converted`` (state ``CollectRedactedAndConverted``, after both branches of
  ``RedactAndConvert``) -> ``merge.json`` (participant x metric x day) and the sources to
  curate from Convert's manifests, and the ``image_redactions`` table from the Redact
  batches' audit rows (``phenolake.image_audit``). The table is written here, not in
  Redact, because Redact runs without pyarrow (next to OpenCV, in Lambda's 250 MB), and
  this is the first step after every Redact batch has ended.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from phenolake import contracts, image_audit, lake, map_results, sources, storage
from phenolake.config import Settings
from phenolake.contracts import (
    ConvertedManifest,
    ConvertedWork,
    CurateItem,
    DayItem,
    ExtractedManifest,
    ExtractedWork,
    ImageBatch,
    ItemOutput,
    Model,
    RawFile,
)
from phenolake.steps.common import StepEvent, read_manifest, s3_client, write_work_list
from phenolake.steps.redact import audit_rows

IMAGE_BATCH = 16


class ResultWriterDetails(BaseModel):
    """Where the previous Map's ResultWriter put its manifest."""

    Bucket: str
    Key: str


class CollectEvent(StepEvent):
    stage: Literal["extracted", "converted"]
    results: ResultWriterDetails
    participants: list[str] = Field(default_factory=list)


def _manifests(
    s3: Any, settings: Settings, details: ResultWriterDetails, model: type[Model]
) -> list[Model]:
    """The manifests of the items that succeeded, in the order the Map read them."""
    results = map_results.read(s3, details.model_dump())
    where = f"s3://{details.Bucket}/{details.Key}"
    outputs = [
        contracts.load(ItemOutput, output, f"{where}: item output {i}")
        for i, output in enumerate(results.outputs())
    ]
    return [read_manifest(s3, settings, key, model) for key in sorted(o.manifest for o in outputs)]


def after_extract(manifests: list[ExtractedManifest]) -> tuple[list[ImageBatch], list[RawFile]]:
    redact: list[ImageBatch] = []
    convert: list[RawFile] = []
    for manifest in manifests:
        images = manifest.images
        for i in range(0, len(images), IMAGE_BATCH):
            redact.append(ImageBatch(source=manifest.source, images=images[i : i + IMAGE_BATCH]))
        convert.extend(
            RawFile(source=manifest.source, **data.model_dump()) for data in manifest.data
        )
    return redact, convert


def after_convert(
    manifests: list[ConvertedManifest], participants: list[str], days_key: str = ""
) -> tuple[list[DayItem], list[CurateItem]]:
    days: dict[tuple[str, ...], DayItem] = {}
    touched: dict[str, set[str]] = {}
    for manifest in manifests:
        for day in manifest.days:
            if participants and day.participant not in participants:
                continue
            key = (day.source, day.metric, day.participant, day.device, day.day)
            days[key] = DayItem.of(day.day_key())
            touched.setdefault(day.source, set()).add(day.participant)
    merge = [days[k] for k in sorted(days)]
    curate = [
        CurateItem(source=name, participants=",".join(sorted(touched[name])), days=days_key)
        for name in sorted(touched)
        if name in sources.REGISTRY
    ]
    return merge, curate


def run(event: CollectEvent, settings: Settings) -> dict[str, Any]:
    s3 = s3_client(settings)
    if event.stage == "extracted":
        redact, convert = after_extract(_manifests(s3, settings, event.results, ExtractedManifest))
        extracted = ExtractedWork(
            redact=write_work_list(s3, settings, event.run_id, "redact", redact),
            convert=write_work_list(s3, settings, event.run_id, "convert", convert),
        )
        return {
            **contracts.dump(extracted),
            "metrics": {"image_batches": len(redact), "data_files": len(convert)},
        }
    merge, curate = after_convert(
        _manifests(s3, settings, event.results, ConvertedManifest),
        event.participants,
        lake.work_key(event.run_id, "merge"),
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
    converted = ConvertedWork(
        merge=write_work_list(s3, settings, event.run_id, "merge", merge), curate=curate
    )
    return {
        **contracts.dump(converted),
        "metrics": {
            "days": len(merge),
            "sources_to_curate": len(curate),
            "images_audited": len(audit),
            "audit_partitions": partitions,
        },
    }
