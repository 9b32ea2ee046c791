"""``phenolake run``: land inputs in the embedded AWS, execute the pipeline, summarise it."""

from __future__ import annotations

import datetime as dt
import json
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phenolake import sources, study

SAMPLE_SEED = 20141
SAMPLES_DIR = "samples"


class InputError(ValueError):
    """Bad input from the user: one line saying what and where."""


@dataclass
class RunOptions:
    home: Path
    inputs: list[Path] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    date: dt.date | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    participants: list[str] = field(default_factory=list)
    dry_run: bool = False
    replay: bool = False
    parameters: dict[str, str] = field(default_factory=dict)
    #: A study configuration file to publish before the run (validated by the caller).
    config: Path | None = None
    #: Per-source options of the execution input (``{"<source>": {"include_sites": [...]}}``).
    source_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The project deployed (template.yaml and the code it names); default: this checkout.
    root: Path | None = None


@dataclass
class RunResult:
    execution_name: str
    status: str
    output: dict[str, Any]
    error: str
    cause: str
    landed: list[tuple[str, str]]
    states: list[dict[str, Any]]
    seconds: float
    #: AWS's AccessDenied message for every call a role was denied during the run
    denials: list[str] = field(default_factory=list)


def _files_of(path: Path) -> list[tuple[Path, str]]:
    """(file, name relative to what the user gave, keeping the folder's own name)."""
    if path.is_file():
        return [(path, path.name)]
    return sorted(
        (p, p.relative_to(path.parent).as_posix())
        for p in path.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )


def _source_for(path: Path, relative: str, chosen: list[str]) -> str:
    candidates = chosen or sources.names()
    claims = [n for n in candidates if sources.get(n).recognise(relative)]
    if not claims and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()[:200]
        claims = [n for n in candidates if any(sources.get(n).recognise(m) for m in names)]
    if len(chosen) == 1:
        return chosen[0]
    if len(claims) == 1:
        return claims[0]
    if not claims:
        raise InputError(f"cannot tell which source {relative} belongs to; pass --source")
    raise InputError(
        f"{relative} looks like more than one source ({', '.join(claims)}); pass --source"
    )


def plan_landing(inputs: list[Path], chosen: list[str]) -> list[tuple[Path, str, str]]:
    """(file, source, landing key) for every input file; raises InputError on bad input."""
    for name in chosen:
        sources.get(name)
    planned = []
    for path in inputs:
        if not path.exists():
            raise InputError(f"input not found: {path}")
        files = _files_of(path)
        if not files:
            raise InputError(f"input folder has no files: {path}")
        for file, relative in files:
            source = _source_for(file, relative, chosen)
            planned.append((file, source, f"{source}/{relative}"))
    return planned


def sample_inputs(home: Path, chosen: list[str]) -> list[Path]:
    """Seeded samples for every source (or the chosen ones), written once under home."""
    out = []
    for name in chosen or sources.names():
        folder = home / SAMPLES_DIR / name
        if not folder.exists():
            sources.get(name).write_samples(folder, SAMPLE_SEED)
        out.extend(sorted(folder.iterdir()))
    return out


def execution_input(options: RunOptions) -> dict[str, Any]:
    request: dict[str, Any] = {}
    if options.date:
        request["date"] = options.date.isoformat()
    if options.start:
        request["start"] = options.start.isoformat()
    if options.end:
        request["end"] = options.end.isoformat()
    if options.replay and not (options.date or options.start or options.end):
        request["date"] = dt.datetime.now(dt.UTC).date().isoformat()
    if options.sources:
        request["sources"] = options.sources
    if options.participants:
        request["participants"] = options.participants
    if options.dry_run:
        request["dry_run"] = True
    if options.replay:
        request["replay"] = True
    if options.source_options:
        request["options"] = options.source_options
    return request


def _chosen_site(
    source: str,
    key: str,
    options: dict[str, dict[str, Any]],
    config: study.StudyConfig | None = None,
) -> bool:
    """Whether a local input passes the run's include/exclude sites, for a source whose
    inputs are filed by site (its spec's ``sites``; the site as its ``site_of`` reads it,
    with the study's options for it: radar's path format)."""
    chosen = options.get(source, {})
    include, exclude = chosen.get("include_sites") or [], chosen.get("exclude_sites") or []
    found = sources.configured(source, config.options(source) if config else None)
    if not found.spec.sites or not (include or exclude):
        return True
    site = found.site_of(key)
    return (not include or site in include) and site not in exclude


def run(options: RunOptions, on_event: Callable[[dict[str, Any]], None] | None = None) -> RunResult:
    # The embedded AWS (moto, ~2 s to import) loads only here: the CLI refuses bad input first.
    from phenolake_local import glue_local
    from phenolake_local.engine import EmbeddedAWS

    inputs = options.inputs or sample_inputs(options.home, options.sources)
    config = (
        study.parse(options.config.read_text(), str(options.config)) if options.config else None
    )
    planned = [
        p
        for p in plan_landing(inputs, options.sources)
        if _chosen_site(p[1], p[2], options.source_options, config)
    ]
    started = dt.datetime.now(dt.UTC)
    name = f"run-{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    if not options.dry_run:  # the Glue job process starts while the first steps run
        glue_local.WORKER.warm(background=True)
    # A dry run lands the inputs so the plan can see them, then forgets everything.
    with EmbeddedAWS(
        options.home,
        parameters=options.parameters,
        persist=not options.dry_run,
        **({"root": options.root} if options.root else {}),
    ) as aws:
        if options.config is not None:
            aws.s3.upload_file(str(options.config), aws.bucket("LakeBucket"), study.CONFIG_KEY)
        landing = aws.bucket("LandingBucket")
        for file, _, key in planned:
            aws.s3.upload_file(str(file), landing, key)
        arn = aws.start_execution(name, execution_input(options))
        states: dict[str, dict[str, Any]] = {}

        def track(event: dict[str, Any]) -> None:
            kind = event["type"]
            details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails")
            if details and kind.endswith("StateEntered"):
                states.setdefault(
                    details["name"], {"state": details["name"], "entered": event["timestamp"]}
                )
            elif details and kind.endswith("StateExited") and details["name"] in states:
                states[details["name"]]["exited"] = event["timestamp"]
            if on_event:
                on_event(event)

        described = aws.wait(arn, track)
        history = aws.history(arn)
        denials = _denials()
    failure = _failure(history)
    output = json.loads(described.get("output") or "{}")
    status = described["status"]
    if status == "SUCCEEDED" and output.get("notify", {}).get("status") == "PARTIAL":
        status = "PARTIAL"  # the execution succeeded, but some Map items failed
    status, error, cause = _denied(status, failure, denials)
    return RunResult(
        execution_name=name,
        status=status,
        output=output,
        error=error,
        cause=cause,
        landed=[(source, key) for _, source, key in planned],
        states=list(states.values()),
        seconds=(dt.datetime.now(dt.UTC) - started).total_seconds(),
        denials=denials,
    )


def _denials() -> list[str]:
    """Each distinct denial of the run, in order."""
    from phenolake_local import iam

    return list(dict.fromkeys(d.message for d in iam.ENFORCER.denials))


def _denied(status: str, failure: dict[str, str], denials: list[str]) -> tuple[str, str, str]:
    """A run in which a role was denied a call fails, naming the call, even where the
    workflow tolerated the failed item: the deployed stack would lose that work."""
    if not denials:
        return status, failure.get("error", ""), failure.get("cause", "")
    more = f" (and {len(denials) - 1} more denial(s))" if len(denials) > 1 else ""
    return "FAILED", "AccessDenied", denials[0] + more


def _failure(history: list[dict[str, Any]]) -> dict[str, str]:
    """The execution's error and cause, when it failed ({} otherwise)."""
    return next(
        (
            e.get("executionFailedEventDetails", {})
            for e in history
            if e["type"] == "ExecutionFailed"
        ),
        {},
    )


def _execute(
    home: Path, machine: str, prefix: str, request: dict[str, Any], *, glue: bool = False
) -> RunResult:
    """Run one execution of the template's state machine ``machine`` on the local lake and
    wait for it (``glue``: its states run Glue jobs, so the job process starts meanwhile)."""
    from phenolake_local import glue_local
    from phenolake_local.engine import EmbeddedAWS

    started = dt.datetime.now(dt.UTC)
    name = f"{prefix}-{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    if glue:
        glue_local.WORKER.warm(background=True)
    with EmbeddedAWS(home) as aws:
        arn = aws.start_execution(name, request, state_machine=machine)
        described = aws.wait(arn)
        history = aws.history(arn)
        denials = _denials()
    status, error, cause = _denied(described["status"], _failure(history), denials)
    return RunResult(
        execution_name=name,
        status=status,
        output=json.loads(described.get("output") or "{}"),
        error=error,
        cause=cause,
        landed=[],
        states=[],
        seconds=(dt.datetime.now(dt.UTC) - started).total_seconds(),
        denials=denials,
    )


def forget(home: Path, participant: str) -> RunResult:
    """Run the DeleteParticipant state machine of the template on the local lake (a lake
    with freezes also runs the freeze job's withdrawal; the job process starts then)."""
    from phenolake_local import template

    return _execute(home, template.DELETE_PARTICIPANT, "forget", {"participant": participant})


def freeze(home: Path, action: str, name: str, as_of: str | None = None) -> RunResult:
    """Run the Freeze state machine of the template on the local lake: ``create`` (with
    ``as_of``, an ISO 8601 instant, or now) or ``drop`` the freeze ``name``."""
    from phenolake_local import template

    request: dict[str, Any] = {"action": action, "name": name}
    if as_of:
        request["as_of"] = as_of
    return _execute(home, template.FREEZE, f"freeze-{action}", request, glue=True)


def maintain(home: Path, overrides: dict[str, str] | None = None) -> RunResult:
    """Run the Maintain state machine of the template (table upkeep) on the local lake; the
    execution's input is ``overrides`` (retention_days, orphan_age_hours, target_mb), the
    template's parameters for the rest. Its report is ``output["report"]`` in the lake."""
    from phenolake_local import template

    return _execute(home, template.MAINTAIN, "maintain", dict(overrides or {}), glue=True)
