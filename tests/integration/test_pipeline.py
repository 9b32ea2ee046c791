"""The whole pipeline, as `make run` runs it: the real state machine, handlers and Glue script."""

from __future__ import annotations

import collections
import csv
import io
import json
from pathlib import Path

import pytest

from phenolake.sources.mhealth.convert import ACTIVITIES
from phenolake_local import runner
from phenolake_local.engine import EmbeddedAWS
from phenolake_tools import query
from tests import curated_tables
from tests.aws_calls import Calls

pytestmark = pytest.mark.slow


def expected_activity_counts(home: Path, subject: int) -> dict[str, int]:
    log = home / "samples/mhealth/MHEALTHDATASET" / f"mHealth_subject{subject}.log"
    counts: collections.Counter[str] = collections.Counter()
    for row in csv.reader(log.open(), delimiter="\t"):
        counts[ACTIVITIES[int(row[23])]] += 1
    return dict(sorted(counts.items()))


def test_sample_run_succeeds_and_lands_the_tables(
    sample_run: tuple[Path, runner.RunResult],
) -> None:
    _home, result = sample_run
    assert result.status == "SUCCEEDED", f"{result.error}: {result.cause}"
    notify = result.output["notify"]
    assert (notify["objects"], notify["data_files"], notify["rows"], notify["quarantined"]) == (
        3,
        3,
        4500,
        0,
    )
    states = {s["state"] for s in result.states}
    assert {
        "Plan",
        "Fetch",
        "Unzip",
        "RedactAndConvert",
        "DailyMerge",
        "Curate",
        "Completeness",
        "Notify",
    } <= states


def test_query_gives_the_counts_of_the_files(sample_run: tuple[Path, runner.RunResult]) -> None:
    home, _ = sample_run
    sql = (
        "SELECT activity, count(*) AS n FROM mhealth WHERE user_id='3' "
        "GROUP BY activity ORDER BY activity"
    )
    text = query.format_table(query.query_local(sql, home), "csv")
    rows = {r["activity"]: int(r["n"]) for r in csv.DictReader(io.StringIO(text))}
    assert rows == expected_activity_counts(home, 3)


def test_curated_readings_carry_every_column_and_provenance(
    sample_run: tuple[Path, runner.RunResult],
) -> None:
    home, _result = sample_run
    table = query.query_local(
        "SELECT user_id, count(*) AS n, min(timestamp) AS first, count(DISTINCT run_id) AS runs, "
        "max(row_index) AS last_row FROM mhealth_readings GROUP BY user_id ORDER BY user_id",
        home,
    ).to_pylist()
    assert [(r["user_id"], r["n"], r["last_row"], r["runs"]) for r in table] == [
        ("1", 1500, 1499, 1),
        ("2", 1500, 1499, 1),
        ("3", 1500, 1499, 1),
    ]
    assert str(table[0]["first"]).startswith("2014-01-01 00:00:00")
    columns = query.query_local("SELECT * FROM mhealth_readings LIMIT 1", home).column_names
    for name in (
        "chest_acc_x",
        "ecg_lead_2",
        "right_lower_arm_mag_z",
        "activity_id",
        "activity",
        "source_key",
        "source_sha256",
    ):
        assert name in columns
    seed_schema = query.query_local("SELECT * FROM mhealth LIMIT 1", home).column_names
    assert seed_schema == [
        *["activity", "timestamp", "sensor1", "sensor2", "sensor3", "user_id"],
        "date",  # the day Curate replaces rows by
    ]


def test_completeness_table(sample_run: tuple[Path, runner.RunResult]) -> None:
    home, _ = sample_run
    rows = query.query_local(
        "SELECT participant_id, metric, date, rows, expected_rows FROM completeness "
        "ORDER BY participant_id",
        home,
    ).to_pylist()
    assert rows == [
        {
            "participant_id": p,
            "metric": "mhealth_readings",  # the table, as the report names non-radar metrics
            "date": "2014-01-01",
            "rows": 1500,
            "expected_rows": 4_320_000,
        }
        for p in ("1", "2", "3")
    ]


def test_replay_replaces_the_same_rows(sample_run: tuple[Path, runner.RunResult]) -> None:
    home, _ = sample_run

    def table_rows(table: str) -> list[dict]:
        return sorted(curated_tables.rows(home, table), key=lambda r: [str(v) for v in r.values()])

    before = {t: table_rows(t) for t in ("mhealth", "mhealth_readings")}
    again = runner.run(runner.RunOptions(home=home, replay=True, sources=["mhealth"]))
    assert again.status == "SUCCEEDED", again.cause
    for table, found in before.items():
        assert len(found) == 4500
        assert table_rows(table) == found, table  # run_id included
    assert again.output["notify"]["rows"] == 4500
    total = query.query_local("SELECT count(*) AS n FROM mhealth", home).to_pylist()
    assert total == [{"n": 4500}]
    with Calls() as calls:  # the CLI lands the 3 samples again: the same bytes
        nothing_new = runner.run(runner.RunOptions(home=home, sources=["mhealth"]))
    assert nothing_new.status == "SUCCEEDED"
    assert nothing_new.output["notify"]["objects"] == 0
    # Plan read the 3 pending items, found each taken in with its ETag, and listed nothing
    assert calls.query_items.get("pending#mhealth") == 3
    assert calls.listings("phenolake-123456789012-landing") == []


def test_dry_run_plans_and_changes_nothing(tmp_path: Path) -> None:
    result = runner.run(runner.RunOptions(home=tmp_path, dry_run=True, sources=["mhealth"]))
    assert result.status == "SUCCEEDED"
    assert result.output["dry_run"] is True
    assert result.output["work"]["landed"]["count"] == 3
    assert result.output["estimate"]["total_usd"] > 0
    assert result.output["estimate"]["athena_full_scan_usd"] > 0  # Athena's 10 MB minimum
    assert not list(tmp_path.glob("*-landing")) and not list(tmp_path.glob("*-lake"))


def test_a_failing_step_is_recorded_and_notified(tmp_path: Path) -> None:
    with EmbeddedAWS(tmp_path) as aws:
        arn = aws.start_execution("run-broken", {"sources": ["no-such-source"]})
        described = aws.wait(arn)
        lake = aws.bucket("LakeBucket")
        manifest = json.loads(
            aws.s3.get_object(Bucket=lake, Key="manifests/runs/run-broken.json")["Body"].read()
        )
        history = aws.history(arn)
    assert described["status"] == "FAILED"
    assert manifest["status"] == "FAILED"
    assert "no-such-source" in manifest["error"]["Cause"]
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
    ]
    assert entered[-2:] == ["RecordFailure", "Failed"]


def test_run_manifests_record_provenance_and_form_a_chain(
    sample_run: tuple[Path, runner.RunResult],
) -> None:
    from phenolake import provenance

    home, result = sample_run
    lake_dir = next(home.glob("*-lake"))
    manifest = json.loads(
        (lake_dir / "manifests/runs" / f"{result.execution_name}.json").read_text()
    )
    assert len(manifest["inputs"]) == 3 and all(i["etag"] for i in manifest["inputs"])
    assert {len(f["sha256"]) for f in manifest["files"]} == {64}
    assert manifest["outputs"]["tables"]["mhealth"] >= 4500
    assert len(manifest["configuration_sha256"]) == 64
    report = provenance.verify(provenance.FolderStore(lake_dir))
    assert report.ok, report.problems
    assert result.execution_name in report.runs
