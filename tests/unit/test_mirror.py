"""The local state folder round-trips buckets, the Glue catalog and DynamoDB items."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from moto import mock_aws

from phenolake import catalog
from phenolake_local import mirror
from tests.ledger import create_ledger


def test_buckets_catalog_and_tables_round_trip(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    state = tmp_path / ".state"
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        glue = boto3.client("glue", region_name="us-east-1")
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        s3.create_bucket(Bucket="lake")
        s3.put_object(Bucket="lake", Key="curated/t/user_id=1/part.parquet", Body=b"abc")
        s3.put_object(Bucket="lake", Key="gone.txt", Body=b"x")
        catalog.ensure_database(glue, "db")
        catalog.ensure_table(
            glue, "db", "t", [("a", "double")], [("user_id", "string")], "s3://lake/curated/t/"
        )
        catalog.ensure_partitions(
            glue, "db", "t", [("a", "double")], ["user_id"], "s3://lake/curated/t/", [["1"]]
        )
        create_ledger(ddb)
        ddb.put_item(
            TableName="ledger",
            Item={"pk": {"S": "a"}, "sk": {"S": "b"}, "files": {"N": "3"}, "ratio": {"N": "0.5"}},
        )
        assert mirror.s3_to_files(tmp_path, ["lake"]) == 2
        s3.delete_object(Bucket="lake", Key="gone.txt")
        mirror.s3_to_files(tmp_path, ["lake"])
        mirror.dump_catalog(glue, state / mirror.CATALOG_FILE)
        mirror.dump_tables(ddb, ["ledger"], state)
    assert (tmp_path / "lake/curated/t/user_id=1/part.parquet").read_bytes() == b"abc"
    assert not (tmp_path / "lake/gone.txt").exists()
    saved = json.loads((state / mirror.CATALOG_FILE).read_text())
    assert saved["partitions"]["db"]["t"][0]["Values"] == ["1"]
    assert json.loads((state / "dynamodb/ledger.json").read_text())[0]["files"] == 3

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        glue = boto3.client("glue", region_name="us-east-1")
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        s3.create_bucket(Bucket="lake")
        create_ledger(ddb)
        mirror.files_to_s3(tmp_path, ["lake"])
        mirror.load_catalog(glue, state / mirror.CATALOG_FILE)
        mirror.load_tables(ddb, ["ledger"], state)
        body = s3.get_object(Bucket="lake", Key="curated/t/user_id=1/part.parquet")["Body"].read()
        table = glue.get_table(DatabaseName="db", Name="t")["Table"]
        parts = glue.get_partitions(DatabaseName="db", TableName="t")["Partitions"]
        item = ddb.get_item(TableName="ledger", Key={"pk": {"S": "a"}, "sk": {"S": "b"}})["Item"]
    assert body == b"abc"
    assert table["StorageDescriptor"]["Location"] == "s3://lake/curated/t/"
    assert [p["Values"] for p in parts] == [["1"]]
    assert item["files"] == {"N": "3"} and item["ratio"] == {"N": "0.5"}


def test_a_loaded_lake_stays_in_its_files_until_read(tmp_path: Path, monkeypatch) -> None:
    """Loading the home reads no file whose md5 the last run saved; an object's bytes, size,
    ETag and ranges are the file's when something reads it; a PutObject replaces it."""
    import hashlib

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    body = bytes(range(256)) * 40
    (tmp_path / "lake/merged/radar").mkdir(parents=True)
    (tmp_path / "lake/merged/radar/day.parquet").write_bytes(body)
    (tmp_path / "lake/manifest.json").write_text('{"a": 1}')
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="lake")
        mirror.files_to_s3(tmp_path, ["lake"])
        mirror.save_md5s(tmp_path, ["lake"])
    mirror._MD5_CACHE.clear()  # a new run's process

    opened: list[str] = []
    read_bytes = Path.read_bytes

    def counted(self: Path) -> bytes:
        opened.append(self.name)
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", counted)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="lake")
        mirror.load_md5s(tmp_path)
        assert mirror.files_to_s3(tmp_path, ["lake"]) == 2
        assert opened == []
        listed = s3.list_objects_v2(Bucket="lake")["Contents"]
        head = s3.head_object(Bucket="lake", Key="merged/radar/day.parquet")
        assert opened == []
        whole = s3.get_object(Bucket="lake", Key="merged/radar/day.parquet")
        part = s3.get_object(Bucket="lake", Key="merged/radar/day.parquet", Range="bytes=10-19")
        s3.put_object(Bucket="lake", Key="manifest.json", Body=b'{"a": 2}')
        assert mirror.s3_to_files(tmp_path, ["lake"]) == 1
    assert {o["Key"]: o["Size"] for o in listed} == {
        "manifest.json": 8,
        "merged/radar/day.parquet": len(body),
    }
    assert head["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert whole["Body"].read() == body and whole["ContentLength"] == len(body)
    assert part["Body"].read() == body[10:20]
    assert opened == ["day.parquet"]
    assert (tmp_path / "lake/manifest.json").read_bytes() == b'{"a": 2}'
