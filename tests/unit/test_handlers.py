"""Each Lambda handler's input/output contract, invoked through the embedded AWS (no Spark)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest

from phenolake.sources.mhealth import MHealth
from phenolake_local import patches
from phenolake_local.engine import EmbeddedAWS

RUN = "run-test-1"
EXECUTION = f"arn:aws:states:us-east-1:123456789012:execution:phenolake-pipeline:{RUN}"


@pytest.fixture
def aws(tmp_path: Path) -> Iterator[EmbeddedAWS]:
    with EmbeddedAWS(tmp_path / "home") as embedded:
        yield embedded


def invoke(aws: EmbeddedAWS, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
    assert aws.deployment is not None
    name = aws.deployment.functions[logical_id].name
    response = boto3.client("lambda", region_name="us-east-1").invoke(
        FunctionName=name, Payload=json.dumps(event).encode()
    )
    payload = json.loads(response["Payload"].read())
    if response.get("FunctionError"):
        raise RuntimeError(f"{payload['errorType']}: {payload['errorMessage']}")
    return payload


def keys(aws: EmbeddedAWS, bucket: str, prefix: str = "") -> list[str]:
    listed = aws.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"] for o in listed)


def read_json(aws: EmbeddedAWS, bucket: str, key: str) -> Any:
    return json.loads(aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def mhealth_log(tmp_path: Path, rows: int = 120) -> bytes:
    [first, *_] = MHealth().write_samples(tmp_path / "s", seed=1, rows=rows)
    return first.read_bytes()


def stage(aws: EmbeddedAWS, key: str, body: bytes) -> dict[str, Any]:
    """Put a raw MHEALTH log in the lake and run the Convert handler on it."""
    lake = aws.bucket("LakeBucket")
    aws.s3.put_object(Bucket=lake, Key=key, Body=body)
    item = {"source": "mhealth", "bucket": lake, "key": key}
    return invoke(aws, "ConvertFunction", {"run_id": RUN, "item": item})


def mhealth_day(participant: str) -> dict[str, str]:
    return {
        "source": "mhealth",
        "metric": "readings",
        "participant": participant,
        "day": "2014-01-01",
        "device": "",
    }


def test_plan_lists_new_objects_and_skips_what_the_ledger_has_seen(aws: EmbeddedAWS) -> None:
    landing, lake = aws.bucket("LandingBucket"), aws.bucket("LakeBucket")
    aws.s3.put_object(Bucket=landing, Key="mhealth/a/mHealth_subject1.log", Body=b"1\t2\n")
    event = {
        "execution_id": EXECUTION,
        "execution_name": RUN,
        "start_time": "2024-10-02T02:30:00Z",
        "input": {"sources": ["mhealth"]},
    }
    plan = invoke(aws, "PlanFunction", event)
    assert plan["window"] == {"start": "2024-10-01", "end": "2024-10-01"}
    assert plan["work"]["landed"]["count"] == 1
    assert (
        read_json(aws, lake, plan["work"]["landed"]["key"])[0]["key"]
        == "mhealth/a/mHealth_subject1.log"
    )
    assert plan["estimate"]["total_usd"] >= 0
    etag = aws.s3.head_object(Bucket=landing, Key="mhealth/a/mHealth_subject1.log")["ETag"].strip(
        '"'
    )
    from phenolake.ledger import Ledger

    Ledger(aws.dynamodb, aws.env()["LEDGER_TABLE"]).record(
        "mhealth", "mhealth/a/mHealth_subject1.log", etag, "extracted", "old"
    )
    assert invoke(aws, "PlanFunction", event)["work"]["landed"]["count"] == 0
    replay = invoke(aws, "PlanFunction", {**event, "input": {"replay": True, "date": _today()}})
    assert replay["work"]["landed"]["count"] == 1


def _today() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).date().isoformat()


def test_plan_rejects_an_unknown_source_and_a_bad_window(aws: EmbeddedAWS) -> None:
    event = {"execution_id": EXECUTION, "execution_name": RUN, "start_time": "2024-10-02T02:30:00Z"}
    with pytest.raises(RuntimeError, match="unknown source 'nope'"):
        invoke(aws, "PlanFunction", {**event, "input": {"sources": ["nope"]}})
    with pytest.raises(RuntimeError, match="after end"):
        invoke(
            aws, "PlanFunction", {**event, "input": {"start": "2024-10-05", "end": "2024-10-01"}}
        )


def test_fetch_without_remote_inputs_keeps_the_work_list(aws: EmbeddedAWS) -> None:
    lake = aws.bucket("LakeBucket")
    landed = [{"source": "mhealth", "bucket": aws.bucket("LandingBucket"), "key": "mhealth/x"}]
    aws.s3.put_object(
        Bucket=lake, Key=f"manifests/{RUN}/work/landed.json", Body=json.dumps(landed).encode()
    )
    result = invoke(
        aws,
        "FetchFunction",
        {
            "run_id": RUN,
            "execution_id": EXECUTION,
            "plan": {"window": {"start": "2024-10-01", "end": "2024-10-01"}, "fetch": []},
        },
    )
    assert result["fetched"] == 0 and result["landed"]["count"] == 1


def test_unzip_sends_images_to_scratch_data_to_raw_and_bad_members_to_quarantine(
    aws: EmbeddedAWS, tmp_path: Path
) -> None:
    landing, lake, scratch = (
        aws.bucket("LandingBucket"),
        aws.bucket("LakeBucket"),
        aws.bucket("ScratchBucket"),
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("MHEALTHDATASET/mHealth_subject1.log", mhealth_log(tmp_path))
        zf.writestr("MHEALTHDATASET/img_1.jpg", b"\xff\xd8 not really a jpeg")
        zf.writestr("../escape.log", b"x")
        zf.writestr("__MACOSX/._junk", b"x")
    aws.s3.put_object(Bucket=landing, Key="mhealth/upload/set.zip", Body=buffer.getvalue())
    result = invoke(
        aws,
        "UnzipFunction",
        {
            "run_id": RUN,
            "execution_id": EXECUTION,
            "item": {
                "source": "mhealth",
                "bucket": landing,
                "key": "mhealth/upload/set.zip",
                "etag": "e",
                "size": 1,
            },
        },
    )
    assert (
        result["images"],
        result["data_files"],
        result["rejected_members"],
        result["skipped_members"],
    ) == (1, 1, 1, 1)
    assert keys(aws, lake, "raw/") == [
        "raw/mhealth/upload/set.zip/MHEALTHDATASET/mHealth_subject1.log"
    ]
    assert keys(aws, scratch) == [f"{RUN}/mhealth/upload/set.zip/MHEALTHDATASET/img_1.jpg"]
    reasons = [k for k in keys(aws, lake, "quarantine/") if k.endswith(".reason.json")]
    assert len(reasons) == 1
    assert "escapes the archive" in read_json(aws, lake, reasons[0])["reason"]


def test_unzip_quarantines_a_zip_it_cannot_read(aws: EmbeddedAWS) -> None:
    landing, lake = aws.bucket("LandingBucket"), aws.bucket("LakeBucket")
    aws.s3.put_object(Bucket=landing, Key="mhealth/broken.zip", Body=b"PK\x03\x04 truncated")
    result = invoke(
        aws,
        "UnzipFunction",
        {
            "run_id": RUN,
            "item": {"source": "mhealth", "bucket": landing, "key": "mhealth/broken.zip"},
        },
    )
    assert result["quarantined_zips"] == 1
    reason = read_json(aws, lake, f"quarantine/{RUN}/{landing}/mhealth/broken.zip.reason.json")
    assert reason["reason"].startswith("not a readable zip")
    assert reason["source"] == f"s3://{landing}/mhealth/broken.zip"


def test_collect_folds_item_manifests_into_the_next_work_lists(aws: EmbeddedAWS) -> None:
    lake = aws.bucket("LakeBucket")
    manifest = {
        "landing": {"source": "mhealth", "bucket": "l", "key": "mhealth/a.zip"},
        "source": "mhealth",
        "images": [{"bucket": "s", "key": f"i{i}.jpg"} for i in range(20)],
        "data": [{"bucket": lake, "key": "raw/mhealth/a.log"}],
        "skipped": [],
        "rejected": [],
    }
    aws.s3.put_object(
        Bucket=lake, Key=f"manifests/{RUN}/extracted/a.json", Body=json.dumps(manifest).encode()
    )
    aws.s3.put_object(
        Bucket=lake, Key=f"manifests/{RUN}/extracted/not-in-the-results.json", Body=b"{}"
    )
    unzipped = patches.export_results(
        aws.s3,
        lake,
        f"manifests/{RUN}/map-results/Unzip",
        [({}, {"manifest": f"manifests/{RUN}/extracted/a.json"})],
    )
    result = invoke(
        aws, "CollectFunction", {"run_id": RUN, "stage": "extracted", "results": unzipped}
    )
    assert result["redact"]["count"] == 2 and result["convert"]["count"] == 1
    batches = read_json(aws, lake, result["redact"]["key"])
    assert [len(b["images"]) for b in batches] == [16, 4]
    day = {
        "source": "mhealth",
        "metric": "readings",
        "participant": "1",
        "day": "2014-01-01",
        "device": "",
        "rows": 5,
    }
    aws.s3.put_object(
        Bucket=lake,
        Key=f"manifests/{RUN}/converted/a.json",
        Body=json.dumps(
            {"key": "raw/mhealth/a.log", "source": "mhealth", "sha256": "0", "days": [day, day]}
        ).encode(),
    )
    results = patches.export_results(
        aws.s3,
        lake,
        f"manifests/{RUN}/map-results/Convert",
        [({}, {"manifest": f"manifests/{RUN}/converted/a.json"})],
    )
    converted = invoke(
        aws, "CollectFunction", {"run_id": RUN, "stage": "converted", "results": results}
    )
    assert converted["merge"]["count"] == 1
    # the Curate item names the run's DailyMerge work list: the job curates exactly those days
    days = converted["merge"]["key"]
    assert days == f"manifests/{RUN}/work/merge.json"
    assert converted["curate"] == [{"source": "mhealth", "participants": "1", "days": days}]


def test_convert_stages_one_file_per_day_with_provenance(aws: EmbeddedAWS, tmp_path: Path) -> None:
    lake = aws.bucket("LakeBucket")
    key = "raw/mhealth/set.zip/MHEALTHDATASET/mHealth_subject1.log"
    aws.s3.put_object(Bucket=lake, Key=key, Body=mhealth_log(tmp_path) + b"1.0\t2.0\n")
    result = invoke(
        aws,
        "ConvertFunction",
        {"run_id": RUN, "item": {"source": "mhealth", "bucket": lake, "key": key}},
    )
    assert (result["rows"], result["rejected_rows"], result["days"]) == (120, 1, 1)
    [staged] = keys(aws, lake, "stage/")
    assert staged.startswith("stage/mhealth/readings/participant=1/date=2014-01-01/")
    table = pq.read_table(io.BytesIO(aws.s3.get_object(Bucket=lake, Key=staged)["Body"].read()))
    assert table.num_rows == 120
    assert set(table["run_id"].to_pylist()) == {RUN} and set(table["source_key"].to_pylist()) == {
        key
    }
    [reason] = [k for k in keys(aws, lake, "quarantine/") if k.endswith(".reason.json")]
    assert read_json(aws, lake, reason)["rejections"][0]["rows"] == 1


def test_convert_quarantines_an_empty_file(aws: EmbeddedAWS) -> None:
    lake = aws.bucket("LakeBucket")
    key = "raw/mhealth/x/mHealth_subject4.log"
    aws.s3.put_object(Bucket=lake, Key=key, Body=b"")
    result = invoke(
        aws,
        "ConvertFunction",
        {"run_id": RUN, "item": {"source": "mhealth", "bucket": lake, "key": key}},
    )
    assert result["quarantined_files"] == 1 and result["rows"] == 0
    assert "empty" in read_json(aws, lake, f"quarantine/{RUN}/{lake}/{key}.reason.json")["reason"]


def test_daily_merge_is_the_union_of_staged_files_and_stable(
    aws: EmbeddedAWS, tmp_path: Path
) -> None:
    lake = aws.bucket("LakeBucket")
    for n in (1, 2):
        key = f"raw/mhealth/p{n}/mHealth_subject1.log"
        stage(aws, key, mhealth_log(tmp_path / str(n), rows=50 * n))
    item = mhealth_day("1")
    first = invoke(aws, "DailyMergeFunction", {"run_id": RUN, "item": item})
    assert (first["rows"], first["staged_files"]) == (150, 2)
    body = aws.s3.get_object(Bucket=lake, Key=first["key"])["Body"].read()
    invoke(aws, "DailyMergeFunction", {"run_id": RUN, "item": item})
    assert aws.s3.get_object(Bucket=lake, Key=first["key"])["Body"].read() == body


def test_redact_fails_closed_on_an_undecodable_image(aws: EmbeddedAWS) -> None:
    lake, scratch = aws.bucket("LakeBucket"), aws.bucket("ScratchBucket")
    aws.s3.put_object(Bucket=scratch, Key=f"{RUN}/x/img.jpg", Body=b"\xff\xd8")
    result = invoke(
        aws,
        "RedactFunction",
        {
            "run_id": RUN,
            "item": {"source": "x", "images": [{"bucket": scratch, "key": f"{RUN}/x/img.jpg"}]},
        },
    )
    assert result == {
        "images_published": 0,
        "images_withheld": 1,
        "faces_redacted": 0,
        "images_flagged": 1,
    }
    assert keys(aws, scratch) == [] and keys(aws, lake, "images/") == []
    reason = read_json(aws, lake, f"quarantine/{RUN}/{scratch}/{RUN}/x/img.jpg.reason.json")
    assert reason["reason"].startswith("image withheld (fail closed): truncated JPEG")


def test_completeness_registers_its_table(aws: EmbeddedAWS, tmp_path: Path) -> None:
    lake = aws.bucket("LakeBucket")
    key = "raw/mhealth/p/mHealth_subject2.log"
    stage(aws, key, mhealth_log(tmp_path, rows=100))
    day = mhealth_day("2")
    invoke(aws, "DailyMergeFunction", {"run_id": RUN, "item": day})
    aws.s3.put_object(
        Bucket=lake, Key=f"manifests/{RUN}/work/merge.json", Body=json.dumps([day]).encode()
    )
    result = invoke(
        aws,
        "CompletenessFunction",
        {"run_id": RUN, "days": {"key": f"manifests/{RUN}/work/merge.json", "count": 1}},
    )
    assert result["completeness_rows"] == 1
    table = aws.glue.get_table(DatabaseName="phenolake", Name="completeness")["Table"]
    assert [k["Name"] for k in table["PartitionKeys"]] == ["source", "date"]
    [part] = aws.glue.get_partitions(DatabaseName="phenolake", TableName="completeness")[
        "Partitions"
    ]
    assert part["Values"] == ["mhealth", "2014-01-01"]


def test_timestream_prepare_has_nothing_to_load_for_sources_without_series(
    aws: EmbeddedAWS,
) -> None:
    lake = aws.bucket("LakeBucket")
    aws.s3.put_object(
        Bucket=lake,
        Key=f"manifests/{RUN}/work/merge.json",
        Body=json.dumps(
            [
                {
                    "source": "mhealth",
                    "metric": "readings",
                    "participant": "1",
                    "day": "2014-01-01",
                    "device": "",
                }
            ]
        ).encode(),
    )
    assert invoke(aws, "TimestreamPrepareFunction", {"run_id": RUN})["tasks"] == []


def test_notify_writes_the_run_manifest_and_publishes(aws: EmbeddedAWS) -> None:
    lake = aws.bucket("LakeBucket")
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    boto3.client("sns", region_name="us-east-1").subscribe(
        TopicArn=aws.env()["TOPIC_ARN"], Protocol="sqs", Endpoint=queue_arn
    )
    event = {
        "run_id": RUN,
        "execution_id": EXECUTION,
        "status": "FAILED",
        "error": {"Error": "Glue.AWSGlueException", "Cause": "job failed"},
    }
    result = invoke(aws, "NotifyFunction", event)
    assert result["status"] == "FAILED"
    retried = invoke(aws, "NotifyFunction", event)
    assert retried == result  # Powertools idempotency: the retry gets the first result
    manifest = read_json(aws, lake, f"manifests/runs/{RUN}.json")
    assert manifest["status"] == "FAILED" and manifest["error"]["Error"] == "Glue.AWSGlueException"
    [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    body = json.loads(message["Body"])
    assert f"phenolake run {RUN}: FAILED" in body["Message"] and "job failed" in body["Message"]
