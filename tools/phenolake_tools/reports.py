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


def day_coverage(rows: list[dict[str, Any]]) -> dict[str, dict[tuple[str, str], dict[str, float]]]:
    """completeness rows -> {view: {(source, participant): {date: coverage}}}, view being each
    source and "all"."""
    metrics: dict[str, set[str]] = {}
    cells: dict[tuple[str, str, str], dict[str, float]] = {}
    for row in rows:
        metrics.setdefault(row["source"], set()).add(row["metric"])
        coverage = row["coverage"]
        value = 1.0 if coverage is None else min(1.0, float(coverage))
        value = value if row["rows"] else 0.0
        cells.setdefault((row["source"], row["participant_id"], row["date"]), {})[row["metric"]] = (
            value
        )
    views: dict[str, dict[tuple[str, str], dict[str, float]]] = {"all": {}}
    for (source, participant, date), found in cells.items():
        own = metrics[source]
        value = sum(found.get(m, 0.0) for m in own) / len(own)
        views.setdefault(source, {}).setdefault((source, participant), {})[date] = value
    all_metrics = sum(len(m) for m in metrics.values())
    per_participant: dict[tuple[str, str], dict[str, float]] = {}
    for (_source, participant, date), found in cells.items():
        cell = per_participant.setdefault(("all", participant), {})
        cell[date] = cell.get(date, 0.0) + sum(found.values()) / all_metrics
    views["all"] = per_participant
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


def _stats(values: list[float]) -> dict[str, float | None]:
    """mean, median, the sample sd (divides by n - 1, as pandas' ``std``; null for one value:
    named ``sd_sample``, so it is not taken for the CONNECT scripts' population sd), min, max."""
    clean = sorted(v for v in values if v is not None and math.isfinite(v))
    if not clean:
        return {"mean": None, "median": None, "sd_sample": None, "min": None, "max": None}
    n = len(clean)
    mean = sum(clean) / n
    middle = n // 2
    median = clean[middle] if n % 2 else (clean[middle - 1] + clean[middle]) / 2
    std = math.sqrt(sum((v - mean) ** 2 for v in clean) / (n - 1)) if n > 1 else None
    return {
        "mean": round(mean, 6),
        "median": round(median, 6),
        "sd_sample": None if std is None else round(std, 6),
        "min": clean[0],
        "max": clean[-1],
    }


def _value_column(name: str, kind: pa.DataType) -> bool:
    """Numeric columns that are measurements (not times, versions or provenance)."""
    timeish = name == "time" or name.startswith("time_") or name.endswith("_time")
    numeric = pa.types.is_floating(kind) or pa.types.is_integer(kind)
    return numeric and not timeish and name != "version"


def summaries(
    completeness: list[dict[str, Any]],
    tables: dict[str, pa.Table],
    period: Period,
    as_of: dt.date,
    units: dict[str, dict[str, str]] | None = None,
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """{(source, participant, period label): summary} for every period with data.

    Days missing are the period's days without data from the participant's first day with
    data (not before: they were not enrolled) to the period's end or ``as_of``.

    ``tables`` are the curated tables of metrics whose values are summarised, by metric name
    (the tables a source declares ``summarised``), each with ``participant_id`` and ``date``
    columns; ``units`` the value columns' units by metric (default: the declared ones)."""
    units = declared_units() if units is None else units
    grouped: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    enrolled: dict[tuple[str, str], dt.date] = {}
    for row in completeness:
        if not row["rows"]:
            continue
        key = (row["source"], row["participant_id"])
        day = dt.date.fromisoformat(row["date"])
        enrolled[key] = min(enrolled.get(key, day), day)
        label, _, _ = period_of(dt.date.fromisoformat(row["date"]), period)
        grouped.setdefault((row["source"], row["participant_id"], label), []).append(row)
    out = {}
    for (source, participant, label), rows in sorted(grouped.items()):
        _, first, last = period_of(dt.date.fromisoformat(rows[0]["date"]), period)
        days = sorted({r["date"] for r in rows})
        # days missing: from the participant's first day with data (or the period's start)
        span_start = max(first, enrolled[(source, participant)])
        period_days = max(0, (min(last, as_of) - span_start).days + 1)
        per_metric: dict[str, Any] = {}
        for metric in sorted({r["metric"] for r in rows}):
            mine = [r for r in rows if r["metric"] == metric]
            entry: dict[str, Any] = {
                "count": sum(r["rows"] for r in mine),
                "days_with_data": len({r["date"] for r in mine}),
            }
            values = _metric_values(tables.get(metric), participant, first, last)
            if values:
                entry["values"] = {
                    column: {**_stats(numbers), "unit": units.get(metric, {}).get(column, "")}
                    for column, numbers in values.items()
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
                "start": days[0],
                "end": days[-1],
                "days_with_data": len(days),
                "days_missing": period_days - len(days),
                "metrics_available": sorted(per_metric),
            },
            "metrics": per_metric,
        }
        questionnaires = _questionnaire_counts(
            tables.get("questionnaire_response"), participant, first, last
        )
        if questionnaires:
            summary["questionnaires"] = questionnaires
        out[(source, participant, label)] = summary
    return out


def _rows_in(
    table: pa.Table | None, participant: str, first: dt.date, last: dt.date
) -> list[dict[str, Any]]:
    if table is None or table.num_rows == 0:
        return []
    lo, hi = first.isoformat(), last.isoformat()
    return [
        r
        for r in table.to_pylist()
        if r.get("participant_id") == participant and lo <= str(r.get("date")) <= hi
    ]


def _metric_values(
    table: pa.Table | None, participant: str, first: dt.date, last: dt.date
) -> dict[str, list[float]]:
    rows = _rows_in(table, participant, first, last)
    if not rows or table is None:
        return {}
    columns = [
        f.name for f in table.schema if _value_column(f.name, f.type) and "answers_" not in f.name
    ]
    return {c: [r[c] for r in rows if r[c] is not None] for c in columns}


def _questionnaire_counts(
    table: pa.Table | None, participant: str, first: dt.date, last: dt.date
) -> dict[str, Any]:
    """{questionnaire: {"responses": n, "answers": {question: {answer: count}}}}."""
    counts: dict[str, Any] = {}
    for row in _rows_in(table, participant, first, last):
        name = row.get("name") or "questionnaire"
        entry = counts.setdefault(name, {"responses": 0, "answers": {}})
        entry["responses"] += 1
        index = 0
        while f"answers_{index}_question_id" in row:
            question = row[f"answers_{index}_question_id"]
            answer = row.get(f"answers_{index}_value")
            if question is not None:
                text = _answer_text(answer)
                by_answer = entry["answers"].setdefault(question, {})
                by_answer[text] = by_answer.get(text, 0) + 1
            index += 1
    return counts


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
    completeness = query(
        "SELECT source, participant_id, metric, date, rows, coverage FROM completeness"
    ).to_pylist()
    if not completeness:
        raise ValueError("the completeness table is empty: run the pipeline first")
    stats_table = query(
        "SELECT * FROM participant_stats ORDER BY site, participant_id, metric, device"
    )
    stats = stats_table.to_pylist()
    latest = max(dt.date.fromisoformat(r["date"]) for r in completeness)
    reference = as_of or latest
    silent = silent_participants(stats, silent_days, reference)
    written: list[Path] = []

    views = day_coverage(completeness)
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

    tables = {
        metric: query(f'SELECT * FROM "{name}"')
        for metric, name in summarised_tables(table_names or []).items()
    }
    for (source, participant, label), summary in summaries(
        completeness, tables, period, reference
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
