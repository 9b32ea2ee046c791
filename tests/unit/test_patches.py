"""Each patch the embedded AWS applies to moto works; a moto upgrade that breaks one fails here."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest

from phenolake_local import patches
from tests.ledger import create_ledger

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

    def slow(name: str, script: str, args: dict[str, str]) -> None:
        calls.append((name, script, args))
        time.sleep(1.2)

    patches.set_glue_runner(slow)
    glue = _glue_job()
    run_id = glue.start_job_run(JobName="job", Arguments={"--run_id": "r1"})["JobRunId"]
    assert calls == [("job", "s3://code/job.py", {"--lake_bucket": "lake", "--run_id": "r1"})]
    job_run = glue.get_job_run(JobName="job", RunId=run_id)["JobRun"]
    assert job_run["JobRunState"] == "SUCCEEDED"
    # the job's own times, as Glue reports them (not moto's creation time and 123 s)
    assert job_run["ExecutionTime"] == 1
    ran = (job_run["CompletedOn"] - job_run["StartedOn"]).total_seconds()
    assert 1.2 <= ran < 5
    patches.set_glue_runner(lambda name, script, args: calls.append((name, script, args)))
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
    synced = json.loads(sync_ok["output"])
    assert synced["JobRunState"] == "SUCCEEDED"
    # epoch milliseconds, as Step Functions gives a .sync task's timestamps
    assert isinstance(synced["StartedOn"], int) and synced["CompletedOn"] >= synced["StartedOn"]
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


@pytest.fixture
def athena(aws: None) -> Iterator[list[tuple[str, str, str, str]]]:
    """A workgroup with results in s3://lake/athena-results/, and a runner recording the
    statements it is given: a count answers 2, DROP is refused as the real one refuses it."""
    from phenolake_local.athena_iceberg import Outcome, StatementRefused

    calls: list[tuple[str, str, str, str]] = []

    def runner(sql: str, database: str, output: str, role: str) -> Outcome:
        calls.append((sql, database, output, role))
        if sql.startswith("DROP"):
            raise StatementRefused("the embedded AWS's Athena executes only ...: DROP TABLE t")
        return Outcome(columns=["_col0"], rows=[["2"]]) if "count" in sql else Outcome()

    boto3.client("athena", region_name=REGION).create_work_group(
        Name="wg",
        Configuration={
            "EnforceWorkGroupConfiguration": True,
            "ResultConfiguration": {"OutputLocation": "s3://lake/athena-results/"},
        },
    )
    patches.set_athena_runner(runner)
    yield calls
    patches._ATHENA_RUNNER.clear()


def _athena_task(query: str, end: bool = False) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::athena:startQueryExecution.sync",
        "Parameters": {
            "QueryString": query,
            "WorkGroup": "wg",
            "QueryExecutionContext": {"Database": "phenolake"},
        },
        **({"End": True} if end else {"Next": "Results"}),
    }


def test_athena_statements_run_and_their_failures_fail_the_task(athena) -> None:
    client = boto3.client("athena", region_name=REGION)
    started = client.start_query_execution(QueryString="VACUUM phenolake.t", WorkGroup="wg")[
        "QueryExecutionId"
    ]
    described = client.get_query_execution(QueryExecutionId=started)["QueryExecution"]
    assert described["Status"]["State"] == "SUCCEEDED"
    assert described["StatementType"] == "DML"
    assert athena[-1][:3] == (
        "VACUUM phenolake.t",
        "",
        f"s3://lake/athena-results/{started}.csv",
    )
    counted = run_state_machine(
        {
            "StartAt": "Count",
            "States": {
                "Count": _athena_task("SELECT count(*) FROM t WHERE c = 'x'"),
                "Results": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::athena:getQueryResults",
                    "Parameters": {"QueryExecutionId.$": "$.QueryExecution.QueryExecutionId"},
                    "ResultSelector": {"rows.$": "$.ResultSet.Rows"},
                    "End": True,
                },
            },
        }
    )
    assert counted["status"] == "SUCCEEDED", counted
    assert json.loads(counted["output"])["rows"] == [
        {"Data": [{"VarCharValue": "_col0"}]},
        {"Data": [{"VarCharValue": "2"}]},
    ]
    assert athena[-1][1] == "phenolake"
    refused = run_state_machine(
        {"StartAt": "Drop", "States": {"Drop": _athena_task("DROP TABLE t", end=True)}}
    )
    assert refused["status"] == "FAILED"
    history = boto3.client("stepfunctions", region_name=REGION).get_execution_history(
        executionArn=refused["executionArn"]
    )
    failed = next(e for e in history["events"] if e["type"] == "TaskFailed")
    assert failed["taskFailedEventDetails"]["error"] == "States.TaskFailed"
    cause = json.loads(failed["taskFailedEventDetails"]["cause"])["QueryExecution"]
    assert cause["Status"]["State"] == "FAILED"
    assert cause["Status"]["StateChangeReason"].endswith("DROP TABLE t")


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


def test_an_absent_path_a_choice_asks_for_is_not_logged_as_an_error(
    aws: None, caplog: pytest.LogCaptureFixture
) -> None:
    """The Freeze machine asks ``IsPresent`` of ``$.as_of``; moto logs an error for the
    absent path before the Choice goes on. The engine drops that record (nothing else)."""
    with caplog.at_level(logging.ERROR):
        done = run_state_machine(
            {
                "StartAt": "Given",
                "States": {
                    "Given": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.as_of", "IsPresent": True, "Next": "Yes"}],
                        "Default": "No",
                    },
                    "Yes": {"Type": "Pass", "Result": {"chose": "given"}, "End": True},
                    "No": {"Type": "Pass", "Result": {"chose": "absent"}, "End": True},
                },
            },
            {"name": "x"},
        )
        assert done["status"] == "SUCCEEDED", done
        assert json.loads(done["output"]) == {"chose": "absent"}
        logging.getLogger(patches.eval_component.__name__).error("Exception=OtherError at 'x'")
    logged = [r.getMessage() for r in caplog.records]
    assert not any("NoSuchJsonPathError" in m for m in logged), logged
    assert any("OtherError" in m for m in logged)  # any other error is still logged


def test_a_changed_signature_is_reported_loudly() -> None:
    class Moved:
        def invoke(self, payload: bytes) -> None: ...

    with pytest.raises(
        patches.PatchBroken, match=r"Moved.invoke.*update phenolake_local/patches.py"
    ):
        patches._expect(Moved, "invoke", ["self", "body", "request_headers", "response_headers"])
    with pytest.raises(patches.PatchBroken, match="is gone"):
        patches._expect(Moved, "start_job_run", ["self"])


def _map_with(
    arn: str, items: int, payload: dict[str, Any] | None = None, **tolerance: Any
) -> dict[str, Any]:
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
    return run_state_machine({"StartAt": "M", "States": {"M": state}}, payload)


def _failure(described: dict[str, Any]) -> dict[str, str]:
    history = boto3.client("stepfunctions", region_name=REGION).get_execution_history(
        executionArn=described["executionArn"]
    )["events"]
    return next(e for e in history if e["type"] == "ExecutionFailed")["executionFailedEventDetails"]


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
    details = _failure(failed)
    assert details["error"] == "States.ExceedToleratedFailureThreshold"
    assert "2 of 10 items failed" in details["cause"]


PATH = "$.plan.thresholds.percentage"


def _tolerance(percentage: Any) -> dict[str, Any]:
    return {"plan": {"thresholds": {"percentage": percentage}}}


def test_a_map_takes_its_tolerance_from_the_state_input(aws: None, tmp_path: Path) -> None:
    arn = register_function(tmp_path, HANDLER)
    tolerated = _map_with(arn, 20, _tolerance(10.0), ToleratedFailurePercentagePath=PATH)
    assert tolerated["status"] == "SUCCEEDED", tolerated
    assert len(json.loads(tolerated["output"])) == 20


def test_a_map_fails_past_the_tolerance_of_the_state_input(aws: None, tmp_path: Path) -> None:
    arn = register_function(tmp_path, HANDLER)
    failed = _map_with(arn, 10, _tolerance(10), ToleratedFailurePercentagePath=PATH)
    assert failed["status"] == "FAILED"
    details = _failure(failed)
    assert details["error"] == "States.ExceedToleratedFailureThreshold"
    assert "2 of 10 items failed" in details["cause"]


def test_a_map_refuses_a_tolerance_that_is_not_a_percentage(aws: None, tmp_path: Path) -> None:
    arn = register_function(tmp_path, HANDLER)
    failed = _map_with(arn, 2, _tolerance("ten"), ToleratedFailurePercentagePath=PATH)
    assert failed["status"] == "FAILED"
    details = _failure(failed)
    assert details["error"] == "States.Runtime"
    assert "ToleratedFailurePercentagePath" in details["cause"]


def test_distributed_map_without_tolerance_fails_on_one_item(aws: None, tmp_path: Path) -> None:
    arn = register_function(tmp_path, HANDLER)
    assert _map_with(arn, 5)["status"] == "FAILED"


def test_asl_number_literals_an_integer_tolerated_percentage_parses(
    aws: None, tmp_path: Path
) -> None:
    """``ToleratedFailurePercentage: 10`` is what the template's substitution yields; moto's
    grammar takes only ``10.0``."""
    arn = register_function(tmp_path, HANDLER)
    assert patches.normalise_numbers('{"ToleratedFailurePercentage": 10}') == (
        '{"ToleratedFailurePercentage": 10.0}'
    )
    done = _map_with(arn, 2, ToleratedFailurePercentage=50)
    assert done["status"] == "SUCCEEDED", done


def test_aws_sdk_service_names_timestream_errors_match_their_aws_name(aws: None) -> None:
    """An ``aws-sdk:timestreamwrite`` task reaches moto's timestream-write, and its error
    is ``TimestreamWrite.<error>``, which the definition's Catch names."""
    caught = run_state_machine(
        {
            "StartAt": "D",
            "States": {
                "D": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:timestreamwrite:describeBatchLoadTask",
                    "Parameters": {"TaskId": "NOSUCHTASK"},
                    "Catch": [
                        {
                            "ErrorEquals": ["TimestreamWrite.ResourceNotFoundException"],
                            "ResultPath": "$.error",
                            "Next": "C",
                        }
                    ],
                    "End": True,
                },
                "C": {"Type": "Pass", "End": True},
            },
        }
    )
    assert caught["status"] == "SUCCEEDED", caught
    error = json.loads(caught["output"])["error"]
    assert error["Error"] == "TimestreamWrite.ResourceNotFoundException"
    assert "NOSUCHTASK" in error["Cause"]


#: The test that shows each patch's behaviour on moto, by patch name: a moto upgrade that
#: breaks a patch fails the test named here.
def test_s3_eventbridge_delivers_aws_shaped_events_to_a_permitted_lambda(
    aws: None, tmp_path: Path
) -> None:
    from phenolake_local import iam

    got = tmp_path / "got.jsonl"
    arn = register_function(
        tmp_path,
        "import json\n"
        "def lambda_handler(event, context):\n"
        f"    open({str(got)!r}, 'a').write(json.dumps(event) + '\\n')\n",
    )
    s3 = boto3.client("s3", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    lam = boto3.client("lambda", region_name=REGION)
    s3.create_bucket(Bucket="landing")
    s3.put_bucket_versioning(Bucket="landing", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket="landing", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    pattern = {"source": ["aws.s3"], "detail": {"bucket": {"name": ["landing"]}}}
    rule = events.put_rule(Name="landed", EventPattern=json.dumps(pattern))["RuleArn"]
    events.put_targets(Rule="landed", Targets=[{"Id": "probe", "Arn": arn}])
    events.create_event_bus(Name="other")  # S3 sends to the default bus only
    events.put_rule(Name="elsewhere", EventBusName="other", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="elsewhere", EventBusName="other", Targets=[{"Id": "p", "Arn": arn}])

    s3.put_object(Bucket="landing", Key="a/b.log", Body=b"x")
    assert not got.exists()  # no permission for the rule: refused, as AWS would
    assert "lambda:InvokeFunction" in iam.ENFORCER.denials[-1].message
    lam.add_permission(
        FunctionName="probe",
        StatementId="landed",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule,
    )
    first = s3.put_object(Bucket="landing", Key="a/b.log", Body=b"xy")
    s3.put_object(Bucket="landing", Key="a/b.log", Body=b"xyz")
    versions = s3.list_object_versions(Bucket="landing", Prefix="a/b.log")["Versions"]
    s3.delete_objects(
        Bucket="landing",
        Delete={"Objects": [{"Key": "a/b.log", "VersionId": v["VersionId"]} for v in versions]},
    )
    delivered = [json.loads(line) for line in got.read_text().splitlines()]
    assert [e["detail-type"] for e in delivered] == ["Object Created"] * 2 + ["Object Deleted"]
    created = delivered[0]
    assert created["source"] == "aws.s3" and created["resources"] == ["arn:aws:s3:::landing"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created["time"])
    assert created["detail"]["object"]["etag"] == first["ETag"].strip('"')
    assert created["detail"]["object"]["size"] == 2
    assert created["detail"]["object"]["version-id"] == first["VersionId"]
    assert created["detail"]["reason"] == "PutObject"
    assert delivered[2]["detail"]["deletion-type"] == "Permanently Deleted"
    sequencers = [int(e["detail"]["object"]["sequencer"], 16) for e in delivered]
    assert sequencers == sorted(set(sequencers))  # each later event compares greater


BEHAVIOUR_TESTS = {
    "lambda-invoke": "test_patches.py::test_lambda_invoke_runs_the_handler_in_process",
    "lambda-limits": "test_limits.py::test_a_lambda_running_past_its_timeout_fails_as_lambda_"
    "reports_it",
    "glue-job-run": "test_patches.py::test_glue_job_run_runs_the_script_and_reports_failures",
    "timestream-batch-load": "test_batch_load.py::test_a_batch_load_is_created_then_runs_then_"
    "succeeds",
    "aws-sdk-service-names": "test_patches.py::test_aws_sdk_service_names_timestream_errors_"
    "match_their_aws_name",
    "asl-number-literals": "test_patches.py::test_asl_number_literals_an_integer_tolerated_"
    "percentage_parses",
    "sync-integration": "test_patches.py::test_glue_job_run_runs_the_script_and_reports_failures",
    "map-tolerated-failures": "test_patches.py::test_distributed_map_fails_past_the_threshold",
    "map-result-writer": "test_result_writer.py::test_failed_items_go_to_failed_files_with_"
    "their_error",
    "inline-map-states-errors": "test_patches.py::test_a_states_error_inside_an_inline_map_"
    "reaches_its_catch",
    "state-data-limits": "test_limits.py::test_a_task_result_over_256_kib_fails_the_run_past_"
    "states_all",
    "iam-enforcement": "test_iam_enforced.py::test_a_denied_call_names_role_action_and_resource",
    "s3-eventbridge": "test_patches.py::test_s3_eventbridge_delivers_aws_shaped_events_to_a_"
    "permitted_lambda",
    "athena-iceberg": "test_patches.py::test_athena_statements_run_and_their_failures_fail_the_"
    "task",
    "dynamodb-threads": "test_patches.py::test_dynamodb_serves_queries_while_other_threads_write",
    "dynamodb-key-query": "test_patches.py::test_a_dynamodb_query_reads_only_its_partition",
    "s3-prefix-listing": "test_patches.py::test_a_prefix_listing_looks_up_only_the_prefix_keys",
}


def test_dynamodb_serves_queries_while_other_threads_write() -> None:
    """Map items are threads here: queries of a table other threads write to must all
    succeed, as on DynamoDB (moto alone: 'dictionary changed size during iteration')."""
    from concurrent.futures import ThreadPoolExecutor

    patches.apply()
    with moto.mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        create_ledger(db, "t")

        def write(i: int) -> None:
            for j in range(200):
                item = {"pk": {"S": "p"}, "sk": {"S": f"{i}-{j}"}}
                db.put_item(TableName="t", Item=item)

        def read(_: int) -> int:
            found = 0
            for _ in range(50):
                found = db.query(
                    TableName="t",
                    KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": "p"}},
                )["Count"]
            return found

        with ThreadPoolExecutor(max_workers=8) as pool:
            writers = [pool.submit(write, i) for i in range(4)]
            readers = [pool.submit(read, i) for i in range(4)]
            for future in [*writers, *readers]:
                future.result()
        total = db.query(
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "p"}},
        )["Count"]
        assert total == 800


def test_every_patch_has_a_behaviour_test() -> None:
    assert set(BEHAVIOUR_TESTS) == set(patches.PATCHES), "name a behaviour test for each patch"
    here = Path(__file__).parent
    for patch, test in BEHAVIOUR_TESTS.items():
        file, _, name = test.partition("::")
        assert f"\ndef {name}(" in (here / file).read_text(), f"{patch}: {test} not found"


def _pins() -> set[str]:
    root = Path(__file__).resolve().parents[2]
    lock = re.search(r"^moto==(\S+)$", (root / "requirements.lock").read_text(), re.M)
    project = re.search(r'"moto\[[^\]]*\]==([^"]+)"', (root / "pyproject.toml").read_text())
    assert lock and project
    return {lock.group(1), project.group(1)}


def test_the_patches_are_for_the_pinned_moto() -> None:
    assert _pins() == {patches.MOTO_CHECKED} == {moto.__version__}


def test_another_moto_version_fails_apply_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patches, "MOTO_VERSION", "5.3.0")
    with pytest.raises(patches.PatchBroken) as broken:
        patches.apply()
    message = str(broken.value)
    assert "\n" not in message
    assert message.startswith(
        "moto 5.3.0 is installed but phenolake_local/patches.py was written for moto 5.2.5 "
        "(requirements.lock): re-check each patch"
    )


def test_a_private_moto_attribute_gone_or_changed_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    overrides = "_SERVICE_NAME_SFN_TO_BOTO_OVERRIDES"
    monkeypatch.setattr(patches.StateTaskService, overrides, [])
    with pytest.raises(
        patches.PatchBroken, match=f"StateTaskService.{overrides} is a list, not dict"
    ):
        patches.apply()
    monkeypatch.delattr(patches.StateTaskService, overrides)
    with pytest.raises(patches.PatchBroken, match=f"StateTaskService.{overrides} is gone"):
        patches.apply()


def test_an_instance_field_moto_no_longer_sets_is_named() -> None:
    class Run:
        def __init__(self) -> None:
            self.run_id = "r1"

    patches._expect_fields(Run, ["run_id"])
    with pytest.raises(patches.PatchBroken, match="Run no longer sets job_run_id, arguments"):
        patches._expect_fields(Run, ["run_id", "job_run_id", "arguments"])


def test_map_run_builds_moto_s_pool_through_the_patched_job_pool() -> None:
    """The map-tolerated-failures patch wraps moto's ``_map_run``, which must still build its
    pool from the module's ``JobPool`` (the patch points that at ``TolerantJobPool``)."""
    patches.apply()
    assert patches.distributed.JobPool is patches.TolerantJobPool
    wrapped = patches.distributed.DistributedIterationComponent._map_run
    assert "JobPool" in wrapped.__wrapped__.__code__.co_names


def test_the_athena_patch_names_a_moto_symbol_that_is_gone(
    patched_moto: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(patches.state_task_factory, "state_task_service_for")
    with pytest.raises(patches.PatchBroken, match="state_task_service_for is gone"):
        patches.apply()
    monkeypatch.undo()
    monkeypatch.delattr(patches.AthenaResponse, "get_query_execution")
    with pytest.raises(patches.PatchBroken, match=r"AthenaResponse\.get_query_execution is gone"):
        patches.apply()


def test_a_dynamodb_query_reads_only_its_partition() -> None:
    """A Query on a partition key answers as DynamoDB does (its items in sort-key order, both
    directions, Limit and ExclusiveStartKey pages, a key condition on the sort key) without
    reading the table's other partitions (moto alone sorts every item of the table)."""
    from moto.dynamodb.models.table import Table

    patches.apply()
    with moto.mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        create_ledger(db, "ledger")
        for pk in ("a", "b", "c"):
            for sk in ("3", "1", "2", "5", "4"):
                db.put_item(TableName="ledger", Item={"pk": {"S": pk}, "sk": {"S": sk}})

        def query(**extra: Any) -> dict[str, Any]:
            return db.query(
                TableName="ledger",
                KeyConditionExpression=extra.pop("condition", "pk = :p"),
                ExpressionAttributeValues={":p": {"S": "b"}, **extra.pop("values", {})},
                **extra,
            )

        read_all = Table.all_items
        calls: list[int] = []

        def counted(self: Any) -> Any:
            calls.append(1)
            return read_all(self)

        Table.all_items = counted  # type: ignore[method-assign]
        try:
            whole = query()
            backwards = query(ScanIndexForward=False)
            first = query(Limit=2)
            rest = query(ExclusiveStartKey=first["LastEvaluatedKey"])
            above = query(condition="pk = :p AND sk > :s", values={":s": {"S": "3"}})
            none = db.query(
                TableName="ledger",
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": "zz"}},
            )
        finally:
            Table.all_items = read_all  # type: ignore[method-assign]

    def keys(answer: dict[str, Any]) -> list[tuple[str, str]]:
        return [(i["pk"]["S"], i["sk"]["S"]) for i in answer["Items"]]

    assert keys(whole) == [("b", s) for s in "12345"]
    assert keys(backwards) == [("b", s) for s in "54321"]
    assert keys(first) == [("b", "1"), ("b", "2")]
    assert keys(rest) == [("b", s) for s in "345"]
    assert keys(above) == [("b", "4"), ("b", "5")]
    assert none["Items"] == [] and none["Count"] == 0
    assert calls == [], "a Query on a partition key sorted the whole table"


def test_a_prefix_listing_looks_up_only_the_prefix_keys() -> None:
    """ListObjectsV2 with a prefix (with and without a delimiter, in pages, after a delete)
    answers as S3 does, looking up only the keys under the prefix, never the whole bucket."""
    from moto.s3.utils import _VersionedKeyStore

    patches.apply()
    keys = [
        f"{area}/radar/p{p}/{day}/{n}.csv"
        for area in ("raw", "stage", "merged")
        for p in range(3)
        for day in ("2025-03-01", "2025-03-02")
        for n in range(4)
    ]
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="lake")
        for key in keys:
            s3.put_object(Bucket="lake", Key=key, Body=b"x")
        s3.delete_object(Bucket="lake", Key="stage/radar/p1/2025-03-02/3.csv")
        whole_bucket = _VersionedKeyStore.items
        visited: list[int] = []

        def counted(self: Any) -> Any:
            visited.append(1)
            return whole_bucket(self)

        _VersionedKeyStore.items = counted  # type: ignore[method-assign]
        try:
            pages = list(
                s3.get_paginator("list_objects_v2").paginate(
                    Bucket="lake", Prefix="stage/radar/", PaginationConfig={"PageSize": 5}
                )
            )
            folders = s3.list_objects_v2(Bucket="lake", Prefix="raw/radar/", Delimiter="/")
            none = s3.list_objects_v2(Bucket="lake", Prefix="curated/")
        finally:
            _VersionedKeyStore.items = whole_bucket  # type: ignore[method-assign]
        everything = s3.list_objects_v2(Bucket="lake", MaxKeys=1000)
    listed = [o["Key"] for page in pages for o in page.get("Contents", [])]
    expected = sorted(k for k in keys if k.startswith("stage/"))
    expected.remove("stage/radar/p1/2025-03-02/3.csv")
    assert listed == expected and len(pages) == 5
    assert [c["Prefix"] for c in folders["CommonPrefixes"]] == [
        "raw/radar/p0/",
        "raw/radar/p1/",
        "raw/radar/p2/",
    ]
    assert none["KeyCount"] == 0 and "Contents" not in none
    assert visited == [], "a prefix listing visited every key of the bucket"
    assert everything["KeyCount"] == len(keys) - 1
