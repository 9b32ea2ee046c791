"""IAM as AWS enforces it, for the embedded AWS: the template's roles, decided call by call.

moto evaluates only part of IAM (resources for a few services, no conditions, no bucket
policies beside identity policies, no DeleteObjects per key), so the embedded AWS has its own:

* ``evaluate`` follows AWS's documented policy evaluation logic for one account: an explicit
  ``Deny`` in any identity or resource policy wins; otherwise an ``Allow`` in an identity
  policy or in the resource's policy (naming the principal) allows; otherwise the request is
  implicitly denied. ``Action``/``NotAction``, ``Resource``/``NotResource`` with ``*`` and
  ``?``, ``Principal``/``NotPrincipal`` and the condition operators (String*, Arn*, Bool,
  Numeric*, Null, ``...IfExists``, ``ForAllValues:``/``ForAnyValue:``) with AWS's rule for a
  key missing from the request context (false, true for the negated operators).
* ``RoleSet.from_template`` takes the roles ``sam deploy`` would create: the SAM translator
  transforms template.yaml (policy templates such as ``S3CrudPolicy`` expand to their real
  statements), the intrinsics are resolved as ``template.py`` resolves them, and AWS managed
  policies come from ``MANAGED_POLICIES`` (their documented documents).
* ``checks_for`` turns one request moto received into the IAM actions and resource ARNs AWS
  authorises for it (S3 object vs bucket ARNs, ``s3:prefix`` for listings, CopyObject's
  source, the service's prerequisites for a Timestream batch load, KMS for SSE-KMS buckets).
* ``Enforcer`` knows which role signed a request (the access key of the SigV4 header: each
  role gets keys from moto's STS), decides every request of a role, answers as AWS does
  (AccessDenied naming principal, action and resource; 403 instead of 404 for a missing key
  to a caller without ``s3:ListBucket``; DeleteObjects per key, denied keys in ``Errors``)
  and records every denial, so the run that saw one fails naming it.

The engine's own calls (deploying the template, landing inputs, saving state) are signed
with the developer's key and not enforced, as a deployer's are not by these roles.
"""

from __future__ import annotations

import contextvars
import functools
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ContextValue = str | bool | int | float | list[str]

# ---------------------------------------------------------------------------- the evaluator


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """IAM wildcards: ``*`` any run of characters, ``?`` one character, nothing else special."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return bool(_glob(pattern, ignore_case).match(value))


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike: each of the six colon-separated parts matched on its own (the last may hold
    colons, as ``log-group:name:*`` does)."""
    wanted, got = pattern.split(":", 5), value.split(":", 5)
    if len(wanted) != 6 or len(got) != 6:
        return False
    return all(wildcard_match(w, g) for w, g in zip(wanted, got, strict=True))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


_MATCHERS: dict[str, Any] = {
    "StringEquals": lambda want, got: want == got,
    "StringEqualsIgnoreCase": lambda want, got: want.lower() == got.lower(),
    "StringLike": lambda want, got: wildcard_match(want, got),
    "ArnEquals": lambda want, got: _arn_like(want, got),
    "ArnLike": lambda want, got: _arn_like(want, got),
    "Bool": lambda want, got: want.lower() == got.lower(),
    "NumericEquals": lambda want, got: _number(got) is not None and _number(got) == _number(want),
    "NumericLessThan": lambda w, g: (
        None not in (_number(g), _number(w)) and _number(g) < _number(w)
    ),  # type: ignore[operator]
    "NumericLessThanEquals": lambda w, g: (
        None not in (_number(g), _number(w)) and _number(g) <= _number(w)
    ),  # type: ignore[operator]
    "NumericGreaterThan": lambda w, g: (
        None not in (_number(g), _number(w)) and _number(g) > _number(w)
    ),  # type: ignore[operator]
    "NumericGreaterThanEquals": lambda w, g: (
        None not in (_number(g), _number(w)) and _number(g) >= _number(w)
    ),  # type: ignore[operator]
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


class PolicyError(ValueError):
    """A policy uses something the evaluator does not know; the message names it."""


def _condition_holds(operator: str, key: str, wanted: Any, context: Mapping[str, Any]) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists") and name != "IfExists"
    name = name.removesuffix("IfExists") if if_exists else name
    present = key.lower() in context
    values = [_text(v) for v in _as_list(context.get(key.lower()))]
    wanted_values = [_text(w) for w in _as_list(wanted)]
    if name == "Null":
        # "true": the key must be absent; "false": present.
        return any((w.lower() == "true") == (not present) for w in wanted_values)
    negated = name in _NEGATED
    base = _NEGATED.get(name, name)
    if base not in _MATCHERS:
        raise PolicyError(f"condition operator {operator} is not supported by the evaluator")
    match = _MATCHERS[base]
    if not present:
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return if_exists or negated
    if qualifier == "ForAllValues":
        hits = [any(match(w, v) for w in wanted_values) for v in values]
        return all((not h) if negated else h for h in hits)
    if qualifier == "ForAnyValue":
        hits = [any(match(w, v) for w in wanted_values) for v in values]
        return any((not h) if negated else h for h in hits)
    hit = any(match(w, v) for w in wanted_values for v in values)
    return not hit if negated else hit


def conditions_hold(condition: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """Every operator of the block, every key of each operator (AND); any value (OR)."""
    lowered = {k.lower(): v for k, v in context.items()}
    return all(
        _condition_holds(operator, key, wanted, lowered)
        for operator, keys in condition.items()
        for key, wanted in keys.items()
    )


@dataclass(frozen=True)
class Statement:
    effect: str
    sid: str
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    principal: Any
    not_principal: Any
    condition: Mapping[str, Any]

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Statement:
        def strings(name: str) -> tuple[str, ...] | None:
            return tuple(str(v) for v in _as_list(raw[name])) if name in raw else None

        effect = raw.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError(f"statement {raw.get('Sid', '')!r} has Effect {effect!r}")
        return cls(
            effect=effect,
            sid=str(raw.get("Sid", "")),
            actions=strings("Action"),
            not_actions=strings("NotAction"),
            resources=strings("Resource"),
            not_resources=strings("NotResource"),
            principal=raw.get("Principal"),
            not_principal=raw.get("NotPrincipal"),
            condition=raw.get("Condition") or {},
        )

    def matches_action(self, action: str) -> bool:
        if self.actions is not None:
            return any(wildcard_match(a, action, ignore_case=True) for a in self.actions)
        assert self.not_actions is not None
        return not any(wildcard_match(a, action, ignore_case=True) for a in self.not_actions)

    def matches_resource(self, resource: str) -> bool:
        if self.resources is not None:
            return any(wildcard_match(r, resource) for r in self.resources)
        if self.not_resources is not None:
            return not any(wildcard_match(r, resource) for r in self.not_resources)
        return True  # resource policies may leave Resource out

    def applies(self, request: Request) -> bool:
        return (
            self.matches_action(request.action)
            and self.matches_resource(request.resource)
            and conditions_hold(self.condition, request.context_with_principal())
        )


def _principal_matches(principal: Any, request: Request) -> str:
    """'yes' when the Principal element names the caller itself (or everyone), 'account'
    when it names the caller's account (delegating to its identity policies), else ''."""
    if principal == "*":
        return "yes"
    if not isinstance(principal, Mapping):
        return ""
    for value in _as_list(principal.get("AWS")):
        value = str(value)
        if value == "*" or value in (request.principal_arn, request.session_arn):
            return "yes"
        if value in (request.account, f"arn:aws:iam::{request.account}:root"):
            return "account"
    return ""


@dataclass(frozen=True)
class Policy:
    name: str
    statements: tuple[Statement, ...]

    @classmethod
    def from_document(cls, name: str, document: Mapping[str, Any] | str) -> Policy:
        doc = json.loads(document) if isinstance(document, str) else document
        return cls(name, tuple(Statement.from_dict(s) for s in _as_list(doc.get("Statement"))))


@dataclass(frozen=True)
class Request:
    """One action on one resource by one principal (a role's session)."""

    principal_arn: str  # the role ARN (aws:PrincipalArn)
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    session_arn: str = ""
    account: str = ""

    def context_with_principal(self) -> dict[str, ContextValue]:
        context: dict[str, ContextValue] = {"aws:PrincipalArn": self.principal_arn}
        if self.account:
            context["aws:PrincipalAccount"] = self.account
        context.update(self.context)
        return context


@dataclass(frozen=True)
class Decision:
    allowed: bool
    explicit_deny: bool
    policy: str  # the policy (and Sid) that decided, or "" for an implicit deny

    @property
    def reason(self) -> str:
        if self.allowed:
            return f"allowed by {self.policy}"
        if self.explicit_deny:
            return f"with an explicit deny in {self.policy}"
        return "because no identity-based policy allows the {action} action"


def evaluate(
    request: Request, identity: Sequence[Policy], resource_policy: Policy | None = None
) -> Decision:
    """AWS's policy evaluation logic within one account (no SCPs, boundaries or sessions)."""
    allow = ""
    for policy in identity:
        for statement in policy.statements:
            if not statement.applies(request):
                continue
            where = f"identity-based policy {policy.name}" + (
                f" (Sid {statement.sid})" if statement.sid else ""
            )
            if statement.effect == "Deny":
                return Decision(False, True, where)
            allow = allow or where
    if resource_policy is not None:
        for statement in resource_policy.statements:
            if statement.not_principal is not None:
                names_caller = not _principal_matches(statement.not_principal, request)
                named = "yes" if names_caller else ""
            else:
                named = _principal_matches(statement.principal, request)
            if not named or not statement.applies(request):
                continue
            where = f"resource-based policy {resource_policy.name}" + (
                f" (Sid {statement.sid})" if statement.sid else ""
            )
            if statement.effect == "Deny":
                return Decision(False, True, where)
            if named == "yes":
                allow = allow or where
    return Decision(bool(allow), False, allow)


# ---------------------------------------------------------------------------- AWS managed policies

#: Documents of the AWS managed policies the template attaches, as AWS documents them
#: (AWS Managed Policy Reference Guide, docs.aws.amazon.com/aws-managed-policy/latest/reference/).
MANAGED_POLICIES: dict[str, dict[str, Any]] = {
    # .../reference/AWSLambdaBasicExecutionRole.html (version 1)
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ],
    },
    # .../reference/AWSXrayWriteOnlyAccess.html
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSXrayWriteOnlyAccess",
                "Effect": "Allow",
                "Action": [
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                    "xray:GetSamplingStatisticSummaries",
                ],
                "Resource": "*",
            }
        ],
    },
    # .../reference/AWSGlueServiceRole.html (v5, edited 2023-09-11). The template no longer
    # attaches it (glue:* and s3:ListBucket on *); kept so a role that does is decided right.
    "arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "glue:*",
                    "s3:GetBucketLocation",
                    "s3:ListBucket",
                    "s3:ListAllMyBuckets",
                    "s3:GetBucketAcl",
                    "ec2:DescribeVpcEndpoints",
                    "ec2:DescribeRouteTables",
                    "ec2:CreateNetworkInterface",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcAttribute",
                    "iam:ListRolePolicies",
                    "iam:GetRole",
                    "iam:GetRolePolicy",
                    "cloudwatch:PutMetricData",
                ],
                "Resource": ["*"],
            },
            {
                "Effect": "Allow",
                "Action": ["s3:CreateBucket"],
                "Resource": ["arn:aws:s3:::aws-glue-*"],
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": ["arn:aws:s3:::aws-glue-*/*", "arn:aws:s3:::*/*aws-glue-*/*"],
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": ["arn:aws:s3:::crawler-public*", "arn:aws:s3:::aws-glue-*"],
            },
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": ["arn:aws:logs:*:*:*:/aws-glue/*"],
            },
            {
                "Effect": "Allow",
                "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
                "Condition": {
                    "ForAllValues:StringEquals": {"aws:TagKeys": ["aws-glue-service-resource"]}
                },
                "Resource": [
                    "arn:aws:ec2:*:*:network-interface/*",
                    "arn:aws:ec2:*:*:security-group/*",
                    "arn:aws:ec2:*:*:instance/*",
                ],
            },
        ],
    },
}


# ---------------------------------------------------------------------------- the template's roles


@dataclass
class Role:
    logical_id: str
    name: str
    arn: str
    trust: dict[str, Any]
    #: (policy name, document) pairs: inline policies and attached managed ones
    documents: list[tuple[str, dict[str, Any]]]

    @functools.cached_property
    def policies(self) -> list[Policy]:
        return [Policy.from_document(name, doc) for name, doc in self.documents]


@dataclass
class RoleSet:
    roles: dict[str, Role]  # by role name
    function_roles: dict[str, str]  # function name -> role name
    state_machine_roles: dict[str, str]  # state machine name -> role name
    glue_job_roles: dict[str, str]  # job name -> role name
    bucket_policies: dict[str, dict[str, Any]]  # bucket -> document
    bucket_keys: dict[str, str]  # bucket -> KMS key ARN when the bucket is SSE-KMS

    def role(self, name: str) -> Role:
        return self.roles[name]

    @classmethod
    def from_template(
        cls, root: Path, parameters: Mapping[str, str], physical: Mapping[str, str] | None = None
    ) -> RoleSet:
        """The roles of ``sam deploy``: the template through the SAM translator, resolved.

        ``physical`` overrides what ``!Ref`` of a logical id returns (a secret's ARN carries
        the random suffix AWS gives it; the caller knows it once the secret exists)."""
        translated = translate(root / "template.yaml")
        return roles_of(translated, parameters, physical or {})


def translate(template_path: Path) -> dict[str, Any]:
    """template.yaml through the SAM translator, as ``sam deploy`` submits it (code URIs
    replaced by the S3 locations ``sam package`` would upload to). Cached per content: the
    translator takes seconds and every embedded AWS start needs it."""
    import copy

    return copy.deepcopy(_translate(template_path.read_text(), str(template_path)))


@functools.lru_cache(maxsize=4)
def _translate(text: str, name: str) -> dict[str, Any]:
    import os

    from cfnlint.decode import cfn_yaml
    from samtranslator.translator.transform import transform

    from phenolake_local import template as tpl

    source = cfn_yaml.loads(text, name)
    source = json.loads(json.dumps(source))
    for resource in source.get("Resources", {}).values():
        props = resource.get("Properties", {})
        for uri in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(props.get(uri), str):
                props[uri] = (
                    f"s3://aws-sam-cli-managed-default-samclisourcebucket-local/{tpl.STACK_NAME}/{props[uri].strip('/')}"
                )

    class _NoManagedPolicyNames:
        """The template attaches managed policies by ARN only; the loader maps names."""

        def load(self) -> dict[str, str]:
            return {}

    saved = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = tpl.REGION
    try:
        return transform(source, {}, _NoManagedPolicyNames())  # type: ignore[arg-type]
    finally:
        if saved is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = saved


def roles_of(
    translated: dict[str, Any], parameters: Mapping[str, str], physical: Mapping[str, str]
) -> RoleSet:
    from phenolake_local import template as tpl

    class Resolver(tpl._Resolver):
        def physical_id(self, logical_id: str) -> str:
            if logical_id in physical:
                return physical[logical_id]
            kind = self.resources[logical_id]["Type"]
            if kind == "AWS::IAM::ManagedPolicy":
                return f"arn:aws:iam::{tpl.ACCOUNT_ID}:policy/{tpl.STACK_NAME}-{logical_id}"
            return super().physical_id(logical_id)

    resolver = Resolver(translated, dict(parameters))
    resources: dict[str, dict[str, Any]] = {}
    for logical_id, resource in translated["Resources"].items():
        if "Condition" in resource and not resolver.conditions[resource["Condition"]]:
            continue
        resources[logical_id] = {
            "Type": resource["Type"],
            "Properties": resolver.resolve(resource.get("Properties", {})),
        }
    managed = dict(MANAGED_POLICIES)
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            managed[resolver.physical_id(logical_id)] = resource["Properties"]["PolicyDocument"]
    roles: dict[str, Role] = {}
    by_logical: dict[str, str] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        props = resource["Properties"]
        arn = resolver.get_att(logical_id, "Arn")
        name = arn.rsplit("/", 1)[-1]
        documents = [(p["PolicyName"], p["PolicyDocument"]) for p in props.get("Policies", [])]
        for policy_arn in props.get("ManagedPolicyArns", []):
            if policy_arn not in managed:
                raise PolicyError(
                    f"role {logical_id} attaches {policy_arn}, whose document the embedded "
                    "AWS does not hold (add it to MANAGED_POLICIES with its source)"
                )
            documents.append((policy_arn.rsplit("/", 1)[-1], managed[policy_arn]))
        roles[name] = Role(
            logical_id, name, arn, props.get("AssumeRolePolicyDocument", {}), documents
        )
        by_logical[arn] = name
    function_roles: dict[str, str] = {}
    state_machine_roles: dict[str, str] = {}
    glue_job_roles: dict[str, str] = {}
    bucket_policies: dict[str, dict[str, Any]] = {}
    bucket_keys: dict[str, str] = {}
    for logical_id, resource in resources.items():
        props = resource["Properties"]
        kind = resource["Type"]
        if kind == "AWS::Lambda::Function":
            function_roles[resolver.physical_id(logical_id)] = by_logical[props["Role"]]
        elif kind == "AWS::StepFunctions::StateMachine":
            state_machine_roles[props["StateMachineName"]] = by_logical[props["RoleArn"]]
        elif kind == "AWS::Glue::Job":
            glue_job_roles[props["Name"]] = by_logical[props["Role"]]
        elif kind == "AWS::S3::BucketPolicy":
            bucket_policies[props["Bucket"]] = props["PolicyDocument"]
        elif kind == "AWS::S3::Bucket":
            encryption = props.get("BucketEncryption", {})
            for rule in encryption.get("ServerSideEncryptionConfiguration", []):
                default = rule.get("ServerSideEncryptionByDefault", {})
                if default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID"):
                    bucket_keys[props["BucketName"]] = default["KMSMasterKeyID"]
    return RoleSet(
        roles, function_roles, state_machine_roles, glue_job_roles, bucket_policies, bucket_keys
    )


# ---------------------------------------------------------------------------- requests -> checks


@dataclass(frozen=True)
class Check:
    """One IAM action on one resource that a request needs allowed."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


class UnmappedCall(LookupError):
    """A role made a call whose IAM action/resource the embedded AWS does not know."""


def s3_arn(bucket: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else "")


def _first(query: Mapping[str, Any], name: str) -> str | None:
    value = query.get(name)
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return None if value is None else str(value)


def _kms(bucket: str, action: str, bucket_keys: Mapping[str, str]) -> list[Check]:
    key = bucket_keys.get(bucket)
    return [Check(action, key)] if key else []


def s3_checks(
    method: str,
    bucket: str,
    key: str | None,
    query: Mapping[str, Any],
    headers: Mapping[str, str],
    bucket_keys: Mapping[str, str],
) -> list[Check]:
    """The IAM actions of one S3 request (Service Authorization Reference, Amazon S3)."""
    method = method.upper()
    if key is None or key == "":
        if method == "HEAD":
            return [Check("s3:ListBucket", s3_arn(bucket))]
        if method == "GET":
            listings = {
                "versions": "s3:ListBucketVersions",
                "uploads": "s3:ListBucketMultipartUploads",
            }
            action = next((a for sub, a in listings.items() if sub in query), "s3:ListBucket")
            simple = {
                "acl": "s3:GetBucketAcl",
                "location": "s3:GetBucketLocation",
                "versioning": "s3:GetBucketVersioning",
                "policy": "s3:GetBucketPolicy",
                "encryption": "s3:GetEncryptionConfiguration",
                "lifecycle": "s3:GetLifecycleConfiguration",
                "tagging": "s3:GetBucketTagging",
                "ownershipControls": "s3:GetBucketOwnershipControls",
                "publicAccessBlock": "s3:GetBucketPublicAccessBlock",
                "notification": "s3:GetBucketNotification",
                "cors": "s3:GetBucketCORS",
            }
            for name, simple_action in simple.items():
                if name in query:
                    return [Check(simple_action, s3_arn(bucket))]
            context: dict[str, ContextValue] = {}
            for param in ("prefix", "delimiter", "max-keys"):
                value = _first(query, param)
                if value is not None:
                    context[f"s3:{param}"] = value
            return [Check(action, s3_arn(bucket), context)]
        raise UnmappedCall(f"s3 {method} on bucket {bucket} ({sorted(query)})")
    version = _first(query, "versionId")
    if method in ("GET", "HEAD"):
        if "uploadId" in query:
            return [Check("s3:ListMultipartUploadParts", s3_arn(bucket, key))]
        if "tagging" in query:
            return [
                Check(
                    "s3:GetObjectVersionTagging" if version else "s3:GetObjectTagging",
                    s3_arn(bucket, key),
                )
            ]
        if "acl" in query:
            return [
                Check(
                    "s3:GetObjectVersionAcl" if version else "s3:GetObjectAcl", s3_arn(bucket, key)
                )
            ]
        action = "s3:GetObjectVersion" if version else "s3:GetObject"
        return [Check(action, s3_arn(bucket, key)), *_kms(bucket, "kms:Decrypt", bucket_keys)]
    if method == "PUT":
        if "tagging" in query:
            return [Check("s3:PutObjectTagging", s3_arn(bucket, key))]
        if "acl" in query:
            return [Check("s3:PutObjectAcl", s3_arn(bucket, key))]
        checks = [
            Check("s3:PutObject", s3_arn(bucket, key)),
            *_kms(bucket, "kms:GenerateDataKey", bucket_keys),
        ]
        source = headers.get("x-amz-copy-source") or headers.get("X-Amz-Copy-Source")
        if source:  # CopyObject / UploadPartCopy read their source
            path, _, source_query = urllib.parse.unquote(source).lstrip("/").partition("?")
            source_bucket, _, source_key = path.partition("/")
            versioned = "versionId=" in source_query
            checks.append(
                Check(
                    "s3:GetObjectVersion" if versioned else "s3:GetObject",
                    s3_arn(source_bucket, source_key),
                )
            )
            checks.extend(_kms(source_bucket, "kms:Decrypt", bucket_keys))
        return checks
    if method == "DELETE":
        if "uploadId" in query:
            return [Check("s3:AbortMultipartUpload", s3_arn(bucket, key))]
        if "tagging" in query:
            return [Check("s3:DeleteObjectTagging", s3_arn(bucket, key))]
        return [
            Check("s3:DeleteObjectVersion" if version else "s3:DeleteObject", s3_arn(bucket, key))
        ]
    if method == "POST":
        if "uploads" in query or "uploadId" in query:
            return [
                Check("s3:PutObject", s3_arn(bucket, key)),
                *_kms(bucket, "kms:GenerateDataKey", bucket_keys),
            ]
        if "restore" in query:
            return [Check("s3:RestoreObject", s3_arn(bucket, key))]
    raise UnmappedCall(f"s3 {method} on {bucket}/{key} ({sorted(query)})")


IAM_PREFIXES = {
    "awslambda": "lambda",
    "timestreamwrite": "timestream",
    "timestream-write": "timestream",
    "timestream-query": "timestream",
    "stepfunctions": "states",
    "monitoring": "cloudwatch",
}
#: Operations whose IAM action has another name than the API operation.
ACTION_NAMES = {("lambda", "Invoke"): "InvokeFunction", ("lambda", "InvokeAsync"): "InvokeFunction"}
#: Actions that need no permission or have no resource type ("*").
UNSCOPED = {
    "sts:GetCallerIdentity",
    "timestream:DescribeEndpoints",
    "timestream:DescribeBatchLoadTask",
    "timestream:ListBatchLoadTasks",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "cloudwatch:PutMetricData",
}


def _glue_resources(operation: str, params: Mapping[str, Any], at: str) -> list[str]:
    catalog = f"arn:aws:glue:{at}:catalog"

    def database(name: str) -> str:
        return f"arn:aws:glue:{at}:database/{name}"

    def table(db: str, name: str) -> str:
        return f"arn:aws:glue:{at}:table/{db}/{name}"

    if operation in ("GetDatabase", "DeleteDatabase", "UpdateDatabase"):
        return [catalog, database(params["Name"])]
    if operation == "CreateDatabase":
        return [catalog, database(params["DatabaseInput"]["Name"])]
    if operation == "GetDatabases":
        return [catalog]
    if operation == "GetTables":
        db = params["DatabaseName"]
        return [catalog, database(db), table(db, "*")]
    if operation in ("GetTable", "DeleteTable"):
        return [
            catalog,
            database(params["DatabaseName"]),
            table(params["DatabaseName"], params["Name"]),
        ]
    if operation in ("CreateTable", "UpdateTable"):
        db = params["DatabaseName"]
        return [catalog, database(db), table(db, params["TableInput"]["Name"])]
    if operation in (
        "GetPartitions",
        "GetPartition",
        "BatchGetPartition",
        "CreatePartition",
        "BatchCreatePartition",
        "UpdatePartition",
        "BatchUpdatePartition",
        "DeletePartition",
        "BatchDeletePartition",
    ):
        db = params["DatabaseName"]
        return [catalog, database(db), table(db, params["TableName"])]
    if operation in ("StartJobRun", "GetJobRun", "GetJobRuns", "BatchStopJobRun", "GetJob"):
        return [f"arn:aws:glue:{at}:job/{params['JobName']}"]
    raise UnmappedCall(f"glue:{operation}")


def _dynamodb_checks(operation: str, params: Mapping[str, Any], at: str) -> list[Check]:
    def table(name: str) -> str:
        return f"arn:aws:dynamodb:{at}:table/{name}"

    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Check(f"dynamodb:{operation}", table(n)) for n in params.get("RequestItems", {})]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        checks = []
        kinds = {
            "Put": "PutItem",
            "Update": "UpdateItem",
            "Delete": "DeleteItem",
            "ConditionCheck": "ConditionCheckItem",
            "Get": "GetItem",
        }
        for item in params.get("TransactItems", []):
            for kind, body in item.items():
                checks.append(Check(f"dynamodb:{kinds[kind]}", table(body["TableName"])))
        return checks
    name = params.get("TableName")
    if not name:
        raise UnmappedCall(f"dynamodb:{operation}")
    resource = table(name) + (f"/index/{params['IndexName']}" if params.get("IndexName") else "")
    return [Check(f"dynamodb:{operation}", resource)]


def service_checks(
    service: str,
    operation: str,
    params: Mapping[str, Any],
    region: str,
    account: str,
    *,
    path: str = "",
    secret_arn: Any = None,
    list_keys: Any = None,
    bucket_keys: Mapping[str, str] | None = None,
) -> list[Check]:
    """The IAM actions and resources of one non-S3 request."""
    prefix = IAM_PREFIXES.get(service, service)
    action = f"{prefix}:{ACTION_NAMES.get((prefix, operation), operation)}"
    at = f"{region}:{account}"
    if action in UNSCOPED or prefix in ("logs", "xray"):
        return [Check(action, "*")]
    if prefix == "glue":
        return [Check(action, r) for r in _glue_resources(operation, params, at)]
    if prefix == "dynamodb":
        return _dynamodb_checks(operation, params, at)
    if prefix == "sns" and operation == "Publish":
        return [Check(action, _first(params, "TopicArn") or str(params.get("TopicArn", "")))]
    if prefix == "secretsmanager" and "SecretId" in params:
        return [Check(action, secret_arn(params["SecretId"]) if secret_arn else params["SecretId"])]
    if prefix == "lambda":
        match = re.search(r"/functions/([^/]+)", path)
        if not match:
            raise UnmappedCall(f"{action} ({path})")
        name = urllib.parse.unquote(match.group(1))
        return [
            Check(
                action, name if name.startswith("arn:") else f"arn:aws:lambda:{at}:function:{name}"
            )
        ]
    if prefix == "states":
        for key in ("stateMachineArn", "executionArn"):
            if key in params:
                return [Check(action, params[key])]
    if prefix == "timestream" and operation == "CreateBatchLoadTask":
        return _batch_load_checks(params, at, list_keys, bucket_keys or {})
    if prefix == "timestream" and "TableName" in params:
        return [
            Check(
                action,
                f"arn:aws:timestream:{at}:database/{params['DatabaseName']}/table/{params['TableName']}",
            )
        ]
    if prefix == "athena" and "WorkGroup" in params:
        return [Check(action, f"arn:aws:athena:{at}:workgroup/{params['WorkGroup']}")]
    if prefix == "athena" and "QueryExecutionId" in params:
        # GetQueryExecution, GetQueryResults, StopQueryExecution: the query's workgroup
        return [Check(action, f"arn:aws:athena:{at}:workgroup/{_query_workgroup(params)}")]
    raise UnmappedCall(action)


def _query_workgroup(params: Mapping[str, Any]) -> str:
    from moto.athena.models import athena_backends

    from phenolake_local import template as tpl

    execution = athena_backends[tpl.ACCOUNT_ID][tpl.REGION].executions.get(
        str(params["QueryExecutionId"])
    )
    return execution.workgroup.name if execution and execution.workgroup else "primary"


def _batch_load_checks(
    params: Mapping[str, Any], at: str, list_keys: Any, bucket_keys: Mapping[str, str]
) -> list[Check]:
    """CreateBatchLoadTask, and what the batch load does with the caller's permissions (Batch
    load prerequisites: s3:GetObject, s3:GetBucketAcl, s3:ListBucket on each source bucket;
    s3:PutObject, s3:GetBucketAcl on the report bucket; the source's KMS key to read it)."""
    database, name = params["TargetDatabaseName"], params["TargetTableName"]
    table = f"arn:aws:timestream:{at}:database/{database}/table/{name}"
    checks = [Check("timestream:CreateBatchLoadTask", table)]
    source = params.get("DataSourceConfiguration", {}).get("DataSourceS3Configuration", {})
    if source.get("BucketName"):
        bucket, prefix = source["BucketName"], source.get("ObjectKeyPrefix", "")
        checks.append(Check("s3:GetBucketAcl", s3_arn(bucket)))
        checks.append(Check("s3:ListBucket", s3_arn(bucket), {"s3:prefix": prefix}))
        for key in list_keys(bucket, prefix) if list_keys else []:
            checks.append(Check("s3:GetObject", s3_arn(bucket, key)))
        checks.extend(_kms(bucket, "kms:Decrypt", bucket_keys))
    report = params.get("ReportConfiguration", {}).get("ReportS3Configuration", {})
    if report.get("BucketName"):
        bucket, prefix = report["BucketName"], report.get("ObjectKeyPrefix", "")
        checks.append(Check("s3:GetBucketAcl", s3_arn(bucket)))
        checks.append(Check("s3:PutObject", s3_arn(bucket, f"{prefix.rstrip('/')}/")))
        checks.extend(_kms(bucket, "kms:GenerateDataKey", bucket_keys))
    return checks


# ---------------------------------------------------------------------------- who is calling

#: The key moto's Step Functions interpreter signs its service integrations with.
STATES_INTERPRETER_KEY = "ak"


@dataclass(frozen=True)
class RoleCredentials:
    role: str
    access_key: str
    secret_key: str
    token: str


_CALLER: contextvars.ContextVar[RoleCredentials | None] = contextvars.ContextVar(
    "phenolake_iam_caller", default=None
)


@dataclass(frozen=True)
class Denial:
    role: str
    action: str
    resource: str
    message: str


class Enforcer:
    """Decides every request a role signs; the embedded AWS has one (``ENFORCER``)."""

    def __init__(self) -> None:
        self.roles: RoleSet | None = None
        self.credentials: dict[str, RoleCredentials] = {}  # by role name
        self._by_key: dict[str, RoleCredentials] = {}
        self.denials: list[Denial] = []
        self.checked: dict[str, int] = {}  # action -> decisions made (tests read it)
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self.roles is not None

    def configure(self, roles: RoleSet, credentials: Mapping[str, RoleCredentials]) -> None:
        self.roles = roles
        self.credentials = dict(credentials)
        self._by_key = {c.access_key: c for c in credentials.values()}
        self.denials = []
        self.checked = {}

    def stop(self) -> None:
        self.roles = None
        self.credentials = {}
        self._by_key = {}

    # ------------------------------------------------------------ identities
    def role_of_key(self, access_key: str) -> Role | None:
        assert self.roles is not None
        found = self._by_key.get(access_key)
        if found is not None:
            return self.roles.role(found.role)
        if access_key == STATES_INTERPRETER_KEY:
            return self._running_state_machine_role()
        return None  # the developer's own key: deploys, lands inputs, saves state

    def _running_state_machine_role(self) -> Role:
        """moto signs every state machine's service calls with one key: the caller is the
        state machine with a running execution (two at once cannot be told apart)."""
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        from phenolake_local import template as tpl

        assert self.roles is not None
        backend = stepfunctions_parser_backends[tpl.ACCOUNT_ID][tpl.REGION]
        running = {
            sm.name
            for sm in backend.state_machines
            for execution in sm.executions
            if execution.status == "RUNNING"
        }
        names = {
            self.roles.state_machine_roles[n]
            for n in running
            if n in self.roles.state_machine_roles
        }
        if len(names) != 1:
            raise UnmappedCall(
                f"a Step Functions service call while {sorted(running) or 'no'} state machine(s) "
                "run: the embedded AWS cannot tell whose role makes it"
            )
        return self.roles.role(names.pop())

    # ------------------------------------------------------------ decisions
    def decide(self, role: Role, checks: Sequence[Check], secure: bool) -> Denial | None:
        """The first check the role is denied, or None when all are allowed."""
        assert self.roles is not None
        session = f"arn:aws:sts::{role.arn.split(':')[4]}:assumed-role/{role.name}/{role.name}"
        for check in checks:
            context: dict[str, ContextValue] = {"aws:SecureTransport": secure, **check.context}
            request = Request(
                role.arn, check.action, check.resource, context, session, role.arn.split(":")[4]
            )
            bucket_policy = None
            if check.resource.startswith("arn:aws:s3:::"):
                bucket = check.resource[len("arn:aws:s3:::") :].split("/", 1)[0]
                document = self.roles.bucket_policies.get(bucket)
                bucket_policy = (
                    Policy.from_document(f"{bucket} bucket policy", document) if document else None
                )
            decision = evaluate(request, role.policies, bucket_policy)
            with self._lock:
                self.checked[check.action] = self.checked.get(check.action, 0) + 1
            if not decision.allowed:
                where = "".join(f' ({k} "{v}")' for k, v in check.context.items())
                message = (
                    f"User: {session} is not authorized to perform: {check.action} on resource: "
                    f'"{check.resource}"{where} '
                    + decision.reason.replace("{action}", check.action)
                )
                return self.record(role, check.action, check.resource, message)
        return None

    def record(self, role: Role, action: str, resource: str, message: str) -> Denial:
        denial = Denial(role.name, action, resource, message)
        with self._lock:
            self.denials.append(denial)
        return denial


ENFORCER = Enforcer()


def access_key_of(headers: Mapping[str, str], query: Mapping[str, Any]) -> str:
    """The access key a request is signed with (SigV4 header, or a presigned URL's query)."""
    authorization = headers.get("Authorization") or headers.get("authorization") or ""
    match = re.search(r"Credential=([^/,\s]+)/", authorization)
    if match:
        return match.group(1)
    credential = _first(query, "X-Amz-Credential")
    return credential.split("/", 1)[0] if credential else ""


@contextmanager
def acting_as(role: str) -> Iterator[None]:
    """boto3 clients used in this block (this context, and threads it starts through an
    executor) sign with the role's credentials, as code running under that role would."""
    credentials = ENFORCER.credentials.get(role) if ENFORCER.active else None
    if credentials is None:
        yield
        return
    token = _CALLER.set(credentials)
    try:
        yield
    finally:
        _CALLER.reset(token)


def function_role(function_name: str) -> str:
    if ENFORCER.roles is None:
        return ""
    return ENFORCER.roles.function_roles.get(function_name, "")


def glue_job_role(job_name: str) -> str:
    if ENFORCER.roles is None:
        return ""
    return ENFORCER.roles.glue_job_roles.get(job_name, "")


def role_environment(role: str) -> dict[str, str]:
    """The AWS_* variables that make a separate process sign as the role (the Glue job's)."""
    credentials = ENFORCER.credentials[role]
    return {
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        "AWS_SESSION_TOKEN": credentials.token,
    }


# ---------------------------------------------------------------------- moto and botocore hooks


def _secure(uri: str) -> bool:
    """aws:SecureTransport. In-process calls reach moto as the SDK's https URLs; a separate
    process (the Glue job) reaches it through a moto server on loopback, which stands for
    the service's TLS endpoint, so that hop counts as TLS too."""
    parsed = urllib.parse.urlparse(uri or "")
    return parsed.scheme == "https" or parsed.hostname in ("127.0.0.1", "localhost", "::1")


def _split_s3(resource: str) -> tuple[str, str | None]:
    path = resource[len("arn:aws:s3:::") :] if resource.startswith("arn:aws:s3:::") else resource
    bucket, sep, key = path.partition("/")
    return bucket, (key if sep else None)


def _params(response: Any) -> dict[str, Any]:
    body = getattr(response, "body", None)
    if isinstance(body, dict):  # moto's DynamoDB handler keeps the parsed parameters here
        return body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body.strip().startswith("{"):
        try:
            loaded = json.loads(body)
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            return loaded
    return dict(getattr(response, "querystring", {}) or {})


def _s3_backend() -> Any:
    from moto.s3.models import s3_backends

    from phenolake_local import template as tpl

    return s3_backends[tpl.ACCOUNT_ID]["aws"]


def _object_exists(bucket: str, key: str) -> bool:
    from moto.s3.models import FakeDeleteMarker

    found = _s3_backend().buckets.get(bucket)
    latest = found.keys.get(key) if found is not None else None
    return latest is not None and not isinstance(latest, FakeDeleteMarker)


def _keys_under(bucket: str, prefix: str) -> list[str]:
    from moto.s3.models import FakeDeleteMarker

    found = _s3_backend().buckets.get(bucket)
    if found is None:
        return []
    return sorted(
        k
        for k in found.keys
        if k.startswith(prefix) and not isinstance(found.keys.get(k), FakeDeleteMarker)
    )


def _secret_arn(secret_id: str) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    from phenolake_local import template as tpl

    try:
        return str(
            secretsmanager_backends[tpl.ACCOUNT_ID][tpl.REGION].describe_secret(secret_id).arn
        )
    except Exception:  # unknown secret: AWS authorises the id as given, then answers NotFound
        return (
            secret_id
            if secret_id.startswith("arn:")
            else (f"arn:aws:secretsmanager:{tpl.REGION}:{tpl.ACCOUNT_ID}:secret:{secret_id}")
        )


def _access_denied(service: str, message: str) -> Exception:
    if service == "s3":
        from moto.s3.exceptions import S3ClientError

        return S3ClientError("AccessDenied", message)
    if service == "sns":
        from moto.core.exceptions import RESTError

        error = RESTError("AuthorizationError", message)
        error.code = 403
        return error
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError("AccessDeniedException", message)
    error.code = 403 if service == "lambda" else 400
    return error


S3_SUBRESOURCES = ("acl", "tagging", "uploadId", "versionId", "torrent", "attributes")


def authorize(response: Any, resource: str) -> None:
    """Decide one request moto received; raise AWS's AccessDenied for a denied one."""
    headers = response.headers
    query = getattr(response, "querystring", {}) or {}
    service = getattr(response, "service_name", "") or ""
    try:
        role = ENFORCER.role_of_key(access_key_of(headers, query))
    except UnmappedCall as exc:
        raise _access_denied(service, f"embedded AWS: {exc}") from None
    if role is None:
        return
    assert ENFORCER.roles is not None
    secure = _secure(getattr(response, "uri", ""))
    method = response.method
    key: str | None = None
    try:
        if service == "s3":
            bucket, key = _split_s3(resource)
            if method == "POST" and key is None and "delete" in query:
                return  # DeleteObjects is decided per key (_patch_delete_objects)
            checks = s3_checks(method, bucket, key, query, headers, ENFORCER.roles.bucket_keys)
        else:
            checks = service_checks(
                service,
                response._get_action(),
                _params(response),
                getattr(response, "region", "") or "us-east-1",
                role.arn.split(":")[4],
                path=getattr(response, "path", "") or "",
                secret_arn=_secret_arn,
                list_keys=_keys_under,
                bucket_keys=ENFORCER.roles.bucket_keys,
            )
    except UnmappedCall as exc:
        message = (
            f"embedded AWS: {role.name} made a call whose IAM action or resource is not "
            f"mapped ({exc}); add it to phenolake_local/iam.py"
        )
        ENFORCER.record(role, str(exc), resource, message)
        raise _access_denied(service, message) from None
    denial = ENFORCER.decide(role, checks, secure)
    if denial is not None:
        raise _access_denied(service, denial.message)
    if (
        service == "s3"
        and key
        and method in ("GET", "HEAD")
        and not any(s in query for s in S3_SUBRESOURCES)
        and not _object_exists(bucket, key)
    ):
        # S3 answers 404 for a missing key only to a caller allowed s3:ListBucket (with no
        # condition it cannot meet: the check carries no s3:prefix); to others, 403.
        listing = ENFORCER.decide(role, [Check("s3:ListBucket", s3_arn(bucket))], secure)
        if listing is not None:
            message = f"{listing.message} (S3 answers 403 for the missing key {key})"
            ENFORCER.denials[-1] = Denial(role.name, "s3:ListBucket", s3_arn(bucket), message)
            raise _access_denied(service, message)


def _patch_authorize() -> None:
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.responses import BaseResponse

    from phenolake_local.patches import _expect

    original = _expect(
        ActionAuthenticatorMixin,
        "_authenticate_and_authorize_action",
        ["self", "iam_request_cls", "resource"],
    )
    _expect(BaseResponse, "_get_action", ["self"])  # authorize() names the call's action by it
    if getattr(original, "_phenolake", False):
        return

    def authenticate_and_authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        if not ENFORCER.active:
            return original(self, iam_request_cls, resource)
        return authorize(self, resource)

    authenticate_and_authorize._phenolake = True  # type: ignore[attr-defined]
    ActionAuthenticatorMixin._authenticate_and_authorize_action = authenticate_and_authorize  # type: ignore[method-assign]


def _patch_delete_objects() -> None:
    """DeleteObjects: each key is decided as s3:DeleteObject (s3:DeleteObjectVersion with a
    version id); denied keys come back in the response's Errors, the rest are deleted."""
    import xmltodict
    from moto.s3.models import FakeBucket, S3Backend
    from moto.s3.responses import S3Response

    from phenolake_local.patches import _expect, _expect_fields

    original = _expect(
        S3Response, "_bucket_response_delete_keys", ["self", "bucket_name", "authenticated"]
    )
    _expect(S3Response, "serialized", ["self", "action_result"])  # wrapped per request below
    _expect_fields(S3Backend, ["buckets"])  # read by _object_exists and _keys_under
    _expect_fields(FakeBucket, ["keys"])
    if getattr(original, "_phenolake", False):
        return

    def delete_keys(self: Any, bucket_name: str, authenticated: bool = True) -> Any:
        if not ENFORCER.active or not authenticated:
            return original(self, bucket_name, authenticated)
        role = ENFORCER.role_of_key(access_key_of(self.headers, self.querystring))
        if role is None:
            return original(self, bucket_name, authenticated)
        body = xmltodict.parse(self.body, strip_whitespace=False)
        objects = _as_list(body["Delete"].get("Object"))
        secure = _secure(getattr(self, "uri", ""))
        allowed, denied = [], []
        for obj in objects:
            action = "s3:DeleteObjectVersion" if obj.get("VersionId") else "s3:DeleteObject"
            denial = ENFORCER.decide(role, [Check(action, s3_arn(bucket_name, obj["Key"]))], secure)
            (denied if denial else allowed).append(obj)
        if not denied:
            return original(self, bucket_name, True)
        if not allowed:
            return original(self, bucket_name, False)  # every key AccessDenied
        body["Delete"]["Object"] = allowed
        self.body = xmltodict.unparse(body)
        serialized = self.serialized

        def with_denied(result: Any) -> Any:
            errors = [
                {"Key": o["Key"], "Code": "AccessDenied", "Message": "Access Denied"}
                for o in denied
            ]
            result.result["Errors"] = errors + list(result.result.get("Errors", []))
            return serialized(result)

        self.serialized = with_denied
        try:
            return original(self, bucket_name, True)
        finally:
            del self.serialized

    delete_keys._phenolake = True  # type: ignore[attr-defined]
    S3Response._bucket_response_delete_keys = delete_keys  # type: ignore[method-assign]


def _credentials_base() -> type:
    from botocore.credentials import Credentials

    return Credentials


class ContextCredentials(_credentials_base()):  # type: ignore[misc]
    """Credentials whose keys are those of the role the current context acts as (see
    ``acting_as``), else the session's own: one shared boto3 client signs each call as
    the code making it, as separate Lambda processes would."""

    def __init__(self, base: Any) -> None:  # no super().__init__: the keys are properties
        self._base = base
        self.method = getattr(base, "method", "env")
        self.account_id = getattr(base, "account_id", None)

    def get_frozen_credentials(self) -> Any:
        from botocore.credentials import ReadOnlyCredentials

        caller = _CALLER.get()
        if caller is None:
            return self._base.get_frozen_credentials()
        return ReadOnlyCredentials(caller.access_key, caller.secret_key, caller.token)

    @property
    def access_key(self) -> str:
        return str(self.get_frozen_credentials().access_key)

    @property
    def secret_key(self) -> str:
        return str(self.get_frozen_credentials().secret_key)

    @property
    def token(self) -> str | None:
        return self.get_frozen_credentials().token


def _patch_session_credentials() -> None:
    import botocore.session

    from phenolake_local.patches import _expect

    original = _expect(botocore.session.Session, "get_credentials", ["self"])
    if getattr(original, "_phenolake", False):
        return

    def get_credentials(self: Any) -> Any:
        base = original(self)
        return None if base is None else ContextCredentials(base)

    get_credentials._phenolake = True  # type: ignore[attr-defined]
    botocore.session.Session.get_credentials = get_credentials  # type: ignore[method-assign]


def _patch_executor_context() -> None:
    """Threads started through an executor (s3transfer's upload threads, a handler's own
    pool) run in the submitter's context, so they act as its role and see its environment;
    in Lambda the whole process is the function."""
    from concurrent.futures import ThreadPoolExecutor

    from phenolake_local.patches import _expect

    original = _expect(ThreadPoolExecutor, "submit", ["self", "fn"])
    if getattr(original, "_phenolake", False):
        return

    def submit(self: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return original(self, contextvars.copy_context().run, fn, *args, **kwargs)

    submit._phenolake = True  # type: ignore[attr-defined]
    ThreadPoolExecutor.submit = submit  # type: ignore[method-assign]


def install() -> None:
    """Every IAM hook (idempotent)."""
    _patch_authorize()
    _patch_delete_objects()
    _patch_session_credentials()
    _patch_executor_context()
