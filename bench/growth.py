"""``make bench``: a daily run's work against the study's age (issue 15; never a timed test).

A RADAR-base study of P participants x T SensorKit topics, written as radar-output-restructure
writes it (``tests/fakes/radar_writer``: hourly ``yyyyMMdd_HH00.csv.gz`` files, the topic's
``schema-<topic>.json`` beside them), runs day by day through the real pipeline in the
embedded AWS, in a fresh home: each day one ``phenolake run --input <day>/output --source
radar`` (``runner.run``, what the CLI calls), with that day's F hourly files per
participant-topic. Measured for every run:

- wall time: the whole run as the user waits for it; the execution (Step Functions, start to
  end); the embedded AWS's own mirroring of its folders inside the execution (around each
  local Glue job: not a cost on AWS); the Spark job seconds (the job process's run);
- AWS calls, by the role that signed them (``phenolake_local.counters``: every request moto
  answers, from the handlers, the state machine and the Glue job process): S3 ListObjects
  pages and keys, GetObject; ledger items read (DynamoDB Query/GetItem/BatchGetItem items);
- files the Glue job opened and wrote under ``curated/`` and ``merged/`` (Spark reads them as
  files here, as S3 objects on AWS: ``bench/fileops.py``).

Reported for the day-2 and the day-N run, with one run's AWS cost at day 365 for 100
participants x 20 topics extrapolated from those counts (``bench/growth_cost.py``). Targets
(exit 1 when one is missed): the day-N run's pipeline time within 1.25x of the day-2 run's
(the same new data); objects read by Plan and Curate independent of N (day N within 1.1x of
day 2); every table's rows, per participant and day, exactly the rows generated.

The series (every day's figures) is written to ``bench/out/growth.json``, or with ``--save
NAME`` to ``bench/results/growth-NAME.json`` (committed: ``old`` is the design before issue
15); ``bench/growth_chart.py`` plots every saved series into ``docs/growth.png``.

    .venv/bin/python -m bench.growth [--participants 3] [--topics 2] [--files 8] [--rows 60]
        [--days 6] [--save NAME] [--keep DIR] [--report JSON] [--no-chart]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench import fileops, growth_cost
from bench.growth_cost import Study

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "growth.json"
RESULTS = ROOT / "bench" / "results"
SEED = 15
SITE = "connect-bench"
FIRST_DAY = dt.date(2025, 3, 3)
FIRST_HOUR = 8
#: SensorKit topics in the order the bench takes them (all of flat records).
TOPICS = (
    "sensorkit_acceleration",
    "sensorkit_ambient_light",
    "sensorkit_rotation_rate",
    "sensorkit_ambient_pressure",
    "sensorkit_pedometer",
    "sensorkit_on_wrist",
)
TIME_TARGET = 1.25
READS_TARGET = 1.10
SCALE = Study(participants=100, topics=20, day=365)


# ------------------------------------------------------------------------- the study's data


def _value(names: Any, schema: Any, name: str, time: float, rng: np.random.Generator) -> Any:
    """A value of ``schema`` for the field ``name`` of a record at ``time``."""
    schema = names.resolve(schema)
    if isinstance(schema, list):
        branch = next(s for s in schema if s != "null")
        return _value(names, branch, name, time, rng)
    kind = schema["type"] if isinstance(schema, dict) else schema
    if kind == "enum":
        return schema["symbols"][int(rng.integers(len(schema["symbols"])))]
    if kind == "double":
        if name in ("time", "startDate", "onWristDate", "offWristDate"):
            return time
        if name in ("timeReceived", "endDate"):
            return time + 0.5
        return round(float(rng.normal(100, 20)), 3)
    if kind == "float":
        return float(np.float32(rng.normal(0, 0.3)))
    if kind in ("int", "long"):
        return int(rng.integers(0, 100))
    if kind == "boolean":
        return bool(rng.integers(2))
    if kind == "string":
        return "iPhone"
    raise ValueError(f"the bench writes no {kind} field ({name})")


def records(
    topic: str, participant: str, hour: dt.datetime, rows: int, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """``rows`` records of one participant's topic, evenly spread over the hour."""
    from phenolake.sources.radar import schema as radar_schema
    from tests.fakes import radar_writer

    combined = radar_schema.combined_schema(topic)
    names = radar_writer.Names(combined)
    value = names.resolve(combined["fields"][1]["type"])
    start = hour.replace(tzinfo=dt.UTC).timestamp()
    found = []
    for i in range(rows):
        time = start + i * 3600 / rows
        found.append(
            {
                "key": {"projectId": SITE, "userId": participant, "sourceId": "src-bench"},
                "value": {
                    f["name"]: _value(names, f["type"], f["name"], time, rng)
                    for f in value["fields"]
                },
            }
        )
    return found


def participants(count: int) -> list[str]:
    return [f"bench-{n + 1:03d}" for n in range(count)]


def write_day(root: Path, day: int, study: Study, files: int, rows: int) -> dict[str, Any]:
    """Day ``day`` (1-based) of the study under ``root/output`` as the tool writes it;
    returns rows generated per (topic, participant, date)."""
    from phenolake.sources.radar import schema as radar_schema
    from tests.fakes import radar_writer

    date = FIRST_DAY + dt.timedelta(days=day - 1)
    rng = np.random.default_rng([SEED, day])
    generated: dict[str, Any] = {}
    for topic in TOPICS[: study.topics]:
        combined = radar_schema.combined_schema(topic)
        for participant in participants(study.participants):
            found = []
            for h in range(files):
                hour = dt.datetime.combine(date, dt.time(FIRST_HOUR + h))
                found += records(topic, participant, hour, rows, rng)
            folder = root / "output" / SITE / participant / topic
            radar_writer.write_topic(folder, topic, combined, found)
            generated[f"{topic}|{participant}|{date.isoformat()}"] = len(found)
    return generated


# ------------------------------------------------------------------------- measuring a run


@dataclass
class Measured:
    """One daily run's figures."""

    day: int
    status: str
    wall_seconds: float
    execution_seconds: float
    mirror_seconds: float
    spark_seconds: float
    glue_job_runs: int
    #: CPU seconds of this process (handlers, moto) and of the Glue job process tree (JVM):
    #: the steadier measure of the work on a machine whose cores others use too
    cpu_seconds: float = 0.0
    job_cpu_seconds: float = 0.0
    #: "caller service operation" -> [calls, items, bytes]
    calls: dict[str, list[int]] = field(default_factory=dict)
    #: Lambda: function -> [invocations, GB-seconds billed]
    lambdas: dict[str, list[float]] = field(default_factory=dict)
    #: files the Glue job opened / wrote, by lake prefix: [distinct files, opens]
    opened: dict[str, list[int]] = field(default_factory=dict)
    folders_listed: int = 0
    #: inotify lost events while the job ran: the file counts are lower bounds
    opens_lost: bool = False
    written: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    states: dict[str, float] = field(default_factory=dict)
    transitions: int = 0
    new_objects: int = 0

    @property
    def pipeline_seconds(self) -> float:
        """The execution less the embedded AWS's own mirroring: what AWS would take."""
        return self.execution_seconds - self.mirror_seconds

    def calls_of(self, caller: str = "", service: str = "", *operations: str) -> tuple[int, int]:
        """(calls, items) of the callers whose role name starts with ``caller``."""
        calls = items = 0
        for key, (n, i, _) in self.calls.items():
            who, svc, op = key.split(" ")
            wanted = not service or svc == service
            if who.startswith(caller) and wanted and (not operations or op in operations):
                calls, items = calls + n, items + i
        return calls, items


PREFIXES = ("curated/", "merged/")


class Instruments:
    """The hooks around one run: AWS calls, Lambda reports, the Glue job's files and time,
    the embedded AWS's mirroring time."""

    def __init__(self, home: Path) -> None:
        from phenolake_local import counters, engine, glue_local, mirror, patches, template

        counters.install()
        self.counter = counters.COUNTER
        self.reports = patches.REPORTS
        self.lake = home / f"{template.STACK_NAME}-{template.ACCOUNT_ID}-lake"
        self.lake.mkdir(parents=True, exist_ok=True)
        self.watch = fileops.OpenWatch(self.lake)
        self.mirror_seconds = 0.0
        self.spark_seconds = 0.0
        self.job_runs = 0
        self.opened: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.folders = 0
        self.opens_lost = False
        self.written: dict[str, int] = defaultdict(int)
        self.removed: dict[str, int] = defaultdict(int)
        self._in_execution = False
        self._wrap(engine.EmbeddedAWS, "save_buckets", self._mirrored)
        self._wrap(engine.EmbeddedAWS, "load_buckets", self._mirrored)
        self._wrap(mirror, "snapshot", self._mirrored)
        self._wrap(mirror, "changes_to_files", self._mirrored)
        self._wrap(glue_local.WORKER, "run", self._job)

    @staticmethod
    def _wrap(owner: Any, name: str, around: Callable[..., Any]) -> None:
        original = getattr(owner, name)
        if getattr(original, "_bench", False):
            return

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            return around(original, *args, **kwargs)

        wrapped._bench = True  # type: ignore[attr-defined]
        setattr(owner, name, wrapped)

    def _mirrored(self, original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        began = time.monotonic()
        try:
            return original(*args, **kwargs)
        finally:
            if self._in_execution:
                self.mirror_seconds += time.monotonic() - began

    def _job(self, original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        before = {p: fileops.listing(self.lake / p) for p in PREFIXES}
        self.watch.start()
        began = time.monotonic()
        try:
            return original(*args, **kwargs)
        finally:
            self.spark_seconds += time.monotonic() - began
            self.job_runs += 1
            opened = self.watch.stop()
            self.folders += opened.folders
            self.opens_lost = self.opens_lost or opened.overflowed
            for prefix in PREFIXES:
                files, opens = opened.under(prefix)
                self.opened[prefix][0] += files
                self.opened[prefix][1] += opens
                changed, gone = fileops.written(before[prefix], fileops.listing(self.lake / prefix))
                self.written[prefix] += len(changed)
                self.removed[prefix] += len(gone)

    @contextmanager
    def run(self) -> Iterator[None]:
        self.counter.reset()
        self.mirror_seconds = self.spark_seconds = 0.0
        self.job_runs = self.folders = 0
        self.opens_lost = False
        self.opened.clear()
        self.written.clear()
        self.removed.clear()
        self.first_report = len(self.reports)
        yield

    def lambdas(self) -> dict[str, list[float]]:
        found: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        for report in self.reports[self.first_report :]:
            entry = found[report.function.removeprefix("phenolake-")]
            entry[0] += 1
            entry[1] += growth_cost.billed_lambda_gb_seconds(
                report.memory_size_mb, report.duration_ms
            )
        return dict(found)


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def job_process_cpu() -> float:
    """CPU seconds so far of the local Glue job process and its descendants (the JVM)."""
    from phenolake_local import glue_local

    process = glue_local.WORKER._process
    if process is None or process.poll() is not None:
        return 0.0
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # the process ended meanwhile
        fields = text.rsplit(")", 1)[1].split()
        pid = int(stat.parent.name)
        parents[pid], ticks[pid] = int(fields[1]), int(fields[11]) + int(fields[12])
    tree, frontier = {process.pid}, [process.pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(ticks.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


def run_day(home: Path, inputs: Path, day: int, instruments: Instruments) -> Measured:
    from phenolake_local import runner

    events: list[dict[str, Any]] = []

    def on_event(event: dict[str, Any]) -> None:
        events.append(event)
        if event["type"] == "ExecutionStarted":
            instruments._in_execution = True
        elif event["type"].startswith("Execution"):
            instruments._in_execution = False

    with instruments.run():
        began = time.monotonic()
        cpu, job_cpu = _own_cpu(), job_process_cpu()
        instruments._in_execution = False  # until the execution's first event
        result = runner.run(
            runner.RunOptions(home=home, inputs=[inputs], sources=["radar"]), on_event
        )
        wall = time.monotonic() - began
        cpu, job_cpu = _own_cpu() - cpu, job_process_cpu() - job_cpu
        instruments._in_execution = False
    stamps = [e["timestamp"] for e in events]
    execution = (max(stamps) - min(stamps)).total_seconds() if stamps else wall
    states = {
        s["state"]: round((s["exited"] - s["entered"]).total_seconds(), 2)
        for s in result.states
        if "exited" in s
    }
    snapshot = instruments.counter.snapshot()
    return Measured(
        day=day,
        status=result.status if result.status == "SUCCEEDED" else f"{result.status} {result.error}",
        wall_seconds=round(wall, 2),
        execution_seconds=round(execution, 2),
        mirror_seconds=round(instruments.mirror_seconds, 2),
        spark_seconds=round(instruments.spark_seconds, 2),
        glue_job_runs=instruments.job_runs,
        cpu_seconds=round(cpu, 2),
        job_cpu_seconds=round(job_cpu, 2),
        calls={
            f"{who} {svc} {op}": [t.calls, t.items, t.bytes]
            for (who, svc, op), t in sorted(snapshot.items())
        },
        lambdas=instruments.lambdas(),
        opened={p: list(v) for p, v in instruments.opened.items()},
        folders_listed=instruments.folders,
        opens_lost=instruments.opens_lost,
        written=dict(instruments.written),
        removed=dict(instruments.removed),
        states=states,
        transitions=sum(1 for e in events if e["type"].endswith("StateEntered")),
        new_objects=int(result.output.get("notify", {}).get("objects", 0) or 0),
    )


# ------------------------------------------------------------------------- counts and checks

#: Roles as the embedded AWS names them: ``<stack>-<Function>Role`` (SAM's default name for
#: a function's role) and the Glue job's ``<stack>-GlueJobRole``.
PLAN = "phenolake-PlanFunctionRole"
CURATE = "phenolake-GlueJobRole"
LEDGER_READS = ("Query", "GetItem", "BatchGetItem", "Scan")
S3_PUT_LIST = (
    "PutObject", "CopyObject", "ListObjectsV2", "ListObjects", "ListObjectVersions",
    "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "DeleteObjects",
)  # fmt: skip
S3_GET = ("GetObject", "HeadObject")
DDB_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")


def pipeline_callers(m: Measured) -> Measured:
    """``m`` with only the calls the deployed stack would make (no ``local`` ones)."""
    from phenolake_local import counters

    kept = {k: v for k, v in m.calls.items() if not k.startswith(f"{counters.LOCAL} ")}
    return Measured(**{**asdict(m), "calls": kept})


def work(m: Measured) -> dict[str, float]:
    """The run's counts of work, named as the cost model prices them and as reported."""
    m = pipeline_callers(m)
    opened = sum(v[0] for v in m.opened.values())  # at least one GET per file Spark reads
    written = sum(m.written.values())
    return {
        "s3_put_list": m.calls_of("", "s3", *S3_PUT_LIST)[0] + written + m.folders_listed,
        "s3_get": m.calls_of("", "s3", *S3_GET)[0] + opened,
        "ddb_read_units": m.calls_of("", "dynamodb", *LEDGER_READS)[1],
        "ddb_write_units": m.calls_of("", "dynamodb", *DDB_WRITES)[1],
        "lambda_gb_seconds": sum(v[1] for v in m.lambdas.values()),
        "lambda_requests": sum(v[0] for v in m.lambdas.values()),
        "glue_job_runs": m.glue_job_runs,
        "glue_seconds": m.spark_seconds,
        "sfn_transitions": m.transitions,
    }


def reads(m: Measured) -> dict[str, int]:
    """Objects read by Plan and by Curate (the targets' counts)."""
    m = pipeline_callers(m)
    return {
        "Plan: S3 keys listed": m.calls_of(PLAN, "s3", "ListObjectsV2", "ListObjects")[1],
        "Plan: S3 objects read": m.calls_of(PLAN, "s3", *S3_GET)[0],
        "Plan: ledger items read": m.calls_of(PLAN, "dynamodb", *LEDGER_READS)[1],
        "Curate: S3 keys listed": m.calls_of(CURATE, "s3", "ListObjectsV2", "ListObjects")[1],
        "Curate: S3 objects read": m.calls_of(CURATE, "s3", *S3_GET)[0],
        "Curate: merged files opened": m.opened.get("merged/", [0, 0])[0],
        "Curate: curated files opened": m.opened.get("curated/", [0, 0])[0],
    }


def table_rows(home: Path) -> dict[str, int]:
    """Rows per (table, participant, date) in the curated tables, as a query reads them."""
    from phenolake.sources.radar.convert import snake
    from phenolake_tools import query

    found: dict[str, int] = {}
    for topic in TOPICS:
        table = f"radar_{snake(topic)}"  # the radar source's table of a topic
        try:
            counted = query.query_local(
                f"SELECT participant_id, CAST(date AS varchar) AS day, count(*) AS n FROM {table} "
                "GROUP BY 1, 2",
                home,
            ).to_pylist()
        except query.QueryError:
            continue
        for row in counted:
            found[f"{topic}|{row['participant_id']}|{row['day']}"] = int(row["n"])
    return found


def row_check(generated: dict[str, int], found: dict[str, int]) -> tuple[bool, str]:
    lost = {k: v - found.get(k, 0) for k, v in generated.items() if found.get(k, 0) < v}
    doubled = {k: n - generated.get(k, 0) for k, n in found.items() if n > generated.get(k, 0)}
    total = sum(generated.values())
    text = (
        f"every row once ({sum(found.values()):,} rows in the tables, {total:,} generated; "
        f"{sum(lost.values())} lost, {sum(doubled.values())} extra)"
    )
    return not lost and not doubled, text


# ------------------------------------------------------------------------- the report


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.2f}"


def print_run(m: Measured, label: str) -> None:
    print(
        f"{label}: {m.status}, {m.new_objects} new objects; wall {m.wall_seconds:.1f} s, "
        f"execution {m.execution_seconds:.1f} s (of which the embedded AWS's mirroring "
        f"{m.mirror_seconds:.1f} s: pipeline {m.pipeline_seconds:.1f} s), Spark job "
        f"{m.spark_seconds:.1f} s in {m.glue_job_runs} run(s)"
    )
    print("  states (s): " + ", ".join(f"{k} {v:.1f}" for k, v in m.states.items()))


def comparison(early: Measured, late: Measured) -> list[tuple[str, float, float]]:
    rows: list[tuple[str, float, float]] = [
        ("wall time (s)", early.wall_seconds, late.wall_seconds),
        ("execution (s)", early.execution_seconds, late.execution_seconds),
        ("embedded AWS mirroring (s)", early.mirror_seconds, late.mirror_seconds),
        ("pipeline = execution - mirroring (s)", early.pipeline_seconds, late.pipeline_seconds),
        ("Spark job (s)", early.spark_seconds, late.spark_seconds),
        ("CPU: this process (s)", early.cpu_seconds, late.cpu_seconds),
        ("CPU: Glue job process and JVM (s)", early.job_cpu_seconds, late.job_cpu_seconds),
    ]
    a, b = pipeline_callers(early), pipeline_callers(late)
    rows += [
        ("S3 ListObjects pages", *(m.calls_of("", "s3", "ListObjectsV2", "ListObjects")[0]
                                   for m in (a, b))),
        ("S3 keys listed", *(m.calls_of("", "s3", "ListObjectsV2", "ListObjects")[1]
                             for m in (a, b))),
        ("S3 GetObject", *(m.calls_of("", "s3", "GetObject")[0] for m in (a, b))),
        ("S3 PutObject", *(m.calls_of("", "s3", "PutObject", "CopyObject")[0] for m in (a, b))),
        ("ledger items read", *(m.calls_of("", "dynamodb", *LEDGER_READS)[1] for m in (a, b))),
        ("ledger items written", *(m.calls_of("", "dynamodb", *DDB_WRITES)[1] for m in (a, b))),
        ("Glue catalog calls", *(m.calls_of("", "glue")[0] for m in (a, b))),
        ("curated files opened by the job", *(m.opened.get("curated/", [0, 0])[0]
                                              for m in (a, b))),
        ("curated files written by the job", *(m.written.get("curated/", 0) for m in (a, b))),
        ("curated files removed by the job", *(m.removed.get("curated/", 0) for m in (a, b))),
        ("merged files opened by the job", *(m.opened.get("merged/", [0, 0])[0]
                                             for m in (a, b))),
        ("Lambda invocations", *(sum(v[0] for v in m.lambdas.values()) for m in (a, b))),
        ("Lambda GB-s", *(sum(v[1] for v in m.lambdas.values()) for m in (a, b))),
    ]  # fmt: skip
    for name in reads(a):
        rows.append((name, reads(a)[name], reads(b)[name]))
    return rows


def print_comparison(early: Measured, late: Measured) -> None:
    print(f"\n{'':<40}{'day ' + str(early.day):>12}{'day ' + str(late.day):>12}{'ratio':>8}")
    for name, x, y in comparison(early, late):
        ratio = f"{y / x:.2f}x" if x else ("-" if not y else "new")
        print(f"{name:<40}{_fmt(x):>12}{_fmt(y):>12}{ratio:>8}")


def print_cost(early: Measured, late: Measured, study: Study, dpu: float) -> dict[str, Any]:
    measured = Study(study.participants, study.topics, early.day)
    a, b = work(early), work(late)
    scaled = growth_cost.at_scale(a, b, measured, late.day, SCALE)
    cost = growth_cost.daily_cost(scaled, dpu)
    pairs = SCALE.pairs / study.pairs
    print(
        f"\nOne daily run at day {SCALE.day}, {SCALE.participants} participants x "
        f"{SCALE.topics} topics (bench/growth_cost.py):\n"
        f"  c_{SCALE.day} = ({SCALE.pairs}/{study.pairs}) * (c_{early.day} + (c_{late.day} - "
        f"c_{early.day}) * ({SCALE.day} - {early.day}) / ({late.day} - {early.day}))"
    )
    print(f"  {'count':<20}{'day ' + str(early.day):>12}{'day ' + str(late.day):>12}"
          f"{'day ' + str(SCALE.day) + ' at scale':>22}")  # fmt: skip
    for name in growth_cost.PRICED:
        print(f"  {name:<20}{_fmt(a[name]):>12}{_fmt(b[name]):>12}{_fmt(scaled[name]):>22}")
    print(
        f"  (x{pairs:.0f} participant-topics; Glue: {dpu:g} DPU per job run, billed at least "
        f"{growth_cost.GLUE_MINIMUM_SECONDS:.0f} s)"
    )
    print("  USD: " + ", ".join(f"{k} {v:,.4f}" for k, v in cost.items()))
    return {"counts": scaled, "usd": cost}


def targets(early: Measured, late: Measured) -> dict[str, bool]:
    checks: dict[str, bool] = {}
    ok = early.status == late.status == "SUCCEEDED"
    checks[f"runs SUCCEEDED (day {early.day}: {early.status}; day {late.day}: {late.status})"] = ok
    ratio = late.pipeline_seconds / early.pipeline_seconds if early.pipeline_seconds else math.inf
    checks[
        f"day-{late.day} pipeline time within {TIME_TARGET}x of day {early.day}'s "
        f"({late.pipeline_seconds:.1f} s / {early.pipeline_seconds:.1f} s = {ratio:.2f}x; "
        f"wall {late.wall_seconds / early.wall_seconds:.2f}x)"
    ] = ratio <= TIME_TARGET
    a, b = reads(early), reads(late)
    for name in a:
        limit = math.ceil(a[name] * READS_TARGET)
        checks[
            f"{name} independent of N ({b[name]} at day {late.day}, {a[name]} at day "
            f"{early.day}; at most {limit})"
        ] = b[name] <= limit
    lost = [m.day for m in (early, late) if m.opens_lost]
    checks[f"every file open seen (inotify lost events on day(s) {lost or 'none'})"] = not lost
    same_new = early.new_objects == late.new_objects
    checks[f"the same new objects ({early.new_objects}, {late.new_objects})"] = same_new
    return checks


# ------------------------------------------------------------------------- main


def glue_dpu() -> float:
    from phenolake_local import template

    deployment = template.load(ROOT)
    job = deployment.glue_jobs["CurateJob"]
    return growth_cost.dpu_of(deployment.resources[job.logical_id]["Properties"])


def _document(
    study: Study, args: argparse.Namespace, series: list[Measured], **more: Any
) -> dict[str, Any]:
    return {
        "study": asdict(study),
        "files_per_day": args.files,
        "rows_per_file": args.rows,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "series": [
            {**asdict(m), "pipeline_seconds": round(m.pipeline_seconds, 2), "work": work(m)}
            for m in series
        ],
        **more,
    }


def load_series(path: Path) -> tuple[Study, list[Measured], dict[str, Any]]:
    """A saved series, as its runs' figures."""
    document = json.loads(path.read_text())
    fields = set(Measured.__dataclass_fields__)
    series = [Measured(**{k: v for k, v in r.items() if k in fields}) for r in document["series"]]
    return Study(**document["study"]), series, document


def report(
    study: Study, early: Measured, late: Measured, rows: tuple[bool, str] | None
) -> tuple[dict[str, bool], dict[str, Any]]:
    """Print the two runs side by side, the cost at scale and the targets."""
    print()
    print_run(early, f"day {early.day}")
    print_run(late, f"day {late.day}")
    print_comparison(early, late)
    dpu = glue_dpu()
    estimate = {"study": asdict(SCALE), "glue_dpu": dpu, **print_cost(early, late, study, dpu)}
    checks = targets(early, late)
    if rows is not None:
        checks[rows[1]] = rows[0]
    print()
    for text, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    print("PASS" if all(checks.values()) else "FAIL")
    return checks, estimate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=3)
    parser.add_argument("--topics", type=int, default=2, choices=range(1, len(TOPICS) + 1))
    parser.add_argument("--files", type=int, default=8, help="hourly files per topic-day")
    parser.add_argument("--rows", type=int, default=60, help="rows per hourly file")
    parser.add_argument("--days", type=int, default=6, help="daily runs (N >= 3)")
    parser.add_argument("--save", metavar="NAME", help="bench/results/growth-NAME.json")
    parser.add_argument("--keep", type=Path, help="keep the home and inputs in this folder")
    parser.add_argument("--no-chart", action="store_true")
    parser.add_argument(
        "--report",
        type=Path,
        metavar="JSON",
        help="run nothing: the report of a saved series (day 2 against --days, or its last)",
    )
    args = parser.parse_args(argv)
    if args.report:
        study, series, document = load_series(args.report)
        late = next((m for m in series if m.day == args.days), series[-1])
        saved = {k: v for k, v in document.get("checks", {}).items() if k.startswith("every row")}
        rows = next(((ok, text) for text, ok in saved.items()), None)
        rows = rows if late == series[-1] else None
        checks, _ = report(Study(study.participants, study.topics, late.day), series[1], late, rows)
        return 0 if all(checks.values()) else 1
    if args.days < 3:
        parser.error("--days must be at least 3 (day 2 against day N)")
    study = Study(args.participants, args.topics, args.days)
    print(
        f"growth: {study.participants} participants x {study.topics} topics "
        f"({', '.join(TOPICS[: study.topics])}), {args.files} hourly files of {args.rows} rows "
        f"per participant-topic-day, {args.days} daily runs",
        flush=True,
    )
    target = RESULTS / f"growth-{args.save}.json" if args.save else OUT
    target.parent.mkdir(parents=True, exist_ok=True)
    base = args.keep or Path(tempfile.mkdtemp(prefix="phenolake-growth-"))
    home = base / "home"
    if home.exists():
        shutil.rmtree(home)
    instruments = Instruments(home)
    generated: dict[str, int] = {}
    series: list[Measured] = []
    try:
        for day in range(1, args.days + 1):
            folder = base / "days" / f"day{day:03d}"
            generated.update(write_day(folder, day, study, args.files, args.rows))
            measured = run_day(home, folder / "output", day, instruments)
            series.append(measured)
            # every day's figures kept as they come: a long series survives an interruption
            target.write_text(json.dumps(_document(study, args, series), indent=1) + "\n")
            print(
                f"  day {day:3d}: {measured.status:<9} wall {measured.wall_seconds:6.1f} s, "
                f"pipeline {measured.pipeline_seconds:6.1f} s, Spark {measured.spark_seconds:5.1f}"
                f" s, CPU {measured.cpu_seconds + measured.job_cpu_seconds:5.1f} s, merged files "
                f"opened {measured.opened.get('merged/', [0, 0])[0]}",
                flush=True,
            )
            if not measured.status.startswith("SUCCEEDED"):
                break
        rows = row_check(generated, table_rows(home))
    finally:
        instruments.watch.close()
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    early, late = series[min(1, len(series) - 1)], series[-1]
    checks, estimate = report(study, early, late, rows)
    document = _document(study, args, series, estimate_day_365=estimate, checks=checks)
    target.write_text(json.dumps(document, indent=1) + "\n")
    print(f"series: {target.relative_to(ROOT)}")
    if not args.no_chart:
        from bench import growth_chart

        chart = growth_chart.plot(last_run=not args.save)
        print(f"chart: {chart.relative_to(ROOT)}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
