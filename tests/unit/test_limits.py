"""The embedded engine stops where AWS would: Step Functions' 256 KiB on state data and
Lambda's 6 MB payloads, timeouts and memory sizes. Each test makes one limit fail."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from phenolake_local import patches

REGION = "us-east-1"


@pytest.fixture
def aws(patched_moto: None) -> None:
    boto3.client("iam", region_name=REGION).create_role(
        RoleName="test", AssumeRolePolicyDocument="{}"
    )


ROLE = "arn:aws:iam::123456789012:role/test"


def run(definition: dict[str, Any], payload: dict[str, Any] | None = None) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name=f"t{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload or {}))
    for _ in range(1200):
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError("execution did not finish")


def function(tmp_path: Path, body: str, *, timeout: int = 30, memory: int = 1024) -> str:
    name = f"f{time.monotonic_ns()}"
    folder = tmp_path / name
    folder.mkdir()
    (folder / "app.py").write_text(body)
    arn = boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=ROLE,
        Handler="app.lambda_handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
        Timeout=timeout,
        MemorySize=memory,
    )["FunctionArn"]
    patches.REGISTRY.register(
        patches.LocalFunction(name, arn, folder, "app.lambda_handler", {}, timeout, memory)
    )
    return arn


SIZED = """
def lambda_handler(event, context):
    return {"blob": "x" * event["size"]}
"""


def caught_everything(arn: str) -> dict[str, Any]:
    return {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": arn,
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2, "IntervalSeconds": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "C"}],
                "End": True,
            },
            "C": {"Type": "Pass", "End": True},
        },
    }


def test_a_task_result_over_256_kib_fails_the_run_past_states_all(
    aws: None, tmp_path: Path
) -> None:
    arn = function(tmp_path, SIZED)
    fits = run(caught_everything(arn), {"size": 200_000})
    assert fits["status"] == "SUCCEEDED"
    assert "error" not in json.loads(fits["output"])
    over = run(caught_everything(arn), {"size": 262_144})
    assert over["status"] == "FAILED"
    assert over["error"] == "States.DataLimitExceeded"
    assert "exceeding the maximum number of bytes service limit" in over["cause"]


def test_data_limit_exceeded_is_caught_when_named(aws: None, tmp_path: Path) -> None:
    arn = function(tmp_path, SIZED)
    definition = caught_everything(arn)
    definition["States"]["T"]["Catch"][0]["ErrorEquals"] = ["States.DataLimitExceeded"]
    del definition["States"]["T"]["Retry"]
    caught = run(definition, {"size": 300_000})
    assert caught["status"] == "SUCCEEDED"
    assert json.loads(caught["output"])["error"]["Error"] == "States.DataLimitExceeded"


def test_a_state_input_over_256_kib_after_parameters_fails(aws: None) -> None:
    padded = {
        "StartAt": "Grow",
        "States": {
            "Grow": {
                "Type": "Pass",
                "Parameters": {"a.$": "$.blob", "b.$": "$.blob"},
                "Next": "Use",
            },
            "Use": {"Type": "Pass", "End": True},
        },
    }
    assert run(padded, {"blob": "y" * 100_000})["status"] == "SUCCEEDED"
    over = run(padded, {"blob": "y" * 140_000})
    assert over["status"] == "FAILED" and over["error"] == "States.DataLimitExceeded"


def test_a_map_result_over_256_kib_fails_before_its_result_selector(aws: None) -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "Result": {"pad": "z" * 300}, "End": True}},
                },
                "ResultSelector": {"done": True},
                "End": True,
            }
        },
    }
    assert run(definition, {"items": list(range(100))})["status"] == "SUCCEEDED"
    over = run(definition, {"items": list(range(1_000))})  # 1,000 results of 311 bytes
    assert over["status"] == "FAILED" and over["error"] == "States.DataLimitExceeded"
    assert "The result of state 'M'" in over["cause"]


def test_lambda_payloads_over_6_mb_are_refused(aws: None, tmp_path: Path) -> None:
    arn = function(tmp_path, SIZED)
    lam = boto3.client("lambda", region_name=REGION)
    ok = lam.invoke(FunctionName=arn, Payload=json.dumps({"size": 5_000_000}))
    assert "FunctionError" not in ok
    too_big = lam.invoke(FunctionName=arn, Payload=json.dumps({"size": 6_300_000}))
    assert too_big["FunctionError"] == "Unhandled"
    error = json.loads(too_big["Payload"].read())
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    with pytest.raises(ClientError) as refused:
        lam.invoke(FunctionName=arn, Payload=json.dumps({"size": 1, "pad": "p" * 6_300_000}))
    assert refused.value.response["Error"]["Code"] == "RequestEntityTooLargeException"


SLOW = """
import time
def lambda_handler(event, context):
    time.sleep(event["seconds"])
    return {"slept": event["seconds"]}
"""


def test_a_lambda_running_past_its_timeout_fails_as_lambda_reports_it(
    aws: None, tmp_path: Path
) -> None:
    arn = function(tmp_path, SLOW, timeout=1)
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": arn, "End": True}}}
    assert run(definition, {"seconds": 0.1})["status"] == "SUCCEEDED"
    timed_out = run(definition, {"seconds": 1.2})
    assert timed_out["status"] == "FAILED"
    assert timed_out["error"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in timed_out["cause"]


HUNGRY = """
import time
def lambda_handler(event, context):
    held = b"m" * (event["mb"] * 1024 * 1024)
    time.sleep(0.2)
    return {"held": len(held)}
"""


def test_a_lambda_using_more_than_its_memory_size_fails_and_reports_it(
    aws: None, tmp_path: Path
) -> None:
    arn = function(tmp_path, HUNGRY, memory=128)
    lam = boto3.client("lambda", region_name=REGION)
    fits = lam.invoke(FunctionName=arn, Payload=json.dumps({"mb": 16}))
    assert "FunctionError" not in fits
    hungry = lam.invoke(FunctionName=arn, Payload=json.dumps({"mb": 256}))
    assert hungry["FunctionError"] == "Unhandled"
    error = json.loads(hungry["Payload"].read())
    assert error["errorType"] == "Runtime.OutOfMemory"
    assert "of 128 MB" in error["errorMessage"]
    report = patches.REPORTS[-1]
    assert report.memory_size_mb == 128 and report.max_memory_used_mb >= 250
    assert "Memory Size: 128 MB\tMax Memory Used: " in report.line()


def test_lambda_timeout_and_memory_size_are_checked_at_create_function(aws: None) -> None:
    lam = boto3.client("lambda", region_name=REGION)
    for settings, message in (
        ({"Timeout": 901}, "Value '901' at 'timeout' failed to satisfy constraint"),
        ({"MemorySize": 10_241}, "Value '10241' at 'memorySize' failed to satisfy constraint"),
    ):
        with pytest.raises(ClientError) as refused:
            lam.create_function(
                FunctionName="too-much",
                Runtime="python3.13",
                Role=ROLE,
                Handler="app.lambda_handler",
                Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
                **settings,
            )
        assert message in refused.value.response["Error"]["Message"]
