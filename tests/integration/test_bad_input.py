"""Bad input across sources, through the real workflow: each case is quarantined with a
reason file, the good files beside them go on, and the run summary counts what was refused."""

from __future__ import annotations

import json

import pytest

from phenolake_local import runner
from phenolake_tools import query
from tests.fakes import bad_inputs

pytestmark = pytest.mark.slow

EXPECTED = {
    "wrong column count": "row does not have 24 tab-separated fields",
    "0-byte file": "empty file: no rows",
    "binary bytes": "binary file (NUL bytes), not an MHEALTH log",
    "path traversal": "member path escapes the archive ('..')",
    "absolute member name": "absolute member path",
    "symlink member": "symlink member",
    "zip bomb (ratio)": "exceeds the limit 200 (zip bomb?)",
    "encrypted zip": "encrypted zip",
    "truncated zip": "not a readable zip",
    "truncated / corrupt JPEG": "image withheld (fail closed): truncated JPEG",
    "decompression bomb": "exceeds the limit of 50000000 (pixel bomb?)",
    "time in the future / before 2000": "time before 2000-01-01 or more than a day in the future",
    "gz that is not gzip": "is not gzip",
    "non-UTF-8 bytes": "invalid UTF8 data",
}


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory: pytest.TempPathFactory, spark: object):
    root = tmp_path_factory.mktemp("bad")
    inputs = bad_inputs.make(root / "in")
    home = root / "home"
    result = runner.run(
        runner.RunOptions(home=home, inputs=inputs, sources=["mhealth", "radar", "screenlake"])
    )
    lake_dir = next(home.glob("*-lake"))
    reasons = [
        json.loads(p.read_text())["reason"] for p in lake_dir.glob("quarantine/**/*.reason.json")
    ]
    return home, result, reasons


def test_every_case_is_quarantined_with_its_reason(bad_run) -> None:
    _, result, reasons = bad_run
    assert result.status == "SUCCEEDED", f"{result.error}: {result.cause}"
    missing = [case for case, reason in EXPECTED.items() if not any(reason in r for r in reasons)]
    assert missing == []
    assert sum("truncated JPEG" in r for r in reasons) == 2  # cut short, and random bytes


def test_the_summary_counts_them(bad_run) -> None:
    _, result, reasons = bad_run
    notify = result.output["notify"]
    assert notify["quarantined"] == len(reasons) == 15
    assert notify["rejected_members"] == 4  # '..', absolute, symlink, ratio
    assert notify["rejected_rows"] == 3  # one short MHEALTH row, two radar times
    assert "quarantined 15" in notify["message"]


def test_the_good_data_beside_them_goes_on(bad_run) -> None:
    home, _, _ = bad_run
    users = query.query_local(
        "SELECT user_id, count(*) AS n FROM mhealth GROUP BY user_id ORDER BY user_id", home
    ).to_pylist()
    assert users == [
        {"user_id": "1", "n": 300},
        {"user_id": "2", "n": 100},
        {"user_id": "5", "n": 300},
    ]
    light = query.query_local(
        "SELECT count(*) AS n, min(time) AS first, max(time) AS last "
        "FROM radar_sensorkit_ambient_light",
        home,
    ).to_pylist()
    assert light[0]["n"] == 20
    assert light[0]["first"].year == light[0]["last"].year == 2024
    lake_dir = next(home.glob("*-lake"))
    assert not list(lake_dir.glob("images/**/*.jpg"))
    assert not [p for p in home.glob("*-scratch/**/*") if p.is_file()]
