"""IAM enforced in the embedded AWS: each role's calls decided by the template's policies, with
AWS's answers (AccessDenied naming the call, 403 for a missing key, DeleteObjects per key)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from phenolake_local import iam
from phenolake_local.engine import EmbeddedAWS

REGION = "us-east-1"


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedAWS]:
    with EmbeddedAWS(tmp_path_factory.mktemp("iam"), persist=False) as embedded:
        yield embedded


def role(logical_id: str) -> str:
    return f"phenolake-{logical_id}Role"


def denied(call: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    return str(raised.value)


def test_roles_come_from_the_sam_translation(aws: EmbeddedAWS) -> None:
    roles = aws.roles
    assert roles.function_roles["phenolake-PlanFunction"] == role("PlanFunction")
    assert roles.state_machine_roles["phenolake-pipeline"] == "phenolake-PipelineStateMachineRole"
    assert roles.glue_job_roles == {
        "phenolake-curate": "phenolake-GlueJobRole",
        "phenolake-freeze": "phenolake-FreezeJobRole",  # its own: curated tables, freezes
        "phenolake-maintain": "phenolake-MaintainJobRole",
    }
    forget = {name for name, _ in roles.role(role("ForgetFunction")).documents}
    assert "AWSLambdaBasicExecutionRole" in forget  # SAM attaches it to every function role
    # S3CrudPolicy expanded to its real actions, on the lake only (not landing)
    statements = [s for p in roles.role(role("ForgetFunction")).policies for s in p.statements]
    crud = [s for s in statements if s.actions and "s3:PutObject" in s.actions]
    assert crud and all("landing" not in r for s in crud for r in s.resources or ())


def test_a_denied_call_names_role_action_and_resource(aws: EmbeddedAWS) -> None:
    ledger = aws.env()["LEDGER_TABLE"]
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    with iam.acting_as(role("RecordFunction")):  # PutItem and DeleteItem only: no GetItem
        message = denied(
            dynamodb.get_item, TableName=ledger, Key={"pk": {"S": "a"}, "sk": {"S": "b"}}
        )
        dynamodb.put_item(TableName=ledger, Item={"pk": {"S": "a"}, "sk": {"S": "b"}})
    assert "AccessDeniedException" in message
    assert f"assumed-role/{role('RecordFunction')}/" in message
    assert "dynamodb:GetItem" in message
    assert f"arn:aws:dynamodb:{REGION}:123456789012:table/{ledger}" in message
    assert iam.ENFORCER.denials[-1].action == "dynamodb:GetItem"


def test_a_missing_key_is_403_without_list_bucket_and_404_with_it(aws: EmbeddedAWS) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    lake = aws.bucket("LakeBucket")
    with iam.acting_as(role("ConvertFunction")):  # GetObject on raw/*, no ListBucket
        message = denied(s3.get_object, Bucket=lake, Key="raw/not-there.csv")
    assert "AccessDenied" in message and "s3:ListBucket" in message
    # Completeness is allowed s3:ListBucket on the lake: S3 tells it the key is absent
    with iam.acting_as(role("CompletenessFunction")), pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=lake, Key="config/study.yaml")


def test_copy_object_needs_get_object_on_its_source(aws: EmbeddedAWS) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    lake = aws.bucket("LakeBucket")
    aws.s3.put_object(Bucket=lake, Key="curated/t/a.parquet", Body=b"a")
    aws.s3.put_object(Bucket=lake, Key="merged/m/a.parquet", Body=b"a")
    glue_role = "phenolake-GlueJobRole"
    with iam.acting_as(glue_role):  # Get/Put on curated/*, Get on merged/*, no Put on stage/
        s3.copy_object(
            Bucket=lake, Key="curated/t/b.parquet", CopySource=f"{lake}/merged/m/a.parquet"
        )
    with iam.acting_as(role("ConvertFunction")):  # Put on stage/*, Get on raw/* only
        message = denied(
            s3.copy_object,
            Bucket=lake,
            Key="stage/b.parquet",
            CopySource=f"{lake}/curated/t/a.parquet",
        )
    assert f's3:GetObject on resource: "arn:aws:s3:::{lake}/curated/t/a.parquet"' in message


def test_delete_objects_is_decided_per_key(aws: EmbeddedAWS) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    lake = aws.bucket("LakeBucket")
    for key in ("curated/t/x.parquet", "merged/m/x.parquet"):
        aws.s3.put_object(Bucket=lake, Key=key, Body=b"x")
    with iam.acting_as("phenolake-GlueJobRole"):  # DeleteObject on curated/* only
        response = s3.delete_objects(
            Bucket=lake,
            Delete={"Objects": [{"Key": "curated/t/x.parquet"}, {"Key": "merged/m/x.parquet"}]},
        )
    assert [d["Key"] for d in response["Deleted"]] == ["curated/t/x.parquet"]
    assert [(e["Key"], e["Code"]) for e in response["Errors"]] == [
        ("merged/m/x.parquet", "AccessDenied")
    ]
    left = aws.s3.list_objects_v2(Bucket=lake, Prefix="merged/m/x")["KeyCount"]
    assert left == 1


def test_bucket_policies_apply_to_every_role(aws: EmbeddedAWS) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    scratch = aws.bucket("ScratchBucket")
    with iam.acting_as(role("UnzipFunction")):
        s3.put_object(Bucket=scratch, Key="run/screenlake/z.zip/img.jpg", Body=b"i")
        message = denied(s3.get_object, Bucket=scratch, Key="run/screenlake/z.zip/img.jpg")
    assert "explicit deny in resource-based policy" in message and "OnlyRedactReads" in message
    plain_http = boto3.client("s3", region_name=REGION, endpoint_url="http://s3.amazonaws.com")
    with iam.acting_as(role("RedactFunction")):
        s3.get_object(Bucket=scratch, Key="run/screenlake/z.zip/img.jpg")
        message = denied(plain_http.get_object, Bucket=scratch, Key="run/screenlake/z.zip/img.jpg")
    assert "TlsOnly" in message


def test_threads_a_handler_starts_act_as_its_role(aws: EmbeddedAWS) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    lake = aws.bucket("LakeBucket")
    with iam.acting_as(role("ConvertFunction")), ThreadPoolExecutor(2) as pool:
        future = pool.submit(s3.put_object, Bucket=lake, Key="curated/t/z.parquet", Body=b"z")
        with pytest.raises(ClientError, match="s3:PutObject"):
            future.result()


def test_secrets_and_topics_by_their_arns(aws: EmbeddedAWS) -> None:
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secret = aws.env()["KAGGLE_SECRET_ID"]
    with iam.acting_as(role("FetchFunction")):
        assert secrets.get_secret_value(SecretId=secret)["SecretString"]
    with iam.acting_as(role("NotifyFunction")):
        assert "secretsmanager:GetSecretValue" in denied(secrets.get_secret_value, SecretId=secret)
        boto3.client("sns", region_name=REGION).publish(
            TopicArn=aws.env()["TOPIC_ARN"], Message="m"
        )


def test_a_call_the_evaluator_cannot_map_is_refused(aws: EmbeddedAWS) -> None:
    glue = boto3.client("glue", region_name=REGION)
    with iam.acting_as(role("CollectFunction")):
        message = denied(glue.get_crawlers)
    assert "not mapped" in message and "glue:GetCrawlers" in message


def test_the_developer_key_is_not_enforced(aws: EmbeddedAWS) -> None:
    assert aws.s3.list_objects_v2(Bucket=aws.bucket("LandingBucket"))["KeyCount"] >= 0


def test_the_hooks_are_in_place() -> None:
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.s3.responses import S3Response

    assert ActionAuthenticatorMixin._authenticate_and_authorize_action._phenolake  # type: ignore[attr-defined]
    assert S3Response._bucket_response_delete_keys._phenolake  # type: ignore[attr-defined]


def test_every_managed_policy_the_template_attaches_is_known() -> None:
    from phenolake_local import template

    root = Path(__file__).resolve().parents[2]
    roles = iam.RoleSet.from_template(root, template.load(root).parameters)
    attached = {n for r in roles.roles.values() for n, _ in r.documents}
    assert "AWSGlueServiceRole" not in attached  # item 10: no glue:* on *


def test_with_a_kms_key_every_role_that_touches_the_buckets_may_use_it() -> None:
    from phenolake_local import template

    root = Path(__file__).resolve().parents[2]
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    parameters = template.load(root, {"KmsKeyArn": key, "EnableTimestream": "true"}).parameters
    roles = iam.RoleSet.from_template(root, parameters)
    assert set(roles.bucket_keys.values()) == {key}
    for name in (
        *[role(f) for f in ("ConvertFunction", "ForgetFunction", "NotifyFunction")],
        "phenolake-GlueJobRole",
        "phenolake-MaintainJobRole",
        "phenolake-PipelineStateMachineRole",  # the batch load reads SSE-KMS files as it
    ):
        request = iam.Request(roles.role(name).arn, "kms:Decrypt", key)
        assert iam.evaluate(request, roles.role(name).policies).allowed, name


def test_the_upkeep_role_rewrites_curated_files_and_writes_only_its_report(
    aws: EmbeddedAWS,
) -> None:
    """Upkeep rewrites and deletes under curated/ and commits the tables; it reads no other
    zone and writes nothing but its report."""
    lake = aws.bucket("LakeBucket")
    aws.s3.put_object(Bucket=lake, Key="merged/radar/p/2024-10-01.parquet", Body=b"x")
    with iam.acting_as("phenolake-MaintainJobRole"):
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.put_object(Bucket=lake, Key="curated/t/data/f.parquet", Body=b"x")
        s3.delete_object(Bucket=lake, Key="curated/t/data/f.parquet")
        s3.put_object(Bucket=lake, Key="manifests/upkeep/run.json", Body=b"{}")
        assert "AccessDenied" in denied(
            s3.put_object, Bucket=lake, Key="manifests/runs/HEAD.json", Body=b"{}"
        )
        assert "AccessDenied" in denied(
            s3.get_object, Bucket=lake, Key="merged/radar/p/2024-10-01.parquet"
        )
        glue = boto3.client("glue", region_name="us-east-1")
        glue.get_tables(DatabaseName="phenolake")
        assert "AccessDenied" in denied(
            glue.batch_delete_partition,
            DatabaseName="phenolake",
            TableName="t",
            PartitionsToDelete=[{"Values": ["x"]}],
        )
