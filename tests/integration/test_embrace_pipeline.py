"""Embrace end to end through the real workflow (EnableTimestream=true): seeded exports and bad
ones in, tables, quarantine reasons, Timestream records and a refused batch load out."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from typer.testing import CliRunner

from phenolake.sources.embrace import convert as embrace
from phenolake_local.engine import EmbeddedAWS
from phenolake_tools import cli, query

pytestmark = pytest.mark.slow

SEED = 5
MONTH = "20190901_20190930"
T0 = 1567296000000  # 2019-09-01T00:00:00Z
RUN = "run-embrace-1"


def zip_bytes(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return out.getvalue()


def small_stream(stream: str, rows: int = 40) -> str:
    header, columns = embrace.STREAMS[stream]
    step = int(1000 / embrace.RATE_HZ[stream])
    lines = [f"Unix Timestamp (UTC),{','.join(header)}"]
    lines += [f"{T0 + i * step}," + ",".join(["0.500000"] * len(columns)) for i in range(rows)]
    return "\n".join(lines) + "\n"


def bad_exports() -> dict[str, bytes]:
    """A wrong header, non-numeric cells, a device without metadata.csv, a zip without the
    structure, a zip that is not a zip."""
    temp = small_stream("temp").splitlines()
    temp[3] = f"{T0 + 2000},warm"
    temp[5] = f"noon,{33.0}"
    bad = {
        "U02/XX/001/D9/eda.csv": "time,eda\n1,2\n",
        "U02/XX/001/D9/temp.csv": "\n".join(temp) + "\n",
        "U02/XX/001/D9/acc.csv": small_stream("acc"),
    }
    flat = {"eda.csv": small_stream("eda"), "notes.txt": "exported by hand\n"}
    return {
        f"Sensors_U02_XX_{MONTH}.zip": zip_bytes(bad),
        f"Sensors_U02_FLAT_{MONTH}.zip": zip_bytes(flat),
        f"Sensors_U02_BROKEN_{MONTH}.zip": b"PK\x03\x04 this is not a zip",
    }


def subscribe(aws: EmbeddedAWS) -> tuple[Any, str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="notifications")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    boto3.client("sns", region_name="us-east-1").subscribe(
        TopicArn=aws.env()["TOPIC_ARN"], Protocol="sqs", Endpoint=arn
    )
    return sqs, queue


def messages(sqs: Any, queue: str) -> list[str]:
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"])["Message"] for m in got]


def run(aws: EmbeddedAWS, name: str) -> dict[str, Any]:
    described = aws.wait(aws.start_execution(name, {"sources": ["embrace"]}))
    return {"status": described["status"], "output": json.loads(described.get("output") or "{}")}


@pytest.fixture(scope="module")
def embrace_run(tmp_path_factory: pytest.TempPathFactory, spark: object) -> dict[str, Any]:
    """The one pipeline run: samples + bad exports, EnableTimestream=true, the Timestream table
    gone, so every step up to Curate and Completeness succeeds and CreateBatchLoadTask refuses
    the loads (ResourceNotFoundException, as AWS raises it). Then
    the table is recreated and the run's loads are retried against the patched engine (a new
    run id, so a new ClientToken). Everything the tests look at is collected here."""
    from moto.timestreamwrite.models import timestreamwrite_backends

    home = tmp_path_factory.mktemp("embrace-home")
    samples = embrace.Embrace().write_samples(home / "in", SEED)
    found: dict[str, Any] = {"home": home, "samples": samples}
    with EmbeddedAWS(home, parameters={"EnableTimestream": "true"}) as aws:
        sqs, queue = subscribe(aws)
        landing, lake = aws.bucket("LandingBucket"), aws.bucket("LakeBucket")
        for path in samples:
            aws.s3.upload_file(str(path), landing, f"embrace/{path.name}")
        for name, body in bad_exports().items():
            aws.s3.put_object(Bucket=landing, Key=f"embrace/{name}", Body=body)
        ts = boto3.client("timestream-write", region_name="us-east-1")
        database, table = aws.env()["TIMESTREAM_DATABASE"], aws.env()["TIMESTREAM_TABLE"]
        ts.delete_table(DatabaseName=database, TableName=table)

        found["run"] = run(aws, RUN)
        found["messages"] = messages(sqs, queue)
        found["manifest"] = read_json(aws, lake, f"manifests/runs/{RUN}.json")
        found["report_objects"] = keys(aws, lake, f"manifests/{RUN}/timestream/report/")
        found["reasons"] = [
            read_json(aws, lake, key)
            for key in keys(aws, lake, f"quarantine/{RUN}/")
            if key.endswith(".reason.json")
        ]

        day = {
            "source": "embrace",
            "metric": "acc",
            "participant": "fc096",
            "device": "3YK3K152ZP",
            "day": "2019-08-02",
        }
        merged = f"merged/embrace/acc/participant=fc096/device={day['device']}/date=2019-08-02/"
        key = merged + "part-0.parquet"
        found["merged_before"] = aws.s3.get_object(Bucket=lake, Key=key)["Body"].read()
        invoke(aws, "DailyMergeFunction", {"run_id": "rerun", "item": day})
        found["merged_after"] = aws.s3.get_object(Bucket=lake, Key=key)["Body"].read()

        ts.create_table(DatabaseName=database, TableName=table)
        retry = f"{RUN}-retry"
        merge_list = aws.s3.get_object(Bucket=lake, Key=f"manifests/{RUN}/work/merge.json")
        aws.s3.put_object(
            Bucket=lake, Key=f"manifests/{retry}/work/merge.json", Body=merge_list["Body"].read()
        )
        prepared = invoke(aws, "TimestreamPrepareFunction", {"run_id": retry})
        found["loads"] = prepared["tasks"]
        found["load_states"] = []
        for task in prepared["tasks"]:
            task_id = ts.create_batch_load_task(**task)["TaskId"]
            for _ in range(200):  # the load runs on its own, as on AWS
                described = ts.describe_batch_load_task(TaskId=task_id)
                status = described["BatchLoadTaskDescription"]["TaskStatus"]
                if status not in ("CREATED", "IN_PROGRESS"):
                    break
                time.sleep(0.05)
            found["load_states"].append(status)
        backend = timestreamwrite_backends["123456789012"]["us-east-1"]
        found["records"] = list(backend.describe_table(database, table).records)
    return found


def invoke(aws: EmbeddedAWS, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
    name = aws.deployment.functions[logical_id].name  # type: ignore[union-attr]
    response = boto3.client("lambda", region_name="us-east-1").invoke(
        FunctionName=name, Payload=json.dumps(event).encode()
    )
    return json.loads(response["Payload"].read())


def keys(aws: EmbeddedAWS, bucket: str, prefix: str) -> list[str]:
    listed = aws.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return sorted(o["Key"] for o in listed)


def read_json(aws: EmbeddedAWS, bucket: str, key: str) -> Any:
    return json.loads(aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def sql(home: Path, text: str) -> list[dict[str, Any]]:
    return query.query_local(text, home).to_pylist()


def reference_counts(path: Path) -> dict[tuple[str, str, str], dict[str, int]]:
    """The dedupe rule written with pandas, as the old pipeline did, over the sample zip."""
    found = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            member = embrace.Embrace().member(f"{path.name}/{name}")
            if member is None or member.metric == "metadata":
                continue
            df = pd.read_csv(io.BytesIO(zf.read(name)))
            time, first = df.columns[0], df.columns[1]
            if member.metric == "eda":
                df[first] = df[first].replace(-0.0, 0.0)
            repeated = df.duplicated(subset=[time], keep=False)
            perfect = df.duplicated(keep=False)
            unclear = repeated & ~perfect
            kept = df[~unclear].dropna(subset=[first]).drop_duplicates()
            found[(member.participant, member.device, member.metric)] = {
                "total_rows": len(df),
                "total_dupes": int(repeated.sum()),
                "perfect": int(perfect.sum()),
                "unclear": int(unclear.sum()),
                "nan": int(df[first].isna().sum()),
                "kept_rows": len(kept),
            }
    return found


def test_every_step_up_to_the_batch_load_succeeds(embrace_run: dict[str, Any]) -> None:
    assert embrace_run["run"]["status"] == "FAILED"  # the batch load, below; the rest went on
    totals = embrace_run["manifest"]["totals"]
    assert totals["objects"] == 5  # 2 samples, 3 bad exports
    assert embrace_run["manifest"]["error"]["Error"] == "TimestreamWrite.ResourceNotFoundException"


def test_duplicates_table_gives_the_counts_of_the_rule(embrace_run: dict[str, Any]) -> None:
    expected: dict[tuple[str, str, str], dict[str, int]] = {}
    for path in embrace_run["samples"]:
        expected.update(reference_counts(path))
    rows = sql(
        embrace_run["home"],
        "SELECT participant_id, device_id, month, stream, perfect, nan, unclear, total_rows, "
        "total_dupes, kept_rows FROM embrace_duplicates WHERE month = '20190801_20190831'",
    )
    got = {
        (r.pop("participant_id"), r.pop("device_id"), r.pop("stream")): r
        for r in rows
        if r.pop("month") == "20190801_20190831"
    }
    assert got == expected
    assert len(got) == 9  # 3 devices x 3 streams


def test_stream_tables_hold_the_kept_rows_with_local_dates(embrace_run: dict[str, Any]) -> None:
    home = embrace_run["home"]
    kept = {
        (r["participant_id"], r["device_id"]): r["kept_rows"]
        for r in sql(home, "SELECT * FROM embrace_duplicates WHERE stream = 'eda'")
    }
    rows = sql(
        home,
        "SELECT participant_id, device_id, count(*) AS n, min(local_date) AS first_local, "
        "max(local_date) AS last_local, count(DISTINCT date) AS utc_days "
        "FROM embrace_eda GROUP BY participant_id, device_id ORDER BY participant_id, device_id",
    )
    assert {(r["participant_id"], r["device_id"]): r["n"] for r in rows} == kept
    by_participant = {r["participant_id"]: r for r in rows}
    # 23:55-00:05 UTC: two UTC days, one local day (UTC-4 for FC: 1 August, UTC+2 for MG: 2nd)
    assert str(by_participant["fc096"]["first_local"]) == "2019-08-01"
    assert str(by_participant["fc096"]["last_local"]) == "2019-08-01"
    assert str(by_participant["mg012"]["first_local"]) == "2019-08-02"
    assert by_participant["fc096"]["utc_days"] == 2
    columns = sql(home, "SELECT * FROM embrace_acc LIMIT 1")[0]
    assert list(columns) == [
        "device_id",
        "time",
        "x_g",
        "y_g",
        "z_g",
        "local_date",
        "source_key",
        "source_sha256",
        "run_id",
        "participant_id",
        "date",
    ]
    temp = sql(
        home,
        "SELECT min(temp_celsius) AS low, count(*) AS n FROM embrace_temp "
        "WHERE participant_id IN ('fc096', 'mg012')",
    )[0]
    assert temp["n"] > 0 and temp["low"] > 20


def test_wear_time_follows_the_eda_windows(embrace_run: dict[str, Any]) -> None:
    home = embrace_run["home"]
    table = sql(
        home,
        "SELECT participant_id, device_id, local_date, minutes_worn, percent_worn "
        "FROM embrace_wear_time ORDER BY participant_id, device_id",
    )
    # 240e0 is a double; 240.0 would be a decimal on Athena, and bigint / decimal(4,1) keeps
    # one decimal place.
    recomputed = sql(
        home,
        "WITH w AS (SELECT participant_id, device_id, local_date, "
        "floor(to_unixtime(time) / 10) AS win, count(*) AS n, "
        "sum(CASE WHEN eda_microsiemens < 0.03 THEN 1 ELSE 0 END) AS low "
        "FROM embrace_eda GROUP BY 1, 2, 3, 4) "
        "SELECT participant_id, device_id, local_date, "
        "round(sum(CASE WHEN low <= 0.9 * n THEN n ELSE 0 END) / 240e0, 4) AS minutes_worn "
        "FROM w GROUP BY 1, 2, 3 ORDER BY participant_id, device_id",
    )
    assert [{k: r[k] for k in recomputed[0]} for r in table] == recomputed
    worn = {r["device_id"]: r["minutes_worn"] for r in table}
    # the first device of each participant was off the wrist for a quarter of the 10 minutes
    assert worn["3YK3K152ZP"] > 9.9 and 7.4 < worn["3YK3J151VJ"] < 7.6
    assert all(abs(r["percent_worn"] - r["minutes_worn"] / 14.4) < 1e-3 for r in table)


def test_bad_input_is_quarantined_with_reasons(embrace_run: dict[str, Any]) -> None:
    reasons = [r["reason"] for r in embrace_run["reasons"]]
    text = "\n".join(reasons)
    assert "header is not one of the Embrace stream headers" in text
    assert embrace.NON_NUMERIC in text and embrace.BAD_TIME in text
    assert "device folder has no metadata.csv (local_date unknown)" in text
    assert "no Embrace device folder" in text  # the zip without the structure
    assert "eda.csv is not in <study>/<SITE>/<participant>/<device>/" in text
    assert "not an Embrace file" in text  # notes.txt
    sources = [r["source"] for r in embrace_run["reasons"]]
    assert any(s.endswith(f"Sensors_U02_BROKEN_{MONTH}.zip") for s in sources)
    # the rest of the bad export is loaded: its acc rows, and temp's good rows
    rows = sql(
        embrace_run["home"],
        "SELECT stream, kept_rows FROM embrace_duplicates WHERE participant_id = 'xx001' "
        "ORDER BY stream",
    )
    assert rows == [{"stream": "acc", "kept_rows": 40}, {"stream": "temp", "kept_rows": 38}]


def test_timestream_gets_one_multi_measure_record_per_kept_row(
    embrace_run: dict[str, Any],
) -> None:
    kept = sql(
        embrace_run["home"],
        "SELECT stream, sum(kept_rows) AS n FROM embrace_duplicates GROUP BY stream",
    )
    loaded: dict[str, int] = {}
    for record in embrace_run["records"]:
        loaded[record["MeasureName"]] = loaded.get(record["MeasureName"], 0) + 1
    assert loaded == {r["stream"]: r["n"] for r in kept}
    acc = next(r for r in embrace_run["records"] if r["MeasureName"] == "acc")
    assert [m["Name"] for m in acc["MeasureValues"]] == ["x_g", "y_g", "z_g"]
    assert {d["Name"] for d in acc["Dimensions"]} == {"participant_id", "device_id"}
    assert embrace_run["load_states"] == ["SUCCEEDED"] * 3
    loads = embrace_run["loads"]
    assert sorted(
        r["DataModelConfiguration"]["DataModel"]["MultiMeasureMappings"]["TargetMultiMeasureName"]
        for r in loads
    ) == ["acc", "eda", "temp"]
    assert all(len(r["ClientToken"]) == 64 for r in loads)
    assert all("ReportS3Configuration" in r["ReportConfiguration"] for r in loads)


def test_daily_merge_rerun_writes_the_same_bytes(embrace_run: dict[str, Any]) -> None:
    assert embrace_run["merged_before"] == embrace_run["merged_after"]


def test_a_batch_load_into_a_missing_table_is_refused_by_create_and_fails_the_run(
    embrace_run: dict[str, Any],
) -> None:
    """As on AWS, CreateBatchLoadTask itself raises ResourceNotFoundException: no task is
    made, so there is no error report (a FAILED task's report: tests/unit/test_batch_load.py)."""
    assert embrace_run["manifest"]["batch_load_report"] is None
    assert embrace_run["report_objects"] == []
    [message] = embrace_run["messages"]
    assert f"{RUN}: FAILED" in message
    assert "ResourceNotFoundException" in message, message
    assert "does not exist" in message, message


def test_dry_run_prints_records_and_cost_and_loads_nothing(tmp_path: Path) -> None:
    samples = embrace.Embrace().write_samples(tmp_path / "in", SEED)
    inputs = [arg for path in samples for arg in ("--input", str(path))]
    home = tmp_path / "home"
    args = ["run", "--dry-run", "--source", "embrace", "--home", str(home), *inputs]
    result = CliRunner().invoke(cli.app, [*args, "--parameter", "EnableTimestream=true"])
    assert result.exit_code == 0, result.output
    out = result.output
    for stream in ("acc", "eda", "temp"):
        assert f"timestream embrace.{stream}" in out
    assert "write units" in out
    assert "Timestream records, preview (would be loaded" in out
    assert "fc096" in out and "3YK3J151VJ" in out and "eda_micro" in out
    assert not list(home.glob("*-lake")) and not list(home.glob("*-landing"))
