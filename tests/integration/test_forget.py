"""Consent withdrawal: `phenolake forget` runs the DeleteParticipant state machine; the
participant is gone from every zone, the catalog and the ledger, and cannot come back."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from phenolake import forget, lake
from phenolake_local import runner
from phenolake_local.engine import EmbeddedAWS
from phenolake_tools import query
from tests.cli import cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def forgotten(tmp_path_factory: pytest.TempPathFactory, spark: object):
    home = tmp_path_factory.mktemp("forget")
    first = runner.run(runner.RunOptions(home=home, sources=["mhealth"]))
    assert first.status == "SUCCEEDED", first.cause
    refused = cli("forget", "2", "--home", str(home))
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "phenolake: error: forget: deleting needs --yes when not run interactively"
    )
    done = cli("forget", "2", "--yes", "--home", str(home), timeout=300)
    return home, done


def rows(home: Path, sql: str) -> list[dict]:
    return query.query_local(sql, home).to_pylist()


def test_the_participant_is_gone_from_the_tables(forgotten) -> None:
    home, done = forgotten
    assert done.returncode == 0, done.stderr
    assert "participant 2 deleted" in done.stdout
    assert "Iceberg table mhealth:" in done.stdout
    assert "landing zip" not in done.stdout  # the sample logs were landed alone, no zip kept
    users = rows(home, "SELECT DISTINCT user_id FROM mhealth ORDER BY user_id")
    assert users == [{"user_id": "1"}, {"user_id": "3"}]
    readings = rows(home, "SELECT count(*) AS n FROM mhealth_readings WHERE user_id = '2'")
    assert readings == [{"n": 0}]
    left = rows(home, "SELECT DISTINCT participant_id FROM completeness ORDER BY 1")
    assert left == [{"participant_id": "1"}, {"participant_id": "3"}]


def test_every_zone_and_the_ledger_forget_it(forgotten) -> None:
    home, _ = forgotten
    lake_dir = next(home.glob("*-lake"))
    landing_dir = next(home.glob("*-landing"))
    files = [p.relative_to(lake_dir).as_posix() for p in lake_dir.rglob("*") if p.is_file()]
    assert not [f for f in files if "participant=2/" in f or "user_id=2/" in f]
    assert not [f for f in files if f.startswith("raw/") and f.endswith("subject2.log")]
    assert not list(landing_dir.rglob("mHealth_subject2.log"))
    assert list(landing_dir.rglob("mHealth_subject1.log"))
    audits = list((lake_dir / "manifests/deletions").glob("*.json"))
    assert len(audits) == 1
    audit = json.loads(audits[0].read_text())
    assert audit["participant_sha256"] == forget.participant_digest("2")
    assert "participant" not in audit  # named by its sha256 only
    assert audit["deleted_objects"]["landing"] == 1
    # the curated tables are Iceberg: rows deleted by Athena's DELETE, files by VACUUM
    deleted = {
        t: v["rows_deleted"] for t, v in audit["iceberg_tables"].items() if v["rows_deleted"]
    }
    assert set(deleted) == {"mhealth", "mhealth_readings"}
    assert deleted["mhealth"] == deleted["mhealth_readings"] > 0
    assert audit["ledger_entries_removed"] == 1
    with EmbeddedAWS(home) as aws:
        ledger = aws.env()["LEDGER_TABLE"]
        items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=ledger)["Items"]
    keys = {(i["pk"]["S"], i["sk"]["S"]) for i in items}
    assert ("forgotten", forget.participant_digest("2")) in keys
    assert not [k for k in keys if k[1].endswith("subject2.log")]


def test_landing_the_file_again_does_not_bring_it_back(forgotten, tmp_path: Path) -> None:
    home, _ = forgotten
    again = tmp_path / "again"
    again.mkdir()
    sample = next(home.glob("samples/mhealth/**/mHealth_subject2.log"))
    (again / "mHealth_subject2.log").write_bytes(sample.read_bytes())
    result = runner.run(runner.RunOptions(home=home, inputs=[again], sources=["mhealth"]))
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["notify"]["rows"] == 0
    assert rows(home, "SELECT count(*) AS n FROM mhealth WHERE user_id = '2'") == [{"n": 0}]


def test_the_zip_a_raw_file_came_from_is_named() -> None:
    member = lake.raw_key("radar", "radar/site-a/export.zip", "kcl-001/acc/0.csv.gz")
    assert forget.landing_zip("radar", member.split("/", 2)[2]) == "radar/site-a/export.zip"
    alone = lake.raw_key("mhealth", "mhealth/logs/mHealth_subject2.log")
    assert forget.landing_zip("mhealth", alone.split("/", 2)[2]) is None
