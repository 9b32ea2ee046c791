"""Unzip (Map item): take one landed object in: validate and extract a zip, or pass a file on.

Images go to the private scratch bucket (they may show faces until Redact has run), every
other file to ``raw/``. What was extracted, skipped and rejected is written to the run's
``extracted/`` manifest for the Collect step; a refused zip goes to quarantine with a reason,
and so does each problem the source finds in the export as a whole (``Source.check_export``,
e.g. a device folder without one of its stream files).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from phenolake import contracts, forget, lake, sources, storage, zipintake
from phenolake.config import Settings
from phenolake.contracts import DataFile, ExtractedManifest, ImageRef, LandedObject, RejectedMember
from phenolake.ledger import Ledger
from phenolake.steps.common import StepEvent, s3_client

if TYPE_CHECKING:
    from phenolake.sources.base import ImageFacts

log = logging.getLogger(__name__)


class UnzipEvent(StepEvent):
    item: LandedObject
    #: The sources' options as Plan resolved them (``Plan.source_options``).
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)


def _place(
    settings: Settings, run_id: str, item: LandedObject, member: str | None
) -> tuple[str, str]:
    name = member or item.key
    if lake.is_image(name):
        return settings.scratch_bucket, lake.scratch_key(run_id, item.source, item.key, member)
    return settings.lake_bucket, lake.raw_key(item.source, item.key, member)


WITHDRAWN = "participant withdrew consent (ledger tombstone): not extracted"


def _raw_relative(source: str, landing: str, member: str | None) -> str:
    return lake.raw_relative(source, lake.raw_key(source, landing, member))


def image_entry(
    bucket: str, key: str, item: LandedObject, member: str | None, facts: ImageFacts | None = None
) -> ImageRef:
    """A scratch image for Redact, with whose it is and when it was taken (the source's
    ``export_image_facts`` or ``image_facts``, asked here because Redact runs without the
    sources' dependencies)."""
    if facts is None:
        try:
            source = sources.get(item.source)
            facts = source.image_facts(_raw_relative(item.source, item.key, member))
        except sources.UnknownSource:
            facts = None
    if facts is None:
        return ImageRef(bucket=bucket, key=key)
    return ImageRef(
        bucket=bucket,
        key=key,
        participant=facts.participant,
        taken_at=facts.taken_at.isoformat() if facts.taken_at else None,
        time_from=facts.time_from,
    )


def _add(
    manifest: ExtractedManifest,
    bucket: str,
    key: str,
    item: LandedObject,
    member: str | None,
    facts: ImageFacts | None = None,
) -> None:
    if lake.is_image(key):
        manifest.images.append(image_entry(bucket, key, item, member, facts))
    else:
        manifest.data.append(DataFile(bucket=bucket, key=key))


def _export_image_facts(item: LandedObject, files: list[tuple[str, Path]]) -> dict[str, ImageFacts]:
    """The source's facts of a zip's images from the zip's other files, by member."""
    if item.source not in sources.REGISTRY:
        return {}
    relative = {_raw_relative(item.source, item.key, member): member for member, _ in files}
    local = {_raw_relative(item.source, item.key, member): path for member, path in files}
    found = sources.get(item.source).export_image_facts(local)
    return {relative[path]: facts for path, facts in found.items() if path in relative}


def run(event: UnzipEvent, settings: Settings) -> dict[str, Any]:
    item = event.item
    s3 = s3_client(settings)
    ledger = Ledger(storage.client("dynamodb", settings.region), settings.ledger_table)
    forgotten = ledger.forgotten()
    ingest_run = ledger.ingest_run(item.source, item.key, item.etag) or event.run_id
    manifest = ExtractedManifest(landing=item, source=item.source)
    options = event.options.get(item.source)
    if sources.is_archive(item.source, item.key):
        _extract_zip(s3, settings, event.run_id, item, manifest, forgotten, options)
    elif forget.withdrawn(
        item.source, _raw_relative(item.source, item.key, None), forgotten, options
    ):
        manifest.skipped.append(f"{item.key}: {WITHDRAWN}")
    else:
        bucket, key = _place(settings, event.run_id, item, None)
        s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": item.bucket, "Key": item.key})
        _add(manifest, bucket, key, item, None)
    for data in manifest.data:
        data.ingest_run_id = ingest_run

    for bad in manifest.rejected:
        storage.quarantine(
            s3,
            lake_bucket=settings.lake_bucket,
            run_id=event.run_id,
            source_bucket=item.bucket,
            source_key=f"{item.key}/{bad.member}",
            reason=bad.reason,
            detail={"zip": f"s3://{item.bucket}/{item.key}", "member": bad.member},
            body=b"",
        )
    manifest_key = lake.item_manifest_key(event.run_id, "extracted", item.key)
    storage.put_json(s3, settings.lake_bucket, manifest_key, contracts.dump(manifest))
    ledger.record(
        item.source,
        item.key,
        item.etag,
        "quarantined" if manifest.quarantined else "extracted",
        event.run_id,
        files=len(manifest.data) + len(manifest.images),
        ingest_run_id=ingest_run,
    )
    ledger.clear_pending(item.source, item.key, item.etag)  # taken in: the next Plan skips it
    counts = {
        "images": len(manifest.images),
        "data_files": len(manifest.data),
        "skipped_members": len(manifest.skipped),
        "rejected_members": len(manifest.rejected),
        "quarantined_zips": int(bool(manifest.quarantined)),
    }
    flows = {"bytes_in": item.size}  # the run's profile: the landed object read
    return {"key": item.key, "manifest": manifest_key, **counts, "metrics": {**counts, **flows}}


def _extract_zip(
    s3: Any,
    settings: Settings,
    run_id: str,
    item: LandedObject,
    manifest: ExtractedManifest,
    forgotten: frozenset[str],
    options: dict[str, Any] | None = None,
) -> None:
    with zipintake.scratch_dir() as tmp:
        local = Path(tmp) / "input.zip"
        s3.download_file(item.bucket, item.key, str(local))
        try:
            extracted, report = zipintake.extract(
                local, Path(tmp), is_archive=lambda name: sources.is_archive(item.source, name)
            )
        except zipintake.RejectedZip as exc:
            manifest.quarantined = storage.quarantine(
                s3,
                lake_bucket=settings.lake_bucket,
                run_id=run_id,
                source_bucket=item.bucket,
                source_key=item.key,
                reason=str(exc),
            )
            log.warning("zip quarantined", extra={"key": item.key, "reason": str(exc)})
            return
        withheld = []
        members = []
        files = list(zipintake.iter_members(extracted))
        known = _export_image_facts(item, files)
        for member, path in files:
            relative = _raw_relative(item.source, item.key, member)
            if forget.withdrawn(item.source, relative, forgotten, options):
                path.unlink()
                withheld.append(f"{member}: {WITHDRAWN}")
                continue
            bucket, key = _place(settings, run_id, item, member)
            s3.upload_file(str(path), bucket, key)
            path.unlink()
            _add(manifest, bucket, key, item, member, known.get(member))
            members.append(member)
        manifest.skipped = report.skipped + withheld
        manifest.rejected = [RejectedMember.model_validate(r) for r in report.rejected]
        if item.source in sources.REGISTRY:
            manifest.rejected += [
                RejectedMember(member=where or "_export", reason=reason)  # "": the whole zip
                for where, reason in sources.get(item.source).check_export(members)
            ]
