"""The embedded AWS's policy evaluator, on the cases of AWS's documented evaluation logic
(IAM User Guide: "Policy evaluation logic", "Condition operators", "Amazon S3 condition keys")."""

from __future__ import annotations

from typing import Any

import pytest

from phenolake_local.iam import Policy, PolicyError, Request, evaluate, s3_checks

ROLE = "arn:aws:iam::123456789012:role/phenolake-PlanFunctionRole"
OTHER = "arn:aws:iam::123456789012:role/phenolake-ConvertFunctionRole"
SESSION = "arn:aws:sts::123456789012:assumed-role/phenolake-PlanFunctionRole/s"
BUCKET = "arn:aws:s3:::lake"


def policy(*statements: dict[str, Any], name: str = "p") -> Policy:
    return Policy.from_document(name, {"Version": "2012-10-17", "Statement": list(statements)})


def request(action: str, resource: str, principal: str = ROLE, **context: Any) -> Request:
    return Request(principal, action, resource, context, SESSION, "123456789012")


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_nothing_allows_is_an_implicit_deny() -> None:
    decision = evaluate(request("s3:GetObject", f"{BUCKET}/a"), [policy()])
    assert not decision.allowed and not decision.explicit_deny
    assert "no identity-based policy allows" in decision.reason


def test_an_explicit_deny_overrides_any_allow() -> None:
    identity = policy(
        allow("s3:*", "*"),
        {"Sid": "NoRaw", "Effect": "Deny", "Action": "s3:GetObject", "Resource": f"{BUCKET}/raw/*"},
        name="fn",
    )
    denied = evaluate(request("s3:GetObject", f"{BUCKET}/raw/x"), [identity])
    assert denied.explicit_deny and "fn (Sid NoRaw)" in denied.policy
    assert evaluate(request("s3:GetObject", f"{BUCKET}/stage/x"), [identity]).allowed


def test_a_deny_in_the_bucket_policy_overrides_the_identity_allow() -> None:
    tls_only = policy(
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [BUCKET, f"{BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        name="lake bucket policy",
    )
    identity = [policy(allow("s3:GetObject", f"{BUCKET}/*"))]
    over_http = request("s3:GetObject", f"{BUCKET}/a", **{"aws:SecureTransport": False})
    assert evaluate(over_http, identity, tls_only).explicit_deny
    over_tls = request("s3:GetObject", f"{BUCKET}/a", **{"aws:SecureTransport": True})
    assert evaluate(over_tls, identity, tls_only).allowed


def test_a_resource_policy_naming_the_role_allows_within_the_account() -> None:
    bucket_policy = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": ROLE},
            "Action": "s3:GetObject",
            "Resource": f"{BUCKET}/*",
        }
    )
    assert evaluate(request("s3:GetObject", f"{BUCKET}/a"), [], bucket_policy).allowed
    assert not evaluate(
        request("s3:GetObject", f"{BUCKET}/a", principal=OTHER), [], bucket_policy
    ).allowed


def test_a_resource_policy_naming_the_account_delegates_to_identity_policies() -> None:
    account = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "s3:*",
            "Resource": "*",
        }
    )
    assert not evaluate(request("s3:GetObject", f"{BUCKET}/a"), [], account).allowed


def test_the_scratch_policy_denies_every_role_but_redact_by_principal_arn() -> None:
    only_redact = policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::scratch/*",
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [OTHER]}},
        }
    )
    identity = [policy(allow("s3:GetObject", "arn:aws:s3:::scratch/*"))]
    assert evaluate(
        request("s3:GetObject", "arn:aws:s3:::scratch/i.jpg"), identity, only_redact
    ).explicit_deny
    redact = request("s3:GetObject", "arn:aws:s3:::scratch/i.jpg", principal=OTHER)
    assert evaluate(redact, identity, only_redact).allowed


def test_action_wildcards_ignore_case_resource_wildcards_do_not() -> None:
    identity = [policy(allow("S3:get*", f"{BUCKET}/day=2024-10-0?/*"))]
    assert evaluate(request("s3:GetObject", f"{BUCKET}/day=2024-10-01/x"), identity).allowed
    assert not evaluate(request("s3:GetObject", f"{BUCKET}/day=2024-10-11/x"), identity).allowed
    assert not evaluate(request("s3:GetObject", f"{BUCKET}/DAY=2024-10-01/x"), identity).allowed
    assert not evaluate(request("s3:PutObject", f"{BUCKET}/day=2024-10-01/x"), identity).allowed


def test_not_action_and_not_resource() -> None:
    identity = [
        policy(
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "NotResource": [BUCKET, f"{BUCKET}/*"]},
        )
    ]
    assert evaluate(request("s3:GetObject", f"{BUCKET}/a"), identity).allowed
    assert not evaluate(request("iam:CreateUser", "*"), identity).allowed
    assert evaluate(request("s3:GetObject", "arn:aws:s3:::other/a"), identity).explicit_deny


LIST_MERGED = allow(
    "s3:ListBucket", BUCKET, Condition={"StringLike": {"s3:prefix": ["merged/*", "stage/*"]}}
)


@pytest.mark.parametrize(
    ("context", "allowed"),
    [
        ({"s3:prefix": "merged/mhealth/"}, True),  # any of the values (OR)
        ({"s3:prefix": "stage/"}, True),
        ({"s3:prefix": "quarantine/run/lake/merged/"}, False),  # Completeness' denial
        ({"s3:prefix": ""}, False),
        ({}, False),  # the key is absent: the condition is false (S3's 404-or-403 check)
    ],
)
def test_string_like_on_s3_prefix(context: dict[str, str], allowed: bool) -> None:
    decision = evaluate(Request(ROLE, "s3:ListBucket", BUCKET, context), [policy(LIST_MERGED)])
    assert decision.allowed is allowed


@pytest.mark.parametrize(
    ("condition", "context", "holds"),
    [
        ({"StringNotLike": {"s3:prefix": "raw/*"}}, {}, True),  # negated + absent: true
        ({"StringNotLike": {"s3:prefix": ["raw/*", "scratch/*"]}}, {"s3:prefix": "raw/a"}, False),
        ({"StringNotLike": {"s3:prefix": ["raw/*", "scratch/*"]}}, {"s3:prefix": "stage/a"}, True),
        ({"StringEqualsIfExists": {"s3:delimiter": "/"}}, {}, True),
        ({"StringEqualsIfExists": {"s3:delimiter": "/"}}, {"s3:delimiter": "|"}, False),
        (
            {"StringEquals": {"s3:prefix": "a", "s3:delimiter": "/"}},
            {"s3:prefix": "a"},
            False,
        ),  # AND
        ({"StringEqualsIgnoreCase": {"s3:prefix": "Merged/"}}, {"s3:prefix": "merged/"}, True),
        ({"StringEquals": {"s3:prefix": "Merged/"}}, {"s3:prefix": "merged/"}, False),
        ({"Null": {"s3:prefix": "true"}}, {}, True),
        ({"Null": {"s3:prefix": "false"}}, {}, False),
        ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": True}, True),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/phenolake-*"}}, {}, True),
        ({"ArnEquals": {"aws:PrincipalArn": OTHER}}, {}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {}, True),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {}, False),
        (
            {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}},
            {"aws:TagKeys": ["a", "c"]},
            False,
        ),
        (
            {"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}},
            {"aws:TagKeys": ["c", "b"]},
            True,
        ),
        ({"NumericLessThanEquals": {"s3:max-keys": "1000"}}, {"s3:max-keys": "10"}, True),
        ({"NumericLessThanEquals": {"s3:max-keys": "1000"}}, {"s3:max-keys": "1001"}, False),
    ],
)
def test_condition_operators(
    condition: dict[str, Any], context: dict[str, Any], holds: bool
) -> None:
    identity = [policy(allow("s3:ListBucket", BUCKET, Condition=condition))]
    assert evaluate(Request(ROLE, "s3:ListBucket", BUCKET, context), identity).allowed is holds


def test_condition_key_names_ignore_case() -> None:
    identity = [
        policy(allow("s3:ListBucket", BUCKET, Condition={"StringLike": {"S3:Prefix": "merged/*"}}))
    ]
    assert evaluate(
        Request(ROLE, "s3:ListBucket", BUCKET, {"s3:prefix": "merged/a"}), identity
    ).allowed


def test_an_unknown_operator_is_refused_loudly() -> None:
    identity = [
        policy(allow("s3:ListBucket", BUCKET, Condition={"IpAddressLike": {"aws:SourceIp": "1"}}))
    ]
    with pytest.raises(PolicyError, match="IpAddressLike"):
        evaluate(Request(ROLE, "s3:ListBucket", BUCKET, {"aws:SourceIp": "1"}), identity)


def test_s3_requests_become_iam_actions_on_bucket_or_object_arns() -> None:
    def actions(
        method: str,
        key: str | None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> list[tuple[str, str, dict[str, Any]]]:
        checks = s3_checks(
            method,
            "lake",
            key,
            query or {},
            headers or {},
            {"lake": "arn:aws:kms:us-east-1:1:key/k"},
        )
        return [(c.action, c.resource, dict(c.context)) for c in checks]

    assert actions(
        "GET", None, {"list-type": ["2"], "prefix": ["merged/"], "delimiter": ["/"]}
    ) == [("s3:ListBucket", BUCKET, {"s3:prefix": "merged/", "s3:delimiter": "/"})]
    assert (
        actions("GET", None, {"versions": [""], "prefix": ["a"]})[0][0] == "s3:ListBucketVersions"
    )
    assert actions("HEAD", "a")[0][:2] == ("s3:GetObject", f"{BUCKET}/a")
    assert actions("HEAD", "a")[1][:2] == ("kms:Decrypt", "arn:aws:kms:us-east-1:1:key/k")
    copy = actions("PUT", "b", headers={"x-amz-copy-source": "/other/a%20b"})
    assert [(a, r) for a, r, _ in copy] == [
        ("s3:PutObject", f"{BUCKET}/b"),
        ("kms:GenerateDataKey", "arn:aws:kms:us-east-1:1:key/k"),
        ("s3:GetObject", "arn:aws:s3:::other/a b"),
    ]
    assert actions("DELETE", "a", {"versionId": ["v1"]})[0][0] == "s3:DeleteObjectVersion"
    assert actions("POST", "a", {"uploads": [""]})[0][0] == "s3:PutObject"
    assert actions("GET", None, {"acl": [""]})[0][0] == "s3:GetBucketAcl"
