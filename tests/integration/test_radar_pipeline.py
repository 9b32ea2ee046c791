"""Source radar through the whole pipeline (real state machine, handlers and Glue script), once.

The seeded sample exports plus a folder of bad input land together; the tests read what the
run left, through the query path and the CLI, as a user would.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import gzip
import io
import json
from pathlib import Path

import pytest

from phenolake.sources.radar import convert as radar
from phenolake_local import runner
from phenolake_tools import query
from tests.cli import cli

pytestmark = pytest.mark.slow

HEADER = "key.projectId,key.userId,key.sourceId,value.time,value.timeReceived,value.x,value.device"
LIGHT = "key.projectId,key.userId,key.sourceId,value.time,value.timeReceived,value.lux"


def gz(path: Path, text: str | bytes, compress: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)


def write_bad_input(root: Path) -> None:
    """One of each kind of bad input, for a participant ``kcl-bad`` the samples do not have."""
    topic = root / "connect-kcl" / "kcl-bad" / "sensorkit_acceleration"
    good = "connect-kcl,kcl-bad,s9,{t},{t},0.5,iPhone"
    gz(topic / "20241017_0100.csv.gz", b"PK\x03\x04 a zip, not gzip", compress=False)
    gz(
        topic / "20241017_0200.csv.gz",
        f"{HEADER}\n"
        + "".join(good.format(t=1729130400 + i) + "\n" for i in range(3))
        + "connect-kcl,kcl-bad,s9,1729130500\n",
    )
    gz(topic / "2024-10-17.csv.gz", f"{HEADER}\n{good.format(t=1729130400)}\n")
    gz(
        root / "connect-xyz" / "kcl-bad" / "sensorkit_acceleration" / "20241017_0300.csv.gz",
        f"{HEADER}\n{good.format(t=1729134000)}\n",
    )
    light = root / "connect-kcl" / "kcl-bad" / "sensorkit_ambient_light"
    gz(light / "20241017_1200.csv.gz", f"{LIGHT}\nconnect-kcl,kcl-bad,s9,1.7291664E9,0,12.5\n")
    # a later day whose lux is text: not the float RADAR-Schemas gives, so the row is refused
    gz(light / "20241020_1200.csv.gz", f"{LIGHT}\nconnect-kcl,kcl-bad,s9,1.7294256E9,0,bright\n")


@pytest.fixture(scope="module")
def radar_run(
    tmp_path_factory: pytest.TempPathFactory, spark: object
) -> tuple[Path, Path, runner.RunResult]:
    base = tmp_path_factory.mktemp("radar")
    samples = base / "samples"
    radar.Radar().write_samples(samples, seed=11)
    bad = base / "late" / "output"
    write_bad_input(bad)
    home = base / "home"
    result = runner.run(
        runner.RunOptions(
            home=home,
            inputs=[samples / "output", bad],
            sources=["radar"],
            parameters={"NominalRates": "radar.sensorkit_acceleration=1", "SilentDays": "1"},
        )
    )
    assert result.status == "SUCCEEDED", f"{result.error}: {result.cause}"
    return home, samples, result


def counts_of_the_files(samples: Path) -> dict[tuple[str, str, str], int]:
    """Rows per participant x topic x UTC day, read straight from the sample files (exact
    duplicate lines of a file counted once)."""
    counts: collections.Counter[tuple[str, str, str]] = collections.Counter()
    for path in sorted((samples / "output").rglob("*.csv.gz")):
        participant, topic = path.parts[-3], path.parts[-2]
        rows = list(csv.DictReader(io.StringIO(gzip.decompress(path.read_bytes()).decode())))
        unique = {tuple(r.items()) for r in rows}
        for row in map(dict, unique):
            day = dt.datetime.fromtimestamp(float(row["value.time"]), dt.UTC).date()
            counts[(participant, topic, day.isoformat())] += 1
    return dict(counts)


def test_completeness_gives_the_counts_of_the_files(radar_run) -> None:
    home, samples, _ = radar_run
    shown = cli(
        "query",
        "SELECT participant_id, metric, date, rows FROM completeness "
        "WHERE source = 'radar' AND participant_id <> 'kcl-bad' ORDER BY 1, 2, 3",
        "--format",
        "csv",
        "--home",
        str(home),
        timeout=300,
    )
    assert shown.returncode == 0, shown.stderr
    rows = list(csv.DictReader(io.StringIO(shown.stdout)))
    got = {(r["participant_id"], r["metric"], r["date"]): int(r["rows"]) for r in rows}
    expected = counts_of_the_files(samples)
    assert got == expected
    assert ("kcl-001", "sensorkit_acceleration", "2024-10-18") in got  # the midnight spill


def test_expected_rows_come_from_the_configured_rates(radar_run) -> None:
    home, _, _ = radar_run
    rows = query.query_local(
        "SELECT metric, expected_rows, coverage, first_time, last_time, rows FROM completeness "
        "WHERE participant_id = 'kcl-001' AND date = '2024-10-17' ORDER BY metric",
        home,
    ).to_pylist()
    by_metric = {r["metric"]: r for r in rows}
    accel = by_metric["sensorkit_acceleration"]
    assert accel["expected_rows"] == 86_400
    assert accel["coverage"] == round(accel["rows"] / 86_400, 6)
    assert accel["first_time"].isoformat().startswith("2024-10-17T00:30:00")
    assert accel["last_time"].isoformat().startswith("2024-10-17T23:59:59")
    assert by_metric["questionnaire_response"]["expected_rows"] is None
    assert by_metric["questionnaire_response"]["coverage"] is None


def test_bad_input_is_quarantined_with_reasons(radar_run) -> None:
    home, _, result = radar_run
    reasons = {}
    files = sorted(home.rglob("*.reason.json"))
    for path in files:
        document = json.loads(path.read_text())
        reasons[document["source"].rsplit("/", 1)[-1]] = document["reason"]
    assert "is not gzip" in reasons["20241017_0100.csv.gz"]
    assert "does not match yyyyMMdd_HH00" in reasons["2024-10-17.csv.gz"]
    assert "site folder 'connect-xyz'" in reasons["20241017_0300.csv.gz"]
    assert reasons["20241017_0200.csv.gz.rejected-rows"] == radar.WRONG_FIELDS
    assert reasons["20241020_1200.csv.gz.rejected-rows"] == radar.OFF_SCHEMA
    # the rest went on: the ragged file's good rows are in, the refused row is not
    accel = query.query_local(
        "SELECT count(*) AS n FROM radar_sensorkit_acceleration WHERE participant_id = 'kcl-bad'",
        home,
    ).to_pylist()
    assert accel == [{"n": 3}]
    light = query.query_local(
        "SELECT date, lux FROM radar_sensorkit_ambient_light WHERE participant_id = 'kcl-bad'",
        home,
    ).to_pylist()
    assert light == [{"date": "2024-10-17", "lux": 12.5}]
    counted = query.query_local(
        "SELECT metric, date, rows FROM completeness WHERE participant_id = 'kcl-bad' "
        "ORDER BY metric, date",
        home,
    ).to_pylist()
    assert counted == [  # the refused row is in no table, so it is not counted as data
        {"metric": "sensorkit_acceleration", "date": "2024-10-17", "rows": 3},
        {"metric": "sensorkit_ambient_light", "date": "2024-10-17", "rows": 1},
    ]
    assert result.output["notify"]["quarantined"] == len(files)


def test_a_new_column_reads_as_null_in_older_partitions(radar_run) -> None:
    home, _, _ = radar_run
    rows = query.query_local(
        "SELECT date, count(*) AS n, count(placement) AS placed "
        "FROM radar_sensorkit_ambient_light WHERE participant_id = 'kcl-001' "
        "GROUP BY date ORDER BY date",
        home,
    ).to_pylist()
    assert rows == [
        {"date": "2024-10-17", "n": 12, "placed": 0},
        {"date": "2024-10-18", "n": 12, "placed": 12},
        {"date": "2024-10-19", "n": 12, "placed": 12},
    ]
    answers = query.query_local(
        "SELECT DISTINCT name, answers_0_question_id FROM radar_questionnaire_response", home
    ).to_pylist()
    assert answers == [{"name": "phq2", "answers_0_question_id": "phq2_1"}]


def test_participant_stats_split_by_device(radar_run) -> None:
    home, samples, _ = radar_run
    rows = query.query_local(
        "SELECT metric, device, row_count, start_date, end_date, day_count FROM participant_stats "
        "WHERE participant_id = 'mssm-002' AND metric = 'sensorkit_acceleration' ORDER BY device",
        home,
    ).to_pylist()
    files = counts_of_the_files(samples)
    total = sum(n for (p, t, _), n in files.items() if (p, t) == ("mssm-002", rows[0]["metric"]))
    assert sum(r["row_count"] for r in rows) == total
    assert [r["device"] for r in rows] == ["Watch", "iPhone"]
    assert rows[1] == {
        "metric": "sensorkit_acceleration", "device": "iPhone", "row_count": 900,
        "start_date": "2024-10-17", "end_date": "2024-10-17", "day_count": 1,
    }  # fmt: skip


def test_report_and_notification_list_the_silent_participants(radar_run, tmp_path: Path) -> None:
    home, _, result = radar_run
    # kcl-bad's only later row was refused (off its schema), so its last day is 2024-10-17
    assert (
        "silent for more than 1 day(s): 2: radar:connect-kcl/kcl-bad (3 d, last 2024-10-17), "
        "radar:connect-mssm/mssm-002 (2 d, last 2024-10-18)"
    ) in result.output["notify"]["message"]
    out = tmp_path / "report"
    shown = cli("report", "--out", str(out), "--silent-days", "1", "--home", str(home), timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert (
        "silent for more than 1 day(s) as of 2024-10-20: 2\n"
        "  radar connect-kcl kcl-bad: last data 2024-10-17 (3 d)\n"
        "  radar connect-mssm mssm-002: last data 2024-10-18 (2 d)\n"
    ) in shown.stdout
    for name in ("heatmap_all.png", "heatmap_radar.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pivot = list(csv.reader((out / "coverage_radar.csv").open()))
    assert pivot[0] == ["participant_id", "2024-10-17", "2024-10-18", "2024-10-19", "2024-10-20"]
    assert [r[0] for r in pivot[1:]] == ["kcl-001", "kcl-002", "kcl-bad", "mssm-001", "mssm-002"]
    assert pivot[-1][3:] == ["0", "0"]  # mssm-002 fell silent
    page = (out / "index.html").read_text()
    assert page.index("kcl-bad") < page.index("mssm-002") < page.index("<img")
    stats = gzip.decompress((out / "stats" / "all_sites.csv.gz").read_bytes()).decode()
    assert stats.splitlines()[0] == (
        "source,site,participant_id,metric,device,row_count,start_date,end_date,day_count"
    )
    assert (out / "stats" / "connect-mssm_stats.csv.gz").exists()
    summary = json.loads((out / "summaries/month/radar/kcl-001/2024-10.json").read_text())
    assert summary["data_summary"]["days_with_data"] == 4
    assert summary["metrics"]["sensorkit_ambient_light"]["values"]["lux"]["unit"] == "lx"
    phq = summary["questionnaires"]["phq2"]
    assert phq["responses"] == 3
    assert sum(phq["answers"]["phq2_1"].values()) == 3
    # the study's summaries (study.yaml's defaults, the CONNECT set): the samples hold no
    # Health Connect topic, so its features are skipped, named; responses by timeCompleted
    assert (
        "  skipped: features.steps: no table for topic 'android_health_connect_typed_data'\n"
    ) in shown.stdout
    responses = list(csv.DictReader((out / "study_summaries/month/responses.csv").open()))
    kcl = [
        (r["period"], r["total_responses"]) for r in responses if r["participant_id"] == "kcl-001"
    ]
    assert kcl == [("2024-10", "3")]
