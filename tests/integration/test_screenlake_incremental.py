"""Screenlake run day by day: each run's Curate reads only the day files that run merged and
replaces only those (panelist, day)s of the Iceberg tables; a rerun never duplicates.

The seeded sample zips, as the app uploads them: day 1 brings p001's first upload (its
session crosses midnight UTC, so it fills 2024-10-01 and starts 2024-10-02), day 2 brings
p001's second upload (2024-10-02, which re-states that day) and p002's; then day 2's
inputs are run again as a replay (locally every object landed in today's window, so the
replay takes day 1's too).
"""

from __future__ import annotations

import collections
import re
from pathlib import Path
from typing import Any

import pytest

from phenolake.sources.screenlake import convert as screenlake
from phenolake.sources.screenlake.convert import KINDS
from phenolake_local import runner
from tests.curated_tables import data_files, rows

pytestmark = pytest.mark.slow

SEED = 20141
D1, D2 = "2024-10-01", "2024-10-02"


def day_inputs(tmp: Path) -> tuple[Path, Path]:
    made = tmp / "made" / "screenlake"
    zips = screenlake.Screenlake().write_samples(made, SEED)  # in samples.UPLOADS order
    days = (tmp / "day1" / "screenlake", tmp / "day2" / "screenlake")
    for day, chosen in zip(days, ([zips[0]], zips[1:]), strict=True):
        for path in chosen:
            target = day / path.relative_to(made)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    return days


def per_day(table: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    return dict(sorted(collections.Counter((r["panelist"], r["date"]) for r in table).items()))


def files_read(home: Path, run: str) -> dict[str, int]:
    """The day files each table's Curate read, as the job printed them."""
    texts = [p.read_text(errors="replace") for p in (home / "logs" / run).rglob("*.log")]
    found = {
        m.group(1): int(m.group(2))
        for t in texts
        for m in re.finditer(r"^(screenlake_\w+): (\d+) day file\(s\)", t, re.MULTILINE)
    }
    assert found, f"no Curate line in {home / 'logs' / run}"
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, spark: object) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("screenlake-days")
    day1, day2 = day_inputs(tmp)
    home = tmp / "home"
    seen: dict[str, Any] = {}
    for name, options in {
        "day1": runner.RunOptions(home=home, inputs=[day1], sources=["screenlake"]),
        "day2": runner.RunOptions(home=home, inputs=[day2], sources=["screenlake"]),
        "rerun": runner.RunOptions(home=home, inputs=[day2], replay=True, sources=["screenlake"]),
    }.items():
        result = runner.run(options)
        assert result.status == "SUCCEEDED", f"{name}: {result.error}: {result.cause}"
        seen[name] = {
            "run": result.execution_name,
            "tables": {kind.table: rows(home, kind.table) for kind in KINDS.values()},
            "read": files_read(home, result.execution_name),
            "files": {kind.table: data_files(home, kind.table) for kind in KINDS.values()},
        }
    return seen


def test_each_run_replaces_exactly_its_panelist_days(runs: dict[str, Any]) -> None:
    day1 = {kind: per_day(t) for kind, t in runs["day1"]["tables"].items()}
    assert day1["screenlake_screenshots"] == {("p001", D1): 2, ("p001", D2): 1}
    assert day1["screenlake_accessibility"] == {("p001", D1): 4, ("p001", D2): 2}
    assert day1["screenlake_sessions"] == {("p001", D1): 1}
    assert day1["screenlake_logs"] == {("p001", D2): 2}
    day2 = {kind: per_day(t) for kind, t in runs["day2"]["tables"].items()}
    assert day2["screenlake_screenshots"] == {("p001", D1): 2, ("p001", D2): 3, ("p002", D2): 3}
    assert day2["screenlake_accessibility"] == {
        ("p001", D1): 4,
        ("p001", D2): 6,
        ("p002", D2): 6,
    }
    assert day2["screenlake_segments"] == {("p001", D1): 2, ("p001", D2): 3, ("p002", D2): 3}
    assert day2["screenlake_sessions"] == {("p001", D1): 1, ("p001", D2): 1, ("p002", D2): 1}
    # p002's third log row is cut short and rejected
    assert day2["screenlake_logs"] == {("p001", D2): 4, ("p002", D2): 2}
    rerun = {kind: per_day(t) for kind, t in runs["rerun"]["tables"].items()}
    assert rerun == day2


def test_no_row_is_doubled_and_a_rerun_changes_no_row(runs: dict[str, Any]) -> None:
    def by_key(table: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
        keys = collections.Counter((r["source_key"], r["row_index"]) for r in table)
        assert max(keys.values()) == 1
        return {
            (r["source_key"], r["row_index"]): {k: v for k, v in r.items() if k != "run_id"}
            for r in table
        }

    for kind in KINDS.values():
        found = {name: by_key(runs[name]["tables"][kind.table]) for name in runs}
        assert found["rerun"] == found["day2"], kind.table
        assert found["day1"].keys() < found["day2"].keys(), kind.table


def test_a_day_not_restated_is_not_rewritten(runs: dict[str, Any]) -> None:
    """p001's 2024-10-01 arrived on day 1 only: day 2 left its data files as they were."""
    untouched = f"panelist=p001/date={D1}"
    restated = f"panelist=p001/date={D2}"
    for kind in KINDS.values():
        day1, day2 = (runs[name]["files"][kind.table] for name in ("day1", "day2"))
        if untouched in day1:
            assert day2[untouched] == day1[untouched], kind.table
        if restated in day1:
            assert day2[restated].isdisjoint(day1[restated]), kind.table


def test_each_curate_read_only_its_runs_day_files(runs: dict[str, Any]) -> None:
    assert runs["day1"]["read"] == {
        "screenlake_screenshots": 2,
        "screenlake_accessibility": 2,
        "screenlake_segments": 2,
        "screenlake_sessions": 1,
        "screenlake_logs": 1,
    }
    # day 2: p001's and p002's 2024-10-02 only, never p001's 2024-10-01
    assert runs["day2"]["read"] == {kind.table: 2 for kind in KINDS.values()}
    assert runs["rerun"]["read"] == {
        "screenlake_screenshots": 3,
        "screenlake_accessibility": 3,
        "screenlake_segments": 3,
        "screenlake_sessions": 3,
        "screenlake_logs": 2,
    }
