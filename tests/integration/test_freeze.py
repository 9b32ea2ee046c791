"""Data freezes on a lake with history: a freeze taken after day 1 answers research queries
the same after two more daily runs (one bringing a late hour of the frozen day), a replay and
an upkeep; a consent withdrawal rewrites the frozen snapshots (the participant in no file the
tag reaches, the old tagged snapshot expired) and the manifest says what changed and by
which deletion; a drop removes the tags and the manifest. Every freeze action is the real
FreezeStateMachine (and the DeleteParticipant machine) executing the FreezeJob in the local
Glue 5.1 process."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from phenolake import freezes, tables
from phenolake.sources.radar import schema
from phenolake_local import iceberg, runner
from phenolake_tools import query as q
from tests.cli import cli, redirected
from tests.fakes import radar_writer
from tests.integration.test_study_history import HOURS, SITE, TABLE, TOPIC, records

pytestmark = pytest.mark.slow

FREEZE = "paper_2024"
AS_OF = "between_runs"
GONE, KEPT = "kcl-f01", "kcl-f02"
DAYS = ("2024-11-04", "2024-11-05", "2024-11-06")
#: research queries a paper would run; each must give the freeze's answer for good
QUERIES = (
    f"SELECT participant_id, date, count(*) AS n, round(avg(x), 6) AS x FROM {TABLE} "
    "GROUP BY participant_id, date ORDER BY participant_id, date",
    f"SELECT count(*) AS n, min(time) AS first, max(time) AS last FROM {TABLE}",
    f"SELECT date, count(DISTINCT participant_id) AS participants FROM {TABLE} "
    "GROUP BY date ORDER BY date",
    f"WITH hourly AS (SELECT participant_id, hour(time) AS h, avg(z) AS z FROM {TABLE} "
    "GROUP BY 1, 2) SELECT h, count(*) AS n, round(sum(z), 6) AS z FROM hourly "
    "GROUP BY h ORDER BY h",
)


def delivery(root: Path, days: dict[str, tuple[int, ...]]) -> Path:
    """One export of both participants holding these days' hours, in the tool's layout."""
    shutil.rmtree(root, ignore_errors=True)
    combined = schema.combined_schema(TOPIC)
    for participant in (GONE, KEPT):
        folder = root / "output" / SITE / participant / TOPIC
        found = [r for day, hours in days.items() for r in records(participant, day, hours)]
        radar_writer.write_topic(folder, TOPIC, combined, found)
    return root / "output"


def daily_run(home: Path, folder: Path) -> None:
    result = runner.run(runner.RunOptions(home=home, inputs=[folder], sources=["radar"]))
    assert result.status == "SUCCEEDED", f"{result.error}: {result.cause}"


def answers(home: Path, freeze: str | None = FREEZE) -> list[str]:
    """Each research query's answer (JSON), on the freeze or, with None, the current tables."""
    found = []
    for sql in QUERIES:
        args = ["--freeze", freeze] if freeze else []
        code, stdout, stderr = redirected(
            "query", sql, "--format", "json", "--home", str(home), *args
        )
        assert code == 0, stderr
        found.append(stdout)
    return found


def manifest(home: Path, name: str = FREEZE) -> dict:
    lake = next(home.glob("*-lake"))
    return json.loads((lake / freezes.manifest_key(name)).read_text())


def table_of(home: Path, name: str):
    state = json.loads((home / ".state" / "glue-catalog.json").read_text())
    entry = state["tables"]["phenolake"][name]
    return iceberg.static_table(home, entry["Parameters"]["metadata_location"])


def reachable_files(home: Path, table, snapshot_id: int) -> list[Path]:
    """Every data file the snapshot reaches, as a local file."""
    return [
        q.local_path(task.file.file_path, home)
        for task in table.scan(snapshot_id=snapshot_id).plan_files()
    ]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, spark: object) -> dict:
    base = tmp_path_factory.mktemp("freeze")
    home = base / "home"
    daily_run(home, delivery(base / "in-0", {DAYS[0]: HOURS}))
    code, created, stderr = redirected("freeze", "create", FREEZE, "--home", str(home))
    assert code == 0, stderr
    frozen = answers(home)
    current = answers(home, None)
    assert frozen == current  # nothing has happened since the freeze
    time.sleep(1)
    between = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # after day 1's commits
    daily_run(home, delivery(base / "in-1", {DAYS[1]: HOURS}))
    # a freeze made later, of the lake as it was between the runs (each table's snapshot log)
    code, _, stderr = redirected("freeze", "create", AS_OF, "--as-of", between, "--home", str(home))
    assert code == 0, stderr
    # the third day, and a late hour of the frozen day
    third = delivery(base / "in-2", {DAYS[2]: HOURS, DAYS[0]: (22,)})
    daily_run(home, third)
    # a replay of what landed today: every day curated again, the frozen day among them
    replayed = runner.run(
        runner.RunOptions(home=home, inputs=[third], sources=["radar"], replay=True)
    )
    assert replayed.status == "SUCCEEDED", f"{replayed.error}: {replayed.cause}"
    after_runs, current_before_upkeep = answers(home), answers(home, None)
    # then an upkeep with the local defaults: every snapshot that is neither current nor
    # tagged expires, and the files only those reached are deleted
    code, maintained, stderr = redirected("maintain", "--home", str(home))
    assert code == 0, stderr
    return {
        "home": home,
        "created": created,
        "frozen": frozen,
        "after_runs": after_runs,
        "maintained": maintained,
        "current_before_upkeep": current_before_upkeep,
        "after_upkeep": answers(home),
        "as_of_after_upkeep": answers(home, AS_OF),
        "as_of": answers(home, AS_OF),
        "current": answers(home, None),
        "manifest": manifest(home),
    }


def test_the_freeze_answers_the_same_after_two_more_daily_runs_a_replay_and_an_upkeep(
    lake,
) -> None:
    assert lake["after_runs"] == lake["frozen"]
    assert lake["after_upkeep"] == lake["frozen"]
    assert lake["as_of_after_upkeep"] == lake["frozen"]
    assert "radar_sensorkit_acceleration" in lake["maintained"]  # the upkeep's report table
    assert lake["current"] == lake["current_before_upkeep"]  # upkeep changes no answer
    assert lake["as_of"] == lake["frozen"]  # --as-of chose the snapshots current then
    assert lake["current"] != lake["frozen"]  # the lake itself moved on
    rows = json.loads(lake["frozen"][1])
    assert rows == [{"n": 2 * len(HOURS) * 5, "first": rows[0]["first"], "last": rows[0]["last"]}]
    assert rows[0]["last"].startswith(DAYS[0])


def test_the_manifest_records_each_table_snapshot_and_rows(lake) -> None:
    found = lake["manifest"]
    assert found["name"] == FREEZE and found["changes"] == []
    published = next(lake["home"].glob("*-lake")) / "config" / "study.yaml"
    study = hashlib.sha256(published.read_bytes()).hexdigest() if published.exists() else ""
    assert found["code_version"] and found["study_sha256"] == study
    assert list(found["tables"]) == [TABLE]
    # the steps' own tables are Hive-style: no snapshots, said so
    assert "participant_days" in found["left_out"]
    frozen = found["tables"][TABLE]
    assert frozen["tag"] == f"freeze_{FREEZE}"
    assert frozen["rows"] == 2 * len(HOURS) * 5 and frozen["data_files"] >= 1
    table = table_of(lake["home"], TABLE)
    assert table.metadata.refs[frozen["tag"]].snapshot_id == frozen["snapshot_id"]
    assert table.current_snapshot().snapshot_id != frozen["snapshot_id"]


def test_create_show_and_list_print_the_freeze(lake) -> None:
    home, frozen = lake["home"], lake["manifest"]["tables"][TABLE]
    assert f"freeze {FREEZE}: created" in lake["created"]
    assert str(frozen["snapshot_id"]) in lake["created"]
    shown = cli("freeze", "show", FREEZE, "--home", str(home))
    assert shown.returncode == 0, shown.stderr
    assert str(frozen["snapshot_id"]) in shown.stdout and "changes: none" in shown.stdout
    listed = cli("freeze", "list", "--home", str(home))
    assert listed.returncode == 0, listed.stderr
    assert FREEZE in listed.stdout and AS_OF in listed.stdout
    as_of = manifest(home, AS_OF)
    assert as_of["as_of"] and as_of["tables"][TABLE]["snapshot_id"] == frozen["snapshot_id"]
    sql = cli("freeze", "sql", FREEZE, "--home", str(home))
    assert f'FROM "phenolake"."{TABLE}" FOR VERSION AS OF {frozen["snapshot_id"]};' in sql.stdout


def test_bad_freeze_input_is_one_line_and_exit_2(lake) -> None:
    home = str(lake["home"])
    for args, message in (
        (("freeze", "create", FREEZE), f"freeze '{FREEZE}' already exists"),
        (("freeze", "create", "Bad-Name"), "freeze name 'Bad-Name': use 1-63 lower case"),
        (("freeze", "create", "early", "--as-of", "2001-01-01"), "no curated table existed then"),
        (("freeze", "create", "early", "--as-of", "yesterday"), "not an ISO 8601 timestamp"),
        (("freeze", "show", "nope"), "freeze 'nope': no such freeze"),
        (("query", "SELECT 1", "--freeze", "nope"), "freeze 'nope': no such freeze"),
        (
            ("query", "SELECT count(*) FROM participant_days", "--freeze", FREEZE),
            f"table phenolake.participant_days is not in freeze {FREEZE}",
        ),
    ):
        code, stdout, stderr = redirected(*args, "--home", home)
        assert code == 2, (args, stdout, stderr)
        assert message in stderr and "\n" not in stderr.strip(), stderr


@pytest.fixture(scope="module")
def withdrawn(lake) -> dict:
    home = lake["home"]
    before = table_of(home, TABLE).metadata.refs[f"freeze_{FREEZE}"].snapshot_id
    code, forgot, stderr = redirected("forget", GONE, "--yes", "--home", str(home))
    assert code == 0, stderr
    [record] = (next(home.glob("*-lake")) / "manifests" / "deletions").glob("*.json")
    audit = f"s3://{record.parents[2].name}/manifests/deletions/{record.name}"
    code, shown, stderr = redirected("freeze", "show", FREEZE, "--home", str(home))
    assert code == 0, stderr
    return {"before": before, "audit": audit, "forgot": forgot, "shown": shown, **lake}


def test_the_withdrawn_participant_leaves_the_freeze(withdrawn) -> None:
    home = withdrawn["home"]
    after = answers(home)
    assert GONE not in "".join(after)
    per_day = json.loads(after[0])
    assert {r["participant_id"] for r in per_day} == {KEPT}
    kept_before = [r for r in json.loads(withdrawn["frozen"][0]) if r["participant_id"] == KEPT]
    assert per_day == kept_before  # the other participant's frozen rows as they were
    assert answers(home, AS_OF) == after


def test_no_file_the_tag_reaches_holds_the_participant_and_the_old_snapshot_expired(
    withdrawn,
) -> None:
    home = withdrawn["home"]
    assert withdrawn["before"] not in {s.snapshot_id for s in table_of(home, TABLE).snapshots()}
    for name in withdrawn["manifest"]["tables"]:
        table, column = table_of(home, name), tables.participant_column(name)
        for ref_name, ref in table.metadata.refs.items():  # the tag, and main
            for path in reachable_files(home, table, ref.snapshot_id):
                found = pq.read_table(path, columns=[column]).column(0).to_pylist()
                assert GONE not in found, (name, ref_name, path)
        for snapshot in table.snapshots():  # every snapshot Athena can still read
            rows = table.scan(snapshot_id=snapshot.snapshot_id).to_arrow()
            assert GONE not in rows.column(column).to_pylist(), (name, snapshot)


def test_the_manifest_says_what_changed_and_by_which_deletion(withdrawn) -> None:
    home = withdrawn["home"]
    found = manifest(home)
    [change] = found["changes"]
    assert change["reason"] == "consent withdrawal"
    assert change["audit_id"] == withdrawn["audit"]
    table = change["tables"][TABLE]
    assert table["rows_before"] == 2 * len(HOURS) * 5
    assert table["rows_after"] == len(HOURS) * 5
    assert table["snapshot_before"] == withdrawn["before"]
    assert table["snapshot_after"] == found["tables"][TABLE]["snapshot_id"]
    assert GONE not in json.dumps(found)
    [other] = manifest(home, AS_OF)["changes"]  # every freeze, not just one
    assert other["audit_id"] == withdrawn["audit"] and TABLE in other["tables"]
    per_freeze = len(HOURS) * 5
    assert f"freeze {FREEZE}: {per_freeze} row(s) removed from its snapshots" in withdrawn["forgot"]
    assert f"freeze {AS_OF}: {per_freeze} row(s) removed" in withdrawn["forgot"]
    shown = withdrawn["shown"]
    assert f"consent withdrawal, audit record {withdrawn['audit']}" in shown
    assert f"{TABLE}: {2 * len(HOURS) * 5} -> {len(HOURS) * 5} rows" in shown


def test_drop_removes_the_tags_and_the_manifest(withdrawn) -> None:
    home = withdrawn["home"]
    tables = list(manifest(home)["tables"])
    code, stdout, stderr = redirected("freeze", "drop", FREEZE, "--yes", "--home", str(home))
    assert code == 0, stderr
    assert f"freeze {FREEZE} dropped" in stdout
    lake = next(home.glob("*-lake"))
    assert not (lake / freezes.manifest_key(FREEZE)).exists()
    for name in tables:
        assert f"freeze_{FREEZE}" not in table_of(home, name).metadata.refs
    code, stdout, _ = redirected("freeze", "list", "--home", str(home))
    assert code == 0 and FREEZE not in stdout and AS_OF in stdout
