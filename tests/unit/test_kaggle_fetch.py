"""The Kaggle fetcher drives the real Kaggle client (kagglesdk) against a fake Kaggle API.

Nothing of ours is mocked: the client makes its real HTTP calls to ``tests/fakes/
kaggle_server.py`` on 127.0.0.1, selected with the client's own switch
(``KAGGLE_API_ENVIRONMENT=TEST``, http://localhost:7777), whose port is moved to a free one
so that test runs side by side do not collide. moto mocks S3 and Secrets Manager; its
``responses`` mock passes every non-AWS URL through, so the client's requests reach the fake.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import logging
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from kagglesdk import kaggle_env
from moto import mock_aws

from phenolake import storage
from phenolake.config import Settings
from phenolake.fetchers.kaggle import KaggleFetchError, fetch_dataset
from phenolake.sources.mhealth import MHealth
from tests.fakes.kaggle_server import FakeKaggle

DATASET = "nirmalsankalana/mhealth-dataset-data-set"
KEY_V2 = "mhealth/kaggle/nirmalsankalana/mhealth-dataset-data-set/v2/mhealth-dataset-data-set.zip"
USERNAME, KEY = "researcher", "s3cr3t-kaggle-key-0123456789"
SETTINGS = Settings(
    landing_bucket="landing",
    lake_bucket="lake",
    scratch_bucket="scratch",
    kaggle_secret_id="phenolake/kaggle",
)
TASK = {"source": "mhealth", "kind": "kaggle", "dataset": DATASET}

_opened: list[str] | None = None  # files opened while a test watches
_hooked = False


def _audit(event: str, args: tuple) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], (str, Path)):
        _opened.append(str(args[0]))


def watch_opens() -> list[str]:
    """Start recording the files this process opens (an audit hook, installed once)."""
    global _hooked, _opened
    if not _hooked:
        sys.addaudithook(_audit)
        _hooked = True
    _opened = []
    return _opened


def stop_watching() -> None:
    global _opened
    _opened = None


def dataset_zip(tmp_path: Path) -> bytes:
    [log, *_] = MHealth().write_samples(tmp_path / "samples", seed=3, rows=50)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.write(log, f"MHEALTHDATASET/{log.name}")
    return buffer.getvalue()


def put_secret(value: dict[str, str]) -> None:
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId="phenolake/kaggle", SecretString=json.dumps(value)
    )


def landed_keys() -> list[str]:
    s3 = boto3.client("s3", region_name="us-east-1")
    return [o["Key"] for o in s3.list_objects_v2(Bucket="landing").get("Contents", [])]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder where the Kaggle client would look for credentials; empty by default."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def kaggle(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKaggle]:
    fake = FakeKaggle(username=USERNAME, key=KEY, datasets={DATASET: (2, dataset_zip(tmp_path))})
    server = fake.serve(port=0)
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "TEST")
    monkeypatch.setitem(kaggle_env._env_to_endpoint, kaggle_env.KaggleEnv.TEST, fake.endpoint)
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    try:
        with mock_aws():
            storage.reset_clients()
            boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="landing")
            boto3.client("secretsmanager", region_name="us-east-1").create_secret(
                Name="phenolake/kaggle",
                SecretString=json.dumps({"username": USERNAME, "key": KEY}),
            )
            yield fake
    finally:
        storage.reset_clients()
        server.shutdown()
        server.server_close()


def test_first_fetch_lands_the_zip_with_its_version(kaggle: FakeKaggle) -> None:
    [landed] = fetch_dataset(TASK, SETTINGS)

    s3 = boto3.client("s3", region_name="us-east-1")
    head = s3.head_object(Bucket="landing", Key=KEY_V2)
    body = s3.get_object(Bucket="landing", Key=KEY_V2)["Body"].read()
    assert body == kaggle.datasets[DATASET][1]
    assert zipfile.ZipFile(io.BytesIO(body)).namelist() == ["MHEALTHDATASET/mHealth_subject1.log"]
    assert head["Metadata"] == {
        "kaggle-dataset": DATASET,
        "kaggle-version": "2",
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    assert landed == {
        "source": "mhealth",
        "bucket": "landing",
        "key": KEY_V2,
        "size": len(body),
        "etag": head["ETag"].strip('"'),
        "last_modified": head["LastModified"].astimezone(dt.UTC).isoformat(),
    }
    assert '"' not in landed["etag"]
    assert dt.datetime.fromisoformat(landed["last_modified"]).tzinfo is not None
    # The client asked for the version, then that version's file, with HTTP basic auth...
    basic = "Basic " + base64.b64encode(f"{USERNAME}:{KEY}".encode()).decode()
    assert kaggle.calls == ["GetDataset", "DownloadDataset"]
    assert kaggle.auth_seen == [basic, basic]
    assert kaggle.versions_downloaded == [(DATASET, 2)]
    # ...and the storage host it was redirected to did not get the credentials.
    assert kaggle.file_auth_seen == [""]


def test_a_version_already_landed_is_not_downloaded_again(kaggle: FakeKaggle) -> None:
    [first] = fetch_dataset(TASK, SETTINGS)
    assert fetch_dataset(TASK, SETTINGS) == []
    assert kaggle.downloads == [DATASET]
    assert kaggle.calls == ["GetDataset", "DownloadDataset", "GetDataset"]
    assert landed_keys() == [first["key"]]


def test_a_new_version_lands_at_a_new_key(kaggle: FakeKaggle, tmp_path: Path) -> None:
    fetch_dataset(TASK, SETTINGS)
    newer = dataset_zip(tmp_path / "v3")
    kaggle.datasets[DATASET] = (3, newer)
    [landed] = fetch_dataset(TASK, SETTINGS)
    assert landed["key"] == KEY_V2.replace("/v2/", "/v3/")
    assert kaggle.versions_downloaded == [(DATASET, 2), (DATASET, 3)]
    assert sorted(landed_keys()) == sorted([KEY_V2, landed["key"]])


def test_wrong_credentials_fail_in_one_line_naming_the_dataset(
    kaggle: FakeKaggle, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    kaggle.key = "rotated"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(KaggleFetchError) as raised:
        fetch_dataset(TASK, SETTINGS)
    assert str(raised.value) == f"kaggle dataset {DATASET}: credentials refused (HTTP 401)"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert kaggle.downloads == [] and landed_keys() == []
    out = capsys.readouterr()
    assert KEY not in caplog.text + out.out + out.err


def test_an_unknown_dataset_fails_naming_it(kaggle: FakeKaggle) -> None:
    with pytest.raises(KaggleFetchError) as raised:
        fetch_dataset({**TASK, "dataset": "someone/nothing"}, SETTINGS)
    assert str(raised.value) == "kaggle dataset someone/nothing: no such dataset (HTTP 404)"
    assert landed_keys() == []


def test_a_malformed_dataset_name_is_refused(kaggle: FakeKaggle) -> None:
    with pytest.raises(KaggleFetchError, match="expected owner/slug"):
        fetch_dataset({**TASK, "dataset": "no-owner"}, SETTINGS)
    assert kaggle.calls == []


def test_an_unreachable_kaggle_fails_in_one_line(
    kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        kaggle_env._env_to_endpoint, kaggle_env.KaggleEnv.TEST, "http://127.0.0.1:9"
    )
    with pytest.raises(KaggleFetchError, match=f"^kaggle dataset {DATASET}: ConnectionError") as e:
        fetch_dataset(TASK, SETTINGS)
    assert "\n" not in str(e.value)


def test_a_download_that_is_not_a_zip_does_not_land(kaggle: FakeKaggle) -> None:
    kaggle.datasets[DATASET] = (2, b"<html>maintenance</html>")
    with pytest.raises(KaggleFetchError, match=f"^kaggle dataset {DATASET}: v2 download is not"):
        fetch_dataset(TASK, SETTINGS)
    assert landed_keys() == []


def test_an_api_token_secret_is_sent_as_a_bearer_token(kaggle: FakeKaggle) -> None:
    kaggle.token = "KGAT_0123456789abcdef"
    put_secret({"token": kaggle.token})
    [landed] = fetch_dataset(TASK, SETTINGS)
    assert landed["key"] == KEY_V2
    assert kaggle.auth_seen == [f"Bearer {kaggle.token}"] * 2


@pytest.mark.parametrize(
    "value", [{"username": "", "key": ""}, {"username": USERNAME}, {"user": "x", "pass": "y"}]
)
def test_a_secret_without_credentials_fails_naming_the_dataset_and_secret(
    kaggle: FakeKaggle, value: dict[str, str]
) -> None:
    put_secret(value)
    with pytest.raises(KaggleFetchError) as raised:
        fetch_dataset(TASK, SETTINGS)
    assert str(raised.value).startswith(f"kaggle dataset {DATASET}: Kaggle credentials: secret ")
    assert "'phenolake/kaggle' is empty" in str(raised.value)
    assert kaggle.calls == []


def test_a_missing_secret_fails_naming_it(kaggle: FakeKaggle) -> None:
    settings = Settings(**{**SETTINGS.__dict__, "kaggle_secret_id": "phenolake/nothing"})
    with pytest.raises(KaggleFetchError, match="secret 'phenolake/nothing': ResourceNotFound"):
        fetch_dataset(TASK, settings)


@pytest.mark.parametrize("planted_in", ["home", "environment"])
def test_credentials_come_from_the_secret_only(
    kaggle: FakeKaggle, home: Path, monkeypatch: pytest.MonkeyPatch, planted_in: str
) -> None:
    """Keys and tokens in ~/.kaggle or KAGGLE_* variables are neither read nor sent."""
    if planted_in == "home":
        planted = home / ".kaggle"
        planted.mkdir()
        (planted / "kaggle.json").write_text(json.dumps({"username": "disk", "key": "disk-key"}))
        (planted / "access_token").write_text("disk-token")
        (planted / "access_token.txt").write_text("disk-token")
    else:
        monkeypatch.setenv("KAGGLE_API_TOKEN", "env-token")
        monkeypatch.setenv("KAGGLE_USERNAME", "env-user")
        monkeypatch.setenv("KAGGLE_KEY", "env-key")
    before = sorted(p.relative_to(home) for p in home.rglob("*"))
    opened = watch_opens()
    try:
        [landed] = fetch_dataset(TASK, SETTINGS)
    finally:
        stop_watching()
    assert landed["key"] == KEY_V2
    basic = "Basic " + base64.b64encode(f"{USERNAME}:{KEY}".encode()).decode()
    assert kaggle.auth_seen == [basic, basic]
    assert [path for path in opened if path.startswith(str(home))] == []
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == before


def test_the_key_is_never_logged_or_printed(
    kaggle: FakeKaggle, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    [landed] = fetch_dataset(TASK, SETTINGS)
    assert fetch_dataset(TASK, SETTINGS) == []
    out = capsys.readouterr()
    assert KEY not in caplog.text + out.out + out.err
    assert landed["key"] in caplog.text
