"""Distributed Maps write their results with ResultWriter as AWS documents it: a
manifest.json naming SUCCEEDED_n.json and FAILED_n.json under <Prefix>/<map run id>/, and
the Map's own output only {MapRunArn, ResultWriterDetails}, whatever the number of items."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import boto3
import pytest

from phenolake import map_results

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/test"
BUCKET = "results"


@pytest.fixture
def s3(patched_moto: None) -> Any:
    boto3.client("iam", region_name=REGION).create_role(
        RoleName="test", AssumeRolePolicyDocument="{}"
    )
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    return client


def distributed_map(*, result_writer: bool, tolerated: float = 0) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Map",
        "Label": "Work",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket": BUCKET, "Key": "items.json"},
        },
        "ItemSelector": {"run.$": "$.run", "item.$": "$$.Map.Item.Value"},
        "MaxConcurrency": 20,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Check",
            "States": {
                "Check": {
                    "Type": "Choice",
                    "Choices": [{"Variable": "$.item.bad", "IsPresent": True, "Next": "Refuse"}],
                    "Default": "Work",
                },
                "Work": {
                    "Type": "Pass",
                    "Parameters": {"n.$": "$.item.n", "pad": "p" * 300},
                    "End": True,
                },
                "Refuse": {"Type": "Fail", "Error": "BadItem", "Cause": "asked to fail"},
            },
        },
        "ResultPath": "$.work",
        "End": True,
    }
    if tolerated:
        state["ToleratedFailurePercentage"] = tolerated
    if result_writer:
        state["ResultWriter"] = {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": BUCKET, "Prefix.$": "States.Format('runs/{}/work', $.run)"},
        }
        state["ResultSelector"] = {"results.$": "$.ResultWriterDetails"}
    return {"StartAt": "Work", "States": {"Work": state}}


def run(definition: dict[str, Any]) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name=f"t{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"run": "r1"}))
    for _ in range(2400):
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError("execution did not finish")


def put_items(s3: Any, items: list[dict[str, Any]]) -> None:
    s3.put_object(Bucket=BUCKET, Key="items.json", Body=json.dumps(items).encode())


def test_without_result_writer_a_thousand_results_pass_the_state_limit(s3: Any) -> None:
    put_items(s3, [{"n": i} for i in range(1_000)])
    failed = run(distributed_map(result_writer=False))
    assert failed["status"] == "FAILED"
    assert failed["error"] == "States.DataLimitExceeded"


def test_result_writer_exports_every_result_and_the_map_carries_only_where(s3: Any) -> None:
    put_items(s3, [{"n": i} for i in range(1_000)])
    done = run(distributed_map(result_writer=True))
    assert done["status"] == "SUCCEEDED", done.get("cause")
    details = json.loads(done["output"])["work"]["results"]
    assert details["Bucket"] == BUCKET
    assert details["Key"].startswith("runs/r1/work/") and details["Key"].endswith("/manifest.json")
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=details["Key"])["Body"].read())
    assert manifest["DestinationBucket"] == BUCKET
    assert ":mapRun:" in manifest["MapRunArn"] and "/Work:" in manifest["MapRunArn"]
    assert manifest["ResultFiles"]["FAILED"] == [] and manifest["ResultFiles"]["PENDING"] == []
    [succeeded] = manifest["ResultFiles"]["SUCCEEDED"]
    body = s3.get_object(Bucket=BUCKET, Key=succeeded["Key"])["Body"].read()
    assert succeeded["Key"].endswith("/SUCCEEDED_0.json") and succeeded["Size"] == len(body)
    entries = json.loads(body)
    assert len(entries) == 1_000
    first = entries[0]
    assert first["Status"] == "SUCCEEDED"
    assert json.loads(first["Input"]) == {"run": "r1", "item": {"n": 0}}
    assert json.loads(first["Output"]) == {"n": 0, "pad": "p" * 300}
    assert ":execution:" in first["ExecutionArn"] and first["StateMachineArn"].endswith("/Work")
    assert {"InputDetails", "OutputDetails", "StartDate", "StopDate", "Name"} <= set(first)


def test_failed_items_go_to_failed_files_with_their_error(s3: Any) -> None:
    put_items(s3, [{"n": 0}, {"n": 1, "bad": True}, {"n": 2}, {"n": 3}])
    done = run(distributed_map(result_writer=True, tolerated=50))
    assert done["status"] == "SUCCEEDED", done.get("cause")
    details = json.loads(done["output"])["work"]["results"]
    results = map_results.read(s3, details)
    assert [json.loads(e["Input"])["item"]["n"] for e in results.failed] == [1]
    assert results.failed[0]["Error"] == "BadItem"
    assert results.failed[0]["Cause"] == "asked to fail"
    assert [o["n"] for o in results.outputs()] == [0, 2, 3]


def test_reading_a_manifest_that_is_not_one_says_where(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="x/manifest.json", Body=b'{"nope": 1}')
    with pytest.raises(
        map_results.ResultsError,
        match=re.escape("s3://results/x/manifest.json: not a ResultWriter manifest"),
    ):
        map_results.read(s3, {"Bucket": BUCKET, "Key": "x/manifest.json"})
