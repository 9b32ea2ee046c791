"""The growth benchmark's pure parts: the cost model, the call counter and the file watch
(the benchmark itself runs in ``make bench``, never as a test)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from bench import fileops, growth, growth_cost
from bench.growth_cost import Study
from phenolake_local import counters

REGION = "us-east-1"


# ------------------------------------------------------------------------- cost model


def test_a_count_that_grows_with_history_is_extrapolated_along_its_line() -> None:
    measured = Study(participants=3, topics=2, day=2)
    # 12 at day 2 and 42 at day 8: 5 a day more, for 6 participant-topics
    at_365 = growth_cost.extrapolate(12, 42, measured, 8, Study(100, 20, 365))
    assert at_365 == pytest.approx((2000 / 6) * (12 + 30 * (365 - 2) / 6))


def test_a_count_independent_of_history_scales_only_with_the_study() -> None:
    measured = Study(participants=3, topics=2, day=2)
    assert growth_cost.extrapolate(12, 12, measured, 8, Study(100, 20, 365)) == pytest.approx(
        12 * 2000 / 6
    )
    # a count a little lower at day N is noise, not a shrinking workload
    assert growth_cost.extrapolate(12, 11, measured, 8, Study(3, 2, 365)) == pytest.approx(12)


def test_glue_bills_each_job_run_at_least_a_minute() -> None:
    short = growth_cost.daily_cost({"glue_job_runs": 1, "glue_seconds": 8}, dpu=2)
    assert short["glue"] == pytest.approx(60 / 3600 * 2 * 0.44)
    long = growth_cost.daily_cost({"glue_job_runs": 2, "glue_seconds": 600}, dpu=2)
    assert long["glue"] == pytest.approx(600 / 3600 * 2 * 0.44)


def test_each_service_is_priced_from_its_counts() -> None:
    cost = growth_cost.daily_cost(
        {
            "s3_put_list": 1000,
            "s3_get": 1000,
            "ddb_read_units": 1e6,
            "ddb_write_units": 1e6,
            "lambda_gb_seconds": 1000,
            "lambda_requests": 1e6,
            "sfn_transitions": 1000,
        },
        dpu=2,
    )
    assert cost["s3"] == pytest.approx(0.005 + 0.0004)
    assert cost["dynamodb"] == pytest.approx(0.125 + 0.625)
    assert cost["lambda"] == pytest.approx(0.0166667 + 0.20)
    assert cost["stepfunctions"] == pytest.approx(0.025)
    assert cost["glue"] == 0
    assert cost["total"] == pytest.approx(sum(v for k, v in cost.items() if k != "total"))


def test_job_runs_are_not_scaled_and_dpus_come_from_the_worker_type() -> None:
    early = {"glue_job_runs": 1.0, "glue_seconds": 10.0}
    scaled = growth_cost.at_scale(early, early, Study(3, 2, 2), 8, Study(100, 20, 365))
    assert scaled["glue_job_runs"] == 1
    assert scaled["glue_seconds"] == pytest.approx(10 * 2000 / 6)
    assert growth_cost.dpu_of({"WorkerType": "G.1X", "NumberOfWorkers": 2}) == 2
    assert growth_cost.dpu_of({"MaxCapacity": 0.0625}) == 0.0625
    assert growth_cost.billed_lambda_gb_seconds(2048, 1000.2) == pytest.approx(2 * 1.001)


# ------------------------------------------------------------------------- counting


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "operation"),
    [
        ("GET", "/lake", {"list-type": ["2"], "prefix": ["merged/"]}, {}, "ListObjectsV2"),
        ("GET", "/lake", {}, {}, "ListObjects"),
        ("GET", "/lake/merged/radar/a.parquet", {}, {}, "GetObject"),
        ("HEAD", "/lake/merged/radar/a.parquet", {}, {}, "HeadObject"),
        ("PUT", "/lake/curated/t/a.parquet", {}, {}, "PutObject"),
        ("PUT", "/lake/b", {}, {"X-Amz-Copy-Source": "/lake/a"}, "CopyObject"),
        ("POST", "/lake", {"delete": [""]}, {}, "DeleteObjects"),
        ("DELETE", "/lake/a", {}, {}, "DeleteObject"),
    ],
)
def test_s3_requests_are_named_as_botocore_names_them(
    method: str, path: str, query: dict, headers: dict, operation: str
) -> None:
    assert counters.s3_operation(method, path, query, headers) == operation


def test_response_items_are_what_the_response_carries() -> None:
    listing = b"<ListBucketResult><Contents><Key>a</Key></Contents><Contents><Key>b</Key>"
    assert counters.response_items("s3", "ListObjectsV2", b"", listing) == 2
    assert counters.response_items("s3", "GetObject", b"", b"data") == 1
    assert counters.response_items("dynamodb", "Query", b"", b'{"Count": 7, "Items": []}') == 7
    assert counters.response_items("dynamodb", "GetItem", b"", b"{}") == 0
    batch = b'{"Responses": {"ledger": [{}, {}, {}]}}'
    assert counters.response_items("dynamodb", "BatchGetItem", b"", batch) == 3
    writes = b'{"RequestItems": {"ledger": [{"PutRequest": {}}, {"PutRequest": {}}]}}'
    assert counters.response_items("dynamodb", "BatchWriteItem", writes, b"{}") == 2


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[counters.CallCounter]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    counters.install()
    counters.COUNTER.reset()
    try:
        yield counters.COUNTER
    finally:
        counters.uninstall()


def test_calls_in_this_process_are_counted_with_their_items(counted) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="lake")
        for key in ("merged/a", "merged/b", "merged/c"):
            s3.put_object(Bucket="lake", Key=key, Body=b"12345")
        found = s3.list_objects_v2(Bucket="lake", Prefix="merged/")
        body = s3.get_object(Bucket="lake", Key="merged/a")["Body"].read()
    assert found["KeyCount"] == 3 and body == b"12345"  # the responses are untouched
    tallies = counted.snapshot()
    assert tallies[(counters.LOCAL, "s3", "PutObject")].calls == 3
    listing = tallies[(counters.LOCAL, "s3", "ListObjectsV2")]
    assert (listing.calls, listing.items) == (1, 3)
    got = tallies[(counters.LOCAL, "s3", "GetObject")]
    assert (got.calls, got.items, got.bytes) == (1, 1, 5)


def test_calls_through_motos_server_are_counted_too(counted) -> None:
    """The door the local Glue job process uses: moto's HTTP server in this process."""
    from moto.server import ThreadedMotoServer

    with mock_aws():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            s3 = boto3.client("s3", region_name=REGION, endpoint_url=f"http://{host}:{port}")
            s3.create_bucket(Bucket="lake")
            s3.upload_fileobj(io.BytesIO(b"abc"), "lake", "curated/t/x.parquet")
            s3.list_objects_v2(Bucket="lake")
            assert s3.get_object(Bucket="lake", Key="curated/t/x.parquet")["Body"].read() == b"abc"
            ddb = boto3.client("dynamodb", region_name=REGION, endpoint_url=f"http://{host}:{port}")
            ddb.create_table(
                TableName="ledger",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            for pk in ("a", "b"):
                ddb.put_item(TableName="ledger", Item={"pk": {"S": pk}})
            ddb.get_item(TableName="ledger", Key={"pk": {"S": "a"}})
        finally:
            server.stop()
    tallies = counted.snapshot()
    assert tallies[(counters.LOCAL, "s3", "ListObjectsV2")].items == 1
    assert tallies[(counters.LOCAL, "s3", "GetObject")].bytes == 3
    assert tallies[(counters.LOCAL, "dynamodb", "PutItem")].calls == 2
    assert tallies[(counters.LOCAL, "dynamodb", "GetItem")].items == 1


# ------------------------------------------------------------------------- files and rows


def test_the_watch_finds_the_files_opened_since_start_and_the_files_written(tmp_path: Path) -> None:
    folder = tmp_path / "merged" / "radar"
    folder.mkdir(parents=True)
    (folder / "a.parquet").write_bytes(b"a")
    watch = fileops.OpenWatch(tmp_path)
    try:
        (folder / "a.parquet").read_bytes()  # before start: not counted
        watch.start()
        before = fileops.listing(tmp_path)
        for _ in range(2):
            (folder / "a.parquet").read_bytes()
        (folder / "b.parquet").write_bytes(b"b")
        opened = watch.stop()
    finally:
        watch.close()
    # inotify merges an open repeated while the first is unread: files, not opens, count
    assert set(opened.files) == {"merged/radar/a.parquet", "merged/radar/b.parquet"}
    assert opened.under("merged/")[0] == 2
    changed, gone = fileops.written(before, fileops.listing(tmp_path))
    assert (changed, gone) == (["merged/radar/b.parquet"], [])


def test_a_queue_overflowed_before_the_window_is_dropped(tmp_path: Path) -> None:
    """The embedded AWS's mirroring opens every file of the home between two job runs: more
    events than inotify queues (16,384 by default) must not spoil the next window."""
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_bytes(b"a")
    second.write_bytes(b"b")
    watch = fileops.OpenWatch(tmp_path)
    try:
        watch.start()
        for _ in range(10_000):  # alternating, so that inotify cannot merge them
            first.read_bytes()
            second.read_bytes()
        assert watch.stop().overflowed  # inotify says so, and the bench reports it
        watch.start()
        first.read_bytes()
        opened = watch.stop()
    finally:
        watch.close()
    assert opened.files == {"a": 1} and not opened.overflowed


def test_rows_lost_or_doubled_fail_the_row_check() -> None:
    generated = {"t|p|2025-03-03": 480, "t|p|2025-03-04": 480}
    assert growth.row_check(generated, dict(generated))[0]
    ok, text = growth.row_check(generated, {"t|p|2025-03-03": 480, "t|p|2025-03-04": 960})
    assert not ok and "480 extra" in text
    ok, text = growth.row_check(generated, {"t|p|2025-03-03": 480})
    assert not ok and "480 lost" in text


def test_the_embedded_aws_own_calls_are_left_out_of_the_work() -> None:
    run = growth.Measured(
        day=2,
        status="SUCCEEDED",
        wall_seconds=10,
        execution_seconds=8,
        mirror_seconds=3,
        spark_seconds=2,
        glue_job_runs=1,
        calls={
            "local s3 GetObject": [500, 500, 1],  # the embedded AWS mirroring its folders
            "phenolake-PlanFunctionRole s3 ListObjectsV2": [1, 40, 1],
            "phenolake-PlanFunctionRole dynamodb Query": [2, 30, 1],
            "phenolake-GlueJobRole s3 GetObject": [6, 6, 1],
            "phenolake-UnzipFunctionRole dynamodb PutItem": [4, 4, 1],
        },
        lambdas={"PlanFunction": [1, 0.5]},
        opened={"merged/": [5, 9], "curated/": [2, 2]},
        written={"curated/": 3},
    )
    assert run.pipeline_seconds == 5
    found = growth.reads(run)
    assert found["Plan: S3 keys listed"] == 40
    assert found["Plan: ledger items read"] == 30
    assert found["Curate: S3 objects read"] == 6
    assert found["Curate: merged files opened"] == 5
    counted = growth.work(run)
    assert counted["s3_get"] == 6 + 5 + 2  # the job's GETs and one per file it opened
    assert counted["s3_put_list"] == 1 + 3  # a LIST page and the files the job wrote
    assert (counted["ddb_read_units"], counted["ddb_write_units"]) == (30, 4)
    assert counted["lambda_gb_seconds"] == 0.5
