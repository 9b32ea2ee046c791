"""Pending objects: S3 -> EventBridge -> Record -> ledger, and a Plan that reads only those.

The ledger's methods on moto's DynamoDB (the table as template.yaml declares it); the Record
handler and Plan through the embedded AWS, where a PutObject to landing reaches the Record
function through the bucket's EventBridge notifications and the template's rule.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from phenolake.ledger import Landed, Ledger, sequencer_order
from phenolake_local import iam, patches, template
from phenolake_local.engine import PROJECT_ROOT, EmbeddedAWS
from tests.aws_calls import Calls

REGION = "us-east-1"
RUN = "run-pending-1"
EXECUTION = f"arn:aws:states:us-east-1:123456789012:execution:phenolake-pipeline:{RUN}"
DAY = dt.datetime(2024, 10, 1, 12, 0, tzinfo=dt.UTC)


# ---------------------------------------------------------------------------- the ledger


@pytest.fixture
def ledger(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    props = template.load(PROJECT_ROOT).resources["LedgerTable"]["Properties"]
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="ledger",
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
            BillingMode="PAY_PER_REQUEST",
        )
        yield Ledger(dynamodb, "ledger")


def landed(key: str, etag: str = "e1", when: dt.datetime = DAY, source: str = "mhealth") -> Landed:
    return Landed(source, "landing", key, etag, 10, when)


def test_a_landed_object_is_pending_and_in_the_index_of_its_day(ledger: Ledger) -> None:
    assert ledger.record_pending(landed("mhealth/a.log"), "0A")
    assert ledger.record_pending(landed("mhealth/b.log", when=DAY + dt.timedelta(days=1)), "0B")
    assert [o.key for o in ledger.pending("mhealth")] == ["mhealth/a.log", "mhealth/b.log"]
    assert list(ledger.pending("radar")) == []
    [first] = ledger.landed_on("mhealth", DAY.date())
    assert (first.key, first.etag, first.last_modified) == ("mhealth/a.log", "e1", DAY)
    assert [o.key for o in ledger.landed_on("mhealth", DAY.date() + dt.timedelta(days=1))] == [
        "mhealth/b.log"
    ]


def test_an_older_event_never_replaces_a_later_one(ledger: Ledger) -> None:
    assert ledger.record_pending(landed("mhealth/a.log", "new"), "00617F0829932D189")
    assert not ledger.record_pending(landed("mhealth/a.log", "old"), "00617F08299329D189"[:-2])
    assert [o.etag for o in ledger.pending("mhealth")] == ["new"]
    # an old deletion arriving late leaves the newer landing alone
    assert not ledger.unland("mhealth", "mhealth/a.log", "00617F0829932")
    assert [o.etag for o in ledger.pending("mhealth")] == ["new"]
    assert ledger.unland("mhealth", "mhealth/a.log", "00617F0829932D18A")
    assert list(ledger.pending("mhealth")) == []
    assert list(ledger.landed_on("mhealth", DAY.date())) == []


def test_sequencers_compare_right_padded() -> None:
    # S3's sequencers differ in length; compared after right-padding with zeros
    assert sequencer_order("0A") > sequencer_order("09FFFF")
    assert sequencer_order("") < sequencer_order("00")


def test_clear_pending_keeps_a_version_landed_since(ledger: Ledger) -> None:
    ledger.record_pending(landed("mhealth/a.log", "v2"), "02")
    assert not ledger.clear_pending("mhealth", "mhealth/a.log", "v1")  # v1 taken in, v2 landed
    assert [o.etag for o in ledger.pending("mhealth")] == ["v2"]
    assert ledger.clear_pending("mhealth", "mhealth/a.log", "v2")
    assert list(ledger.pending("mhealth")) == []
    assert [o.key for o in ledger.landed_on("mhealth", DAY.date())] == ["mhealth/a.log"]


def test_taken_in_reads_just_the_keys_asked(ledger: Ledger) -> None:
    for n in range(130):  # more than one BatchGetItem
        ledger.record("mhealth", f"mhealth/{n:03}.log", f"e{n}", "extracted", "r")
    keys = [f"mhealth/{n:03}.log" for n in range(0, 130, 2)] + ["mhealth/never.log"]
    found = ledger.taken_in("mhealth", keys)
    assert found == {f"mhealth/{n:03}.log": f"e{n}" for n in range(0, 130, 2)}
    assert ledger.taken_in("mhealth", []) == {}


def test_enable_pending_moves_an_existing_lake_over_once(ledger: Ledger) -> None:
    assert not ledger.pending_enabled("mhealth")
    listed = [landed(f"mhealth/{n}.log", f"e{n}") for n in range(30)]
    made = ledger.enable_pending("mhealth", listed, {"mhealth/0.log": "e0", "mhealth/1.log": "x"})
    assert made == 29  # 0 was taken in with its ETag; 1 with another one
    assert ledger.pending_enabled("mhealth") and not ledger.pending_enabled("radar")
    assert len(list(ledger.pending("mhealth"))) == 29
    assert len(list(ledger.landed_on("mhealth", DAY.date()))) == 30


# ---------------------------------------------------------------------------- Record and Plan


@pytest.fixture
def aws(tmp_path: Path) -> Iterator[EmbeddedAWS]:
    with EmbeddedAWS(tmp_path / "home") as embedded:
        yield embedded


def invoke(aws: EmbeddedAWS, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
    assert aws.deployment is not None
    response = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName=aws.deployment.functions[logical_id].name,
        Payload=json.dumps(event).encode(),
    )
    payload = json.loads(response["Payload"].read())
    if response.get("FunctionError"):
        raise RuntimeError(f"{payload['errorType']}: {payload['errorMessage']}")
    return payload


def items(aws: EmbeddedAWS, pk: str) -> list[dict[str, Any]]:
    found = aws.dynamodb.query(
        TableName=aws.env()["LEDGER_TABLE"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
    )["Items"]
    return [{k: next(iter(v.values())) for k, v in item.items()} for item in found]


def plan_event(**request: Any) -> dict[str, Any]:
    return {
        "execution_id": EXECUTION,
        "execution_name": RUN,
        "start_time": "2024-10-02T02:30:00Z",
        "input": {"sources": ["mhealth"], **request},
    }


def planned(aws: EmbeddedAWS, **request: Any) -> int:
    """The objects Plan puts in the run's work."""
    return int(invoke(aws, "PlanFunction", plan_event(**request))["work"]["landed"]["count"])


def record_calls(name: str) -> int:
    return sum(1 for n, _ in patches.REGISTRY.invocations if n == name)


def test_landing_an_object_records_it_pending_through_eventbridge(aws: EmbeddedAWS) -> None:
    landing = aws.bucket("LandingBucket")
    before = record_calls("phenolake-RecordFunction")
    put = aws.s3.put_object(Bucket=landing, Key="mhealth/a/mHealth_subject1.log", Body=b"1\t2\n")
    aws.s3.put_object(Bucket=landing, Key="notes.txt", Body=b"no source's prefix")
    aws.s3.put_object(Bucket=landing, Key="elsewhere/x.log", Body=b"not a source")
    assert record_calls("phenolake-RecordFunction") - before == 3
    [pending] = items(aws, "pending#mhealth")
    assert pending["sk"] == "mhealth/a/mHealth_subject1.log"
    assert pending["etag"] == put["ETag"].strip('"') and pending["size"] == "4"
    [indexed] = items(aws, "landed#mhealth")
    assert indexed["landed_on"] == f"mhealth#{dt.datetime.now(dt.UTC).date().isoformat()}"
    assert items(aws, "pending#elsewhere") == [] and items(aws, "pending#notes.txt") == []
    assert not iam.ENFORCER.denials  # the Record function ran under its role, allowed
    log = (aws.home / "logs" / "events" / "phenolake-RecordFunction.log").read_text()
    assert "not under a source's prefix in landing: ignored" in log


def test_deleting_every_version_removes_the_pending_item(aws: EmbeddedAWS) -> None:
    landing = aws.bucket("LandingBucket")
    key = "mhealth/a/mHealth_subject2.log"
    aws.s3.put_object(Bucket=landing, Key=key, Body=b"1")
    aws.s3.put_object(Bucket=landing, Key=key, Body=b"2")
    assert [p["etag"] for p in items(aws, "pending#mhealth")] == [
        aws.s3.head_object(Bucket=landing, Key=key)["ETag"].strip('"')
    ]
    versions = aws.s3.list_object_versions(Bucket=landing, Prefix=key)["Versions"]
    aws.s3.delete_objects(
        Bucket=landing,
        Delete={"Objects": [{"Key": key, "VersionId": v["VersionId"]} for v in versions]},
    )
    assert items(aws, "pending#mhealth") == [] and items(aws, "landed#mhealth") == []


def test_the_sample_event_records_an_object(aws: EmbeddedAWS) -> None:
    event = json.loads((PROJECT_ROOT / "events" / "record.json").read_text())
    result = invoke(aws, "RecordFunction", event)
    assert result == {
        "key": event["detail"]["object"]["key"],
        "source": "mhealth",
        "recorded": True,
        "as": "pending",
    }
    [pending] = items(aws, "pending#mhealth")
    assert pending["etag"] == event["detail"]["object"]["etag"]
    assert pending["last_modified"] == "2024-10-01T03:15:00+00:00"
    [indexed] = items(aws, "landed#mhealth")
    assert indexed["landed_on"] == "mhealth#2024-10-01"


def test_a_malformed_event_is_refused_in_one_line(aws: EmbeddedAWS) -> None:
    with pytest.raises(RuntimeError, match="record event"):
        invoke(aws, "RecordFunction", {"detail-type": "Object Created", "detail": {}})


def test_plan_reads_the_pending_items_and_never_lists_landing(aws: EmbeddedAWS) -> None:
    landing = aws.bucket("LandingBucket")
    invoke(aws, "PlanFunction", plan_event())  # the one-time listing of an empty lake
    for n in range(1, 6):
        aws.s3.put_object(Bucket=landing, Key=f"mhealth/a/mHealth_subject{n}.log", Body=b"1\t2\n")
    with Calls() as calls:
        plan = invoke(aws, "PlanFunction", plan_event())
    assert plan["work"]["landed"]["count"] == 5
    assert calls.listings(landing) == []
    assert calls.query_items == {"pending#mhealth": 5}
    assert len(calls.of("dynamodb:BatchGetItem")) == 1

    work = json.loads(
        aws.s3.get_object(Bucket=aws.bucket("LakeBucket"), Key=plan["work"]["landed"]["key"])[
            "Body"
        ].read()
    )
    for item in work:
        invoke(aws, "UnzipFunction", {"run_id": RUN, "execution_id": EXECUTION, "item": item})
    assert items(aws, "pending#mhealth") == []  # Unzip took them in and cleared them
    with Calls() as again:
        nothing = invoke(aws, "PlanFunction", plan_event())
    assert nothing["work"]["landed"]["count"] == 0
    assert again.query_items == {} and again.of("dynamodb:BatchGetItem") == []
    assert again.listings(landing) == []
    assert not iam.ENFORCER.denials


def test_an_object_landed_again_with_the_same_bytes_is_skipped_and_cleared(
    aws: EmbeddedAWS,
) -> None:
    landing = aws.bucket("LandingBucket")
    key = "mhealth/a/mHealth_subject1.log"
    etag = aws.s3.put_object(Bucket=landing, Key=key, Body=b"1\t2\n")["ETag"].strip('"')
    Ledger(aws.dynamodb, aws.env()["LEDGER_TABLE"]).record("mhealth", key, etag, "extracted", "old")
    assert planned(aws) == 0
    assert items(aws, "pending#mhealth") == []
    # a replay of the day takes it in again, from the landing-date index
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert planned(aws, replay=True, date=today) == 1
    assert planned(aws, replay=True, date="2024-10-01") == 0


def test_a_lake_older_than_pending_items_is_listed_once(aws: EmbeddedAWS) -> None:
    landing = aws.bucket("LandingBucket")
    ledger_table = aws.env()["LEDGER_TABLE"]
    aws.s3.put_object(Bucket=landing, Key="mhealth/a/mHealth_subject1.log", Body=b"old")
    aws.s3.put_object(Bucket=landing, Key="mhealth/a/mHealth_subject2.log", Body=b"older")
    for pk in ("pending#mhealth", "landed#mhealth"):  # as a lake from before the feature
        for item in items(aws, pk):
            aws.dynamodb.delete_item(
                TableName=ledger_table, Key={"pk": {"S": pk}, "sk": {"S": item["sk"]}}
            )
    etag = aws.s3.head_object(Bucket=landing, Key="mhealth/a/mHealth_subject1.log")["ETag"]
    Ledger(aws.dynamodb, ledger_table).record(
        "mhealth", "mhealth/a/mHealth_subject1.log", etag.strip('"'), "extracted", "old"
    )
    with Calls() as calls:
        plan = invoke(aws, "PlanFunction", plan_event())
    assert plan["work"]["landed"]["count"] == 1  # subject2: never taken in
    assert len(calls.listings(landing)) == 1
    assert [i["sk"] for i in items(aws, "pending-enabled")] == ["mhealth"]
    assert len(items(aws, "landed#mhealth")) == 2  # both in the landing-date index
    with Calls() as again:
        assert invoke(aws, "PlanFunction", plan_event())["work"]["landed"]["count"] == 1
    assert again.listings(landing) == []
    assert not iam.ENFORCER.denials


def test_the_record_function_imports_without_pyarrow() -> None:
    """Its deployment has no ArrowLayer: the library path it imports must not need pyarrow."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['pyarrow'] = None\n"
        "import importlib.util as u\n"
        f"s = u.spec_from_file_location('app', {str(PROJECT_ROOT / 'functions/record/app.py')!r})\n"
        "m = u.module_from_spec(s); s.loader.exec_module(m); print(callable(m.lambda_handler))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.stdout.strip() == "True", done.stderr
