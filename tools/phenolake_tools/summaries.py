"""The study's summaries as the CONNECT scripts make them, in Athena SQL over the curated tables.

MHM-data-pipelines' ``extract_patient_summary.py`` (commit e24ab42) summarises each participant
per period (month ``2024-10``, ISO week ``2024-W40`` or year ``2024``) from the RADAR-base
export; ``study.yaml``'s ``summaries`` section (``phenolake.study.Summaries``) holds its
settings, and the figures here are the script's, computed by SQL that ``phenolake query`` runs
(locally or on Athena):

- a *feature* (``--feature``): the rows of the topic whose ``filter`` field equals its value
  (``value.key = HeartRate``) and whose time parses, counted (``total_entries``); of those whose
  value is a number, ``days_with_data`` (UTC days), ``mean``, ``median`` (the middle value, or
  the mean of the two middle ones), ``sd_population`` (divides by n: numpy's ``np.std``, the
  script's ``std_dev``), ``sd_sample`` (by n - 1, pandas' ``Series.std``; null for one value),
  ``min``, ``max``;
- a *slider* (``--questionnaire-slider``): the same figures over every answer whose question id
  starts with ``prefix``, at its response's time (``value.timeCompleted``);
- a *histogram* (``--questionnaire-histogram``): answers to ``question_id`` counted by answer;
- *responses* (``--questionnaire``): questionnaire rows counted by the day completed.

Times are epoch seconds in UTC (``pd.to_datetime(unit="s")``), so days and periods are UTC, as
in the script. Where the script is wrong, these figures are not: each feature is computed (the
script takes only the first feature of a topic's file, its ``break``); a histogram uses its own
time field (the script the last slider's); a blank or NA-like answer (``n/a``) is left out (the
script makes it NaN, and the period's mean with it).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from phenolake.study import (
    FeatureSummary,
    HistogramSummary,
    ResponseSummary,
    SliderSummary,
    Summaries,
)

Period = Literal["month", "week", "year"]
Query = Callable[[str], pa.Table]

#: The parsed number of a union (int|string|double) answer, where the table keeps one beside
#: the answer's text; else the text is cast (``TRY_CAST``). The one place the name is spelled.
ANSWER_NUMBER = "answers_{index}_value_numeric"
ANSWER_TEXT = "answers_{index}_value"
ANSWER_QUESTION = re.compile(r"^answers_(\d+)_question_id$")

#: The figures of a feature or slider, in the order of the CSV's columns.
VALUE_FIGURES = (
    "total_entries",
    "days_with_data",
    "mean",
    "median",
    "sd_population",
    "sd_sample",
    "min",
    "max",
)
KEYS = ("site", "participant_id", "period")


@dataclasses.dataclass
class StudySummaries:
    """The figures, as rows (dicts keyed by the CSVs' columns), and what was skipped, why."""

    values: list[dict[str, Any]]
    responses: list[dict[str, Any]]
    histograms: list[dict[str, Any]]
    days: list[dict[str, Any]]
    skipped: list[str]
    #: The features computed (not skipped), in study.yaml's order.
    features: list[str] = dataclasses.field(default_factory=list)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _squash(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def column_for(field: str, columns: dict[str, str]) -> str | None:
    """The table column of a field named as in the export's header or as the column
    (``value.intValue`` -> ``int_value``, ``value.timeCompleted`` -> ``time_completed``,
    ``value.time`` -> ``time``): the column itself, else the one whose name equals the field's
    without its ``key.``/``value.`` prefix (or whole), case and separators aside; None when no
    column, or more than one, answers."""
    if field in columns:
        return field
    short = field.split(".", 1)[1] if field.startswith(("key.", "value.")) else field
    for candidate in (short, field):
        found = [c for c in columns if _squash(c) == _squash(candidate)]
        if len(found) == 1:
            return found[0]
    return None


_NUMERIC = {"double", "real", "float", "bigint", "integer", "int", "smallint", "tinyint", "decimal"}


def _is_numeric(kind: str) -> bool:
    """A Trino type (``information_schema``'s ``data_type``) that holds numbers."""
    return kind.split("(")[0] in _NUMERIC


def _time_sql(column: str, kind: str) -> str:
    """A time column as a UTC timestamp: the table's timestamp, or epoch seconds."""
    if kind.startswith("timestamp"):
        return _ident(column)
    seconds = _ident(column) if _is_numeric(kind) else f"TRY_CAST({_ident(column)} AS double)"
    return f"from_unixtime({seconds})"


def _number_sql(column: str, kind: str) -> str:
    """A value as a double; null where it is no number (the script's ``float(value)`` fails)."""
    if _is_numeric(kind):
        return f"CAST({_ident(column)} AS double)"
    return f"TRY_CAST({_ident(column)} AS double)"


def _text_sql(column: str, kind: str) -> str:
    """An answer as the text a histogram counts it by: as written, a whole number without
    ``.0`` where the column holds numbers (``3``, as the script shows an int column)."""
    if not _is_numeric(kind):
        return _ident(column)
    value = _ident(column)
    return (
        f"CASE WHEN {value} = floor({value}) AND abs({value}) < 1e15 "
        f"THEN CAST(CAST({value} AS bigint) AS varchar) ELSE CAST({value} AS varchar) END"
    )


def period_sql(timestamp: str, period: Period) -> str:
    """The period label of a timestamp: ``2024-10``, ``2024-W40`` (ISO week) or ``2024``."""
    if period == "month":
        return f"date_format({timestamp}, '%Y-%m')"
    if period == "year":
        return f"date_format({timestamp}, '%Y')"
    return (
        f"concat(CAST(year_of_week({timestamp}) AS varchar), '-W', "
        f"lpad(CAST(week({timestamp}) AS varchar), 2, '0'))"
    )


class _Tables:
    """The lake's tables and their columns (``information_schema``, as on Athena)."""

    def __init__(self, query: Query, database: str, table_names: list[str]) -> None:
        self.query = query
        self.database = database
        self.names = table_names
        self._columns: dict[str, dict[str, str]] = {}

    def table(self, topic: str) -> str | None:
        """The curated table of a topic: the summarised table whose source declares it the
        topic's (its metric, as completeness names it), else the table so named."""
        from phenolake_tools.reports import summarised_tables

        by_metric = summarised_tables(self.names)
        if topic in by_metric:
            return by_metric[topic]
        squashed = {_squash(m): t for m, t in by_metric.items()}
        return topic if topic in self.names else squashed.get(_squash(topic))

    def columns(self, table: str) -> dict[str, str]:
        if table not in self._columns:
            rows = self.query(
                "SELECT column_name, data_type FROM information_schema.columns "
                f"WHERE table_schema = {_sql_string(self.database)} "
                f"AND table_name = {_sql_string(table)} ORDER BY ordinal_position"
            ).to_pylist()
            self._columns[table] = {r["column_name"]: r["data_type"] for r in rows}
        return self._columns[table]


def _site(columns: dict[str, str]) -> str:
    """The table's site column, or null where its source files by no site."""
    return "site" if "site" in columns else "CAST(NULL AS varchar) AS site"


def _answer_indexes(columns: dict[str, str]) -> list[int]:
    found = (ANSWER_QUESTION.match(c) for c in columns)
    return sorted(
        int(m.group(1)) for m in found if m and ANSWER_TEXT.format(index=m.group(1)) in columns
    )


def _answer_number(index: int, columns: dict[str, str]) -> str:
    number = ANSWER_NUMBER.format(index=index)
    if number in columns:
        return _number_sql(number, columns[number])
    text = ANSWER_TEXT.format(index=index)
    return _number_sql(text, columns[text])


class _Missing(Exception):
    """A summary's topic or field is not in the lake: skipped, with this reason."""


def _resolve(
    tables: _Tables, what: str, topic: str, fields: dict[str, str]
) -> tuple[str, dict[str, str], dict[str, str]]:
    table = tables.table(topic)
    if table is None:
        raise _Missing(f"{what}: no table for topic {topic!r}")
    columns = tables.columns(table)
    found = {}
    for role, field in fields.items():
        column = column_for(field, columns)
        if column is None:
            raise _Missing(f"{what}: no column {field!r} ({role}) in {table}")
        found[role] = column
    return table, columns, found


def _feature_rows(tables: _Tables, feature: FeatureSummary, period: Period) -> str:
    """One feature's rows: (kind, name, site, participant_id, period, day, value)."""
    fields = {"time_field": feature.time_field, "value_field": feature.value_field}
    if feature.filter:
        fields["filter"] = feature.filter.field
    table, columns, found = _resolve(tables, f"features.{feature.name}", feature.topic, fields)
    at = _time_sql(found["time_field"], columns[found["time_field"]])
    where = ""
    if feature.filter:
        column = found["filter"]
        shown = (
            _ident(column)
            if not _is_numeric(columns[column])
            else f"CAST({_ident(column)} AS varchar)"
        )
        where = f" WHERE {shown} = {_sql_string(feature.filter.equals)}"
    value = _number_sql(found["value_field"], columns[found["value_field"]])
    inner = (
        f"SELECT {_site(columns)}, participant_id, {at} AS at, {value} AS value "
        f"FROM {_ident(table)}{where}"
    )
    return _with_period("feature", feature.name, inner, period)


def _with_period(kind: str, name: str, inner: str, period: Period) -> str:
    return (
        f"SELECT {_sql_string(kind)} AS kind, {_sql_string(name)} AS name, site, participant_id, "
        f"{period_sql('at', period)} AS period, CAST(at AS date) AS day, value "
        f"FROM ({inner}) WHERE at IS NOT NULL"
    )


def _answers(
    tables: _Tables,
    what: str,
    topic: str,
    time_field: str,
    match: Callable[[str], str],
    value: Callable[[int, dict[str, str]], str],
) -> str:
    """Every answer of the topic's rows that ``match`` keeps: (site, participant_id, at,
    question_id, value). The answers (``answers_<i>_*``, as many as the widest response) are
    unnested side by side, so the table is read once (on Athena, scanned once)."""
    table, columns, found = _resolve(tables, what, topic, {"time_field": time_field})
    indexes = _answer_indexes(columns)
    if not indexes:
        raise _Missing(f"{what}: no answers_<i>_question_id columns in {table}")
    at = _time_sql(found["time_field"], columns[found["time_field"]])
    questions = ", ".join(_ident(f"answers_{i}_question_id") for i in indexes)
    values = ", ".join(value(i, columns) for i in indexes)
    return (
        f"SELECT {_site(columns)}, participant_id, {at} AS at, answer.question_id, "
        f"answer.value FROM {_ident(table)} CROSS JOIN UNNEST(ARRAY[{questions}], "
        f"ARRAY[{values}]) AS answer (question_id, value) WHERE {match('answer.question_id')}"
    )


def _slider_rows(tables: _Tables, slider: SliderSummary, period: Period) -> str:
    prefix = _sql_string(slider.prefix)
    inner = _answers(
        tables,
        f"sliders.{slider.name}",
        slider.topic,
        slider.time_field,
        lambda question: f"starts_with({question}, {prefix})",
        _answer_number,
    )
    return _with_period(
        "slider", slider.name, f"SELECT site, participant_id, at, value FROM ({inner})", period
    )


def values_sql(rows: list[str]) -> str:
    """The figures of every feature and slider (``VALUE_FIGURES``) per participant and period.

    The median is exact (Trino has only ``approx_percentile``): the values ranked in order,
    the mean of the ranks (n + 1) / 2 and (n + 2) / 2 (one rank when n is odd)."""
    union = " UNION ALL ".join(rows)
    group = "kind, name, site, participant_id, period"
    return (
        f"WITH v AS ({union}), ranked AS (SELECT *, "
        f"row_number() OVER (PARTITION BY {group} ORDER BY value ASC NULLS LAST) AS k, "
        f"count(value) OVER (PARTITION BY {group}) AS n FROM v) "
        f"SELECT {group}, count(*) AS total_entries, "
        "count(DISTINCT CASE WHEN value IS NOT NULL THEN day END) AS days_with_data, "
        "avg(value) AS mean, "
        "avg(CASE WHEN value IS NOT NULL AND k IN ((n + 1) / 2, (n + 2) / 2) THEN value END) "
        "AS median, "
        "stddev_pop(value) AS sd_population, stddev_samp(value) AS sd_sample, "
        "min(value) AS min, max(value) AS max "
        f"FROM ranked GROUP BY {group} ORDER BY kind, name, site, participant_id, period"
    )


def days_sql(rows: list[str]) -> str:
    """The participant's days with a feature value per period (the script's data_summary:
    start_date, end_date, total_days_with_data; sliders not counted, as there)."""
    union = " UNION ALL ".join(rows)
    return (
        f"SELECT site, participant_id, period, min(day) AS start_date, max(day) AS end_date, "
        f"count(DISTINCT day) AS total_days_with_data FROM ({union}) WHERE value IS NOT NULL "
        "GROUP BY site, participant_id, period ORDER BY site, participant_id, period"
    )


def responses_sql(tables: _Tables, responses: ResponseSummary, period: Period) -> str:
    table, columns, found = _resolve(
        tables, "responses", responses.topic, {"time_field": responses.time_field}
    )
    at = _time_sql(found["time_field"], columns[found["time_field"]])
    return (
        f"SELECT site, participant_id, {period_sql('at', period)} AS period, "
        "count(*) AS total_responses, count(DISTINCT CAST(at AS date)) AS days_with_responses "
        f"FROM (SELECT {_site(columns)}, participant_id, {at} AS at FROM {_ident(table)}) "
        "WHERE at IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )


def histogram_sql(tables: _Tables, histogram: HistogramSummary, period: Period) -> str:
    target = _sql_string(histogram.question_id)

    def text(index: int, columns: dict[str, str]) -> str:
        column = ANSWER_TEXT.format(index=index)
        return _text_sql(column, columns[column])

    inner = _answers(
        tables,
        f"histograms.{histogram.name}",
        histogram.topic,
        histogram.time_field,
        lambda question: f"{question} = {target}",
        text,
    )
    return (
        f"SELECT {_sql_string(histogram.name)} AS name, site, participant_id, "
        f"{period_sql('at', period)} AS period, question_id, value AS answer, count(*) AS count "
        f"FROM ({inner}) WHERE at IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6 "
        "ORDER BY 1, 2, 3, 4, 5, 6"
    )


def table_names(query: Query, database: str = "phenolake") -> list[str]:
    """The database's tables (``information_schema``: the same SQL locally and on Athena)."""
    rows = query(
        "SELECT table_name FROM information_schema.tables "
        f"WHERE table_schema = {_sql_string(database)} ORDER BY table_name"
    ).to_pylist()
    return [r["table_name"] for r in rows]


def compute(
    query: Query,
    settings: Summaries,
    period: Period,
    names: list[str] | None = None,
    database: str = "phenolake",
) -> StudySummaries:
    """Every configured summary, per participant and period; a summary whose topic or field
    the lake lacks is skipped and named in ``skipped``. ``names``: the lake's tables (default:
    asked of ``information_schema``)."""
    tables = _Tables(query, database, table_names(query, database) if names is None else names)
    skipped: list[str] = []
    features, sliders, computed = [], [], []
    for items, out, build in (
        (settings.features, features, _feature_rows),
        (settings.sliders, sliders, _slider_rows),
    ):
        for item in items:
            try:
                out.append(build(tables, item, period))
            except _Missing as exc:
                skipped.append(str(exc))
                continue
            if out is features:
                computed.append(item.name)
    values = query(values_sql(features + sliders)).to_pylist() if features or sliders else []
    units = {f.name: f.unit for f in settings.features}
    for row in values:
        row["unit"] = units.get(row["name"], "") if row["kind"] == "feature" else ""
    days = query(days_sql(features)).to_pylist() if features else []
    responses: list[dict[str, Any]] = []
    if settings.responses:
        try:
            responses = query(responses_sql(tables, settings.responses, period)).to_pylist()
        except _Missing as exc:
            skipped.append(str(exc))
    histograms: list[dict[str, Any]] = []
    for histogram in settings.histograms:
        try:
            histograms += query(histogram_sql(tables, histogram, period)).to_pylist()
        except _Missing as exc:
            skipped.append(str(exc))
    return StudySummaries(values, responses, histograms, days, skipped, computed)


#: The CSV files ``write`` makes, and their columns.
FILES = {
    "values.csv": (*("kind", "name", *KEYS, "unit"), *VALUE_FIGURES),
    "days.csv": (*KEYS, "start_date", "end_date", "total_days_with_data"),
    "responses.csv": (*KEYS, "total_responses", "days_with_responses"),
    "histograms.csv": ("name", *KEYS, "question_id", "answer", "count"),
}


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n') else text


def write(found: StudySummaries, folder: Path) -> list[Path]:
    """The figures as CSVs in ``folder`` (``FILES``); returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "values.csv": found.values,
        "days.csv": found.days,
        "responses.csv": found.responses,
        "histograms.csv": found.histograms,
    }
    written = []
    for name, rows in tables.items():
        header = FILES[name]
        lines = [",".join(header), *(",".join(_cell(r.get(c)) for c in header) for r in rows)]
        path = folder / name
        path.write_text("\n".join(lines) + "\n")
        written.append(path)
    for (participant, label), document in sorted(connect_documents(found).items()):
        path = folder / "json" / f"{participant}_{label}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n")
        written.append(path)
    return written


def _statistics(row: dict[str, Any] | None) -> dict[str, Any]:
    figures = {f: (row or {}).get(f) for f in VALUE_FIGURES}
    for count in ("total_entries", "days_with_data"):
        figures[count] = figures[count] or 0
    return figures


def connect_documents(found: StudySummaries) -> dict[tuple[str, str], dict[str, Any]]:
    """{(participant, period label): the document}, shaped as ``extract_patient_summary.py``
    writes ``<participant>_<label>.json``, with two differences: the sd is named for what it
    is (``sd_population``, the script's ``std_dev``, and ``sd_sample``), and ``site`` is the
    participant's site (the script writes the participant id there)."""
    keys = {
        (r["participant_id"], r["period"]): r["site"]
        for rows in (found.values, found.responses, found.histograms)
        for r in rows
    }
    documents = {}
    for (participant, label), site in keys.items():
        mine = [
            r for r in found.values if (r["participant_id"], r["period"]) == (participant, label)
        ]
        features = {r["name"]: r for r in mine if r["kind"] == "feature"}
        days = next(
            (r for r in found.days if (r["participant_id"], r["period"]) == (participant, label)),
            {},
        )
        statistics = {}
        for name in found.features:
            statistics[name] = _statistics(features.get(name))
            if features.get(name, {}).get("unit"):
                statistics[name]["unit"] = features[name]["unit"]
        responses = next(
            (
                r
                for r in found.responses
                if (r["participant_id"], r["period"]) == (participant, label)
            ),
            {},
        )
        histogram: dict[str, dict[str, dict[str, int]]] = {}
        for r in found.histograms:
            if (r["participant_id"], r["period"]) == (participant, label):
                answers = histogram.setdefault(r["name"], {}).setdefault(r["question_id"], {})
                answers[str(r["answer"])] = r["count"]
        start, end = days.get("start_date"), days.get("end_date")
        documents[(participant, label)] = {
            "patient_id": participant,
            "site": site,
            "data_summary": {
                "start_date": start.isoformat() if start else None,
                "end_date": end.isoformat() if end else None,
                "total_days_with_data": days.get("total_days_with_data", 0),
                "missing_days": None,
                "features_available": sorted(features),
            },
            "feature_statistics": statistics,
            "questionnaire_responses": {
                "total_responses": responses.get("total_responses", 0),
                "slider": {r["name"]: _statistics(r) for r in mine if r["kind"] == "slider"},
                "histogram": histogram,
                "days_with_responses": responses.get("days_with_responses", 0),
            },
        }
    return documents
