"""The Kaggle fetcher drives the real Kaggle client (kagglesdk) against a fake Kaggle API."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from phenolake.config import Settings
from phenolake.fetchers.kaggle import KaggleFetchError, fetch_dataset
from phenolake.sources.mhealth import MHealth
from tests.fakes.kaggle_server import FakeKaggle

DATASET = "nirmalsankalana/mhealth-dataset-data-set"
SETTINGS = Settings(
    landing_bucket="landing",
    lake_bucket="lake",
    scratch_bucket="scratch",
    kaggle_secret_id="phenolake/kaggle",
)
TASK = {"source": "mhealth", "kind": "kaggle", "dataset": DATASET}


def dataset_zip(tmp_path: Path) -> bytes:
    [log, *_] = MHealth().write_samples(tmp_path, seed=3, rows=50)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.write(log, f"MHEALTHDATASET/{log.name}")
    return buffer.getvalue()


@pytest.fixture
def kaggle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKaggle]:
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "TEST")  # the client's own switch: localhost:7777
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle-dir"))
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    fake = FakeKaggle(
        username="researcher", key="s3cr3t", datasets={DATASET: (2, dataset_zip(tmp_path))}
    )
    server = fake.serve()
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="landing")
        boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="phenolake/kaggle",
            SecretString=json.dumps({"username": "researcher", "key": "s3cr3t"}),
        )
        from phenolake import storage

        storage.reset_clients()
        yield fake
        storage.reset_clients()
    server.shutdown()
    server.server_close()


def test_a_new_version_lands_once(kaggle: FakeKaggle, tmp_path: Path) -> None:
    [landed] = fetch_dataset(TASK, SETTINGS)
    key = "mhealth/kaggle/nirmalsankalana/mhealth-dataset-data-set/v2/mhealth-dataset-data-set.zip"
    assert landed["key"] == key and landed["bucket"] == "landing"
    s3 = boto3.client("s3", region_name="us-east-1")
    head = s3.head_object(Bucket="landing", Key=key)
    assert (
        head["Metadata"]["kaggle-version"] == "2" and head["Metadata"]["kaggle-dataset"] == DATASET
    )
    body = s3.get_object(Bucket="landing", Key=key)["Body"].read()
    assert zipfile.ZipFile(io.BytesIO(body)).namelist() == ["MHEALTHDATASET/mHealth_subject1.log"]
    assert kaggle.auth_seen[0].startswith("Basic ")
    assert fetch_dataset(TASK, SETTINGS) == []
    assert kaggle.downloads == [DATASET]
    kaggle.datasets[DATASET] = (3, kaggle.datasets[DATASET][1])
    [newer] = fetch_dataset(TASK, SETTINGS)
    assert "/v3/" in newer["key"] and len(kaggle.downloads) == 2
    assert not (tmp_path / "no-kaggle-dir").exists()


def test_wrong_credentials_name_the_dataset(kaggle: FakeKaggle) -> None:
    kaggle.key = "rotated"
    with pytest.raises(KaggleFetchError, match=f"^kaggle dataset {DATASET}: credentials refused$"):
        fetch_dataset(TASK, SETTINGS)


def test_unknown_dataset(kaggle: FakeKaggle) -> None:
    missing = r"^kaggle dataset someone/nothing: no such dataset$"
    with pytest.raises(KaggleFetchError, match=missing):
        fetch_dataset({**TASK, "dataset": "someone/nothing"}, SETTINGS)


def test_missing_secret_value(kaggle: FakeKaggle) -> None:
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId="phenolake/kaggle", SecretString='{"username": "", "key": ""}'
    )
    with pytest.raises(KaggleFetchError, match="secret 'phenolake/kaggle' is empty"):
        fetch_dataset(TASK, SETTINGS)
