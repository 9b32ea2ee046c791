"""Table upkeep on a lake with history: `phenolake maintain` runs the template's Maintain state
machine (the maintain Glue job, Iceberg's own procedures) on a RADAR table curated over three
daily runs, and every query answers as before.

The lake: two days delivered one run each, then a late hour of day 1 (its day files replaced:
the old ones stay reachable from the older snapshots); a second writer's append of one
participant's day (two small files in one partition, for compaction); the snapshot of the
third run tagged as a freeze would be (``freeze_<name>``); a failed write's leftover file; every
file of the table aged four days (older than the orphan age). Upkeep runs
twice: with a week's retention (no snapshot is a week old: none expires), then with the local
defaults (every snapshot but the current and the tagged one expires).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from phenolake_local import iceberg, runner
from phenolake_local.engine import EmbeddedAWS
from phenolake_tools.query import QueryError, query_local
from tests.cli import redirected
from tests.integration.test_study_history import DAYS, HOURS, TABLE, delivery

pytestmark = pytest.mark.slow

TAG = "freeze_before_upkeep"
QUERIES = {
    "per participant and day": (
        f"SELECT participant_id, date, count(*) AS n, sum(x) AS x, min(time) AS first "
        f"FROM {TABLE} GROUP BY participant_id, date ORDER BY participant_id, date"
    ),
    "whole table": f"SELECT count(*) AS n, sum(x + y + z) AS s, max(time) AS last FROM {TABLE}",
    "one day's rows": (
        f"SELECT participant_id, time, x FROM {TABLE} WHERE date = '{DAYS[1]}' "
        "ORDER BY participant_id, time, x"
    ),
    "the freeze": (
        f"SELECT participant_id, date, count(*) AS n FROM {TABLE} FOR VERSION AS OF '{TAG}' "
        "GROUP BY participant_id, date ORDER BY participant_id, date"
    ),
}


def answers(home: Path) -> dict[str, list[dict]]:
    return {name: query_local(sql, home).to_pylist() for name, sql in QUERIES.items()}


def folder(home: Path) -> tuple[int, int]:
    """Files and bytes under the table's folder, as the test sees the lake."""
    root = next(home.glob("*-lake")) / "curated" / TABLE
    files = [p for p in root.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def snapshot_ids(home: Path) -> list[int]:
    rows = query_local(f'SELECT snapshot_id FROM "{TABLE}$snapshots" ORDER BY committed_at', home)
    return rows.column("snapshot_id").to_pylist()


def report_of(output: str) -> dict:
    path = Path(output.strip().splitlines()[-1].split("upkeep report: ", 1)[1])
    return json.loads(path.read_text())["tables"][0]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, spark: object) -> dict:
    base = tmp_path_factory.mktemp("upkeep")
    home = base / "home"
    for step, (day, hours) in enumerate([(DAYS[0], HOURS), (DAYS[1], HOURS), (DAYS[0], (22,))]):
        inputs = delivery(base / f"in-{step}", day, hours)
        result = runner.run(runner.RunOptions(home=home, inputs=[inputs], sources=["radar"]))
        assert result.status == "SUCCEEDED", f"{result.error}: {result.cause}"
    with EmbeddedAWS(home) as aws:
        table = iceberg.catalog(aws.home, aws.glue).load_table(f"phenolake.{TABLE}")
        tagged = table.current_snapshot().snapshot_id
        day = table.scan(row_filter=f"participant_id == 'kcl-h01' and date == '{DAYS[1]}'")
        table.append(day.to_arrow())  # a second writer's rows: a second file in the partition
        table.manage_snapshots().create_tag(tagged, TAG).commit()
        aws.load_buckets()  # PyIceberg wrote the files in home: moto's S3 gets them
    # a failed write's leftover, and every file of the table four days old: the orphan is
    # older than the orphan age, and so are the files only the tag still reaches
    data = next(home.glob(f"*-lake/curated/{TABLE}/data/*/*/date={DAYS[1]}"))
    orphan = data / "00000-0-leftover-of-a-failed-write.parquet"
    shutil.copyfile(next(data.glob("*.parquet")), orphan)
    aged = time.time() - 4 * 24 * 3600
    for path in next(home.glob(f"*-lake/curated/{TABLE}")).rglob("*"):
        os.utime(path, (aged, aged))
    return {"home": home, "tagged": tagged, "first": snapshot_ids(home)[0], "orphan": orphan}


@pytest.fixture(scope="module")
def upkeep(lake: dict) -> dict:
    """The answers, files and snapshots before upkeep, after a week's retention and after the
    local defaults, with each `phenolake maintain`'s exit code, output and report."""
    home = lake["home"]
    found: dict = {"before": (answers(home), folder(home), snapshot_ids(home))}
    for name, args in (("week", ("--retention-days", "7")), ("defaults", ())):
        code, out, err = redirected("maintain", "--home", str(home), *args)
        assert code == 0, err
        found[name] = (answers(home), folder(home), snapshot_ids(home), out, report_of(out))
    return found


def test_a_weeks_retention_keeps_every_recent_snapshot(upkeep: dict) -> None:
    """No snapshot is a week old: none expires, and compaction and the manifests' rewrite
    add theirs."""
    _, _, before = upkeep["before"]
    _, _, after, _, report = upkeep["week"]
    assert set(before) <= set(after)
    assert report["results"]["expire_snapshots"]["deleted_manifest_lists_count"] == 0
    assert report["after"]["snapshots"] == len(after) > len(before)


def test_compaction_bin_packs_the_partition_with_two_small_files(upkeep: dict) -> None:
    _, _, _, _, report = upkeep["week"]
    rewritten = report["results"]["rewrite_data_files"]
    assert (rewritten["rewritten_data_files_count"], rewritten["added_data_files_count"]) == (2, 1)
    assert report["after"]["data_files"] == report["before"]["data_files"] - 1


def test_an_orphan_older_than_the_orphan_age_is_removed(upkeep: dict, lake: dict) -> None:
    """The leftover is four days old (the local orphan age is a day); the files only the
    tagged snapshot reaches are as old and stay (the freeze's answers below)."""
    _, _, _, _, report = upkeep["week"]
    assert report["results"]["remove_orphan_files"] == {"orphan_files_removed": 1}
    assert not lake["orphan"].exists()


def test_upkeep_reduces_the_tables_files_bytes_and_snapshots(upkeep: dict) -> None:
    """The default run expires every snapshot but the current and the tagged one, with the
    manifests, manifest lists and replaced data files only they reached; the report's
    storage figures are what the lake's folder holds."""
    _, files_before, _, _, _ = upkeep["week"]
    _, files_after, snapshots, out, report = upkeep["defaults"]
    assert (report["before"]["storage_files"], report["before"]["storage_bytes"]) == files_before
    assert (report["after"]["storage_files"], report["after"]["storage_bytes"]) == files_after
    assert files_after[0] < files_before[0] and files_after[1] < files_before[1]
    assert report["after"]["snapshots"] == len(snapshots) == 2 < report["before"]["snapshots"]
    # day 1's first files (replaced by the late hour) and compaction's inputs the tag does not
    # reach
    assert report["results"]["expire_snapshots"]["deleted_data_files_count"] == 3
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in out.splitlines()]
    assert [
        TABLE,
        "data files",
        *(f"{report[k]['data_files']:,}" for k in ("before", "after")),
    ] in rows
    assert ["", "storage files", *(f"{n:,}" for n in (files_before[0], files_after[0]))] in rows
    assert ["", "storage bytes", *(f"{n:,}" for n in (files_before[1], files_after[1]))] in rows


def test_every_answer_is_the_same_after_upkeep(upkeep: dict) -> None:
    before = upkeep["before"][0]
    assert before["whole table"][0]["n"] > 0
    assert upkeep["week"][0] == before
    assert upkeep["defaults"][0] == before


def test_the_tagged_snapshot_and_its_files_survive_expiry(upkeep: dict, lake: dict) -> None:
    """The freeze's snapshot is neither current nor recent enough to keep by the defaults:
    the tag keeps it, and every file it reaches reads as before (the freeze's query above)."""
    snapshots = upkeep["defaults"][2]
    assert lake["tagged"] in snapshots
    by_id = query_local(
        f"SELECT count(*) AS n FROM {TABLE} FOR VERSION AS OF {lake['tagged']}", lake["home"]
    ).to_pylist()
    assert by_id == [{"n": sum(r["n"] for r in upkeep["before"][0]["the freeze"])}]


def test_an_expired_snapshot_is_gone_as_trino_says(upkeep: dict, lake: dict) -> None:
    first = lake["first"]
    assert first in upkeep["week"][2] and first not in upkeep["defaults"][2]
    with pytest.raises(QueryError, match=f"Iceberg snapshot ID does not exists: {first}"):
        query_local(f"SELECT count(*) FROM {TABLE} FOR VERSION AS OF {first}", lake["home"])


def test_a_bad_parameter_is_one_line_and_exit_2(lake: dict) -> None:
    code, _, err = redirected("maintain", "--home", str(lake["home"]), "--orphan-age-hours", "1")
    assert code == 2
    assert err.strip().splitlines() == [
        "phenolake: error: --orphan-age-hours: must be at least 24 (Iceberg's "
        "remove_orphan_files refuses a younger age), not 1.0"
    ]


def test_a_failed_upkeep_fails_the_execution_with_the_jobs_reason(lake: dict) -> None:
    """The job refuses a parameter the CLI would have refused (the machine's input bypasses
    it): the execution fails through the notification, with the job's one line as cause."""
    done = runner.maintain(lake["home"], {"orphan_age_hours": "1"})
    assert (done.status, done.error) == ("FAILED", "MaintenanceFailed"), done.cause
    assert "orphan_age_hours: must be at least 24" in done.cause
    assert not done.denials
