"""The pipeline runs under the template's roles: a policy missing one action the code needs
fails the local run, and the failure names the role, the action and the resource."""

from __future__ import annotations

from pathlib import Path

import pytest

from phenolake_local import runner
from phenolake_local.engine import PROJECT_ROOT

pytestmark = pytest.mark.slow

WRITE_PLAN = """            - Sid: WritePlan
              Effect: Allow
              Action: [s3:PutObject]
              Resource:
                - !Sub "${LakeBucket.Arn}/manifests/*"
"""


def project_without_write_plan(tmp_path: Path) -> Path:
    """This project with Plan's statement granting s3:PutObject on manifests/ taken out."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("functions", "layers", "statemachine", "glue_jobs", "study.yaml"):
        (root / name).symlink_to(PROJECT_ROOT / name)
    template = (PROJECT_ROOT / "template.yaml").read_text()
    assert template.count(WRITE_PLAN) == 1, "Plan's WritePlan statement changed; update the test"
    (root / "template.yaml").write_text(template.replace(WRITE_PLAN, ""))
    return root


def test_a_policy_missing_one_action_fails_the_run_naming_it(tmp_path: Path) -> None:
    options = runner.RunOptions(
        home=tmp_path / "home", sources=["mhealth"], root=project_without_write_plan(tmp_path)
    )
    result = runner.run(options)
    assert result.status == "FAILED"
    assert result.error == "AccessDenied"
    assert "assumed-role/phenolake-PlanFunctionRole/" in result.cause
    assert "is not authorized to perform: s3:PutObject on resource:" in result.cause
    assert f"phenolake-123456789012-lake/manifests/{result.execution_name}/" in result.cause
    assert [s["state"] for s in result.states][:3] == ["Configure", "Plan", "RecordFailure"]
