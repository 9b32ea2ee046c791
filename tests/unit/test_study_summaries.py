"""The study's summaries equal the CONNECT scripts' own figures on the same RADAR export.

The export (``tests/fakes/radar_connect.py``) is written as radar-output-restructure writes CSVs; it
is converted by the radar source's real Convert and laid out as Curate lays out
``radar_<topic>`` (partitions site / participant_id / date, the Glue catalog), then summarised
by ``phenolake_tools.summaries`` through the local Athena engine.

The expected figures were computed once by the CONNECT scripts themselves,
MentalHealthMission/MHM-data-pipelines commit e24ab4287d0af78a584e662f7667426f21518d9b, in their
pinned environment (pandas 2.2.3, numpy 2.2.4): ``merge-data.py --input-dir raw --output-dir
merged`` (its stray line 89, a bare ``89`` that stops it from compiling, removed), then
``extract_patient_summary.py --input-dir merged --time-resolution {month,week,year}`` with

- A: ``--feature heart_rate:android_health_connect_typed_data:value.time:value.key:HeartRate:
  value.intValue --questionnaire questionnaire_response:value.timeCompleted
  --questionnaire-slider negative_emotions:questionnaire_response:value.answers:
  negative_emotions_:value:value.timeCompleted --questionnaire-histogram sleep:
  questionnaire_response:value.answers:sleep_5:value:value.timeCompleted``;
- B: ``--feature steps:android_health_connect_typed_data:value.time:value.key:Steps:
  value.intValue`` (a run of its own: given both features of one topic, the script computes
  only the first, its ``break``; A and B together give heart_rate ``total_entries: 0``).

Its ``std_dev`` is numpy's ``np.std``: the population sd (``sd_population`` here).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import statistics
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from phenolake import drift, study
from phenolake.sources.base import Provenance
from phenolake.sources.radar.convert import Radar
from phenolake.sources.toolkit import RejectionReport
from phenolake_tools import query, summaries
from tests.cli import cli
from tests.fakes import radar_connect

BUCKET = "phenolake-123456789012-lake"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARTITIONS = ["site", "participant_id", "date"]
P = {"P1": radar_connect.PARTICIPANT_1, "P2": radar_connect.PARTICIPANT_2}
ANSWER_VALUE = re.compile(r"^answers_\d+_value$")
COMPLETENESS = pa.schema(
    [("source", pa.string()), ("participant_id", pa.string()), ("metric", pa.string()),
     ("date", pa.string()), ("rows", pa.int64()), ("coverage", pa.float64())]
)  # fmt: skip

# --- the CONNECT scripts' figures (see the module docstring) -------------------------------
# (period, participant, label): (total_entries, days_with_data, mean, median, std_dev, min, max)
HEART_RATE = {
    ("month", "P1", "2024-09"): (3, 1, 65.0, 64.0, 3.7416573867739413, 61.0, 70.0),
    ("month", "P1", "2024-10"): (5, 2, 75.8, 75.0, 8.681013765684282, 66.0, 90.0),
    ("month", "P1", "2024-11"): (1, 1, 58.0, 58.0, 0.0, 58.0, 58.0),
    ("month", "P2", "2024-10"): (4, 1, 99.75, 99.5, 1.479019945774904, 98.0, 102.0),
    ("week", "P1", "2024-W40"): (6, 2, 73.33333333333333, 72.5, 9.792287214378922, 61.0, 90.0),
    ("week", "P1", "2024-W41"): (2, 1, 67.0, 67.0, 1.0, 66.0, 68.0),
    ("week", "P1", "2024-W45"): (1, 1, 58.0, 58.0, 0.0, 58.0, 58.0),
    ("week", "P2", "2024-W40"): (4, 1, 99.75, 99.5, 1.479019945774904, 98.0, 102.0),
    ("year", "P1", "2024"): (9, 4, 70.22222222222223, 68.0, 9.460770203292444, 58.0, 90.0),
    ("year", "P2", "2024"): (4, 1, 99.75, 99.5, 1.479019945774904, 98.0, 102.0),
}
STEPS = {
    ("month", "P1", "2024-09"): (1, 1, 120.0, 120.0, 0.0, 120.0, 120.0),
    ("month", "P1", "2024-10"): (2, 2, 572.5, 572.5, 272.5, 300.0, 845.0),
    ("month", "P2", "2024-10"): (1, 1, 50.0, 50.0, 0.0, 50.0, 50.0),
    ("week", "P1", "2024-W40"): (2, 2, 210.0, 210.0, 90.0, 120.0, 300.0),
    ("week", "P1", "2024-W41"): (1, 1, 845.0, 845.0, 0.0, 845.0, 845.0),
    ("week", "P2", "2024-W40"): (1, 1, 50.0, 50.0, 0.0, 50.0, 50.0),
    ("year", "P1", "2024"): (3, 3, 421.6666666666667, 300.0, 308.22971231786784, 120.0, 845.0),
    ("year", "P2", "2024"): (1, 1, 50.0, 50.0, 0.0, 50.0, 50.0),
}
NEGATIVE_EMOTIONS = {
    ("month", "P1", "2024-10"): (8, 2, 39.285714285714285, 40.0, 11.157499537009507, 20.0, 55.0),
    ("month", "P1", "2024-11"): (2, 1, 62.5, 62.5, 2.5, 60.0, 65.0),
    ("month", "P2", "2024-10"): (2, 1, 15.25, 15.25, 4.75, 10.5, 20.0),
    ("week", "P1", "2024-W40"): (8, 2, 39.285714285714285, 40.0, 11.157499537009507, 20.0, 55.0),
    ("week", "P1", "2024-W45"): (2, 1, 62.5, 62.5, 2.5, 60.0, 65.0),
    ("week", "P2", "2024-W40"): (2, 1, 15.25, 15.25, 4.75, 10.5, 20.0),
    ("year", "P1", "2024"): (10, 3, 44.44444444444444, 45.0, 13.833221775543038, 20.0, 65.0),
    ("year", "P2", "2024"): (2, 1, 15.25, 15.25, 4.75, 10.5, 20.0),
}
# (total_responses, days_with_responses)
RESPONSES = {
    ("month", "P1", "2024-10"): (5, 2),
    ("month", "P1", "2024-11"): (1, 1),
    ("month", "P2", "2024-10"): (1, 1),
    ("week", "P1", "2024-W40"): (5, 2),
    ("week", "P1", "2024-W45"): (1, 1),
    ("week", "P2", "2024-W40"): (1, 1),
    ("year", "P1", "2024"): (6, 3),
    ("year", "P2", "2024"): (1, 1),
}
SLEEP = {
    ("month", "P1", "2024-10"): {"2": 1, "3": 2, "4": 1},
    ("month", "P1", "2024-11"): {"1": 1},
    ("month", "P2", "2024-10"): {"3": 1},
    ("week", "P1", "2024-W40"): {"2": 1, "3": 2, "4": 1},
    ("week", "P1", "2024-W45"): {"1": 1},
    ("week", "P2", "2024-W40"): {"3": 1},
    ("year", "P1", "2024"): {"1": 1, "2": 1, "3": 2, "4": 1},
    ("year", "P2", "2024"): {"3": 1},
}
# run A's data_summary: (start_date, end_date, total_days_with_data)
DAYS = {
    ("month", "P1", "2024-09"): ("2024-09-30", "2024-09-30", 1),
    ("month", "P1", "2024-10"): ("2024-10-01", "2024-10-07", 2),
    ("month", "P1", "2024-11"): ("2024-11-06", "2024-11-06", 1),
    ("month", "P2", "2024-10"): ("2024-10-03", "2024-10-03", 1),
    ("week", "P1", "2024-W40"): ("2024-09-30", "2024-10-01", 2),
    ("week", "P1", "2024-W41"): ("2024-10-07", "2024-10-07", 1),
    ("week", "P1", "2024-W45"): ("2024-11-06", "2024-11-06", 1),
    ("week", "P2", "2024-W40"): ("2024-10-03", "2024-10-03", 1),
    ("year", "P1", "2024"): ("2024-09-30", "2024-11-06", 4),
    ("year", "P2", "2024"): ("2024-10-03", "2024-10-03", 1),
}

RUN_A = study.Summaries(
    features=[f for f in study.Summaries().features if f.name == "heart_rate"],
)
RUN_B = study.Summaries(
    features=[f for f in study.Summaries().features if f.name == "steps"],
    sliders=[],
    histograms=[],
    responses=None,
)


# --- the lake: the export through the real Convert, laid out as Curate lays it out ---------


def _number(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def _answers_typed(table: pa.Table, typing: str) -> pa.Table:
    """A union answer (``answers_<i>_value``) as the real Convert types it: text plus its parsed
    number (``summaries.ANSWER_NUMBER``), ``text_and_numeric``. ``text`` and ``typed_by_values``
    are lakes written before Convert typed by schema: the number column is dropped (and, for
    ``typed_by_values``, an all-numeric answer column is then read as a double)."""
    if typing == "text_and_numeric":
        return table
    numbers = [c for c in table.column_names if c.endswith("_value_numeric")]
    return table.drop_columns(numbers)


def _numbers_where_all_parse(table: pa.Table) -> pa.Table:
    """``typed_by_values``: an answer column whose every value is a number, as a double."""
    for name in [c for c in table.column_names if ANSWER_VALUE.match(c)]:
        values = table.column(name).to_pylist()
        if all(v is None or _number(v) is not None for v in values):
            index = table.column_names.index(name)
            table = table.set_column(index, name, pa.array(map(_number, values), pa.float64()))
    return table


def _table_entry(name: str, schema: pa.Schema) -> dict[str, Any]:
    columns = [
        {"Name": f.name, "Type": drift.glue_type_of(f.type)}
        for f in schema
        if f.name not in PARTITIONS
    ]
    return {
        "Name": name,
        "DatabaseName": "phenolake",
        "TableType": "EXTERNAL_TABLE",
        "StorageDescriptor": {
            "Columns": columns,
            "Location": f"s3://{BUCKET}/curated/{name}/",
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
        },
        "PartitionKeys": [{"Name": k, "Type": "string"} for k in PARTITIONS],
        "Parameters": {"classification": "parquet"},
    }


def _write_table(home: Path, name: str, table: pa.Table) -> tuple[dict, list[dict]]:
    partitions = []
    for values in table.group_by(PARTITIONS).aggregate([]).to_pylist():
        keep = pc.and_(
            pc.and_(
                pc.equal(table["site"], values["site"]),
                pc.equal(table["participant_id"], values["participant_id"]),
            ),
            pc.equal(table["date"], values["date"]),
        )
        folder = "/".join(f"{k}={values[k]}" for k in PARTITIONS)
        path = home / BUCKET / "curated" / name / folder / "part-00000.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.filter(keep).drop_columns(PARTITIONS), path)
        location = f"s3://{BUCKET}/curated/{name}/{folder}/"
        partitions.append(
            {"Values": [values[k] for k in PARTITIONS], "StorageDescriptor": {"Location": location}}
        )
    return _table_entry(name, table.schema), partitions


def _unpartitioned(home: Path, name: str, table: pa.Table) -> dict[str, Any]:
    path = home / BUCKET / "curated" / name / "part-00000.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    entry = _table_entry(name, table.schema)
    entry["StorageDescriptor"]["Columns"] = [
        {"Name": f.name, "Type": drift.glue_type_of(f.type)} for f in table.schema
    ]
    entry["PartitionKeys"] = []
    return entry


def build_lake(export: Path, home: Path, typing: str) -> None:
    """The export's topics as the curated ``radar_<topic>`` tables, plus the completeness and
    participant_stats tables the report reads (counted from the same rows)."""
    radar = Radar()
    topics: dict[str, list[pa.Table]] = {}
    for path in sorted(export.rglob("*.csv.gz")):
        key = path.relative_to(export).as_posix()
        member = radar.member(key)
        assert member is not None, key
        provenance = Provenance(key, hashlib.sha256(path.read_bytes()).hexdigest(), "run-test")
        with path.open("rb") as stream:
            for batch in radar.convert(stream, member, provenance, RejectionReport()):
                day = batch.table.append_column(
                    "date", pa.array([batch.day] * batch.table.num_rows)
                )
                topics.setdefault(member.metric, []).append(_answers_typed(day, typing))
    tables, partitions = {}, {}
    completeness, stats = [], []
    for topic, parts in sorted(topics.items()):
        table = pa.concat_tables(parts, promote_options="permissive")
        if typing == "typed_by_values":
            table = _numbers_where_all_parse(table)
        name = f"radar_{topic}"
        tables[name], partitions[name] = _write_table(home, name, table)
        for row in (
            table.group_by(["site", "participant_id", "date"])
            .aggregate([("time", "count")])
            .to_pylist()
        ):
            completeness.append(
                {"source": "radar", "participant_id": row["participant_id"], "metric": topic,
                 "date": row["date"], "rows": row["time_count"], "coverage": None}
            )  # fmt: skip
            stats.append(
                {"source": "radar", "site": row["site"], "participant_id": row["participant_id"],
                 "metric": topic, "device": "", "row_count": row["time_count"],
                 "start_date": row["date"], "end_date": row["date"], "day_count": 1}
            )  # fmt: skip
    tables["completeness"] = _unpartitioned(
        home, "completeness", pa.Table.from_pylist(completeness, schema=COMPLETENESS)
    )
    tables["participant_stats"] = _unpartitioned(
        home, "participant_stats", pa.Table.from_pylist(stats)
    )
    catalog = {
        "databases": {"phenolake": {"Name": "phenolake"}},
        "tables": {"phenolake": tables},
        "partitions": {"phenolake": partitions},
    }
    (home / ".state").mkdir(parents=True, exist_ok=True)
    (home / ".state" / "glue-catalog.json").write_text(json.dumps(catalog))


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export")
    radar_connect.write_export(root)
    return root


@pytest.fixture(scope="module", params=["text", "text_and_numeric", "typed_by_values"])
def lake(
    request: pytest.FixtureRequest, export: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    home = tmp_path_factory.mktemp(f"lake-{request.param}")
    build_lake(export, home, request.param)
    return home


@pytest.fixture(scope="module")
def one_lake(export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One lake, for what does not depend on the answers' typing (the commands' output)."""
    home = tmp_path_factory.mktemp("lake")
    build_lake(export, home, "text_and_numeric")
    return home


def run(home: Path, settings: study.Summaries, period: str) -> summaries.StudySummaries:
    return summaries.compute(lambda sql: query.query_local(sql, home), settings, period)  # type: ignore[arg-type]


def _who(row: dict[str, Any]) -> str:
    return {v: k for k, v in P.items()}[row["participant_id"]]


def _figures(rows: list[dict[str, Any]], name: str, period: str) -> dict[tuple, tuple]:
    return {
        (period, _who(r), r["period"]): (
            r["total_entries"], r["days_with_data"], r["mean"], r["median"],
            r["sd_population"], r["min"], r["max"],
        )
        for r in rows
        if r["name"] == name
    }  # fmt: skip


def _expected(figures: dict[tuple, Any], period: str) -> dict[tuple, Any]:
    return {k: v for k, v in figures.items() if k[0] == period}


def assert_figures(got: dict[tuple, tuple], expected: dict[tuple, tuple]) -> None:
    """The same rows, each figure equal to the script's to 12 significant digits (SQL sums in
    another order than numpy's pairwise summation, so the last bit may differ)."""
    assert sorted(got) == sorted(expected)
    for key, figures in expected.items():
        assert got[key] == pytest.approx(figures, rel=1e-12), key


@pytest.mark.parametrize("period", ["month", "week", "year"])
def test_the_figures_are_the_connect_scripts(lake: Path, period: str) -> None:
    a = run(lake, RUN_A, period)
    assert a.skipped == []
    assert_figures(_figures(a.values, "heart_rate", period), _expected(HEART_RATE, period))
    assert_figures(
        _figures(a.values, "negative_emotions", period), _expected(NEGATIVE_EMOTIONS, period)
    )
    responses = {
        (period, _who(r), r["period"]): (r["total_responses"], r["days_with_responses"])
        for r in a.responses
    }
    assert responses == _expected(RESPONSES, period)
    histogram: dict[tuple, dict[str, int]] = {}
    for r in a.histograms:
        assert (r["name"], r["question_id"]) == ("sleep", "sleep_5")
        histogram.setdefault((period, _who(r), r["period"]), {})[r["answer"]] = r["count"]
    assert histogram == _expected(SLEEP, period)
    days = {
        (period, _who(r), r["period"]): (
            r["start_date"].isoformat(), r["end_date"].isoformat(), r["total_days_with_data"]
        )
        for r in a.days
    }  # fmt: skip
    assert days == _expected(DAYS, period)
    b = run(lake, RUN_B, period)
    assert_figures(_figures(b.values, "steps", period), _expected(STEPS, period))
    assert (b.responses, b.histograms) == ([], [])


def test_sd_sample_divides_by_n_minus_one(lake: Path) -> None:
    """sd_sample is pandas' ``Series.std()`` (ddof=1); with one value it is null."""
    found = run(lake, study.Summaries(), "month")
    by = {(r["name"], _who(r), r["period"]): r for r in found.values}
    october = by[("heart_rate", "P1", "2024-10")]
    values = [75, 80, 90, 66, 68]  # the fixture's HeartRate rows of October
    assert october["sd_sample"] == pytest.approx(statistics.stdev(values), rel=1e-12)
    assert october["sd_population"] == pytest.approx(statistics.pstdev(values), rel=1e-12)
    n = 7  # 8 negative_emotions answers in October, one of them the text "skipped"
    slider = by[("negative_emotions", "P1", "2024-10")]
    assert slider["sd_sample"] == pytest.approx(slider["sd_population"] * math.sqrt(n / (n - 1)))
    assert by[("heart_rate", "P1", "2024-11")]["sd_sample"] is None


def test_two_features_of_one_topic_are_both_computed(lake: Path) -> None:
    """The defaults hold steps and heart_rate of one topic: both are summarised (the script's
    ``break`` would leave heart_rate empty, ``total_entries: 0``)."""
    found = run(lake, study.Summaries(), "month")
    october = {r["name"]: r for r in found.values if r["period"] == "2024-10" and _who(r) == "P1"}
    assert (october["steps"]["total_entries"], october["heart_rate"]["total_entries"]) == (2, 5)
    assert (october["steps"]["unit"], october["heart_rate"]["unit"]) == ("steps", "bpm")
    # the data summary's days are the union of the features' days
    days = {r["period"]: r["total_days_with_data"] for r in found.days if _who(r) == "P1"}
    assert days == {"2024-09": 1, "2024-10": 2, "2024-11": 1}


def test_a_summary_of_a_topic_not_in_the_lake_is_skipped_with_the_reason(lake: Path) -> None:
    settings = study.parse(
        "summaries:\n"
        "  features:\n"
        "    - {name: hr, topic: connect_fitbit_intraday_heart_rate,"
        " value_field: value.heartRate}\n"
        "    - {name: wrong, topic: android_health_connect_typed_data, value_field: value.intVal}\n"
        "  sliders: []\n  histograms: []\n  responses: null\n"
    ).summaries
    found = run(lake, settings, "month")
    assert found.skipped == [
        "features.hr: no table for topic 'connect_fitbit_intraday_heart_rate'",
        "features.wrong: no column 'value.intVal' (value_field) in "
        "radar_android_health_connect_typed_data",
    ]
    assert (found.values, found.days) == ([], [])


def test_fields_resolve_from_the_export_header_or_the_column_name() -> None:
    columns = {
        "time": "timestamp(3)",
        "int_value": "double",
        "key": "varchar",
        "time_completed": "double",
    }
    assert summaries.column_for("value.intValue", columns) == "int_value"
    assert summaries.column_for("int_value", columns) == "int_value"
    assert summaries.column_for("value.time", columns) == "time"
    assert summaries.column_for("value.timeCompleted", columns) == "time_completed"
    assert summaries.column_for("value.key", columns) == "key"
    assert summaries.column_for("value.intVal", columns) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "summaries: {features: [{name: hr, topic: t}]}",
            "study.yaml: summaries.features.0.value_field: Field required",
        ),
        (
            "summaries: {feature: []}",
            "study.yaml: summaries.feature: Extra inputs are not permitted",
        ),
        (
            "summaries: {sliders: [{name: a, prefix: x_}, {name: a, prefix: y_}]}",
            "study.yaml: summaries: sliders: name(s) given more than once: a",
        ),
        (
            "summaries: {features: [{name: 1hr, topic: t, value_field: v}]}",
            "study.yaml: summaries.features.0.name: String should match pattern",
        ),
        (
            "summaries: {features: [{name: hr, topic: t, value_field: v, filter: {field: k}}]}",
            "study.yaml: summaries.features.0.filter.equals: Field required",
        ),
    ],
)
def test_bad_summary_settings_name_the_field(text: str, message: str) -> None:
    with pytest.raises(study.StudyConfigError) as caught:
        study.parse(text)
    assert message in str(caught.value)


def test_the_shipped_study_yaml_shows_the_defaults() -> None:
    shipped = study.parse((Path(__file__).resolve().parents[2] / "study.yaml").read_text())
    assert shipped.summaries == study.Summaries()
    assert [f.name for f in shipped.summaries.features] == ["steps", "heart_rate"]


@pytest.mark.local_only
def test_cli_summary_prints_the_figures(one_lake: Path, tmp_path: Path) -> None:
    lake = one_lake
    shown = cli(
        "summary", "--figures", "values", "--format", "csv", "--home", str(lake),
        "--config", str(Path(__file__).resolve().parents[2] / "study.yaml"),
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    rows = list(csv.DictReader(io.StringIO(shown.stdout)))
    assert list(rows[0]) == list(summaries.FILES["values.csv"])
    heart = [r for r in rows if r["name"] == "heart_rate" and r["period"] == "2024-10"]
    assert [(r["participant_id"], r["total_entries"], r["median"]) for r in heart] == [
        (P["P1"], "5", "75.0"),
        (P["P2"], "4", "99.5"),
    ]
    bad = cli("summary", "--period", "day", "--home", str(lake))
    assert (bad.returncode, bad.stderr.strip()) == (
        2,
        "phenolake: error: --period: expected month, week or year, got 'day'",
    )
    empty = cli("summary", "--home", str(tmp_path / "nothing"))
    assert (empty.returncode, empty.stderr.strip()) == (
        2,
        f"phenolake: error: summary: no tables in {tmp_path / 'nothing'}: run the pipeline first",
    )


@pytest.mark.local_only
def test_report_writes_the_study_summaries(one_lake: Path, tmp_path: Path) -> None:
    lake = one_lake
    out = tmp_path / "report"
    config = tmp_path / "study.yaml"
    config.write_text(
        "summaries:\n  features:\n"
        "    - {name: pulse, topic: android_health_connect_typed_data, value_field: value.intValue,"
        " filter: {field: value.key, equals: HeartRate}, unit: bpm}\n"
        "    - {name: hr, topic: connect_fitbit_intraday_heart_rate,"
        " value_field: value.heartRate}\n"
    )
    shown = cli("report", "--out", str(out), "--config", str(config), "--home", str(lake))
    assert shown.returncode == 0, shown.stderr
    assert (
        "study summaries: 7 feature/slider row(s), 3 response row(s), 5 histogram row(s) in "
        f"{out / 'study_summaries' / 'month'}\n"
        "  skipped: features.hr: no table for topic 'connect_fitbit_intraday_heart_rate'\n"
    ) in shown.stdout
    values = list(csv.DictReader((out / "study_summaries" / "month" / "values.csv").open()))
    october = [r for r in values if r["name"] == "pulse" and r["period"] == "2024-10"]
    got = {
        (r["participant_id"], r["unit"]): (
            int(r["total_entries"]),
            float(r["mean"]),
            float(r["sd_population"]),
        )
        for r in october
    }
    p1, p2 = HEART_RATE[("month", "P1", "2024-10")], HEART_RATE[("month", "P2", "2024-10")]
    assert_figures(
        got, {(P["P1"], "bpm"): (p1[0], p1[2], p1[4]), (P["P2"], "bpm"): (p2[0], p2[2], p2[4])}
    )
    histograms = (out / "study_summaries" / "month" / "histograms.csv").read_text().splitlines()
    assert histograms[0] == "name,site,participant_id,period,question_id,answer,count"
    assert f"sleep,connect-kcl,{P['P1']},2024-10,sleep_5,3,2" in histograms
    page = (out / "index.html").read_text()
    assert "<h2>Study summaries per month</h2>" in page
    assert "Skipped: features.hr: no table for topic" in page
    assert "<th>sd_population</th><th>sd_sample</th>" in page


#: ``4c7d3f0a-..._2024-10.json`` as extract_patient_summary.py wrote it in run A (month).
SCRIPT_DOCUMENT = {
    "patient_id": P["P1"],
    "site": P["P1"],
    "data_summary": {
        "start_date": "2024-10-01", "end_date": "2024-10-07", "total_days_with_data": 2,
        "missing_days": None, "features_available": ["heart_rate"],
    },
    "feature_statistics": {
        "heart_rate": {
            "total_entries": 5, "days_with_data": 2, "mean": 75.8, "median": 75.0,
            "std_dev": 8.681013765684282, "min": 66.0, "max": 90.0,
        }
    },
    "questionnaire_responses": {
        "total_responses": 5,
        "slider": {
            "negative_emotions": {
                "total_entries": 8, "days_with_data": 2, "mean": 39.285714285714285,
                "median": 40.0, "std_dev": 11.157499537009507, "min": 20.0, "max": 55.0,
            }
        },
        "histogram": {"sleep": {"sleep_5": {"4": 1, "2": 1, "3": 2}}},
        "days_with_responses": 2,
    },
}  # fmt: skip


def _as_the_script_names_it(document: dict[str, Any]) -> dict[str, Any]:
    """Ours with the script's names: ``sd_population`` is its ``std_dev``; it has no
    ``sd_sample``, and writes the participant as the site."""
    if isinstance(document, dict):
        renamed = {
            ("std_dev" if k == "sd_population" else k): _as_the_script_names_it(v)
            for k, v in document.items()
            if k != "sd_sample"
        }
        if "patient_id" in renamed:
            renamed["site"] = renamed["patient_id"]
        return renamed
    return document


def _flat(document: Any, where: str = "") -> dict[str, Any]:
    if not isinstance(document, dict):
        return {where: document}
    flat: dict[str, Any] = {}
    for key, value in document.items():
        flat.update(_flat(value, f"{where}.{key}" if where else key))
    return flat


def test_the_json_documents_are_the_scripts(one_lake: Path, tmp_path: Path) -> None:
    found = run(one_lake, RUN_A, "month")
    written = summaries.write(found, tmp_path)
    path = tmp_path / "json" / f"{P['P1']}_2024-10.json"
    assert path in written
    document = json.loads(path.read_text())
    assert document["site"] == radar_connect.SITE
    sd_sample = document["feature_statistics"]["heart_rate"]["sd_sample"]
    assert sd_sample == pytest.approx(statistics.stdev([75, 80, 90, 66, 68]), rel=1e-12)
    ours, theirs = _flat(_as_the_script_names_it(document)), _flat(SCRIPT_DOCUMENT)
    assert ours.pop("feature_statistics.heart_rate.unit") == "bpm"  # its filtered flag has none
    assert sorted(ours) == sorted(theirs)
    for key, value in theirs.items():
        assert ours[key] == (pytest.approx(value, rel=1e-12) if isinstance(value, float) else value)
    assert sorted(p.name for p in (tmp_path / "json").iterdir()) == sorted(
        f"{P[who]}_{label}.json" for (_, who, label) in _expected(DAYS, "month")
    )


def test_an_na_like_answer_is_left_out_not_a_nan_mean(export: Path, tmp_path: Path) -> None:
    """pandas reads the answer ``n/a`` as NaN and the script's ``float(NaN)`` keeps it: its
    figures for the period are NaN (run on this export: ``'mean': nan``, total_entries 2,
    days_with_data 1). Here the text is no number: counted in total_entries, left out of the
    figures."""
    root = tmp_path / "export"
    root.mkdir()
    for path in export.rglob("*.csv.gz"):
        target = root / path.relative_to(export)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    p2 = radar_connect.PARTICIPANT_2
    row = radar_connect.esm_response(p2, "2024-11-05T09:00", "2024-11-05T09:01", "n/a", 25, 2, "")
    header = radar_connect.questionnaire_header(5)
    radar_connect.write_file(root, p2, radar_connect.QUESTIONNAIRE, "20241105_0900", header, [row])
    home = tmp_path / "lake"
    build_lake(root, home, "text")
    found = run(home, study.Summaries(features=[], histograms=[], responses=None), "month")
    november = _figures(found.values, "negative_emotions", "month")[("month", "P2", "2024-11")]
    assert november == (2, 1, 25.0, 25.0, 0.0, 25.0, 25.0)
