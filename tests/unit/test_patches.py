"""Each patch the embedded AWS applies to moto works; a moto upgrade that breaks one fails here."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from phenolake_local import patches

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/test"


@pytest.fixture
def aws(patched_moto: None) -> Iterator[None]:
    yield
    patches.set_glue_runner(lambda *a: None)


def run_state_machine(
    definition: dict[str, Any], payload: dict[str, Any] | None = None
) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name=f"t{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload or {}))[
        "executionArn"
    ]
    for _ in range(300):
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError("execution did not finish")


def register_function(tmp_path: Path, body: str) -> str:
    (tmp_path / "app.py").write_text(body)
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="probe", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    arn = lam.create_function(
        FunctionName="probe",
        Runtime="python3.13",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
    )["FunctionArn"]
    patches.REGISTRY.register(
        patches.LocalFunction("probe", arn, tmp_path, "app.lambda_handler", {"PROBE": "yes"})
    )
    return arn


HANDLER = """
from phenolake.config import environ
def lambda_handler(event, context):
    if event.get("fail") or event.get("item", {}).get("fail"):
        raise ValueError("asked to fail")
    return {"got": event, "env": environ().get("PROBE"), "name": context.function_name}
"""


def test_lambda_invoke_runs_the_handler_in_process(aws: None, tmp_path: Path) -> None:
    register_function(tmp_path, HANDLER)
    lam = boto3.client("lambda", region_name=REGION)
    response = lam.invoke(FunctionName="probe", Payload=json.dumps({"a": 1}))
    assert json.loads(response["Payload"].read()) == {
        "got": {"a": 1},
        "env": "yes",
        "name": "probe",
    }
    failed = lam.invoke(FunctionName="probe", Payload=json.dumps({"fail": True}))
    assert failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "asked to fail"


def test_lambda_task_and_catch_in_a_state_machine(aws: None, tmp_path: Path) -> None:
    arn = register_function(tmp_path, HANDLER)
    ok = run_state_machine(
        {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": arn, "End": True}}}, {"x": 2}
    )
    assert ok["status"] == "SUCCEEDED"
    assert json.loads(ok["output"])["got"] == {"x": 2}
    caught = run_state_machine(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": arn,
                    "Catch": [
                        {"ErrorEquals": ["ValueError"], "ResultPath": "$.error", "Next": "C"}
                    ],
                    "End": True,
                },
                "C": {"Type": "Pass", "End": True},
            },
        },
        {"fail": True},
    )
    assert caught["status"] == "SUCCEEDED"
    assert json.loads(caught["output"])["error"]["Error"] == "ValueError"


def test_distributed_map_reads_items_from_s3(aws: None, tmp_path: Path) -> None:
    arn = register_function(tmp_path, HANDLER)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="work")
    s3.put_object(Bucket="work", Key="items.json", Body=json.dumps([{"n": i} for i in range(5)]))
    done = run_state_machine(
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemReader": {
                        "Resource": "arn:aws:states:::s3:getObject",
                        "ReaderConfig": {"InputType": "JSON"},
                        "Parameters": {"Bucket": "work", "Key": "items.json"},
                    },
                    "ItemSelector": {"item.$": "$$.Map.Item.Value"},
                    "MaxConcurrency": 3,
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": "T",
                        "States": {"T": {"Type": "Task", "Resource": arn, "End": True}},
                    },
                    "End": True,
                }
            },
        }
    )
    assert done["status"] == "SUCCEEDED"
    assert sorted(r["got"]["item"]["n"] for r in json.loads(done["output"])) == [0, 1, 2, 3, 4]


def _glue_job() -> Any:
    glue = boto3.client("glue", region_name=REGION)
    glue.create_job(
        Name="job",
        Role=ROLE,
        Command={"Name": "glueetl", "ScriptLocation": "s3://code/job.py"},
        DefaultArguments={"--lake_bucket": "lake"},
    )
    return glue


def test_glue_job_run_runs_the_script_and_reports_failures(aws: None) -> None:
    calls: list[tuple[str, str, dict[str, str]]] = []
    patches.set_glue_runner(lambda name, script, args: calls.append((name, script, args)))
    glue = _glue_job()
    run_id = glue.start_job_run(JobName="job", Arguments={"--run_id": "r1"})["JobRunId"]
    assert calls == [("job", "s3://code/job.py", {"--lake_bucket": "lake", "--run_id": "r1"})]
    assert glue.get_job_run(JobName="job", RunId=run_id)["JobRun"]["JobRunState"] == "SUCCEEDED"
    sync_ok = run_state_machine(
        {
            "StartAt": "G",
            "States": {
                "G": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::glue:startJobRun.sync",
                    "Parameters": {"JobName": "job", "Arguments": {"--run_id": "r2"}},
                    "End": True,
                }
            },
        }
    )
    assert sync_ok["status"] == "SUCCEEDED", sync_ok
    assert json.loads(sync_ok["output"])["JobRunState"] == "SUCCEEDED"
    assert calls[-1][2]["--run_id"] == "r2"

    def broken(*_: Any) -> None:
        raise ValueError("no such column: sensor9")

    patches.set_glue_runner(broken)
    failed = glue.start_job_run(JobName="job")["JobRunId"]
    described = glue.get_job_run(JobName="job", RunId=failed)["JobRun"]
    assert described["JobRunState"] == "FAILED"
    assert described["ErrorMessage"] == "ValueError: no such column: sensor9"
    sync = run_state_machine(
        {
            "StartAt": "G",
            "States": {
                "G": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::glue:startJobRun.sync",
                    "Parameters": {"JobName": "job"},
                    "End": True,
                }
            },
        }
    )
    assert sync["status"] == "FAILED"
    history = boto3.client("stepfunctions", region_name=REGION).get_execution_history(
        executionArn=sync["executionArn"]
    )
    failed_event = next(e for e in history["events"] if e["type"] == "TaskFailed")
    assert "sensor9" in failed_event["taskFailedEventDetails"]["cause"]


def test_a_states_error_inside_an_inline_map_reaches_its_catch(aws: None) -> None:
    """The pipeline's Curate is an inline Map of Glue .sync tasks: a failed job must arrive
    at the Catch as States.TaskFailed with the job's error, not as States.Runtime."""

    def broken(*_: Any) -> None:
        raise ValueError("no such column: sensor9")

    _glue_job()
    patches.set_glue_runner(broken)
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::glue:startJobRun.sync",
        "Parameters": {"JobName": "job"},
        "End": True,
    }
    caught = run_state_machine(
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "ItemsPath": "$.jobs",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "G",
                        "States": {"G": task},
                    },
                    "Catch": [
                        {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "C"}
                    ],
                    "End": True,
                },
                "C": {"Type": "Pass", "End": True},
            },
        },
        {"jobs": [1]},
    )
    assert caught["status"] == "SUCCEEDED", caught
    error = json.loads(caught["output"])["error"]
    assert error["Error"] == "States.TaskFailed"
    assert "sensor9" in error["Cause"]


def test_a_changed_signature_is_reported_loudly() -> None:
    class Moved:
        def invoke(self, payload: bytes) -> None: ...

    with pytest.raises(
        patches.PatchBroken, match=r"Moved.invoke.*update phenolake_local/patches.py"
    ):
        patches._expect(Moved, "invoke", ["self", "body", "request_headers", "response_headers"])
    with pytest.raises(patches.PatchBroken, match="is gone"):
        patches._expect(Moved, "start_job_run", ["self"])


def _map_with(arn: str, items: int, **tolerance: float) -> dict[str, Any]:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="work")
    s3.put_object(
        Bucket="work",
        Key="items.json",
        Body=json.dumps([{"n": i, "fail": i in (3, 7)} for i in range(items)]),
    )
    state = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket": "work", "Key": "items.json"},
        },
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "T",
            "States": {"T": {"Type": "Task", "Resource": arn, "End": True}},
        },
        "End": True,
        **tolerance,
    }
    return run_state_machine({"StartAt": "M", "States": {"M": state}})


def test_distributed_map_tolerates_failures_up_to_the_threshold(aws: None, tmp_path: Path) -> None:
    arn = register_function(tmp_path, HANDLER)
    tolerated = _map_with(arn, 20, ToleratedFailurePercentage=10)
    assert tolerated["status"] == "SUCCEEDED", tolerated
    results = json.loads(tolerated["output"])
    assert sum(1 for r in results if r.get("Error") == "ValueError") == 2
    assert sorted(r["got"]["n"] for r in results if "got" in r) == [
        n for n in range(20) if n not in (3, 7)
    ]


def test_distributed_map_fails_past_the_threshold(aws: None, tmp_path: Path) -> None:
    arn = register_function(tmp_path, HANDLER)
    failed = _map_with(arn, 10, ToleratedFailurePercentage=10)
    assert failed["status"] == "FAILED"
    history = boto3.client("stepfunctions", region_name=REGION).get_execution_history(
        executionArn=failed["executionArn"]
    )["events"]
    details = next(e for e in history if e["type"] == "ExecutionFailed")[
        "executionFailedEventDetails"
    ]
    assert details["error"] == "States.ExceedToleratedFailureThreshold"
    assert "2 of 10 items failed" in details["cause"]


def test_distributed_map_without_tolerance_fails_on_one_item(aws: None, tmp_path: Path) -> None:
    arn = register_function(tmp_path, HANDLER)
    assert _map_with(arn, 5)["status"] == "FAILED"
