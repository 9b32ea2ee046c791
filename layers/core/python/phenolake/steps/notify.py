"""Notify: write the run manifest and tell the study team how the run went.

Every path of the state machine ends here, success or failure: the summary counts what
was taken in, converted, rejected and quarantined (with where to look), lists the
documented side files skipped with their reasons (``skipped``: junk zip members, withheld
members of withdrawn participants, files a source names as side files), lists the
participants silent for more than ``SilentDays`` days (from the ``participant_stats`` table,
as ``phenolake report`` lists them), and goes to SNS and, when its secret is set, to a Slack
webhook.

Map items that failed after their retries were each written by the state machine under
``manifests/<run>/failures/``; they are gathered into ``manifests/<run>/failures.json`` and a
run that otherwise succeeded ends PARTIAL, so the good items are kept and the bad ones named.

The run's profile (``phenolake.profile``: per step, wall and Lambda seconds, peak memory
against the configured, Glue seconds, rows and bytes in and out) is built from one ledger
Query of the invocations' records and the Curate state's job runs; the per-state wall time
of Step Functions itself (states:GetExecutionHistory) is left out on purpose: the records'
first start and last end bound each step's work, with no extra grant or paging of a history
that grows with every Map item.

The counts say what their labels say (``participant_days``): ``rows`` are the rows this run
put in the tables, ``days`` the DISTINCT (source, participant, day) triples of those rows,
however many metrics, devices and files each came in. A staged day file the daily merge
refused (schema drift) and a merged day file Curate refused were quarantined, so their rows
are in no table: they are counted as ``refused_rows``, not as rows, and their days not as
days. The staged days of participants a run restricted to others (``participants``) left
unmerged are neither: each is listed in ``skipped`` with the reason (``UNMERGED``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import urllib.request
from typing import Any, Literal

from pydantic import Field

from phenolake import (
    __version__,
    contracts,
    iceberg,
    lake,
    profile,
    provenance,
    silence,
    sources,
    storage,
    study,
)
from phenolake.config import Settings
from phenolake.contracts import ConvertedManifest, ExtractedManifest, FailureRecord, RunSummary
from phenolake.steps.common import StepEvent, read_manifest, s3_client

log = logging.getLogger(__name__)


#: Why a staged day of a run restricted to other participants is in no table.
UNMERGED = (
    "participant not among the run's participants: staged, not merged "
    "(a replay that includes them merges it)"
)


class NotifyEvent(StepEvent):
    status: Literal["SUCCEEDED", "FAILED", "PARTIAL", "DRY_RUN"] = "SUCCEEDED"
    error: dict[str, Any] | None = None
    summary: RunSummary = Field(default_factory=RunSummary)


def _collect(
    s3: Any, settings: Settings, run_id: str, metadata: iceberg.Metadata
) -> dict[str, Any]:
    totals: dict[str, int] = {
        "objects": 0,
        "data_files": 0,
        "images": 0,
        "rejected_members": 0,
        "rows": 0,
        "rejected_rows": 0,
        "days": 0,
        "refused_rows": 0,
        "quarantined": 0,
        "skipped": 0,
    }
    refused = _refused_day_files(s3, settings, run_id)
    chosen = _run_participants(s3, settings, run_id)
    skipped: list[dict[str, str]] = []
    participant_days: set[tuple[str, str, str]] = set()
    tables: dict[str, int] = {}
    inputs: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    merged: set[str] = set()
    touched: set[str] = set()
    for obj in storage.list_objects(
        s3, settings.lake_bucket, lake.item_manifest_prefix(run_id, "extracted")
    ):
        extracted = read_manifest(s3, settings, obj.key, ExtractedManifest)
        landing = extracted.landing.model_dump()
        inputs.append({k: landing[k] for k in ("source", "key", "etag", "size")})
        totals["objects"] += 1
        totals["data_files"] += len(extracted.data)
        totals["images"] += len(extracted.images)
        totals["rejected_members"] += len(extracted.rejected)
        for entry in extracted.skipped:
            member, _, reason = entry.partition(": ")
            skipped.append({"key": f"{extracted.landing.key}/{member}", "reason": reason})
    for obj in storage.list_objects(
        s3, settings.lake_bucket, lake.item_manifest_prefix(run_id, "converted")
    ):
        converted = read_manifest(s3, settings, obj.key, ConvertedManifest)
        files.append({"key": converted.key, "sha256": converted.sha256, "rows": converted.rows})
        touched.add(converted.source)
        totals["rejected_rows"] += converted.rejected_rows
        if converted.side_file:
            skipped.append({"key": converted.key, "reason": converted.side_file})
        for day in converted.days:
            day_key = day.day_key()
            if chosen and day.participant not in chosen:
                skipped.append({"key": lake.stage_key(day_key, converted.key), "reason": UNMERGED})
                continue
            if {lake.stage_key(day_key, converted.key), lake.merged_key(day_key)} & refused:
                totals["refused_rows"] += day.rows
                continue
            totals["rows"] += day.rows
            if day.rows:
                participant_days.add((day.source, day.participant, day.day))
            metric = f"{day.source}.{day.metric}"
            tables[metric] = tables.get(metric, 0) + day.rows
            merged.add(lake.merged_key(day_key))
    totals["days"] = len(participant_days)
    totals["skipped"] = len(skipped)
    quarantine_prefix = lake.quarantine_key(run_id, "")
    totals["quarantined"] = sum(
        1
        for o in storage.list_objects(s3, settings.lake_bucket, quarantine_prefix)
        if lake.parse_reason_key(o.key)
    )
    return {
        "totals": totals,
        "inputs": sorted(inputs, key=lambda i: str(i["key"])),
        "files": sorted(files, key=lambda f: f["key"]),
        "outputs": {
            "merged": sorted(merged),
            "tables": _table_rows(s3, settings, metadata, touched, set(tables)),
        },
        "rows_by_metric": tables,
        "skipped": sorted(skipped, key=lambda f: f["key"]),
        "quarantine": lake.s3_uri(settings.lake_bucket, quarantine_prefix),
    }


def _refused_day_files(s3: Any, settings: Settings, run_id: str) -> set[str]:
    """Staged and merged day files of the lake this run quarantined (refused by the daily
    merge or by Curate): keys in the lake bucket, as the reason files name them."""
    prefix = lake.quarantine_key(run_id, f"{settings.lake_bucket}/")
    refused = set()
    for obj in storage.list_objects(s3, settings.lake_bucket, prefix):
        found = lake.parse_reason_key(obj.key)
        if found:
            refused.add(found[1].removeprefix(f"{settings.lake_bucket}/"))
    return refused


def _run_participants(s3: Any, settings: Settings, run_id: str) -> set[str]:
    """The participants the run was restricted to (its plan's), empty for all of them."""
    try:
        plan = read_manifest(s3, settings, lake.plan_key(run_id), contracts.Plan)
    except s3.exceptions.NoSuchKey:
        return set()
    return set(plan.participants)


def _table_rows(
    s3: Any, settings: Settings, metadata: iceberg.Metadata, touched: set[str], metrics: set[str]
) -> dict[str, int]:
    """Rows in each curated table of the sources this run touched (a table family's tables of
    the metrics the run converted, ``<source>.<metric>``): an Iceberg table's from its current
    snapshot's summary (one GET, whatever its history), any other table's from its Parquet
    footers."""
    counts: dict[str, int] = {}
    for name in sorted(n for n in touched if n in sources.names()):
        seen = [m.partition(".")[2] for m in metrics if m.partition(".")[0] == name]
        declared = [t for spec in sources.get(name).spec.tables for t in spec.names(seen)]
        for table in declared:
            found = metadata.of(table)
            if found:
                counts[table] = iceberg.rows_of(found[1], found[0])
                continue
            prefix = lake.curated_prefix(table)
            counts[table] = sum(
                storage.parquet_rows(s3, settings.lake_bucket, o.key)
                for o in storage.list_objects(s3, settings.lake_bucket, prefix)
                if o.key.endswith(".parquet")
            )
    return counts


def _study_sha256(s3: Any, settings: Settings, run_id: str) -> str:
    """The study configuration's hash as Plan read it (empty when the run failed before)."""
    try:
        plan = read_manifest(s3, settings, lake.plan_key(run_id), contracts.Plan)
    except s3.exceptions.NoSuchKey:
        return ""
    return plan.config_sha256


def collect_failures(s3: Any, settings: Settings, run_id: str) -> list[dict[str, Any]]:
    """The failed Map items of the run: step, item and the error after the last retry."""
    failures = []
    prefix = lake.failures_prefix(run_id)
    for obj in sorted(storage.list_objects(s3, settings.lake_bucket, prefix), key=lambda o: o.key):
        found = lake.parse_failure_key(obj.key)
        if found is None:
            continue
        record = read_manifest(s3, settings, obj.key, FailureRecord)
        error = record.error
        failures.append(
            {
                "step": found[1],
                "item": record.item,
                "error": error.get("Error", ""),
                "cause": str(error.get("Cause", ""))[:2000],
            }
        )
    return failures


def _silent(s3: Any, settings: Settings, days: int) -> list[silence.Silent]:
    """Participants silent for more than the configured days; none before the first stats."""
    from botocore.exceptions import ClientError

    key = lake.curated_prefix("participant_stats") + "part-0.parquet"
    try:
        stats = storage.read_table(s3, settings.lake_bucket, key).to_pylist()
    except ClientError:
        return []
    return silence.silent_participants(stats, days)


def message(
    run_id: str,
    status: str,
    collected: dict[str, Any],
    error: dict[str, Any] | None,
    silent_lines: list[str] | None = None,
) -> str:
    t = collected["totals"]
    lines = [
        f"phenolake run {run_id}: {status}",
        f"objects {t['objects']}, data files {t['data_files']}, images {t['images']}, "
        f"rows {t['rows']}, participant-days {t['days']}",
        f"quarantined {t['quarantined']} (rejected rows {t['rejected_rows']}, "
        f"rows of refused day files {t['refused_rows']}, "
        f"rejected zip members {t['rejected_members']}) -> {collected['quarantine']}",
    ]
    if t.get("skipped"):
        lines.append(
            f"skipped {t['skipped']} side file(s), not data: "
            + "; ".join(f"{f['key']} ({f['reason']})" for f in collected["skipped"][:5])
            + (" ..." if t["skipped"] > 5 else "")
        )
    failed = collected.get("failures", [])
    if failed:
        by_step: dict[str, int] = {}
        for failure in failed:
            by_step[failure["step"]] = by_step.get(failure["step"], 0) + 1
        steps = ", ".join(f"{step} {n}" for step, n in sorted(by_step.items()))
        lines.append(f"failed items {len(failed)} ({steps}) -> {collected['failures_uri']}")
    lines.extend(batch_load_lines(collected.get("timestream_loads", [])))
    lines.extend(silent_lines or [])
    table = profile.text_table(collected.get("profile", {}).get("steps", []))
    if table:
        lines.extend(["profile (peak memory MB / configured; * shared with overlapping calls):"])
        lines.extend(table)
    if error:
        lines.append(f"error: {error.get('Error', '')}: {str(error.get('Cause', ''))[:500]}")
        report = batch_load_report(error)
        if report:
            lines.append(f"batch load error report: {report}")
    return "\n".join(lines)


def batch_loads(
    summary: RunSummary | dict[str, Any], error: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Each Timestream batch load of the run with its final status and progress report: from
    the TimestreamLoads Map's output when the run went on, or from a failed load's cause
    (``BatchLoadFailed`` carries its DescribeBatchLoadTask result)."""
    if isinstance(summary, dict):
        summary = contracts.load(RunSummary, summary, "notify summary")
    found = [(item.Measure, item.load) for item in summary.timestream_loads or []]
    if error and error.get("Error") == "TimestreamBatchLoadFailed":
        with contextlib.suppress(ValueError):
            found.append(("", json.loads(str(error.get("Cause", "")))))
    loads = []
    for measure, load in found:
        progress = load.get("ProgressReport") or {}
        loads.append(
            {
                "measure": measure,
                "task_id": load.get("TaskId", ""),
                "status": load.get("Status", ""),
                "records_processed": int(progress.get("RecordsProcessed", 0)),
                "records_ingested": int(progress.get("RecordsIngested", 0)),
                "parse_failures": int(progress.get("ParseFailures", 0)),
                "record_ingestion_failures": int(progress.get("RecordIngestionFailures", 0)),
                "file_failures": int(progress.get("FileFailures", 0)),
                "error": load.get("ErrorMessage", ""),
            }
        )
    return loads


def batch_load_lines(loads: list[dict[str, Any]]) -> list[str]:
    return [
        f"timestream load {load['measure'] or load['task_id']}: {load['status']}, "
        f"{load['records_ingested']} of {load['records_processed']} records ingested "
        f"(parse failures {load['parse_failures']}, ingestion failures "
        f"{load['record_ingestion_failures']}, file failures {load['file_failures']})"
        + (f": {load['error']}" if load["error"] else "")
        for load in loads
    ]


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


def curate_flows(
    metadata: iceberg.Metadata,
    records: list[profile.Invocation],
    runs: list[dict[str, Any]],
    tables: list[str],
) -> dict[str, int]:
    """Curate's rows and bytes: in, the merged day files it was given (what the run's
    DailyMerge wrote, by its records); out, what the Iceberg commits of the tables committed
    while its job runs ran say they added (``added-records``, ``added-files-size``)."""
    merged = [r for r in records if r.step == "daily_merge" and r.ok]
    flows = {
        "rows_in": sum(r.flows.get("rows_out", 0) for r in merged),
        "bytes_in": sum(r.flows.get("bytes_out", 0) for r in merged),
    }
    windows = [
        (int(r["started"]) - 1000, int(r.get("completed") or r["started"]) + 1000)
        for r in runs
        if r.get("started")
    ]
    if not windows:
        return flows
    added = {"rows_out": 0, "bytes_out": 0}
    for table in tables:
        found = metadata.of(table)
        if not found:
            continue
        for summary in iceberg.snapshots_between(
            found[1], min(w[0] for w in windows), max(w[1] for w in windows)
        ):
            added["rows_out"] += int(summary.get("added-records", 0))
            added["bytes_out"] += int(summary.get("added-files-size", 0))
    return {**flows, **added}


def run_profile(
    settings: Settings,
    metadata: iceberg.Metadata,
    run_id: str,
    summary: RunSummary,
    tables: list[str],
) -> dict[str, Any]:
    """The run's profile: its invocations (the ledger's records of the Lambda steps, and the
    Curate job runs from the state's output) and the per-step table of them. Notify's own
    invocation is not in it: it is still running."""
    records = (
        profile.read(storage.client("dynamodb", settings.region), settings.ledger_table, run_id)
        if settings.ledger_table
        else []
    )
    runs = [r for r in (getattr(summary, "curated", None) or []) if isinstance(r, dict)]
    if runs:
        flows = curate_flows(metadata, records, runs, tables)
        records = [*records, *profile.of_glue_runs(runs, flows)]
    return {
        "steps": profile.steps(records),
        "invocations": [r.as_dict() for r in sorted(records, key=lambda r: r.started)],
    }


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
    # a run that failed on its configuration is still recorded and notified (the defaults)
    try:
        config = study.load_from_lake(s3, settings.lake_bucket)[0]
    except study.StudyConfigError:
        config = study.StudyConfig()
    settings = study.apply(settings, config)
    silent_days = study.thresholds(settings, config).silent_days  # resolved: never None
    # the tables' metadata files, read once for their rows and for Curate's commits
    metadata = iceberg.Metadata(storage.client("glue", settings.region), s3, settings.glue_database)
    collected = _collect(s3, settings, event.run_id, metadata)
    failures = collect_failures(s3, settings, event.run_id)
    status = "PARTIAL" if failures and event.status == "SUCCEEDED" else event.status
    if failures:
        failures_key = lake.manifest_key(event.run_id, "failures.json")
        storage.put_json(s3, settings.lake_bucket, failures_key, failures)
        collected["failures"] = failures
        collected["failures_uri"] = lake.s3_uri(settings.lake_bucket, failures_key)
    silent = _silent(s3, settings, silent_days)
    collected["silent"] = [vars(s) for s in silent]
    collected["timestream_loads"] = batch_loads(event.summary, event.error)
    collected["profile"] = run_profile(
        settings, metadata, event.run_id, event.summary, sorted(collected["outputs"]["tables"])
    )
    manifest = {
        "batch_load_report": batch_load_report(event.error) if event.error else None,
        "run_id": event.run_id,
        "execution_id": event.execution_id,
        "status": status,
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "code_version": __version__,
        "configuration_sha256": provenance.configuration_hash(
            settings, _study_sha256(s3, settings, event.run_id)
        ),
        "error": event.error,
        "steps": event.summary.model_dump(mode="json", exclude_unset=True),
        **collected,
    }
    sealed = provenance.seal(provenance.S3Store(s3, settings.lake_bucket), event.run_id, manifest)
    text = message(
        event.run_id,
        status,
        collected,
        event.error,
        silence.silent_lines(silent, silent_days),
    )
    if settings.topic_arn:
        storage.client("sns", settings.region).publish(
            TopicArn=settings.topic_arn, Subject=f"phenolake {status}"[:100], Message=text
        )
    if settings.slack_secret_id:
        try:
            _slack(settings, text)
        except Exception as exc:  # a broken webhook must not fail the run's record
            log.warning("slack notification failed", extra={"error": str(exc).splitlines()[0]})
    return {
        "metrics": {
            "runs_failed" if status == "FAILED" else "runs_notified": 1,
            "items_failed": len(failures),
        },
        "status": status,
        "manifest": lake.s3_uri(settings.lake_bucket, sealed["key"]),
        "manifest_sha256": sealed["sha256"],
        "message": text,
        "failed_items": len(failures),
        "failures_uri": collected.get("failures_uri", ""),
        "timestream_loads": collected["timestream_loads"],
        "profile": collected["profile"]["steps"],
        **collected["totals"],
    }
