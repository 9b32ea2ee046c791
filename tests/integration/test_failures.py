"""Failure paths through the real state machine: what a study team sees when things break.

- A transient AWS error inside a Map item is retried with backoff and the item succeeds.
- An item that keeps failing is retried, then caught: it is written to the run's
  ``failures.json``, the good items are kept, and the run ends PARTIAL (notified).
- A Glue job failure outside the Maps ends the run FAILED after recording and notifying.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from phenolake.steps import convert
from phenolake_local import runner
from phenolake_tools import query

pytestmark = pytest.mark.slow


def _slow_down(key: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": "SlowDown", "Message": f"injected for {key}"}}, "GetObject"
    )


@pytest.fixture(scope="module")
def partial_run(tmp_path_factory: pytest.TempPathFactory, spark: object):
    """Subject 1 fails once (transient), subject 2 always fails (transient), subject 3 is fine."""
    home = tmp_path_factory.mktemp("partial")
    calls: dict[str, int] = {}
    lock = threading.Lock()
    original = convert.convert_file

    def flaky(path: Path, source: str, raw_relative: str, *args: Any) -> Any:
        with lock:
            calls[raw_relative] = calls.get(raw_relative, 0) + 1
            count = calls[raw_relative]
        if raw_relative.endswith("subject1.log") and count == 1:
            raise _slow_down(raw_relative)
        if raw_relative.endswith("subject2.log"):
            raise _slow_down(raw_relative)
        return original(path, source, raw_relative, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(convert, "convert_file", flaky)
        result = runner.run(
            runner.RunOptions(
                home=home,
                sources=["mhealth"],
                parameters={"MapToleratedFailurePercentage": "50"},
            )
        )
    return home, result, calls


def test_a_transient_error_is_retried_and_the_item_succeeds(partial_run) -> None:
    home, _result, calls = partial_run
    subject1 = next(n for key, n in calls.items() if key.endswith("subject1.log"))
    assert subject1 == 2
    sql = "SELECT count(*) AS n FROM mhealth WHERE user_id = '1'"
    rows = query.query_local(sql, home).to_pylist()
    assert rows == [{"n": 1500}]


def test_an_item_that_keeps_failing_is_retried_then_recorded_and_the_run_is_partial(
    partial_run,
) -> None:
    home, result, calls = partial_run
    subject2 = next(n for key, n in calls.items() if key.endswith("subject2.log"))
    assert subject2 == 4  # the first try and three retries
    assert result.status == "PARTIAL"
    notify = result.output["notify"]
    assert notify["status"] == "PARTIAL" and notify["failed_items"] == 1
    assert "failed items 1 (ConvertFile 1)" in notify["message"]
    failures_file = home / notify["failures_uri"].removeprefix("s3://")
    failures = json.loads(failures_file.read_text())
    assert [(f["step"], f["error"]) for f in failures] == [("ConvertFile", "TransientError")]
    assert failures[0]["item"]["key"].endswith("mHealth_subject2.log")
    assert "SlowDown" in failures[0]["cause"]
    manifest = home / notify["manifest"].removeprefix("s3://")
    assert json.loads(manifest.read_text())["status"] == "PARTIAL"
    sql = "SELECT DISTINCT user_id FROM mhealth ORDER BY user_id"
    users = query.query_local(sql, home).to_pylist()
    assert users == [{"user_id": "1"}, {"user_id": "3"}]


def test_a_glue_job_failure_ends_the_run_failed_and_notified(
    tmp_path: Path, spark: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The job runs in its own process: the failure is the embedded Glue catalog's answer.
    from moto.glue.exceptions import GlueClientError
    from moto.glue.models import GlueBackend

    create_table = GlueBackend.create_table

    def refuse(self: GlueBackend, database_name: str, table_name: str, *args: Any) -> Any:
        if table_name.startswith("mhealth"):
            raise GlueClientError("InternalServiceException", "injected: the catalog refused")
        return create_table(self, database_name, table_name, *args)

    monkeypatch.setattr(GlueBackend, "create_table", refuse)
    result = runner.run(runner.RunOptions(home=tmp_path, sources=["mhealth"]))
    assert result.status == "FAILED"
    notify = result.output.get("notify") or {}
    manifest_file = next(tmp_path.glob(f"*-lake/manifests/runs/{result.execution_name}.json"))
    manifest = json.loads(manifest_file.read_text())
    assert manifest["status"] == "FAILED"
    assert "(InternalServiceException) when calling the CreateTable operation: injected" in (
        json.dumps(manifest["error"])
    )
    assert notify == {} or notify.get("status") == "FAILED"
    entered = [s["state"] for s in result.states]
    assert "Curate" in entered and entered[-2:] == ["RecordFailure", "Failed"]
