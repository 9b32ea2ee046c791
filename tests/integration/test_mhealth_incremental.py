"""MHEALTH run day by day: each run's Curate reads only the day files that run merged and
replaces only those (participant, day)s' rows of the Iceberg tables; a rerun never duplicates.

Day 1 brings subjects 1 and 2; day 2 brings subject 3 and a second recording of subject 1
(another folder, so subject 1's day is re-stated as the union of both logs); then day 2's
inputs are run again, replayed for day 2's participants. The logs are the seeded samples'
(written as the UCI set's are); every row of a log is on 2014-01-01, the recording start's day.
"""

from __future__ import annotations

import collections
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from phenolake.sources.mhealth import samples
from phenolake_local import runner
from tests.curated_tables import data_files, rows

pytestmark = pytest.mark.slow

DAY = "2014-01-01"
ROWS = 400


def log_of(folder: Path, subject: int, seed: int) -> Path:
    """Subject ``subject``'s sample log of the seed ``seed`` (each seed writes all three)."""
    written = samples.write(folder / f"seed{seed}", seed, ROWS)
    return next(p for p in written if p.name == f"mHealth_subject{subject}.log")


def day_inputs(tmp: Path) -> tuple[Path, Path]:
    day1 = tmp / "day1" / "mhealth"
    day2 = tmp / "day2" / "mhealth"
    for folder in (day1 / "MHEALTHDATASET", day2 / "MHEALTHDATASET", day2 / "session2"):
        folder.mkdir(parents=True)
    made = tmp / "made"
    for subject in (1, 2):
        shutil.copy(log_of(made, subject, 7), day1 / "MHEALTHDATASET")
    shutil.copy(log_of(made, 3, 7), day2 / "MHEALTHDATASET")
    shutil.copy(log_of(made, 1, 8), day2 / "session2")  # subject 1's second recording
    return day1, day2


def per_day(table: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    return dict(sorted(collections.Counter((r["user_id"], r["date"]) for r in table).items()))


def curate_log(home: Path, run: str) -> str:
    texts = [p.read_text(errors="replace") for p in (home / "logs" / run).rglob("*.log")]
    found = [line for t in texts for line in t.splitlines() if line.startswith("mhealth: ")]
    assert found, f"no Curate line in {home / 'logs' / run}"
    return "\n".join(found)


def read_counts(log: str) -> int:
    return int(re.search(r"mhealth: (\d+) day file\(s\)", log).group(1))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, spark: object) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("mhealth-days")
    day1, day2 = day_inputs(tmp)
    home = tmp / "home"
    seen: dict[str, Any] = {"home": home}
    for name, options in {
        "day1": runner.RunOptions(home=home, inputs=[day1], sources=["mhealth"]),
        "day2": runner.RunOptions(home=home, inputs=[day2], sources=["mhealth"]),
        "rerun": runner.RunOptions(
            home=home, inputs=[day2], replay=True, sources=["mhealth"], participants=["1", "3"]
        ),
    }.items():
        result = runner.run(options)
        assert result.status == "SUCCEEDED", f"{name}: {result.error}: {result.cause}"
        seen[name] = {
            "run": result.execution_name,
            "readings": rows(home, "mhealth_readings"),
            "mhealth": rows(home, "mhealth"),
            "log": curate_log(home, result.execution_name),
            "files": {t: data_files(home, t) for t in ("mhealth_readings", "mhealth")},
        }
    return seen


def test_each_run_replaces_exactly_its_participant_days(runs: dict[str, Any]) -> None:
    expected = {
        "day1": {("1", DAY): ROWS, ("2", DAY): ROWS},
        "day2": {("1", DAY): 2 * ROWS, ("2", DAY): ROWS, ("3", DAY): ROWS},
        "rerun": {("1", DAY): 2 * ROWS, ("2", DAY): ROWS, ("3", DAY): ROWS},
    }
    for name, counts in expected.items():
        for table in ("readings", "mhealth"):
            assert per_day(runs[name][table]) == counts, (name, table)


def test_no_row_is_doubled(runs: dict[str, Any]) -> None:
    for name in ("day1", "day2", "rerun"):
        table = runs[name]["readings"]
        keys = collections.Counter((r["source_key"], r["row_index"]) for r in table)
        assert max(keys.values()) == 1, name
        stamps = collections.Counter((r["user_id"], r["timestamp"]) for r in runs[name]["mhealth"])
        # from day 2, subject 1's two recordings share the clock (both start at 2014-01-01)
        assert max(stamps.values()) == (1 if name == "day1" else 2), name
    rerun = {(r["source_key"], r["row_index"]): r for r in runs["rerun"]["readings"]}
    day2 = {(r["source_key"], r["row_index"]): r for r in runs["day2"]["readings"]}
    assert rerun.keys() == day2.keys()
    drop = {"run_id"}
    assert all(
        {k: v for k, v in rerun[key].items() if k not in drop}
        == {k: v for k, v in day2[key].items() if k not in drop}
        for key in day2
    )


def test_a_day_not_restated_is_not_rewritten(runs: dict[str, Any]) -> None:
    """Subject 2 arrived on day 1 only: its day's data files are day 1's after day 2 and the
    rerun; the re-stated days' files are new. (``run_id`` is the run that first took a source
    object in, kept on a replay.)"""
    subject2 = f"user_id=2/date={DAY}"
    for table in ("mhealth_readings", "mhealth"):
        files = {name: runs[name]["files"][table] for name in ("day1", "day2", "rerun")}
        assert files["day2"][subject2] == files["day1"][subject2], table
        assert files["rerun"][subject2] == files["day1"][subject2], table
        subject1 = f"user_id=1/date={DAY}"
        assert files["day2"][subject1].isdisjoint(files["day1"][subject1]), table
        assert files["rerun"][subject1].isdisjoint(files["day2"][subject1]), table
    by_user = collections.defaultdict(set)
    for r in runs["day2"]["readings"]:
        by_user[r["user_id"]].add(r["run_id"])
    assert by_user == {
        "1": {runs["day1"]["run"], runs["day2"]["run"]},
        "2": {runs["day1"]["run"]},
        "3": {runs["day2"]["run"]},
    }


def test_each_curate_read_only_its_runs_day_files(runs: dict[str, Any]) -> None:
    assert read_counts(runs["day1"]["log"]) == 2  # subjects 1 and 2
    assert read_counts(runs["day2"]["log"]) == 2  # subjects 1 and 3: not subject 2's day
    assert read_counts(runs["rerun"]["log"]) == 2
    assert "2 participant-day(s) replaced" in runs["day2"]["log"]


def test_curated_rows_carry_the_merged_day(runs: dict[str, Any]) -> None:
    table = runs["rerun"]["mhealth"]
    assert list(table[0]) == [
        "activity",
        "timestamp",
        "sensor1",
        "sensor2",
        "sensor3",
        "user_id",
        "date",
    ]
    assert {r["timestamp"].date().isoformat() for r in table} == {DAY}
