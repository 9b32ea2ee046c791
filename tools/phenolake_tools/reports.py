"""The study team's reports: what data there is per participant and day, and who fell silent.

Built from the tables the Completeness step writes (``completeness``, ``participant_stats``)
and, for the value statistics and questionnaire counts, the curated tables a source declares
``summarised`` (``TableSpec.summarised``: one per metric); read
through the same Athena SQL as any user query (``phenolake_tools.query``), so the report shows what
Athena shows. ``write_report`` writes:

- ``heatmap_<source>.png`` and ``heatmap_all.png``: participants x days, coloured by coverage;
- ``coverage_<source>.csv`` and ``coverage_all.csv``: the same pivot, as numbers;
- ``stats/<site>_stats.csv.gz`` and ``stats/all_sites.csv.gz``: the ``participant_stats`` rows;
- ``summaries/<period>/<source>/<participant>/<label>.json``: a summary per participant per
  period (month, week or year);
- ``study_summaries/<period>/{values,days,responses,histograms}.csv`` and
  ``study_summaries/<period>/json/<participant>_<label>.json``: the study's summaries as the
  CONNECT scripts make them (their JSON's shape), set in study.yaml's ``summaries``
  (``summaries.py``);
- ``index.html``: the page showing them, the participants silent for more than N days first.

Coverage of a participant's day for a source is the mean over the source's metrics of the
metric's coverage (rows / expected rows, at most 1), where the metric has a nominal rate, or
1 when it has rows and no rate; a metric with no rows that day counts 0. "Overall" averages
all metrics of all sources alike.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from phenolake.silence import Silent, silent_participants
from phenolake.study import Summaries

Period = Literal["month", "week", "year"]
Query = Callable[[str], pa.Table]


def declared_units() -> dict[str, dict[str, str]]:
    """Units of value columns, metric -> column -> unit, as the sources declare them."""
    from phenolake import sources

    units: dict[str, dict[str, str]] = {}
    for name in sources.names():
        for metric, columns in sources.get(name).spec.units.items():
            units.setdefault(metric, {}).update(columns)
    return units


def summarised_tables(table_names: list[str]) -> dict[str, str]:
    """metric -> table, for the tables a source declares ``summarised`` (values summarised)."""
    from phenolake import sources

    found: dict[str, str] = {}
    for table in table_names:
        for name in sources.names():
            spec = sources.get(name).spec.table(table)
            metric = spec.metric_of(table) if spec and spec.summarised else None
            if metric:
                found[metric] = table
    return found


#: Cells are labelled with their percentage while the grid is small enough to read them.
ANNOTATE_DAYS = 31
ANNOTATE_PARTICIPANTS = 40


# --- coverage ------------------------------------------------------------------------------


#: A cell of the heatmap per source, participant and day: the sum over the source's metrics
#: of min(1, coverage) (1 where a metric has rows and no rate, 0 where it has none), and how
#: many metrics the source has. Aggregated in SQL: the answer is the heatmap's cells.
COVERAGE_SQL = (
    "WITH cell AS (SELECT source, participant_id, date, metric, "
    "CASE WHEN rows > 0 THEN least(1.0, coalesce(coverage, 1.0)) ELSE 0.0 END AS value "
    "FROM completeness), "
    "per_source AS (SELECT source, count(DISTINCT metric) AS metrics FROM completeness "
    "GROUP BY source) "
    "SELECT cell.source, cell.participant_id, cell.date, sum(cell.value) AS covered, "
    "per_source.metrics FROM cell JOIN per_source ON cell.source = per_source.source "
    "GROUP BY cell.source, cell.participant_id, cell.date, per_source.metrics"
)


def day_coverage(cells: list[dict[str, Any]]) -> dict[str, dict[tuple[str, str], dict[str, float]]]:
    """``COVERAGE_SQL``'s rows -> {view: {(source, participant): {date: coverage}}}, view being
    each source and "all" (every metric of every source alike)."""
    metrics = {row["source"]: row["metrics"] for row in cells}
    all_metrics = sum(metrics.values())
    views: dict[str, dict[tuple[str, str], dict[str, float]]] = {"all": {}}
    for row in cells:
        source, participant, date = row["source"], row["participant_id"], row["date"]
        views.setdefault(source, {}).setdefault((source, participant), {})[date] = (
            row["covered"] / row["metrics"]
        )
        cell = views["all"].setdefault(("all", participant), {})
        cell[date] = cell.get(date, 0.0) + row["covered"] / all_metrics
    return views


def _date_range(dates: list[str]) -> list[str]:
    first, last = dt.date.fromisoformat(min(dates)), dt.date.fromisoformat(max(dates))
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def _cell(coverage: float) -> float:
    """Coverage to 4 decimals, but a day with any data never rounds to 0 (0 means silence)."""
    return max(round(coverage, 4), 0.0001) if coverage > 0 else 0.0


def pivot(
    grid: dict[tuple[str, str], dict[str, float]],
) -> tuple[list[str], list[str], list[list[float]]]:
    """(participants, every day from the first to the last, coverage rows; 0 where none)."""
    participants = sorted({p for _, p in grid})
    dates = _date_range([d for cells in grid.values() for d in cells])
    by_participant = {p: cells for (_, p), cells in grid.items()}
    values = [[_cell(by_participant[p].get(d, 0.0)) for d in dates] for p in participants]
    return participants, dates, values


def write_pivot_csv(
    path: Path, participants: list[str], dates: list[str], values: list[list[float]]
) -> None:
    lines = [",".join(["participant_id", *dates])]
    lines += [
        ",".join([p, *(f"{v:g}" for v in row)]) for p, row in zip(participants, values, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")


MAX_DAYS_DRAWN = 120
MAX_DAY_LABELS = 40


def draw_heatmap(
    path: Path, title: str, participants: list[str], dates: list[str], values: list[list[float]]
) -> None:
    """A participants x days heatmap of coverage (0 white .. 1 dark green), day labels on x.

    Sources recorded years apart (a public 2014 dataset beside a 2024 study) would make the
    overall view thousands of days wide and unreadable: past ``MAX_DAYS_DRAWN`` days only the
    days on which someone has data are drawn, and the title says so (the CSV keeps every day).
    """
    if len(dates) > MAX_DAYS_DRAWN:
        kept = [i for i in range(len(dates)) if any(row[i] > 0 for row in values)]
        dates = [dates[i] for i in kept]
        values = [[row[i] for i in kept] for row in values]
        title = f"{title} (days with data only)"
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    width = min(24.0, 3.0 + 0.35 * len(dates))
    height = min(40.0, 1.8 + 0.35 * len(participants))
    figure, axes = plt.subplots(figsize=(width, height), dpi=100)
    image = axes.imshow(
        values, cmap="Greens", vmin=0.0, vmax=1.0, aspect="auto", interpolation="none"
    )
    step = max(1, -(-len(dates) // MAX_DAY_LABELS))
    axes.set_xticks(range(0, len(dates), step), dates[::step], rotation=90, fontsize=8)
    axes.set_yticks(range(len(participants)), participants, fontsize=8)
    axes.set_xlabel("day (UTC)")
    axes.set_ylabel("participant")
    axes.set_title(title)
    if step == 1:  # cell borders only while cells are wide enough to see
        axes.set_xticks([x - 0.5 for x in range(1, len(dates))], minor=True)
        axes.set_yticks([y - 0.5 for y in range(1, len(participants))], minor=True)
        axes.grid(which="minor", color="#dddddd", linewidth=0.5)
        axes.tick_params(which="minor", length=0)
    if len(dates) <= ANNOTATE_DAYS and len(participants) <= ANNOTATE_PARTICIPANTS:
        for y, row in enumerate(values):
            for x, value in enumerate(row):
                if value <= 0:
                    continue  # no data: left blank, so silence stands out
                text = "<1%" if value < 0.01 else f"{value:.0%}"
                colour = "white" if value > 0.6 else "black"
                axes.text(x, y, text, ha="center", va="center", fontsize=7, color=colour)
    figure.colorbar(image, ax=axes, label="coverage")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


# --- summaries -----------------------------------------------------------------------------


def period_of(day: dt.date, period: Period) -> tuple[str, dt.date, dt.date]:
    """(label, first day, last day) of the period holding ``day``."""
    if period == "year":
        return str(day.year), dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    if period == "month":
        first = day.replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        return f"{day:%Y-%m}", first, following - dt.timedelta(days=1)
    year, week, _ = day.isocalendar()
    first = day - dt.timedelta(days=day.weekday())
    return f"{year}-W{week:02d}", first, first + dt.timedelta(days=6)


_INTEGER = {"bigint", "integer", "int", "smallint", "tinyint"}
_FLOATING = {"double", "real", "float"}
#: The largest finite double: a value beyond it (or NaN, which compares false) is left out.
_FINITE = "1.7976931348623157e308"


def _value_column(name: str, kind: str) -> bool:
    """Numeric columns (a Trino type, ``information_schema``'s) that are measurements (not
    times, versions, provenance or questionnaire answers)."""
    timeish = name == "time" or name.startswith("time_") or name.endswith("_time")
    numeric = kind.split("(")[0] in _INTEGER | _FLOATING
    return numeric and not timeish and name != "version" and "answers_" not in name


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class TableFigures:
    """The figures of the summarised tables per participant and period, aggregated by SQL
    (``query``: locally DuckDB, or Athena), so what is fetched is one row per participant x
    period x value column (or answer), never a table's rows: memory is the report's size."""

    def __init__(
        self, query: Query, tables: dict[str, str], period: Period, database: str = "phenolake"
    ) -> None:
        from phenolake_tools.summaries import period_sql

        self.query, self.tables, self.database = query, tables, database
        day = f"TRY_CAST(CAST({_ident('date')} AS varchar) AS timestamp)"
        self.label = period_sql(day, period)
        self._values: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self._answers: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}

    def _columns(self, table: str) -> dict[str, str]:
        rows = self.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            f"WHERE table_schema = {_string(self.database)} AND table_name = {_string(table)} "
            "ORDER BY ordinal_position"
        ).to_pylist()
        return {r["column_name"]: r["data_type"] for r in rows}

    def _rows(self, table: str, select: str) -> str:
        """The table's rows with a participant and a day, with their period (``label``)."""
        return (
            f"SELECT participant_id, {self.label} AS label{select} FROM {_ident(table)} "
            "WHERE participant_id IS NOT NULL"
        )

    def values(self, metric: str) -> dict[tuple[str, str], dict[str, Any]]:
        """{(participant, period label): {column: mean, median, sd_sample, min, max}} for
        every participant and period with rows in the metric's table."""
        if metric not in self._values:
            self._values[metric] = self._value_figures(self.tables.get(metric))
        return self._values[metric]

    def _value_figures(self, table: str | None) -> dict[tuple[str, str], dict[str, Any]]:
        columns = self._columns(table) if table else {}
        if table is None or not {"participant_id", "date"} <= set(columns):
            return {}
        wanted = [c for c, kind in columns.items() if _value_column(c, kind)]
        present = self.query(
            f"SELECT participant_id, label, count(*) AS n FROM ({self._rows(table, '')}) "
            "WHERE label IS NOT NULL GROUP BY participant_id, label"
        ).to_pylist()
        empty = {"mean": None, "median": None, "sd_sample": None, "min": None, "max": None}
        found = {
            (r["participant_id"], r["label"]): {c: dict(empty) for c in wanted} for r in present
        }
        if not wanted or not found:
            return found
        names = ", ".join(_string(c) for c in wanted)
        numbers = ", ".join(f"CAST({_ident(c)} AS double)" for c in wanted)
        group = "participant_id, label, column_name"
        select = f", {', '.join(_ident(c) for c in wanted)}"
        sql = (
            f"WITH base AS (SELECT participant_id, label, v.column_name, v.value "
            f"FROM ({self._rows(table, select)}) "
            f"CROSS JOIN UNNEST(ARRAY[{names}], ARRAY[{numbers}]) AS v (column_name, value) "
            f"WHERE label IS NOT NULL AND abs(v.value) <= {_FINITE}), "
            f"ranked AS (SELECT *, row_number() OVER (PARTITION BY {group} ORDER BY value) AS k, "
            f"count(*) OVER (PARTITION BY {group}) AS n, "
            f"avg(value) OVER (PARTITION BY {group}) AS m FROM base) "
            f"SELECT {group}, count(*) AS n, avg(value) AS mean, "
            "avg(CASE WHEN k IN ((n + 1) / 2, (n + 2) / 2) THEN value END) AS median, "
            "sum((value - m) * (value - m)) AS m2, min(value) AS min, max(value) AS max "
            f"FROM ranked GROUP BY {group}"
        )
        for r in self.query(sql).to_pylist():
            integer = columns[r["column_name"]].split("(")[0] in _INTEGER
            n = r["n"]
            median = r["median"]
            if integer and n % 2:
                median = int(median)  # the middle value itself, as the column holds it
            found[(r["participant_id"], r["label"])][r["column_name"]] = {
                "mean": round(r["mean"], 6),
                "median": round(median, 6),
                "sd_sample": round(math.sqrt(r["m2"] / (n - 1)), 6) if n > 1 else None,
                "min": int(r["min"]) if integer else r["min"],
                "max": int(r["max"]) if integer else r["max"],
            }
        return found

    def questionnaires(self, metric: str) -> dict[tuple[str, str], dict[str, Any]]:
        """{(participant, period label): {questionnaire: {"responses": n, "answers":
        {question: {answer: count}}}}} of the metric's table."""
        if metric not in self._answers:
            self._answers[metric] = self._answer_counts(self.tables.get(metric))
        return self._answers[metric]

    def _answer_counts(self, table: str | None) -> dict[tuple[str, str], dict[str, Any]]:
        columns = self._columns(table) if table else {}
        if table is None or not {"participant_id", "date"} <= set(columns):
            return {}
        name = (
            f"coalesce(nullif(CAST({_ident('name')} AS varchar), ''), 'questionnaire')"
            if "name" in columns
            else "'questionnaire'"
        )
        counts: dict[tuple[str, str], dict[str, Any]] = {}
        responses = self.query(
            "SELECT participant_id, label, questionnaire, count(*) AS n FROM "
            f"({self._rows(table, f', {name} AS questionnaire')}) "
            "WHERE label IS NOT NULL GROUP BY participant_id, label, questionnaire"
        ).to_pylist()
        for r in responses:
            entry = counts.setdefault((r["participant_id"], r["label"]), {})
            entry[r["questionnaire"]] = {"responses": r["n"], "answers": {}}
        indexes = []
        while f"answers_{len(indexes)}_question_id" in columns:
            indexes.append(len(indexes))
        kinds = {columns.get(f"answers_{i}_value") for i in indexes} - {None}
        batches = [indexes] if len(kinds) <= 1 else [[i] for i in indexes]
        kind = next(iter(kinds)) if len(kinds) == 1 else "varchar"
        for batch in batches if indexes else []:
            batch_kind = columns.get(f"answers_{batch[0]}_value", kind) if len(batch) == 1 else kind
            values = [
                _ident(f"answers_{i}_value")
                if f"answers_{i}_value" in columns
                else f"CAST(NULL AS {batch_kind})"
                for i in batch
            ]
            questions = ", ".join(_ident(f"answers_{i}_question_id") for i in batch)
            aliased = ", ".join(f"{v} AS value_{i}" for v, i in zip(values, batch, strict=True))
            inner = self._rows(table, f", {name} AS questionnaire, {questions}, {aliased}")
            sql = (
                "SELECT participant_id, label, questionnaire, a.question, a.value, "
                f"count(*) AS n FROM ({inner}) CROSS JOIN UNNEST(ARRAY[{questions}], "
                f"ARRAY[{', '.join(f'value_{i}' for i in batch)}]) AS a (question, value) "
                "WHERE label IS NOT NULL AND a.question IS NOT NULL "
                "GROUP BY participant_id, label, questionnaire, a.question, a.value"
            )
            for r in self.query(sql).to_pylist():
                entry = counts[(r["participant_id"], r["label"])][r["questionnaire"]]
                by_answer = entry["answers"].setdefault(r["question"], {})
                text = _answer_text(r["value"])
                by_answer[text] = by_answer.get(text, 0) + r["n"]
        return counts


def _label_sql(period: Period) -> str:
    from phenolake_tools.summaries import period_sql

    return period_sql(f"TRY_CAST(CAST({_ident('date')} AS varchar) AS timestamp)", period)


def period_sql(period: Period) -> tuple[str, str]:
    """The SQL of the completeness figures per participant and period (the days with data,
    first and last) and per metric of those (rows, days): the summaries' rows, not the
    table's."""
    label = _label_sql(period)
    days = (
        f"SELECT source, participant_id, {label} AS label, date, metric, rows FROM completeness "
        "WHERE rows > 0"
    )
    return (
        "SELECT source, participant_id, label, count(DISTINCT date) AS days, "
        f'min(date) AS start, max(date) AS "end" FROM ({days}) '
        "GROUP BY source, participant_id, label",
        "SELECT source, participant_id, label, metric, sum(rows) AS rows, "
        f"count(DISTINCT date) AS days FROM ({days}) "
        "GROUP BY source, participant_id, label, metric",
    )


def summaries(
    periods: list[dict[str, Any]],
    metrics: list[dict[str, Any]],
    tables: TableFigures | None,
    period: Period,
    as_of: dt.date,
    units: dict[str, dict[str, str]] | None = None,
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """{(source, participant, period label): summary} for every period with data.

    ``periods`` and ``metrics`` are the answers to ``period_sql``'s queries. Days missing are
    the period's days without data from the participant's first day with data (not before:
    they were not enrolled) to the period's end or ``as_of``.

    ``tables``: the figures of the curated tables of metrics whose values are summarised (the
    tables a source declares ``summarised``, each with ``participant_id`` and ``date``
    columns), aggregated in SQL; ``units`` the value columns' units by metric (default: the
    declared ones)."""
    units = declared_units() if units is None else units
    enrolled: dict[tuple[str, str], str] = {}
    for row in periods:
        key = (row["source"], row["participant_id"])
        enrolled[key] = min(enrolled.get(key, row["start"]), row["start"])
    by_metric: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in metrics:
        by_metric.setdefault((row["source"], row["participant_id"], row["label"]), []).append(row)
    out = {}
    for row in sorted(periods, key=lambda r: (r["source"], r["participant_id"], r["label"])):
        source, participant = row["source"], row["participant_id"]
        label, first, last = period_of(dt.date.fromisoformat(row["start"]), period)
        # days missing: from the participant's first day with data (or the period's start)
        span_start = max(first, dt.date.fromisoformat(enrolled[(source, participant)]))
        period_days = max(0, (min(last, as_of) - span_start).days + 1)
        per_metric: dict[str, Any] = {}
        mine = by_metric.get((source, participant, row["label"]), [])
        for found in sorted(mine, key=lambda r: r["metric"]):
            metric = found["metric"]
            entry: dict[str, Any] = {"count": found["rows"], "days_with_data": found["days"]}
            values = tables.values(metric).get((participant, label)) if tables else None
            if values:
                entry["values"] = {
                    column: {**figures, "unit": units.get(metric, {}).get(column, "")}
                    for column, figures in values.items()
                }
            per_metric[metric] = entry
        summary: dict[str, Any] = {
            "source": source,
            "participant_id": participant,
            "period": period,
            "label": label,
            "period_start": first.isoformat(),
            "period_end": last.isoformat(),
            "data_summary": {
                "start": row["start"],
                "end": row["end"],
                "days_with_data": row["days"],
                "days_missing": period_days - row["days"],
                "metrics_available": sorted(per_metric),
            },
            "metrics": per_metric,
        }
        questionnaires = (
            tables.questionnaires("questionnaire_response").get((participant, label))
            if tables
            else None
        )
        if questionnaires:
            summary["questionnaires"] = questionnaires
        out[(source, participant, label)] = summary
    return out


def _answer_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


# --- the whole report ------------------------------------------------------------------------


def write_report(
    query: Query,
    out: Path,
    *,
    silent_days: int,
    period: Period = "month",
    as_of: dt.date | None = None,
    table_names: list[str] | None = None,
    study: Summaries | None = None,
) -> dict[str, Any]:
    """Write every report file under ``out``; returns what was written, the silent list and
    the study's summaries (``study``: study.yaml's ``summaries``, default the CONNECT set)."""
    import gzip

    from phenolake_tools import summaries as study_summaries

    out.mkdir(parents=True, exist_ok=True)
    [extent] = query("SELECT count(*) AS n, max(date) AS latest FROM completeness").to_pylist()
    if not extent["n"]:
        raise ValueError("the completeness table is empty: run the pipeline first")
    stats_table = query(
        "SELECT * FROM participant_stats ORDER BY site, participant_id, metric, device"
    )
    stats = stats_table.to_pylist()
    reference = as_of or dt.date.fromisoformat(extent["latest"])
    silent = silent_participants(stats, silent_days, reference)
    written: list[Path] = []

    views = day_coverage(query(COVERAGE_SQL).to_pylist())
    images = []
    for view in ["all", *sorted(v for v in views if v != "all")]:
        participants, dates, values = pivot(views[view])
        csv_path, png_path = out / f"coverage_{view}.csv", out / f"heatmap_{view}.png"
        write_pivot_csv(csv_path, participants, dates, values)
        title = "all sources" if view == "all" else f"source {view}"
        draw_heatmap(
            png_path, f"Coverage per participant and day: {title}", participants, dates, values
        )
        written += [csv_path, png_path]
        images.append((view, png_path.name, csv_path.name))

    stats_dir = out / "stats"
    stats_dir.mkdir(exist_ok=True)
    header = stats_table.column_names
    by_site: dict[str, list[dict[str, Any]]] = {}
    for row in stats:
        by_site.setdefault(row["site"] or "no_site", []).append(row)
    for name, rows in [*sorted(by_site.items()), ("all_sites", stats)]:
        path = stats_dir / (f"{name}.csv.gz" if name == "all_sites" else f"{name}_stats.csv.gz")
        text = (
            ",".join(header)
            + "\n"
            + "".join(",".join(_csv(r[c]) for c in header) + "\n" for r in rows)
        )
        path.write_bytes(gzip.compress(text.encode(), mtime=0))
        written.append(path)

    tables = TableFigures(query, summarised_tables(table_names or []), period)
    periods, metrics = (query(sql).to_pylist() for sql in period_sql(period))
    for (source, participant, label), summary in summaries(
        periods, metrics, tables, period, reference
    ).items():
        path = out / "summaries" / period / source / participant / f"{label}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
        written.append(path)

    found = study_summaries.compute(query, study or Summaries(), period, table_names or [])
    written += study_summaries.write(found, out / "study_summaries" / period)

    page = out / "index.html"
    page.write_text(_html(silent, silent_days, reference, images, by_site, found, period))
    written.append(page)
    return {"written": written, "silent": silent, "as_of": reference, "study": found}


def _csv(value: Any) -> str:
    text = "" if value is None else str(value)
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n') else text


def _html(
    silent: list[Silent],
    days: int,
    as_of: dt.date,
    images: list[tuple[str, str, str]],
    by_site: dict[str, list[dict[str, Any]]],
    study: Any,
    period: str,
) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>phenolake coverage</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px}img{max-width:100%}</style></head><body>",
        f"<h1>Data coverage, as of {as_of.isoformat()}</h1>",
        f"<h2>Silent for more than {days} day(s): {len(silent)}</h2>",
    ]
    if silent:
        parts.append(
            "<table><tr><th>source</th><th>site</th><th>participant</th>"
            "<th>last day with data</th><th>days silent</th></tr>"
        )
        parts += [
            f"<tr><td>{e(s.source)}</td><td>{e(s.site)}</td><td>{e(s.participant_id)}</td>"
            f"<td>{e(s.last_date)}</td><td>{s.days}</td></tr>"
            for s in silent
        ]
        parts.append("</table>")
    else:
        parts.append("<p>None.</p>")
    for view, png, csv_name in images:
        title = "All sources" if view == "all" else f"Source {view}"
        parts.append(
            f"<h2>{e(title)}</h2><p><a href='{e(csv_name)}'>pivot as CSV</a></p>"
            f"<img src='{e(png)}' alt='coverage heatmap, {e(title)}'>"
        )
    parts.append("<h2>Participant statistics</h2><ul>")
    parts += [f"<li><a href='stats/{e(s)}_stats.csv.gz'>{e(s)}</a></li>" for s in sorted(by_site)]
    parts.append("<li><a href='stats/all_sites.csv.gz'>all sites</a></li></ul>")
    parts += _study_html(study, period)
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def _study_html(study: Any, period: str) -> list[str]:
    """The study's summaries as tables (the CSVs beside them hold every digit)."""
    from phenolake_tools.summaries import FILES

    e = html.escape
    folder = f"study_summaries/{e(period)}"
    parts = [
        f"<h2>Study summaries per {e(period)}</h2>",
        "<p>As the CONNECT scripts make them (study.yaml <code>summaries</code>). "
        "sd_population divides by n (the scripts' std_dev, numpy); sd_sample by n - 1 "
        "(pandas). Days and periods are UTC.</p>",
    ]
    parts += [f"<p>Skipped: {e(reason)}</p>" for reason in study.skipped]
    for name, rows in (
        ("values.csv", study.values),
        ("responses.csv", study.responses),
        ("histograms.csv", study.histograms),
    ):
        header = FILES[name]
        parts.append(f"<h3><a href='{folder}/{name}'>{name}</a></h3>")
        if not rows:
            parts.append("<p>None.</p>")
            continue
        parts.append("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in header) + "</tr>")
        parts += [
            "<tr>" + "".join(f"<td>{e(_figure(r.get(c)))}</td>" for c in header) + "</tr>"
            for r in rows
        ]
        parts.append("</table>")
    return parts
