"""Plan: resolve the window and the sources, and find the landed objects to take in.

The window defaults to yesterday (UTC) of the execution's start. Work is every pending object
(the ledger's ``pending#<source>`` items, written by the Record function for each object
landed) that the ledger has not taken in with the same ETag, or, on a replay, every object
the ledger's landing-date index has on a day of the window. Plan never lists landing, except
once per source for a lake older than pending items (no ``pending-enabled`` marker yet): that
listing fills the pending items and the index, then the marker is written. A dry run stops
after this step with the plan and a rough cost estimate, including the Timestream records (a
preview) and their write cost.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from phenolake import contracts, lake, sources, storage, study
from phenolake.config import Settings
from phenolake.contracts import LandedObject
from phenolake.ledger import Landed, Ledger
from phenolake.steps.common import s3_client, write_work_list
from phenolake.steps.timestream_prepare import estimate_landed

# Rough prices for the dry-run estimate (us-east-1, on-demand); override per study.
LAMBDA_GB_SECOND_USD = 0.0000166667
GLUE_DPU_HOUR_USD = 0.44
LAMBDA_SECONDS_PER_GB_INPUT = 60.0
GLUE_DPU_HOURS_PER_RUN = 2 * 0.25
ATHENA_USD_PER_TB = 5.0
ATHENA_MINIMUM_BYTES = 10 * 1024 * 1024


class RunRequest(BaseModel):
    """The execution input: every field optional; an EventBridge schedule sends ``{}``."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    sources: list[str] = Field(default_factory=list)
    participants: list[str] = Field(default_factory=list)
    dry_run: bool = False
    replay: bool = False
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("sources")
    @classmethod
    def _known_sources(cls, value: list[str]) -> list[str]:
        for name in value:
            sources.get(name)
        return value

    @field_validator("options")
    @classmethod
    def _source_options(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Each source's options, validated by its options model (an unknown one is named)."""
        return {name: sources.get(name).parse_options(found) for name, found in value.items()}

    @model_validator(mode="after")
    def _window(self) -> RunRequest:
        if self.date and (self.start or self.end):
            raise ValueError("give either date or start/end, not both")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class Deployment(BaseModel):
    """The state machine's deploy-time switches (its ``Configure`` state)."""

    model_config = ConfigDict(extra="forbid")

    timestream_enabled: Literal["true", "false"] = "false"


class PlanEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    execution_id: str
    execution_name: str
    start_time: dt.datetime
    input: RunRequest = Field(default_factory=RunRequest)
    #: None when invoked outside the state machine: the environment says how it was deployed.
    deployment: Deployment | None = None


def resolve_window(
    request: RunRequest, started: dt.datetime, timezone: str = "UTC"
) -> tuple[dt.date, dt.date]:
    if request.date:
        return request.date, request.date
    if request.start or request.end:
        start = request.start or request.end
        end = request.end or request.start
        assert start and end
        return start, end
    # yesterday where the study is (study.yaml ``timezone``)
    yesterday = started.astimezone(zoneinfo.ZoneInfo(timezone)).date() - dt.timedelta(days=1)
    return yesterday, yesterday


def estimate(total_bytes: int, sources_to_curate: int, curated_bytes: int = 0) -> dict[str, float]:
    """Lambda and Glue cost of the run, and what one Athena query scanning every table the run
    rewrites would cost afterwards (today's curated bytes plus the input, an upper bound: the
    Parquet written is smaller than the raw input)."""
    gb = total_bytes / 1e9
    lambda_usd = gb * LAMBDA_SECONDS_PER_GB_INPUT * 1.0 * LAMBDA_GB_SECOND_USD
    glue_usd = sources_to_curate * GLUE_DPU_HOURS_PER_RUN * GLUE_DPU_HOUR_USD
    scanned = max(curated_bytes + total_bytes, ATHENA_MINIMUM_BYTES)
    athena_usd = scanned / 1e12 * ATHENA_USD_PER_TB
    return {
        "input_gb": round(gb, 6),
        "lambda_usd": round(lambda_usd, 4),
        "glue_usd": round(glue_usd, 4),
        "athena_full_scan_gb": round(scanned / 1e9, 6),
        "athena_full_scan_usd": round(athena_usd, 6),
        "total_usd": round(lambda_usd + glue_usd, 4),
    }


def curated_bytes(s3: Any, settings: Settings, chosen: list[str]) -> int:
    """Bytes in the curated tables of the chosen sources, as they are before the run."""
    return sum(
        obj.size
        for name in chosen
        for table in sources.get(name).tables
        for obj in storage.list_objects(s3, settings.lake_bucket, lake.curated_prefix(table))
    )


def run(event: PlanEvent, settings: Settings) -> dict[str, Any]:
    request = event.input
    run_id = event.execution_name
    s3 = s3_client(settings)
    config, config_sha256 = study.load_from_lake(s3, settings.lake_bucket)
    start, end = resolve_window(request, event.start_time, config.timezone)
    deployed = bool(settings.timestream_database)
    if event.deployment is not None:
        deployed = event.deployment.timestream_enabled == "true"
    timestream_enabled = config.timestream_enabled(deployed)
    chosen = request.sources or config.enabled_sources()
    ledger = Ledger(storage.client("dynamodb", settings.region), settings.ledger_table)

    work: list[LandedObject] = []
    read = {"pending_read": 0, "landed_read": 0, "listed": 0, "already_taken_in": 0}
    for name in chosen:
        if not ledger.pending_enabled(name):
            read["listed"] += enable_pending(s3, settings, ledger, name)
        found = _candidates(ledger, name, start, end, request.replay)
        read["landed_read" if request.replay else "pending_read"] += len(found)
        taken = {} if request.replay else ledger.taken_in(name, [obj.key for obj in found])
        for obj in found:
            if obj.key.endswith("/") and not obj.size:
                continue  # a folder marker (the S3 console's): no bytes, nothing to take in
            if not request.replay and taken.get(obj.key) == obj.etag:
                ledger.clear_pending(name, obj.key, obj.etag)  # landed again, same bytes
                read["already_taken_in"] += 1
                continue
            work.append(LandedObject(**obj.as_dict()))

    options = {
        name: sources.get(name).parse_options(
            {**config.options(name), **request.options.get(name, {})}
        )
        for name in chosen
    }
    fetch = [
        task.as_dict() for name in chosen for task in sources.get(name).fetch_tasks(options[name])
    ]
    total_bytes = sum(item.size for item in work)
    landed = write_work_list(s3, settings, run_id, "landed", work)
    written = contracts.Plan(
        run_id=run_id,
        window=contracts.Window(start=start.isoformat(), end=end.isoformat()),
        sources=chosen,
        participants=request.participants,
        dry_run=request.dry_run,
        replay=request.replay,
        fetch=fetch,
        work=contracts.PlanWork(landed=landed),
        estimate=estimate(
            total_bytes, len(chosen), curated_bytes(s3, settings, chosen) if request.dry_run else 0
        ),
        study=config.study,
        config_sha256=config_sha256,
        thresholds=study.thresholds(settings, config),
        redaction=study.redaction(settings, config),
        timezone=config.timezone,
        timestream_enabled=timestream_enabled,
        source_options={name: found for name, found in options.items() if found},
    )
    plan = contracts.dump(written)
    if request.dry_run:
        # What a Timestream load of these inputs would write and cost, read from the landed
        # files themselves (ranged reads, nothing extracted or written); counted in the total
        # only when the deployment loads Timestream.
        timestream = estimate_landed(
            s3, [contracts.dump(item) for item in work], enabled=timestream_enabled
        )
        plan["estimate"]["timestream"] = timestream
        if timestream["enabled"]:
            plan["estimate"]["total_usd"] = round(
                plan["estimate"]["total_usd"] + timestream["usd"], 4
            )
    storage.put_json(s3, settings.lake_bucket, lake.plan_key(run_id), plan)
    plan["metrics"] = {"objects": len(work), "input_bytes": total_bytes, **read}
    return plan


def _candidates(
    ledger: Ledger, source: str, start: dt.date, end: dt.date, replay: bool
) -> list[Landed]:
    """The pending objects of ``source``, or on a replay those landed on a day of the window."""
    if not replay:
        return sorted(ledger.pending(source), key=lambda obj: obj.key)
    days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    return sorted(
        (obj for day in days for obj in ledger.landed_on(source, day)), key=lambda obj: obj.key
    )


def enable_pending(s3: Any, settings: Settings, ledger: Ledger, source: str) -> int:
    """The one-time path of a lake that has objects landed before pending items existed: list
    the source's landing prefix once, record what is not taken in as pending and everything in
    the landing-date index, and mark the source. Returns the objects listed."""
    taken = ledger.seen(source)
    listed = [
        Landed(source, obj.bucket, obj.key, obj.etag, obj.size, obj.last_modified)
        for obj in storage.list_objects(s3, settings.landing_bucket, f"{source}/")
    ]
    ledger.enable_pending(source, listed, taken)
    return len(listed)
