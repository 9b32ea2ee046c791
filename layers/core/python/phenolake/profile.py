"""A run's profile: one record per invocation of a step, and the per-step table built from them.

Each Lambda invocation that belongs to a run writes one record to the ledger (pk
``profile#<run>``, sk ``<started>#<request id>``, so a Query returns them by start), with
``expiration`` (the ledger's TTL attribute) a quarter after: the run manifest keeps the table
and the invocations for good, the ledger only until Notify has read them. The Curate Glue
job's records are made by Notify from the Curate state's output (the ``.sync`` task's
``StartedOn``, ``CompletedOn`` and ``ExecutionTime``), since a Glue job has no handler.

Rows and bytes in and out are what each step already counts, named so in its own result
metrics (``rows_in``, ``rows_out``, ``bytes_in``, ``bytes_out``); a step that counts none of
them has none in its record. Pure functions here, but for ``write`` and ``read``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from phenolake.memory import Measurement

PROFILE_PREFIX = "profile#"
#: How long the ledger keeps a run's records (the manifest keeps them for good).
KEEP_SECONDS = 90 * 24 * 3600
FLOWS = ("rows_in", "rows_out", "bytes_in", "bytes_out")


@dataclass(frozen=True)
class Invocation:
    """One invocation of a step (a Lambda's, or a Glue job run's)."""

    step: str
    function: str
    request_id: str
    started: float  # epoch seconds
    ended: float
    seconds: float
    kind: str = "lambda"
    peak_mb: float | None = None
    configured_mb: int | None = None
    shared: int = 1
    ok: bool = True
    flows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, found: dict[str, Any]) -> Invocation:
        values = {k: found[k] for k in cls.__dataclass_fields__ if k in found}
        for name in ("started", "ended", "seconds", "peak_mb"):
            if values.get(name) is not None:
                values[name] = float(values[name])
        for name in ("configured_mb", "shared"):
            if values.get(name) is not None:
                values[name] = int(values[name])
        values["flows"] = {k: int(v) for k, v in (found.get("flows") or {}).items()}
        return cls(**values)


def flows_of(metrics: dict[str, Any]) -> dict[str, int]:
    """The rows and bytes in and out a step's result metrics name."""
    return {k: int(metrics[k]) for k in FLOWS if metrics.get(k) is not None}


def of_lambda(
    step: str,
    function: str,
    request_id: str,
    measured: Measurement,
    configured_mb: int,
    ok: bool,
    flows: dict[str, int],
) -> Invocation:
    return Invocation(
        step=step,
        function=function,
        request_id=request_id,
        started=round(measured.started, 3),
        ended=round(measured.started + measured.seconds, 3),
        seconds=round(measured.seconds, 3),
        peak_mb=round(measured.peak_mb, 1),
        configured_mb=configured_mb or None,
        shared=measured.shared,
        ok=ok,
        flows=flows,
    )


def of_glue_runs(runs: Iterable[dict[str, Any]], flows: dict[str, int]) -> list[Invocation]:
    """The Curate state's job runs (its ResultSelector keeps ``id``, ``job``, ``state``,
    ``started`` and ``completed`` in epoch milliseconds as Step Functions gives them, and
    ``seconds``, Glue's ``ExecutionTime``); the step's rows and bytes go on the first."""
    found = []
    for n, run in enumerate(sorted(runs, key=lambda r: r.get("started") or 0)):
        if not run.get("started"):
            continue
        started = float(run["started"]) / 1000
        ended = float(run.get("completed") or run["started"]) / 1000
        found.append(
            Invocation(
                step="curate",
                function=str(run.get("job", "")),
                request_id=str(run.get("id", "")),
                started=started,
                ended=ended,
                seconds=float(run.get("seconds") or 0),
                kind="glue",
                ok=run.get("state") == "SUCCEEDED",
                flows=flows if n == 0 else {},
            )
        )
    return found


def _item(run_id: str, record: Invocation) -> dict[str, Any]:
    started = dt.datetime.fromtimestamp(record.started, dt.UTC).isoformat(timespec="microseconds")
    body = {
        k: (Decimal(str(v)) if isinstance(v, float) else v)
        for k, v in record.as_dict().items()
        if v is not None
    }
    item = {
        "pk": PROFILE_PREFIX + run_id,
        "sk": f"{started}#{record.request_id}",
        "expiration": int(time.time()) + KEEP_SECONDS,
        **body,
    }
    serialise = TypeSerializer().serialize
    return {k: serialise(v) for k, v in item.items()}


def write(dynamodb: Any, table: str, run_id: str, record: Invocation) -> None:
    dynamodb.put_item(TableName=table, Item=_item(run_id, record))


def read(dynamodb: Any, table: str, run_id: str) -> list[Invocation]:
    """The run's records, in order of start."""
    deserialise = TypeDeserializer().deserialize
    found: list[Invocation] = []
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": PROFILE_PREFIX + run_id}},
    }
    while True:
        page = dynamodb.query(**kwargs)
        for item in page.get("Items", []):
            found.append(Invocation.of({k: deserialise(v) for k, v in item.items()}))
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def steps(records: Sequence[Invocation]) -> list[dict[str, Any]]:
    """One row per step, in order of its first start: wall seconds (first start to last end),
    invocations, Lambda seconds, the highest peak memory and the configured memory, Glue
    seconds, and the rows and bytes in and out (None: the step counts none)."""
    by_step: dict[str, list[Invocation]] = {}
    for record in sorted(records, key=lambda r: r.started):
        by_step.setdefault(record.step, []).append(record)
    rows = []
    for step, found in by_step.items():
        lambdas = [r for r in found if r.kind == "lambda"]
        glue = [r for r in found if r.kind == "glue"]
        peaks = [r.peak_mb for r in lambdas if r.peak_mb is not None]
        configured = [r.configured_mb for r in lambdas if r.configured_mb]
        row: dict[str, Any] = {
            "step": step,
            "wall_seconds": round(max(r.ended for r in found) - min(r.started for r in found), 2),
            "invocations": len(found),
            "failed": sum(not r.ok for r in found),
            "lambda_seconds": round(sum(r.seconds for r in lambdas), 2) if lambdas else None,
            "peak_mb": max(peaks) if peaks else None,
            "configured_mb": max(configured) if configured else None,
            "shared": max((r.shared for r in lambdas), default=1) > 1,
            "glue_seconds": round(sum(r.seconds for r in glue), 2) if glue else None,
        }
        for name in FLOWS:
            values = [r.flows[name] for r in found if name in r.flows]
            row[name] = sum(values) if values else None
        rows.append(row)
    return rows


def _cell(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "bytes":
        for scale, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if value >= scale:
                return f"{value / scale:.1f} {suffix}"
        return f"{value} B"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


COLUMNS = (
    ("step", "step"),
    ("wall s", "wall_seconds"),
    ("calls", "invocations"),
    ("lambda s", "lambda_seconds"),
    ("peak/conf MB", "peak_mb"),
    ("glue s", "glue_seconds"),
    ("rows in", "rows_in"),
    ("rows out", "rows_out"),
    ("bytes in", "bytes_in"),
    ("bytes out", "bytes_out"),
)


def cells(row: dict[str, Any]) -> list[str]:
    """A step row as the table shows it (the peak as ``peak / configured``)."""
    shown = []
    for _, name in COLUMNS:
        if name == "peak_mb":
            if row["peak_mb"] is None:
                shown.append("-")
                continue
            peak = f"{row['peak_mb']:.0f}{'*' if row.get('shared') else ''}"
            shown.append(f"{peak} / {_cell(row.get('configured_mb'))}")
        else:
            shown.append(_cell(row.get(name), "bytes" if name.startswith("bytes") else ""))
    return shown


def text_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The table as fixed-width lines, for the notification (``*``: a peak shared with
    overlapping invocations)."""
    if not rows:
        return []
    table = [[title for title, _ in COLUMNS], *[cells(r) for r in rows]]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    return [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in table
    ]
