"""Kaggle -> Fetch -> Unzip -> Convert -> Glue -> Athena, through the real state machine."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import boto3
import pytest

from phenolake import study
from phenolake.sources.mhealth import MHealth
from phenolake_local.engine import EmbeddedAWS
from phenolake_tools import query
from tests.fakes.kaggle_server import FakeKaggle

pytestmark = pytest.mark.slow
DATASET = "nirmalsankalana/mhealth-dataset-data-set"


def test_a_kaggle_dataset_becomes_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spark: object
) -> None:
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "TEST")
    logs = MHealth().write_samples(tmp_path / "kaggle", seed=11, rows=400)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for log in logs[:2]:
            zf.write(log, f"MHEALTHDATASET/{log.name}")
        zf.writestr("MHEALTHDATASET/README.txt", "the dataset's readme")
    fake = FakeKaggle(username="researcher", key="k3y", datasets={DATASET: (1, buffer.getvalue())})
    server = fake.serve()
    home = tmp_path / "home"
    try:
        with EmbeddedAWS(home) as aws:
            config = f"sources:\n  mhealth:\n    options: {{kaggle_dataset: {DATASET}}}\n"
            aws.s3.put_object(Bucket=aws.bucket("LakeBucket"), Key=study.CONFIG_KEY, Body=config)
            boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
                SecretId=aws.env()["KAGGLE_SECRET_ID"],
                SecretString=json.dumps({"username": "researcher", "key": "k3y"}),
            )
            arn = aws.start_execution("run-kaggle", {"sources": ["mhealth"]})
            described = aws.wait(arn)
            second = aws.wait(aws.start_execution("run-kaggle-again", {"sources": ["mhealth"]}))
    finally:
        server.shutdown()
        server.server_close()
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["fetch"]["fetched"] == 1
    assert second["status"] == "SUCCEEDED" and json.loads(second["output"])["fetch"]["fetched"] == 0
    assert fake.downloads == [DATASET]
    rows = query.query_local(
        "SELECT user_id, count(*) AS n FROM mhealth GROUP BY user_id ORDER BY 1", home
    )
    assert rows.to_pylist() == [{"user_id": "1", "n": 400}, {"user_id": "2", "n": 400}]
