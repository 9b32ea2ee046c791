"""The growth benchmark's cost model: one daily run's AWS bill from its counts of work.

Prices: AWS's public on-demand prices for us-east-1, as listed on the pricing pages named
beside each constant (checked 2026-12); change them here for another region.

Extrapolation. A daily run's count of some work ``c`` (requests, items, seconds) is taken to
be, for a study of P participants x T topics on study day d,

    c(P, T, d) = P*T * (a + b*d)

(every count proportional to the participant-topics the day's data touches, plus a term that
grows with the study's age when a run re-reads history). Two runs of the same study, on day
2 and day N, give

    b = (c_N - c_2) / (P*T * (N - 2)),   a = c_2 / (P*T) - 2*b

so at P', T', d':  c' = (P'*T' / (P*T)) * (c_2 + (c_N - c_2) * (d' - 2) / (N - 2)).

A negative slope (noise: the same work measured twice) counts as none. Work that is really
constant per run (a config read, one job start) is scaled by P'*T'/(P*T) too: at 100 x 20
the estimate is an upper bound of those terms.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

#: S3 Standard requests, https://aws.amazon.com/s3/pricing/ ("Requests & data retrievals"):
#: PUT, COPY, POST, LIST $0.005 per 1,000; GET, SELECT and all other $0.0004 per 1,000.
S3_PUT_LIST_USD = 0.005 / 1000
S3_GET_USD = 0.0004 / 1000
#: DynamoDB on-demand, https://aws.amazon.com/dynamodb/pricing/on-demand/:
#: $0.125 per million read request units, $0.625 per million write request units.
DDB_READ_UNIT_USD = 0.125 / 1e6
DDB_WRITE_UNIT_USD = 0.625 / 1e6
#: Lambda x86, https://aws.amazon.com/lambda/pricing/: $0.0000166667 per GB-second,
#: $0.20 per million requests.
LAMBDA_GB_SECOND_USD = 0.0000166667
LAMBDA_REQUEST_USD = 0.20 / 1e6
#: Glue Spark jobs, https://aws.amazon.com/glue/pricing/: $0.44 per DPU-hour, billed per
#: second with a 1-minute minimum per job run (Glue 2.0 and later).
GLUE_DPU_HOUR_USD = 0.44
GLUE_MINIMUM_SECONDS = 60.0
#: Step Functions Standard, https://aws.amazon.com/step-functions/pricing/: $0.025 per
#: 1,000 state transitions.
SFN_TRANSITION_USD = 0.025 / 1000
#: DPUs of a Glue worker type (https://docs.aws.amazon.com/glue/latest/dg/add-job.html).
WORKER_DPU = {"G.025X": 0.25, "G.1X": 1.0, "G.2X": 2.0, "G.4X": 4.0, "G.8X": 8.0}

#: The counts the model prices, as bench/growth.py measures them per run.
PRICED = (
    "s3_put_list",  # PUT, COPY, POST, LIST requests (Spark's file writes and folder listings too)
    "s3_get",  # GET, HEAD requests (Spark's file opens too)
    "ddb_read_units",  # items read: 1 unit each (items under 4 KB, strongly consistent)
    "ddb_write_units",  # items written: 1 unit each (items under 1 KB)
    "lambda_gb_seconds",
    "lambda_requests",
    "glue_job_runs",
    "glue_seconds",  # Spark job seconds, all runs
    "sfn_transitions",
)


@dataclass(frozen=True)
class Study:
    participants: int
    topics: int
    day: int

    @property
    def pairs(self) -> int:
        return self.participants * self.topics


def extrapolate(early: float, late: float, measured: Study, late_day: int, at: Study) -> float:
    """``c'`` of the module's formula: ``early`` at ``measured.day``, ``late`` at
    ``late_day``, both of ``measured``'s participants x topics; the count at ``at``."""
    span = late_day - measured.day
    slope = max(late - early, 0.0) / span if span > 0 else 0.0
    per_pair = (early + slope * (at.day - measured.day)) / measured.pairs
    return max(per_pair, 0.0) * at.pairs


def daily_cost(counts: Mapping[str, float], dpu: float) -> dict[str, float]:
    """USD of one run with these counts, per service, and the total."""
    runs = counts.get("glue_job_runs", 0.0)
    seconds = counts.get("glue_seconds", 0.0)
    # each job run is billed at least a minute: runs x max(60 s, its mean duration)
    billed = runs * max(GLUE_MINIMUM_SECONDS, seconds / runs) if runs else 0.0
    cost = {
        "s3": counts.get("s3_put_list", 0.0) * S3_PUT_LIST_USD
        + counts.get("s3_get", 0.0) * S3_GET_USD,
        "dynamodb": counts.get("ddb_read_units", 0.0) * DDB_READ_UNIT_USD
        + counts.get("ddb_write_units", 0.0) * DDB_WRITE_UNIT_USD,
        "lambda": counts.get("lambda_gb_seconds", 0.0) * LAMBDA_GB_SECOND_USD
        + counts.get("lambda_requests", 0.0) * LAMBDA_REQUEST_USD,
        "glue": billed / 3600 * dpu * GLUE_DPU_HOUR_USD,
        "stepfunctions": counts.get("sfn_transitions", 0.0) * SFN_TRANSITION_USD,
    }
    cost["total"] = sum(cost.values())
    return cost


def at_scale(
    early: Mapping[str, float],
    late: Mapping[str, float],
    measured: Study,
    late_day: int,
    at: Study,
) -> dict[str, float]:
    """Every priced count extrapolated to ``at``; job runs stay as measured (one per source
    the run curates, whatever the study's size)."""
    counts = {
        name: extrapolate(early.get(name, 0.0), late.get(name, 0.0), measured, late_day, at)
        for name in PRICED
    }
    counts["glue_job_runs"] = float(late.get("glue_job_runs", 0.0))
    return counts


def dpu_of(properties: Mapping[str, object]) -> float:
    """DPUs of a Glue job's template properties (WorkerType x NumberOfWorkers, or
    MaxCapacity)."""
    worker = properties.get("WorkerType")
    if isinstance(worker, str):
        return WORKER_DPU[worker] * float(str(properties.get("NumberOfWorkers", 1)))
    return float(str(properties.get("MaxCapacity", 10)))


def billed_lambda_gb_seconds(memory_mb: int, duration_ms: float) -> float:
    """GB-seconds Lambda bills for one invocation (duration rounded up to the millisecond)."""
    return memory_mb / 1024 * math.ceil(duration_ms) / 1000
