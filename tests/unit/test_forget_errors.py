"""Forget reports exactly what S3 deleted: keys a DeleteObjects call returns in Errors are
listed (by the sha256 of their key), not counted as deleted, and the deletion fails."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from phenolake import forget
from phenolake.config import Settings
from tests.ledger import create_ledger

LAKE, LANDING, SCRATCH, LEDGER = "lake", "landing", "scratch", "ledger"
KEPT = "merged/mhealth/readings/participant=2/date=2024-10-01/part.parquet"
GONE = "merged/mhealth/readings/participant=2/date=2024-10-02/part.parquet"


@pytest.fixture
def lake() -> Iterator[boto3.client]:
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    with mock_aws():
        from phenolake import storage

        storage.reset_clients()
        s3 = boto3.client("s3", region_name="us-east-1")
        for bucket in (LAKE, LANDING, SCRATCH):
            s3.create_bucket(Bucket=bucket)
        create_ledger(boto3.client("dynamodb", region_name="us-east-1"), LEDGER)
        boto3.client("glue", region_name="us-east-1").create_database(
            DatabaseInput={"Name": "phenolake"}
        )
        for key in (KEPT, GONE):
            s3.put_object(Bucket=LAKE, Key=key, Body=b"x")
        # S3 refuses one key (as a bucket policy, a missing grant or object lock would)
        s3.put_bucket_policy(
            Bucket=LAKE,
            Policy=json.dumps(
                {
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:DeleteObject",
                            "Resource": f"arn:aws:s3:::{LAKE}/{KEPT}",
                        }
                    ]
                }
            ),
        )
        yield s3
        storage.reset_clients()


def test_a_refused_key_is_listed_not_counted_and_the_deletion_fails(lake) -> None:
    settings = Settings(
        landing_bucket=LANDING, lake_bucket=LAKE, scratch_bucket=SCRATCH, ledger_table=LEDGER
    )
    with pytest.raises(
        forget.DeletionIncomplete, match=r"1 object\(s\) were not deleted \(AccessDenied: 1\)"
    ):
        forget.forget(settings, "2", requested_by="test", timestream_retention_days=None)
    left = [o["Key"] for o in lake.list_objects_v2(Bucket=LAKE, Prefix="merged/")["Contents"]]
    assert left == [KEPT]
    audit_key = lake.list_objects_v2(Bucket=LAKE, Prefix="manifests/deletions/")["Contents"][0][
        "Key"
    ]
    audit = json.loads(lake.get_object(Bucket=LAKE, Key=audit_key)["Body"].read())
    assert audit["complete"] is False
    assert audit["deleted_objects"]["merged"] == 1  # GONE only
    assert audit["failed_objects"] == [
        {
            "zone": "merged",
            "bucket": LAKE,
            "key_sha256": hashlib.sha256(KEPT.encode()).hexdigest(),
            "version_id": "",
            "code": "AccessDenied",
            "message": "Access Denied",
        }
    ]
    assert "participant=2" not in json.dumps(audit)  # keys are named by their sha256 only


def test_a_table_without_a_declared_participant_column_stops_it_before_any_delete(lake) -> None:
    glue = boto3.client("glue", region_name="us-east-1")
    glue.create_table(
        DatabaseName="phenolake",
        TableInput={
            "Name": "fitbit_steps",
            "StorageDescriptor": {
                "Columns": [{"Name": "user", "Type": "string"}, {"Name": "steps", "Type": "int"}],
                "Location": f"s3://{LAKE}/curated/fitbit_steps/",
            },
            "PartitionKeys": [{"Name": "date", "Type": "string"}],
        },
    )
    settings = Settings(
        landing_bucket=LANDING, lake_bucket=LAKE, scratch_bucket=SCRATCH, ledger_table=LEDGER
    )
    with pytest.raises(forget.tables.UndeclaredTable, match=r"^table 'fitbit_steps' is declared"):
        forget.forget(settings, "2", requested_by="test", timestream_retention_days=None)
    left = [o["Key"] for o in lake.list_objects_v2(Bucket=LAKE, Prefix="merged/")["Contents"]]
    assert left == [KEPT, GONE]  # nothing was deleted


def test_a_declared_participant_column_the_catalog_lacks_is_named(lake) -> None:
    glue = boto3.client("glue", region_name="us-east-1")
    glue.create_table(
        DatabaseName="phenolake",
        TableInput={
            "Name": "mhealth",
            "StorageDescriptor": {
                "Columns": [{"Name": "participant", "Type": "string"}],
                "Location": f"s3://{LAKE}/curated/mhealth/",
            },
        },
    )
    settings = Settings(
        landing_bucket=LANDING, lake_bucket=LAKE, scratch_bucket=SCRATCH, ledger_table=LEDGER
    )
    with pytest.raises(
        forget.tables.UndeclaredTable,
        match=r"^table 'mhealth': its declared participant column 'user_id' is neither",
    ):
        forget.forget(settings, "2", requested_by="test", timestream_retention_days=None)
