"""template.yaml: linted, valid SAM, and in step with the code (test_deployable.py builds it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from phenolake_local import template
from phenolake_local.engine import PROJECT_ROOT

BIN = Path(sys.executable).parent
ENV = {
    **os.environ,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "SAM_CLI_TELEMETRY": "0",
}
STEPS = {
    "plan": "PlanFunction",
    "fetch": "FetchFunction",
    "unzip": "UnzipFunction",
    "collect": "CollectFunction",
    "redact": "RedactFunction",
    "convert": "ConvertFunction",
    "daily_merge": "DailyMergeFunction",
    "completeness": "CompletenessFunction",
    "timestream_prepare": "TimestreamPrepareFunction",
    "notify": "NotifyFunction",
    "record": "RecordFunction",
}


def run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, cwd=PROJECT_ROOT, env=ENV, timeout=900, **kwargs
    )


def test_cfn_lint_is_clean() -> None:
    result = run(str(BIN / "cfn-lint"), "template.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint() -> None:
    result = run(str(BIN / "sam"), "validate", "--lint", "--region", "us-east-1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_every_step_has_a_function_and_a_sample_event_of_its_contract() -> None:
    import importlib

    deployment = template.load(PROJECT_ROOT)
    env = json.loads((PROJECT_ROOT / "events" / "env.json").read_text())
    for step, logical_id in STEPS.items():
        fn = deployment.functions[logical_id]
        assert fn.code_dir == (PROJECT_ROOT / "functions" / step).resolve()
        assert fn.handler == "app.lambda_handler"
        props = deployment.resources[logical_id]["Properties"]
        assert props.get("Runtime", "python3.13") == "python3.13"
        assert fn.environment["POWERTOOLS_SERVICE_NAME"] == step
        assert set(env[logical_id]) == set(fn.environment), logical_id
        module = importlib.import_module(f"phenolake.steps.{step}")
        model = next(
            v
            for k, v in vars(module).items()
            if k.endswith("Event") and getattr(v, "__module__", "") == module.__name__
        )
        model.model_validate(json.loads((PROJECT_ROOT / "events" / f"{step}.json").read_text()))


def test_definition_substitutions_cover_the_definition() -> None:
    import re

    text = (PROJECT_ROOT / "statemachine" / "pipeline.asl.yaml").read_text()
    used = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text))
    deployment = template.load(PROJECT_ROOT)
    substitutions = deployment.resources["PipelineStateMachine"]["Properties"][
        "DefinitionSubstitutions"
    ]
    assert used == set(substitutions)


def test_buckets_are_private_encrypted_and_tls_only() -> None:
    deployment = template.load(PROJECT_ROOT)
    resources = deployment.resources
    for logical_id in ("LandingBucket", "LakeBucket", "ScratchBucket"):
        props = resources[logical_id]["Properties"]
        assert all(props["PublicAccessBlockConfiguration"].values())
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        policy = resources[f"{logical_id}Policy"]["Properties"]["PolicyDocument"]["Statement"][0]
        assert policy["Effect"] == "Deny"
        assert policy["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert resources["LandingBucket"]["Properties"]["VersioningConfiguration"] == {
        "Status": "Enabled"
    }
    rules = resources["ScratchBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rules[0]["ExpirationInDays"] == 1


def test_timestream_is_off_by_default_and_on_when_asked() -> None:
    off = template.load(PROJECT_ROOT)
    assert "TimestreamDatabase" not in off.resources
    on = template.load(PROJECT_ROOT, {"EnableTimestream": "true"})
    assert on.resources["TimestreamTable"]["Properties"]["TableName"] == "readings"
    assert on.functions["NotifyFunction"].environment["TIMESTREAM_TABLE"] == "readings"
