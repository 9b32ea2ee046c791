"""Redact (Map item over image batches, and the run's QA sample): nothing with a face reaches
the lake unredacted.

For each extracted image in the private scratch bucket: decode (EXIF orientation applied),
find faces (``phenolake.redaction``), cover them, re-encode with no metadata, write the copy to
``images/<source>/<participant>/<date>/<file name>``, then delete the unredacted scratch copy.
Fail closed: an image that cannot be decoded, or any detector error, is never published; a
reason file goes to ``quarantine/`` (the bytes are not copied: the lake is readable more widely
than the landing zip, which keeps the original) and the scratch copy is deleted.

Audit: each batch writes its rows as JSON under ``manifests/<run>/redacted/``; the Collect
step that follows (``CollectRedactedAndConverted``) folds them into the Parquet table
``image_redactions`` (``phenolake.image_audit``). Why not Parquet here: pyarrow would take the
Redact function past Lambda's 250 MB for layers next to OpenCV, and the Collect step already
has it.

QA (``task: qa``, once per run after the Map): a seeded random sample of the run's published
images, ``qa_images_per_week`` per ISO week of capture, with the covered rectangles outlined,
under ``reports/qa/<run>/`` with an ``index.json``; flagged images (a face in the unsure score
band) are listed there too. The unsure band and the QA sample size are the study's
(``thresholds`` in study.yaml), handed to each item in the plan by the state machine.
"""

from __future__ import annotations

import datetime as dt
import logging
import posixpath
import random
from collections import defaultdict
from typing import Any, Literal

from pydantic import Field

from phenolake import contracts, lake, storage
from phenolake.config import Settings
from phenolake.contracts import (
    AuditRow,
    ImageBatch,
    ImageRef,
    RedactedManifest,
    Redaction,
    Thresholds,
)
from phenolake.steps.common import StepEvent, read_manifest, s3_client

log = logging.getLogger(__name__)

REDACTED = "redacted"
QA = "qa"


class RedactEvent(StepEvent):
    task: Literal["batch", "qa"] = "batch"
    item: ImageBatch | None = None
    #: The plan's (``$.plan.thresholds``): the unsure band and the QA sample size.
    thresholds: Thresholds = Field(default_factory=Thresholds)
    #: The plan's (``$.plan.redaction``): how faces are covered, the QA sample's seed.
    redaction: Redaction = Field(default_factory=Redaction)


def _filing(image: ImageRef, today: str) -> tuple[str, str, str | None]:
    """Participant, day and capture time: from the source's image facts, else ``unknown`` and
    the day of the run."""
    participant = image.participant or "unknown"
    if image.taken_at:
        return participant, image.taken_at[:10], image.taken_at
    return participant, today, None


def run(event: RedactEvent, settings: Settings) -> dict[str, Any]:
    if event.task == "qa":
        return qa_sample(
            event.run_id, settings, event.thresholds.qa_images_per_week, event.redaction.qa_seed
        )
    if event.item is None:
        raise ValueError("a redact batch needs an item")
    return redact_batch(
        event.run_id,
        event.item,
        settings,
        event.thresholds.face_unsure_band,
        event.redaction.mode,
    )


class Withheld(Exception):
    """An image is not published; the message is the quarantine reason."""


def _load_detector(band: tuple[float, float]) -> tuple[Any, dict[str, str], str]:
    """The detector, what to record about it, and why it could not be loaded (fail closed:
    without OpenCV or the model every image is withheld)."""
    try:
        from phenolake import redaction

        detector = redaction.detector_for(band)
    except Exception as exc:
        return None, {"detector": "", "model_sha256": ""}, f"{type(exc).__name__}: {exc}"
    return detector, {"detector": redaction.DETECTOR, "model_sha256": detector.model_sha256}, ""


def _redact_bytes(detector: Any, data: bytes, name: str, mode: str) -> tuple[Any, bytes]:
    from phenolake import redaction

    try:
        decoded = redaction.decode(data, name)
    except redaction.UnreadableImage as exc:
        raise Withheld(str(exc)) from None
    try:
        result = redaction.redact(decoded, detector, mode)  # type: ignore[arg-type]
        return result, redaction.encode(result.image, name)
    except redaction.UnreadableImage as exc:
        raise Withheld(str(exc)) from None
    except Exception as exc:
        raise Withheld(f"detector error: {type(exc).__name__}: {exc}") from None


def redact_batch(
    run_id: str,
    batch: ImageBatch,
    settings: Settings,
    band: tuple[float, float] = contracts.FACE_UNSURE_BAND,
    mode: str = Redaction().mode,
) -> dict[str, Any]:
    s3 = s3_client(settings)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    detector, model, load_error = _load_detector(band)
    rows = []
    for image in batch.images:
        participant, day, taken_at = _filing(image, today)
        name = posixpath.basename(image.key)
        row: dict[str, Any] = {
            "source": batch.source,
            "participant": participant,
            "taken_at": taken_at,
            "time_from": image.time_from,
            "date": day,
            "source_key": lake.s3_uri(image.bucket, image.key),
            "mode": mode,
            "run_id": run_id,
            "redacted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **model,
        }
        try:
            if detector is None:
                raise Withheld(f"detector error: {load_error}")
            data = s3.get_object(Bucket=image.bucket, Key=image.key)["Body"].read()
            result, body = _redact_bytes(detector, data, name, mode)
        except Withheld as exc:
            reason = str(exc)
            quarantined = storage.quarantine(
                s3,
                lake_bucket=settings.lake_bucket,
                run_id=run_id,
                source_bucket=image.bucket,
                source_key=image.key,
                reason=f"image withheld (fail closed): {reason}",
                detail={"step": "redact", "source": batch.source, "participant": participant},
                body=b"",
            )
            row.update(
                image_key=quarantined,
                faces=0,
                scores=[],
                boxes=[],
                action="quarantined",
                flagged=True,
                reason=reason,
            )
            log.warning("image quarantined", extra={"key": image.key, "reason": reason})
        else:
            key = lake.image_key(batch.source, participant, day, name)
            s3.put_object(Bucket=settings.lake_bucket, Key=key, Body=body)
            row.update(
                image_key=key,
                faces=len(result.faces),
                scores=[f.score for f in result.faces],
                boxes=result.covered,
                action=result.action,
                flagged=result.flagged,
                reason="",
            )
        s3.delete_object(Bucket=image.bucket, Key=image.key)
        rows.append(row)
    first = batch.images[0].key if batch.images else run_id
    written = RedactedManifest(source=batch.source, rows=[AuditRow(**r) for r in rows])
    storage.put_json(
        s3,
        settings.lake_bucket,
        lake.item_manifest_key(run_id, REDACTED, first),
        contracts.dump(written),
    )
    counts = {
        "images_published": sum(r["action"] != "quarantined" for r in rows),
        "images_withheld": sum(r["action"] == "quarantined" for r in rows),
        "faces_redacted": sum(r["faces"] for r in rows),
        "images_flagged": sum(bool(r["flagged"]) for r in rows),
    }
    return {**counts, "metrics": counts}


def audit_rows(s3: Any, settings: Settings, run_id: str) -> list[dict[str, Any]]:
    """Every audit row the run's Redact batches wrote, in key order."""
    prefix = lake.item_manifest_prefix(run_id, REDACTED)
    rows: list[dict[str, Any]] = []
    for obj in sorted(storage.list_objects(s3, settings.lake_bucket, prefix), key=lambda o: o.key):
        if obj.key.endswith(".json"):
            found = read_manifest(s3, settings, obj.key, RedactedManifest)
            rows.extend(row.model_dump(mode="json") for row in found.rows)
    return rows


def qa_week(day: str) -> str:
    year, week, _ = dt.date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def choose_sample(rows: list[dict[str, Any]], per_week: int, seed: int) -> list[dict[str, Any]]:
    """``per_week`` published images per ISO week of capture, drawn with a seeded generator
    (same rows and seed, same sample)."""
    weeks: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: r["image_key"]):
        if row["action"] != "quarantined":
            weeks[qa_week(row["date"])].append(row)
    chosen = []
    for week in sorted(weeks):
        rng = random.Random(f"{seed}:{week}")
        chosen += rng.sample(weeks[week], min(per_week, len(weeks[week])))
    return chosen


def qa_sample(
    run_id: str,
    settings: Settings,
    per_week: int = Thresholds().qa_images_per_week,
    seed: int = Redaction().qa_seed,
) -> dict[str, Any]:
    from phenolake import redaction

    s3 = s3_client(settings)
    rows = audit_rows(s3, settings, run_id)
    sample = choose_sample(rows, per_week, seed)
    written = []
    for row in sample:
        name = posixpath.basename(row["image_key"])
        data = s3.get_object(Bucket=settings.lake_bucket, Key=row["image_key"])["Body"].read()
        drawn = redaction.draw_boxes(redaction.decode(data, name), row["boxes"])
        key = lake.qa_image_key(run_id, qa_week(row["date"]), row["participant"], name)
        s3.put_object(Bucket=settings.lake_bucket, Key=key, Body=redaction.encode(drawn, name))
        written.append({"qa_key": key, **{k: row[k] for k in ("image_key", "faces", "flagged")}})
    index = {
        "run_id": run_id,
        "per_week": per_week,
        "seed": seed,
        "sample": written,
        "flagged": [r["image_key"] for r in rows if r["flagged"]],
    }
    storage.put_json(s3, settings.lake_bucket, lake.qa_index_key(run_id), index)
    counts = {"qa_images": len(written), "images_flagged": len(index["flagged"])}
    return {**counts, "metrics": counts}
