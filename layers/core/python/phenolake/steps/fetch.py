"""Fetch: bring each planned remote input into landing and add it to the run's work list."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

from phenolake import contracts
from phenolake.config import Settings
from phenolake.contracts import FetchTask, LandedObject
from phenolake.steps.common import StepEvent, read_work_list, s3_client, write_work_list


class PlanSummary(BaseModel):
    """What Fetch reads of the plan (``contracts.Plan``): the window and the fetch tasks."""

    model_config = ConfigDict(extra="ignore")

    window: dict[str, dt.date]
    fetch: list[FetchTask] = []


class FetchEvent(StepEvent):
    plan: PlanSummary


class UnknownFetchKind(ValueError):
    pass


def fetch_one(
    task: dict[str, Any], settings: Settings, window: tuple[dt.date, dt.date]
) -> list[dict]:
    s3 = s3_client(settings)
    kind = task["kind"]
    if kind == "s3":
        from phenolake.fetchers.s3copy import fetch_bucket

        return fetch_bucket(
            s3,
            source=task["source"],
            task=task,
            landing_bucket=settings.landing_bucket,
            window=window,
        )
    if kind == "kaggle":
        from phenolake.fetchers.kaggle import fetch_dataset

        return fetch_dataset(task, settings)
    raise UnknownFetchKind(f"unknown fetch kind {kind!r} for source {task['source']!r}")


def run(event: FetchEvent, settings: Settings) -> dict[str, Any]:
    s3 = s3_client(settings)
    window = (event.plan.window["start"], event.plan.window["end"])
    fetched: list[dict[str, Any]] = []
    for task in event.plan.fetch:
        found = fetch_one(contracts.dump(task), settings, window)
        fetched.extend(contracts.load_list(LandedObject, found, f"fetch {task.kind} {task.source}"))
    landed = read_work_list(s3, settings, event.run_id, "landed", LandedObject)
    known = {item.key for item in landed}
    landed.extend(item for item in fetched if item.key not in known)
    result = write_work_list(s3, settings, event.run_id, "landed", landed)
    return {
        "landed": result,
        "fetched": len(fetched),
        "metrics": {"fetched_objects": len(fetched)},
    }
