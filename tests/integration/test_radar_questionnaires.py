"""A CONNECT-like questionnaire export through the whole pipeline (real state machine,
handlers and Glue script): PHQ8 responses (int answers) and ESM responses (text answers) of
one questionnaire topic over three days, written as radar-output-restructure writes them
(``tests/fakes/radar_writer.py``: RADAR-Schemas' ``Questionnaire`` records, its CSV rules,
an hour's second header in its ``_1`` file, ``schema-<topic>.json`` beside the data).

Every response reaches ``radar_questionnaire_response``: the answers' union of int, string
and double is text plus ``answers_<n>_value_numeric`` in every hour, so no hour's values
change a column's type and Curate refuses none.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from phenolake.sources.radar import schema
from phenolake_local import runner
from phenolake_tools import query
from tests.fakes import radar_writer

pytestmark = pytest.mark.slow

SITE, PARTICIPANT, SOURCE_ID = "connect-kcl", "kcl-q01", "3f2a9c1e-armt"
TOPIC = "questionnaire_response"


def at(day: str, clock: str) -> float:
    return dt.datetime.fromisoformat(f"{day}T{clock}+00:00").timestamp()


#: (time, questionnaire, answers): seven responses over three days, in time order.
RESPONSES = [
    (at("2024-10-17", "09:10:00"), "PHQ8", [0, 1, 2, 3, 0, 1, 2, 3]),
    (at("2024-10-17", "09:40:00"), "ESM", ["Quite a bit", "42", 3.5]),
    (at("2024-10-17", "15:05:00"), "ESM", ["Not at all", "7", 1.25]),
    (at("2024-10-18", "10:00:00"), "PHQ8", [1, 1, 1, 1, 1, 1, 1, 1]),
    (at("2024-10-18", "20:30:00"), "ESM", ["A little", "0", 2.0]),
    (at("2024-10-19", "08:15:00"), "ESM", ["Extremely", "100", 4.75]),
    (at("2024-10-19", "23:50:00"), "PHQ8", [3, 3, 3, 3, 3, 3, 3, 3]),
]


def records() -> list[dict]:
    found = []
    for time, name, values in RESPONSES:
        prefix = "phq8" if name == "PHQ8" else "esm"
        answers = [(f"{prefix}_{i + 1}", v) for i, v in enumerate(values)]
        found.append(radar_writer.questionnaire(SITE, PARTICIPANT, SOURCE_ID, name, time, answers))
    return found


@pytest.fixture(scope="module")
def questionnaire_run(
    tmp_path_factory: pytest.TempPathFactory, spark: object
) -> tuple[Path, list[Path], runner.RunResult]:
    base = tmp_path_factory.mktemp("radar-questionnaires")
    folder = base / "output" / SITE / PARTICIPANT / TOPIC
    written = radar_writer.write_topic(folder, TOPIC, schema.combined_schema(TOPIC), records())
    home = base / "home"
    result = runner.run(runner.RunOptions(home=home, inputs=[base / "output"], sources=["radar"]))
    assert result.status == "SUCCEEDED", f"{result.error}: {result.cause}"
    return home, written, result


def test_the_export_is_written_as_the_tool_writes_it(questionnaire_run) -> None:
    _, written, _ = questionnaire_run
    assert sorted(p.name for p in written) == [
        "20241017_0900.csv.gz",
        "20241017_0900_1.csv.gz",  # the ESM response of the PHQ8 hour: another header
        "20241017_1500.csv.gz",
        "20241018_1000.csv.gz",
        "20241018_2000.csv.gz",
        "20241019_0800.csv.gz",
        "20241019_2300.csv.gz",
        "schema-questionnaire_response.json",
    ]


def test_every_response_reaches_the_table_with_its_answers_whole(questionnaire_run) -> None:
    home, _, result = questionnaire_run
    rows = query.query_local(
        "SELECT date, name, answers_0_question_id AS q0, answers_0_value AS v0, "
        "answers_0_value_numeric AS n0, answers_1_value AS v1, answers_1_value_numeric AS n1, "
        "answers_2_value AS v2, answers_2_value_numeric AS n2, answers_7_value AS v7 "
        f"FROM radar_{TOPIC} WHERE participant_id = '{PARTICIPANT}' ORDER BY time",
        home,
    ).to_pylist()
    assert rows == [
        {"date": "2024-10-17", "name": "PHQ8", "q0": "phq8_1", "v0": "0", "n0": 0.0,
         "v1": "1", "n1": 1.0, "v2": "2", "n2": 2.0, "v7": "3"},
        {"date": "2024-10-17", "name": "ESM", "q0": "esm_1", "v0": "Quite a bit", "n0": None,
         "v1": "42", "n1": 42.0, "v2": "3.5", "n2": 3.5, "v7": None},
        {"date": "2024-10-17", "name": "ESM", "q0": "esm_1", "v0": "Not at all", "n0": None,
         "v1": "7", "n1": 7.0, "v2": "1.25", "n2": 1.25, "v7": None},
        {"date": "2024-10-18", "name": "PHQ8", "q0": "phq8_1", "v0": "1", "n0": 1.0,
         "v1": "1", "n1": 1.0, "v2": "1", "n2": 1.0, "v7": "1"},
        {"date": "2024-10-18", "name": "ESM", "q0": "esm_1", "v0": "A little", "n0": None,
         "v1": "0", "n1": 0.0, "v2": "2.0", "n2": 2.0, "v7": None},
        {"date": "2024-10-19", "name": "ESM", "q0": "esm_1", "v0": "Extremely", "n0": None,
         "v1": "100", "n1": 100.0, "v2": "4.75", "n2": 4.75, "v7": None},
        {"date": "2024-10-19", "name": "PHQ8", "q0": "phq8_1", "v0": "3", "n0": 3.0,
         "v1": "3", "n1": 3.0, "v2": "3", "n2": 3.0, "v7": "3"},
    ]  # fmt: skip
    assert result.output["notify"]["quarantined"] == 0


def test_the_times_and_days_are_counted_right(questionnaire_run) -> None:
    home, _, _ = questionnaire_run
    times = query.query_local(
        f"SELECT time, time_completed FROM radar_{TOPIC} ORDER BY time", home
    ).to_pylist()
    assert [r["time"].timestamp() for r in times] == [t for t, _, _ in RESPONSES]
    assert times[0]["time_completed"] == RESPONSES[0][0] + 8.0 * 8 + 2.5
    per_day = query.query_local(
        "SELECT date, rows FROM completeness WHERE source = 'radar' "
        f"AND participant_id = '{PARTICIPANT}' AND metric = '{TOPIC}' ORDER BY date",
        home,
    ).to_pylist()
    assert per_day == [
        {"date": "2024-10-17", "rows": 3},
        {"date": "2024-10-18", "rows": 2},
        {"date": "2024-10-19", "rows": 2},
    ]
    stats = query.query_local(
        "SELECT row_count, start_date, end_date, day_count FROM participant_stats "
        f"WHERE participant_id = '{PARTICIPANT}' AND metric = '{TOPIC}'",
        home,
    ).to_pylist()
    assert stats == [
        {"row_count": 7, "start_date": "2024-10-17", "end_date": "2024-10-19", "day_count": 3}
    ]
