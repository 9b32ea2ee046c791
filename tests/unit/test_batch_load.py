"""The Timestream batch load follows its documented lifecycle in the embedded AWS:
CreateBatchLoadTask returns a CREATED task (or raises what AWS raises from Create itself),
the load runs on its own, IN_PROGRESS, to SUCCEEDED or FAILED, and a failed load leaves an
error report in the documented layout (taskId, taskErrors, fileErrors)."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from phenolake.steps import notify
from phenolake_local import patches, template, validate

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/test"


@pytest.fixture
def aws(patched_moto: None) -> None:
    boto3.client("iam", region_name=REGION).create_role(
        RoleName="test", AssumeRolePolicyDocument="{}"
    )


def _timestream(csv_text: str) -> tuple[Any, dict[str, Any]]:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="lake")
    s3.put_object(Bucket="lake", Key="load/eda/a.csv", Body=csv_text.encode())
    ts = boto3.client("timestream-write", region_name=REGION)
    ts.create_database(DatabaseName="db")
    ts.create_table(DatabaseName="db", TableName="t")
    request = {
        "ClientToken": "token-1",
        "TargetDatabaseName": "db",
        "TargetTableName": "t",
        "DataModelConfiguration": {
            "DataModel": {
                "TimeColumn": "time",
                "TimeUnit": "MILLISECONDS",
                "DimensionMappings": [
                    {"SourceColumn": "participant_id", "DestinationColumn": "participant_id"}
                ],
                "MultiMeasureMappings": {
                    "TargetMultiMeasureName": "eda",
                    "MultiMeasureAttributeMappings": [
                        {
                            "SourceColumn": "eda",
                            "TargetMultiMeasureAttributeName": "eda",
                            "MeasureValueType": "DOUBLE",
                        }
                    ],
                },
            }
        },
        "DataSourceConfiguration": {
            "DataSourceS3Configuration": {"BucketName": "lake", "ObjectKeyPrefix": "load/eda/"},
            "DataFormat": "CSV",
        },
        "ReportConfiguration": {
            "ReportS3Configuration": {
                "BucketName": "lake",
                "ObjectKeyPrefix": "report/eda/",
                "EncryptionOption": "SSE_S3",
            }
        },
    }
    return ts, request


def _records() -> list[dict[str, Any]]:
    from moto.timestreamwrite.models import timestreamwrite_backends

    return timestreamwrite_backends["123456789012"][REGION].describe_table("db", "t").records


def _statuses(ts: Any, task_id: str) -> list[str]:
    """Every status the task is seen in, polled until it is final."""
    seen: list[str] = []
    for _ in range(200):
        status = ts.describe_batch_load_task(TaskId=task_id)["BatchLoadTaskDescription"][
            "TaskStatus"
        ]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("SUCCEEDED", "FAILED", "PROGRESS_STOPPED"):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"the batch load never ended: {seen}")


GOOD = "time,participant_id,eda\n1564617600000,fc096,0.25\n1564617600250,fc096,0.5\n"


def test_a_batch_load_is_created_then_runs_then_succeeds(aws: None) -> None:
    ts, request = _timestream(GOOD)
    task_id = ts.create_batch_load_task(**request)["TaskId"]
    assert ts.describe_batch_load_task(TaskId=task_id)["BatchLoadTaskDescription"][
        "TaskStatus"
    ] in ("CREATED", "IN_PROGRESS")
    assert _records() == []  # nothing is loaded inside CreateBatchLoadTask
    assert _statuses(ts, task_id) == ["CREATED", "IN_PROGRESS", "SUCCEEDED"]
    described = ts.describe_batch_load_task(TaskId=task_id)["BatchLoadTaskDescription"]
    assert described["ProgressReport"]["RecordsProcessed"] == 2
    assert described["ProgressReport"]["RecordsIngested"] == 2
    assert "ErrorMessage" not in described
    records = _records()
    assert records[0]["MeasureName"] == "eda" and records[0]["Time"] == "1564617600000"
    assert records[0]["MeasureValues"] == [{"Name": "eda", "Value": "0.25", "Type": "DOUBLE"}]
    assert ts.create_batch_load_task(**request)["TaskId"] == task_id  # same token: no second load
    assert len(_records()) == 2


def test_a_load_with_bad_rows_fails_with_the_documented_error_report(aws: None) -> None:
    ts, request = _timestream(
        "time,participant_id,eda\n1564617600000,fc096,0.25\nnot-a-time,fc096,0.5\n"
        ",fc096,0.75\n1564617600750,fc096,1.0\nlater,fc096,1.5\n"
    )
    task_id = ts.create_batch_load_task(**request)["TaskId"]
    assert _statuses(ts, task_id)[-1] == "FAILED"
    described = ts.describe_batch_load_task(TaskId=task_id)["BatchLoadTaskDescription"]
    progress = described["ProgressReport"]
    assert (progress["RecordsProcessed"], progress["RecordsIngested"]) == (5, 2)
    assert progress["ParseFailures"] == 3
    assert "3 record(s) could not be parsed" in described["ErrorMessage"]
    assert len(_records()) == 2  # a FAILED task may have ingested part of its records
    report = boto3.client("s3", region_name=REGION).get_object(
        Bucket="lake", Key=f"report/eda/{task_id}/errors.json"
    )
    assert json.loads(report["Body"].read()) == {
        "taskId": task_id,
        "taskErrors": [],
        "fileErrors": [
            {
                "fileName": "load/eda/a.csv",
                "errors": [
                    {
                        "reason": "The time column 'time' is missing or not a number.",
                        "lineRanges": [[3, 4], [6, 6]],
                    }
                ],
            }
        ],
    }


def test_a_load_of_an_empty_prefix_fails_with_a_task_error(aws: None) -> None:
    ts, request = _timestream(GOOD)
    request["DataSourceConfiguration"]["DataSourceS3Configuration"]["ObjectKeyPrefix"] = "none/"
    task_id = ts.create_batch_load_task(**request)["TaskId"]
    assert _statuses(ts, task_id)[-1] == "FAILED"
    report = json.loads(
        boto3.client("s3", region_name=REGION)
        .get_object(Bucket="lake", Key=f"report/eda/{task_id}/errors.json")["Body"]
        .read()
    )
    assert report["fileErrors"] == []
    assert report["taskErrors"] == [{"reason": "No files were found under s3://lake/none/."}]


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (lambda r: r.update(TargetTableName="gone"), "ResourceNotFoundException", "gone"),
        (lambda r: r.update(TargetDatabaseName="gone"), "ResourceNotFoundException", "gone"),
        (
            lambda r: r["DataSourceConfiguration"]["DataSourceS3Configuration"].update(
                BucketName="no-such-bucket"
            ),
            "ResourceNotFoundException",
            "no-such-bucket",
        ),
        (
            lambda r: r["ReportConfiguration"]["ReportS3Configuration"].update(
                BucketName="no-report-bucket"
            ),
            "ResourceNotFoundException",
            "no-report-bucket",
        ),
        (
            lambda r: r["DataModelConfiguration"]["DataModel"].update(TimeUnit="HOURS"),
            "ValidationException",
            "TimeUnit",
        ),
        (
            lambda r: r["ReportConfiguration"]["ReportS3Configuration"].update(
                EncryptionOption="SSE_KMS"
            ),
            "ValidationException",
            "KmsKeyId",
        ),
    ],
)
def test_what_create_refuses_is_raised_not_made_a_failed_task(
    aws: None, change: Any, code: str, message: str
) -> None:
    ts, request = _timestream(GOOD)
    change(request)
    with pytest.raises(ClientError) as refused:
        ts.create_batch_load_task(**request)
    assert refused.value.response["Error"]["Code"] == code
    assert message in refused.value.response["Error"]["Message"]
    assert ts.list_batch_load_tasks()["BatchLoadTasks"] == []


LOAD_LOOP = {
    "StartAt": "Create",
    "States": {
        "Create": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:timestreamwrite:createBatchLoadTask",
            "Parameters": {"ClientToken.$": "$.token", "TargetDatabaseName": "db"},
            "ResultPath": "$.load",
            "Next": "Wait",
        },
        "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Describe"},
        "Describe": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:timestreamwrite:describeBatchLoadTask",
            "Parameters": {"TaskId.$": "$.load.TaskId"},
            "ResultSelector": {
                "TaskId.$": "$.BatchLoadTaskDescription.TaskId",
                "Status.$": "$.BatchLoadTaskDescription.TaskStatus",
                "ProgressReport.$": "$.BatchLoadTaskDescription.ProgressReport",
            },
            "ResultPath": "$.load",
            "Next": "Done",
        },
        "Done": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.load.Status", "StringEquals": "SUCCEEDED", "Next": "Ok"}],
            "Default": "Wait",
        },
        "Ok": {"Type": "Succeed"},
    },
}


def test_the_state_machine_wait_describe_loop_goes_round(aws: None) -> None:
    _, request = _timestream(GOOD)
    definition = json.loads(json.dumps(LOAD_LOOP))
    definition["States"]["Create"]["Parameters"] = {
        **{k: v for k, v in request.items() if k != "ClientToken"},
        "ClientToken.$": "$.token",
    }
    patches.PACE.in_progress = 2.5
    try:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(
            name="loop", definition=json.dumps(definition), roleArn=ROLE
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=arn, input='{"token": "t-loop"}')
        for _ in range(300):
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if described["status"] != "RUNNING":
                break
            time.sleep(0.05)
    finally:
        patches.PACE.in_progress = patches.BatchLoadPace().in_progress
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"])["load"]["ProgressReport"]["RecordsIngested"] == 2
    history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)
    waits = [e for e in history["events"] if e["type"] == "WaitStateEntered"]
    assert len(waits) >= 2  # at least one Describe saw the load still IN_PROGRESS


def _pipeline_loads_machine() -> dict[str, Any]:
    """The pipeline's own TimestreamLoads Map (as deployed, a 1 s poll) as a machine of its own."""
    deployment = template.load(validate.PROJECT_ROOT, {"BatchLoadPollSeconds": "1"})
    loads = dict(deployment.state_machine_definition["States"]["TimestreamLoads"])
    for name in ("Catch", "Next"):
        loads.pop(name)
    return {"StartAt": "TimestreamLoads", "States": {"TimestreamLoads": {**loads, "End": True}}}


def _execute(definition: dict[str, Any], payload: dict[str, Any]) -> tuple[dict, list[dict]]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name=f"loads{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))
    for _ in range(600):
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            events = sfn.get_execution_history(
                executionArn=execution["executionArn"], maxResults=1000
            )["events"]
            return described, events
        time.sleep(0.05)
    raise AssertionError("execution did not finish")


def test_the_pipelines_loads_map_polls_and_the_summary_carries_the_progress(aws: None) -> None:
    _, request = _timestream(GOOD)
    done, events = _execute(_pipeline_loads_machine(), {"timestream": {"tasks": [request]}})
    assert done["status"] == "SUCCEEDED", done.get("cause")
    [load] = json.loads(done["output"])["loads"]
    assert load["Measure"] == "eda" and load["load"]["Status"] == "SUCCEEDED"
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]
    assert entered.count("DescribeBatchLoad") >= 2  # the loop saw it IN_PROGRESS first
    assert "KeepBatchLoadProgress" in entered and "KeepBatchLoadError" not in entered
    [summary] = notify.batch_loads({"timestream_loads": [load]}, None)
    assert summary == {
        "measure": "eda",
        "task_id": load["load"]["TaskId"],
        "status": "SUCCEEDED",
        "records_processed": 2,
        "records_ingested": 2,
        "parse_failures": 0,
        "record_ingestion_failures": 0,
        "file_failures": 0,
        "error": "",
    }
    assert notify.batch_load_lines([summary]) == [
        "timestream load eda: SUCCEEDED, 2 of 2 records ingested "
        "(parse failures 0, ingestion failures 0, file failures 0)"
    ]


def test_a_failed_load_fails_the_map_with_its_error_message_and_progress(aws: None) -> None:
    _, request = _timestream(GOOD + "oops,fc096,1\n")
    failed, _ = _execute(_pipeline_loads_machine(), {"timestream": {"tasks": [request]}})
    assert failed["status"] == "FAILED"
    assert failed["error"] == "TimestreamBatchLoadFailed"
    error = {"Error": failed["error"], "Cause": failed["cause"]}
    [summary] = notify.batch_loads({}, error)
    assert (summary["status"], summary["records_ingested"], summary["parse_failures"]) == (
        "FAILED",
        2,
        1,
    )
    assert "1 record(s) could not be parsed" in summary["error"]
    assert notify.batch_load_report(error) == f"s3://lake/report/eda/{summary['task_id']}/"
