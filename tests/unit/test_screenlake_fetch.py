"""Screenlake zips and loose log CSVs fetched from the panel's source bucket by LastModified
(UTC) and panelist."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from phenolake.sources.screenlake import Screenlake
from phenolake_local.engine import EmbeddedAWS

RUN = "run-fetch-1"
PANEL = "academia/tenant/17_northfield/panel/3/V_2/panelist/"
ZIPS = [
    f"{PANEL}p001/image_zip_aaa_3.zip",
    f"{PANEL}p001/image_zip_bbb_2.zip",
    f"{PANEL}p002/image_zip_ccc_3.zip",
    "academia/tenant/18_other/panel/1/V_1/panelist/p009/image_zip_ddd_1.zip",
]
#: The app's loose log CSVs (RealUploadHandler.buildUploadPath): beside tenant/, by panelist.
LOGS = [
    "academia/log_events_v2/p001/V_2/5d1c0f0e-0000-4000-8000-000000000001.csv",
    "academia/log_events_v2/p002/V_2/5d1c0f0e-0000-4000-8000-000000000002.csv",
]


@pytest.fixture
def aws(tmp_path: Path) -> Iterator[EmbeddedAWS]:
    # Fetch may read the panel's bucket only when it is one of the stack's SourceBuckets
    with EmbeddedAWS(
        tmp_path / "home", parameters={"SourceBuckets": "screenlake-zip-prod"}
    ) as embedded:
        embedded.s3.create_bucket(Bucket="screenlake-zip-prod")
        for key in ZIPS + LOGS:
            embedded.s3.put_object(Bucket="screenlake-zip-prod", Key=key, Body=key.encode())
        yield embedded


def fetch(aws: EmbeddedAWS, day: dt.date, options: dict[str, Any]) -> dict[str, Any]:
    assert aws.deployment is not None
    lake = aws.bucket("LakeBucket")
    aws.s3.put_object(Bucket=lake, Key=f"manifests/{RUN}/work/landed.json", Body=b"[]")
    tasks = [t.as_dict() for t in Screenlake().fetch_tasks(options)]
    event = {
        "run_id": RUN,
        "plan": {"window": {"start": day.isoformat(), "end": day.isoformat()}, "fetch": tasks},
    }
    response = boto3.client("lambda", region_name="us-east-1").invoke(
        FunctionName=aws.deployment.functions["FetchFunction"].name,
        Payload=json.dumps(event).encode(),
    )
    return json.loads(response["Payload"].read())


def landed(aws: EmbeddedAWS) -> list[str]:
    listed = aws.s3.list_objects_v2(Bucket=aws.bucket("LandingBucket")).get("Contents", [])
    return sorted(o["Key"] for o in listed)


def test_zips_of_the_window_and_panelists_are_landed_once(aws: EmbeddedAWS) -> None:
    today = dt.datetime.now(dt.UTC).date()
    options = {"bucket": "screenlake-zip-prod", "prefix": PANEL, "include_sites": ["p001"]}
    assert fetch(aws, today - dt.timedelta(days=1), options)["fetched"] == 0
    assert landed(aws) == []
    assert fetch(aws, today, options)["fetched"] == 3
    # the whole source key: p001's zips and its loose log CSV
    assert landed(aws) == sorted(f"screenlake/{key}" for key in [*ZIPS[:2], LOGS[0]])
    member = Screenlake().member(f"{ZIPS[0]}/screenshot_data_csv_aaa.csv")
    assert member is not None and member.participant == "p001"
    log = Screenlake().member(LOGS[0])
    assert log is not None and (log.participant, log.metric) == ("p001", "logs")
    assert fetch(aws, today, options)["fetched"] == 0  # same ETag: not copied again
    everyone = fetch(aws, today, {"bucket": "screenlake-zip-prod"})
    assert everyone["fetched"] == 3
    assert landed(aws) == sorted(f"screenlake/{key}" for key in ZIPS + LOGS)
