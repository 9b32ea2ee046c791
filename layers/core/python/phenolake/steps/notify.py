"""Notify: write the run manifest and tell the study team how the run went.

Every path of the state machine ends here, success or failure: the summary counts what
was taken in, converted, rejected and quarantined (with where to look), and goes to SNS
and, when its secret is set, to a Slack webhook.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.request
from typing import Any, Literal

from pydantic import Field

from phenolake import __version__, lake, storage
from phenolake.config import Settings
from phenolake.steps.common import StepEvent, s3_client

log = logging.getLogger(__name__)


class NotifyEvent(StepEvent):
    status: Literal["SUCCEEDED", "FAILED", "PARTIAL", "DRY_RUN"] = "SUCCEEDED"
    error: dict[str, Any] | None = None
    summary: dict[str, Any] = Field(default_factory=dict)


def _collect(s3: Any, settings: Settings, run_id: str) -> dict[str, Any]:
    totals: dict[str, int] = {
        "objects": 0,
        "data_files": 0,
        "images": 0,
        "rejected_members": 0,
        "rows": 0,
        "rejected_rows": 0,
        "days": 0,
        "quarantined": 0,
    }
    tables: dict[str, int] = {}
    for obj in storage.list_objects(
        s3, settings.lake_bucket, lake.manifest_key(run_id, "extracted") + "/"
    ):
        m = storage.get_json(s3, settings.lake_bucket, obj.key)
        totals["objects"] += 1
        totals["data_files"] += len(m["data"])
        totals["images"] += len(m["images"])
        totals["rejected_members"] += len(m["rejected"])
    for obj in storage.list_objects(
        s3, settings.lake_bucket, lake.manifest_key(run_id, "converted") + "/"
    ):
        m = storage.get_json(s3, settings.lake_bucket, obj.key)
        totals["rows"] += m.get("rows", 0)
        totals["rejected_rows"] += m.get("rejected_rows", 0)
        totals["days"] += len(m.get("days", []))
        for day in m.get("days", []):
            metric = f"{day['source']}.{day['metric']}"
            tables[metric] = tables.get(metric, 0) + day["rows"]
    quarantine_prefix = lake.quarantine_key(run_id, "")
    totals["quarantined"] = sum(
        1
        for o in storage.list_objects(s3, settings.lake_bucket, quarantine_prefix)
        if o.key.endswith(".reason.json")
    )
    return {
        "totals": totals,
        "rows_by_metric": tables,
        "quarantine": lake.s3_uri(settings.lake_bucket, quarantine_prefix),
    }


def message(
    run_id: str, status: str, collected: dict[str, Any], error: dict[str, Any] | None
) -> str:
    t = collected["totals"]
    lines = [
        f"phenolake run {run_id}: {status}",
        f"objects {t['objects']}, data files {t['data_files']}, images {t['images']}, "
        f"rows {t['rows']}, participant-days {t['days']}",
        f"quarantined {t['quarantined']} (rejected rows {t['rejected_rows']}, "
        f"rejected zip members {t['rejected_members']}) -> {collected['quarantine']}",
    ]
    if error:
        lines.append(f"error: {error.get('Error', '')}: {str(error.get('Cause', ''))[:500]}")
        report = batch_load_report(error)
        if report:
            lines.append(f"batch load error report: {report}")
    return "\n".join(lines)


def batch_load_report(error: dict[str, Any]) -> str | None:
    """Where a failed Timestream batch load wrote its error report (the state machine's
    ``BatchLoadFailed`` cause is the DescribeBatchLoadTask result), or None."""
    try:
        cause = json.loads(str(error.get("Cause", "")))
        report = cause["Report"]["ReportS3Configuration"]
    except (ValueError, KeyError, TypeError):
        return None
    prefix = str(report.get("ObjectKeyPrefix", "")).rstrip("/")
    return lake.s3_uri(report["BucketName"], f"{prefix}/{cause.get('TaskId', '')}/")


def _slack(settings: Settings, text: str) -> None:
    secrets = storage.client("secretsmanager", settings.region)
    url = secrets.get_secret_value(SecretId=settings.slack_secret_id)["SecretString"].strip()
    request = urllib.request.Request(
        url, data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def run(event: NotifyEvent, settings: Settings) -> dict[str, Any]:
    s3 = s3_client(settings)
    collected = _collect(s3, settings, event.run_id)
    manifest = {
        "batch_load_report": batch_load_report(event.error) if event.error else None,
        "run_id": event.run_id,
        "execution_id": event.execution_id,
        "status": event.status,
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "code_version": __version__,
        "error": event.error,
        "steps": event.summary,
        **collected,
    }
    storage.put_json(s3, settings.lake_bucket, lake.run_manifest_key(event.run_id), manifest)
    text = message(event.run_id, event.status, collected, event.error)
    if settings.topic_arn:
        storage.client("sns", settings.region).publish(
            TopicArn=settings.topic_arn, Subject=f"phenolake {event.status}"[:100], Message=text
        )
    if settings.slack_secret_id:
        try:
            _slack(settings, text)
        except Exception as exc:  # a broken webhook must not fail the run's record
            log.warning("slack notification failed", extra={"error": str(exc).splitlines()[0]})
    return {
        "metrics": {"runs_failed" if event.status == "FAILED" else "runs_notified": 1},
        "status": event.status,
        "manifest": lake.s3_uri(settings.lake_bucket, lake.run_manifest_key(event.run_id)),
        "message": text,
        **collected["totals"],
    }
