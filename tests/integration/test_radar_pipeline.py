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

from phenolake import study
from phenolake.sources.radar import convert as radar
from phenolake_local import runner
from phenolake_tools import query
from tests.cli import cli
from tests.fakes import radar_restructure as rr

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


def test_the_run_manifest_counts_each_topic_table(radar_run) -> None:
    """radar declares a table family (``radar_{metric}``): the run manifest's outputs (and
    the profile's Curate rows out) name each topic's table, as for a source's fixed tables."""
    home, samples, result = radar_run
    lake_dir = next(home.glob("*-lake"))
    manifest = json.loads(
        (lake_dir / "manifests/runs" / f"{result.execution_name}.json").read_text()
    )
    topics = {f"radar_{topic}" for _, topic, _ in counts_of_the_files(samples)}
    counted = {t: query.query_local(f"SELECT count(*) AS n FROM {t}", home) for t in topics}
    in_tables = {t: found.to_pylist()[0]["n"] for t, found in counted.items()}
    tables = manifest["outputs"]["tables"]
    assert {t: tables.get(t) for t in topics} == in_tables
    [curate] = [s for s in manifest["profile"]["steps"] if s["step"] == "curate"]
    assert curate["rows_out"] >= sum(in_tables.values())


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
    assert "is not a file the study's radar path format writes" in reasons["2024-10-17.csv.gz"]
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
        "source,site,participant_id,metric,device,row_count,start_date,end_date,day_count,"
        "day_rows_mean,day_rows_sd"
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


# --- exports as radar-output-restructure 3.0.6 writes them -----------------------------------

PILOT = "b3bd4c2e-6d3c-4e0e-9a59-7b0f4d3b1f10"
KEY = {
    "type": "record",
    "name": "ObservationKey",
    "fields": [
        {"name": "projectId", "type": ["null", "string"]},
        {"name": "userId", "type": "string"},
        {"name": "sourceId", "type": "string"},
    ],
}
ANSWER = {
    "type": "record",
    "name": "Answer",
    "fields": [
        {"name": "questionId", "type": ["null", "string"]},
        {"name": "value", "type": ["int", "string", "double"]},
        {"name": "startTime", "type": "double"},
        {"name": "endTime", "type": "double"},
    ],
}
#: RADAR-Schemas ``commons/active/questionnaire/questionnaire.avsc``'s fields.
QUESTIONNAIRE = [
    {"name": "time", "type": "double"},
    {"name": "timeCompleted", "type": "double"},
    {"name": "timeNotification", "type": ["null", "double"]},
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "answers", "type": {"type": "array", "items": ANSWER}},
]
#: ``commons/connector/fitbit/fitbit_sleep_stage.avsc``'s fields (level as its enum).
SLEEP_STAGE = [
    {"name": "dateTime", "type": "string"},
    {"name": "timeReceived", "type": "double"},
    {"name": "duration", "type": "int"},
    {"name": "level", "type": {"type": "enum", "name": "Level", "symbols": ["DEEP", "LIGHT"]}},
    {"name": "efficiency", "type": ["null", "int"]},
]
#: ``commons/kafka/aggregate_key.avsc`` and ``commons/stream/aggregator/numeric_aggregate.avsc``.
AGGREGATE_KEY = {
    "type": "record",
    "name": "AggregateKey",
    "fields": [*KEY["fields"], {"name": "timeStart", "type": "double"},
               {"name": "timeEnd", "type": "double"}],
}  # fmt: skip
NUMERIC_AGGREGATE = [
    {"name": "name", "type": "string"},
    {"name": "min", "type": "double"},
    {"name": "max", "type": "double"},
    {"name": "sum", "type": "double"},
    {"name": "count", "type": "int"},
    {"name": "mean", "type": ["null", "double"]},
    {"name": "quartile", "type": ["null", {"type": "array", "items": "double"}]},
]
BY_NAME = "${projectId}/${userId}/${topic}/${value:name}/${filename}"  # restructure.yml's example
STUDY_YAML = f"""\
sources:
  radar:
    options:
      topic_path_formats:
        application_server_status: "{rr.STATUS_FORMAT}"
        questionnaire_response: "{BY_NAME}"
"""


def combined(key: dict, value_fields: list[dict]) -> dict:
    return {
        "type": "record",
        "name": "Combined",
        "fields": [
            {"name": "key", "type": key},
            {"name": "value", "type": {"type": "record", "name": "V", "fields": value_fields}},
        ],
    }


def tool_file(path: Path, schema: dict, records: list[dict], compression: str) -> None:
    """Records written into one of the tool's files (its CSV and compression)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = rr.csv_text(rr.flatten(schema, r) for r in records)
    path.write_bytes(rr.compressed(text, compression, path.name))


def write_tool_exports(base: Path) -> list[Path]:
    """Three exports of one study, one per compression: ``none`` (the tool's own integration
    test, its paths and records), ``gzip`` (a project named ``CONNECT Pilot.2``, its
    questionnaires under ``${value:name}``, Fitbit sleep stages timed by ``value.dateTime``,
    a ``.corrupted`` backup, an ``unknown-user`` folder, the offsets ledger) and ``zip`` (a
    Kafka-streams aggregate timed by ``key.timeStart``)."""
    rr.integration_output(base / "none")
    pilot = base / "gzip" / "output" / "CONNECTPilot2"
    key = {"projectId": "CONNECT Pilot.2", "userId": PILOT, "sourceId": "s-7"}

    def questionnaire(t: float, answers: list[int]) -> dict:
        given = [
            {"questionId": f"phq8_{i + 1}", "value": a, "startTime": t + 5 * i,
             "endTime": t + 5 * i + 4}
            for i, a in enumerate(answers)
        ]  # fmt: skip
        value = {"time": t, "timeCompleted": t + 60.5, "timeNotification": None,
                 "name": "PHQ8", "version": "1.1", "answers": given}  # fmt: skip
        return {"key": key, "value": value}

    tool_file(
        pilot / PILOT / "questionnaire_response" / "PHQ8" / "20241017_0900.csv.gz",
        combined(KEY, QUESTIONNAIRE),
        [questionnaire(1729156200.25, [1, 0]), questionnaire(1729158000.0, [2, 3])],
        "gzip",
    )

    def stage(at: str, level: str, efficiency: int | None) -> dict:
        value = {"dateTime": at, "timeReceived": 1729300000.0, "duration": 900,
                 "level": level, "efficiency": efficiency}  # fmt: skip
        return {"key": key, "value": value}

    sleep = pilot / PILOT / "connect_fitbit_sleep_stages"
    stages = combined(KEY, SLEEP_STAGE)
    late = [stage("2024-10-17T23:30:00", "LIGHT", None), stage("2024-10-17T23:45:00", "DEEP", 91)]
    tool_file(sleep / "20241017_2300.csv.gz", stages, late, "gzip")
    early = [stage("2024-10-18T00:00:00", "DEEP", 91), stage("2024-10-18T00:15:00", "LIGHT", 90)]
    tool_file(sleep / "20241018_0000.csv.gz", stages, early, "gzip")
    (sleep / "20241016_2300.csv.gz.corrupted").write_bytes(b"\x1f\x8b\x08\x00 cut short")
    nobody = {"key": {**key, "userId": ""}, "value": late[0]["value"]}
    tool_file(
        pilot / "unknown-user" / sleep.name / "20241017_2300.csv.gz", stages, [nobody], "gzip"
    )
    offsets = base / "gzip" / "offsets" / "connect_fitbit_sleep_stages.json"
    offsets.parent.mkdir(parents=True)
    offsets.write_text("offsetFrom,offsetTo,partition,topic\n0,3,0,connect_fitbit_sleep_stages\n")

    window = {**key, "timeStart": 0.0, "timeEnd": 0.0}
    battery = [
        {"key": {**window, "timeStart": t, "timeEnd": t + 10},
         "value": {"name": "batteryLevel", "min": 0.5, "max": 0.52, "sum": 5.1, "count": 10,
                   "mean": 0.51, "quartile": [0.5, 0.51, 0.52]}}
        for t in (1729159200.0, 1729159210.0, 1729159220.0)
    ]  # fmt: skip
    tool_file(
        base / "zip" / "output" / "CONNECTPilot2" / PILOT / "android_phone_battery_level_10sec"
        / "20241017_1000.csv.zip",
        combined(AGGREGATE_KEY, NUMERIC_AGGREGATE),
        battery,
        "zip",
    )  # fmt: skip
    return [base / "none", base / "gzip", base / "zip"]


@pytest.fixture(scope="module")
def tool_run(tmp_path_factory: pytest.TempPathFactory, spark: object) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("radar-tool")
    config = base / "study.yaml"
    config.write_text(STUDY_YAML)
    study.parse(STUDY_YAML)  # the CLI validates it before a run
    home = base / "home"
    result = runner.run(
        runner.RunOptions(
            home=home, inputs=write_tool_exports(base / "exports"), sources=["radar"], config=config
        )
    )
    assert result.status == "SUCCEEDED", f"{result.error}: {result.cause}"
    return home, base / "exports"


def test_the_tools_files_load_whole(tool_run) -> None:
    home, exports = tool_run
    counted = query.query_local(
        "SELECT participant_id, metric, date, rows FROM completeness "
        "WHERE source = 'radar' ORDER BY metric, date",
        home,
    ).to_pylist()
    accel = "4ab9b985-6eec-4e51-9a29-f4c571c89f99"
    assert [tuple(r.values()) for r in counted] == [
        (accel, "android_phone_acceleration", "2020-05-28", 1000),
        (PILOT, "android_phone_battery_level_10sec", "2024-10-17", 3),
        (rr.FIRST.split("/")[2], "application_server_status", "2020-01-28", 3),
        (PILOT, "connect_fitbit_sleep_stages", "2024-10-17", 2),
        (PILOT, "connect_fitbit_sleep_stages", "2024-10-18", 2),
        (PILOT, "questionnaire_response", "2024-10-17", 2),
    ]
    sites = query.query_local(
        "SELECT DISTINCT site, participant_id FROM participant_stats ORDER BY 1, 2", home
    ).to_pylist()
    assert [tuple(r.values()) for r in sites] == [
        ("CONNECTPilot2", PILOT), ("STAGING_PROJECT", rr.FIRST.split("/")[2]),
        ("radar-test-root", accel),
    ]  # fmt: skip
    status = query.query_local(
        "SELECT site, time, server_status FROM radar_application_server_status ORDER BY time", home
    ).to_pylist()
    assert [(r["site"], r["time"].isoformat(), r["server_status"]) for r in status] == [
        ("STAGING_PROJECT", "2020-01-28T13:57:00.030000", "CONNECTED"),
        ("STAGING_PROJECT", "2020-01-28T14:02:01.596000", "CONNECTED"),
        ("STAGING_PROJECT", "2020-01-28T14:07:37.239000", "CONNECTED"),
    ]
    # the acceleration rows are the file's, value for value
    rows = list(csv.DictReader(io.StringIO((exports / "none" / rr.OUTPUT[3]).read_text())))
    loaded = query.query_local(
        "SELECT time, x, y, z FROM radar_android_phone_acceleration ORDER BY time", home
    ).to_pylist()
    utc = [r["time"].replace(tzinfo=dt.UTC).timestamp() for r in loaded]
    assert [(t, r["x"], r["y"], r["z"]) for t, r in zip(utc, loaded, strict=True)] == sorted(
        (float(r["value.time"]), float(r["value.x"]), float(r["value.y"]), float(r["value.z"]))
        for r in rows
    )
    sleep = query.query_local(
        "SELECT date, time, level FROM radar_connect_fitbit_sleep_stages ORDER BY time", home
    ).to_pylist()
    assert [(r["date"], r["time"].strftime("%H:%M"), r["level"]) for r in sleep] == [
        ("2024-10-17", "23:30", "LIGHT"), ("2024-10-17", "23:45", "DEEP"),
        ("2024-10-18", "00:00", "DEEP"), ("2024-10-18", "00:15", "LIGHT"),
    ]  # fmt: skip
    battery = query.query_local(
        "SELECT time, count FROM radar_android_phone_battery_level_10sec ORDER BY time", home
    ).to_pylist()
    assert [(r["time"].strftime("%H:%M:%S"), r["count"]) for r in battery] == [
        ("10:00:00", 10.0), ("10:00:10", 10.0), ("10:00:20", 10.0),
    ]  # fmt: skip
    answers = query.query_local(
        "SELECT site, name, time, answers_1_value FROM radar_questionnaire_response ORDER BY time",
        home,
    ).to_pylist()
    assert [(r["site"], r["name"], r["time"].strftime("%H:%M:%S.%f")) for r in answers] == [
        ("CONNECTPilot2", "PHQ8", "09:10:00.250000"), ("CONNECTPilot2", "PHQ8", "09:40:00.000000"),
    ]  # fmt: skip


def test_what_is_not_data_has_a_reason(tool_run) -> None:
    home, _ = tool_run
    reasons = {}
    for path in sorted(home.rglob("*.reason.json")):
        document = json.loads(path.read_text())
        reasons[document["source"].split("/raw/radar/", 1)[1]] = document["reason"]
    assert reasons == {
        f"gzip/output/CONNECTPilot2/{PILOT}/connect_fitbit_sleep_stages/"
        "20241016_2300.csv.gz.corrupted": (
            "20241016_2300.csv.gz.corrupted is radar-output-restructure's backup of "
            "20241016_2300.csv.gz, which the tool could not read and started afresh: its rows "
            "are in no other file (not converted; repair it by hand)"
        ),
        "gzip/output/CONNECTPilot2/unknown-user/connect_fitbit_sleep_stages/20241017_2300.csv.gz": (
            "participant folder 'unknown-user': radar-output-restructure files records without "
            "a key.userId there; they belong to no participant"
        ),
        f"none/{rr.OUTPUT[0]}.rejected-rows": radar.DUPLICATE,
        f"none/{rr.OUTPUT[1]}.rejected-rows": radar.DUPLICATE,
    }  # the schema files and the offsets ledger are the tool's side files: logged, not data
