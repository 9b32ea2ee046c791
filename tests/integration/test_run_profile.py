"""``phenolake run --profile``: the run's profile, per step, in the run summary, the run
manifest and a timeline chart, its figures consistent with the run's own counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.cli import in_process
from tests.integration.test_run_summary import shown, write_inputs

pytestmark = pytest.mark.slow

LAMBDA_STEPS = {
    "plan",
    "fetch",
    "unzip",
    "collect:extracted",
    "convert",
    "redact:qa",
    "collect:converted",
    "daily_merge",
    "completeness",
}


def test_run_profile_prints_the_table_writes_the_chart_and_the_manifest(
    tmp_path: Path, spark: object, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = write_inputs(tmp_path / "in")
    home, chart = tmp_path / "home", tmp_path / "chart" / "profile.png"
    args = ["run", "--source", "mhealth", "--home", str(home), "--input", str(inputs)]
    code, out, err = in_process(capsys, *args, "--profile", str(chart))
    assert code == 0, err
    assert "profile (peak memory MB / configured" in out
    assert f"profile chart: {chart}" in out
    printed = {line.split("│")[1].strip() for line in out.splitlines() if line.count("│") > 8}
    assert LAMBDA_STEPS | {"curate"} <= printed

    manifest = json.loads(next(home.rglob("manifests/runs/run-*.json")).read_text())
    steps = {row["step"]: row for row in manifest["profile"]["steps"]}
    assert LAMBDA_STEPS | {"curate"} <= set(steps)
    for name in LAMBDA_STEPS:
        row = steps[name]
        assert row["configured_mb"] in (1024, 2048), row
        assert 0 <= row["peak_mb"] <= row["configured_mb"], row
        assert row["lambda_seconds"] >= 0 and row["wall_seconds"] >= 0, row
    curate = steps["curate"]
    assert curate["glue_seconds"] >= 1 and curate["lambda_seconds"] is None
    rows = manifest["totals"]["rows"]
    assert rows == shown(out, "rows in tables") == 200
    # each step's rows agree with the run's counts: Convert keeps 200 of 202 (2 rejected),
    # the daily merge and Curate take those 200, Curate writes them to both tables
    assert (steps["convert"]["rows_in"], steps["convert"]["rows_out"]) == (rows + 2, rows)
    assert steps["daily_merge"]["rows_in"] == steps["daily_merge"]["rows_out"] == rows
    assert curate["rows_in"] == rows
    assert curate["rows_out"] == sum(manifest["outputs"]["tables"].values()) == 2 * rows
    assert curate["bytes_in"] == steps["daily_merge"]["bytes_out"] > 0
    assert curate["bytes_out"] > 0
    invocations = manifest["profile"]["invocations"]
    assert sum(i["step"] == "convert" for i in invocations) == steps["convert"]["invocations"]
    assert all(i["ended"] >= i["started"] for i in invocations)

    with Image.open(chart) as image:
        assert image.format == "PNG" and image.width == 1210
        assert image.height > 500  # a row per step
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or []) > 50
