"""``phenolake report`` aggregates in SQL: what it fetches is the report's rows, not a table's.

A curated table of 24,000 rows (2 participants x 2 days x 6,000 readings) is summarised; every
query the report issues is recorded with the rows it returned: none selects a table whole,
none returns more rows than the report's aggregates, and the figures are the ones computed
from the rows themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import statistics
from pathlib import Path

import pyarrow as pa
import pytest

from phenolake_tools import query, reports, summaries
from tests.unit.test_study_summaries import COMPLETENESS, _unpartitioned, _write_table

PARTICIPANTS = ["p1", "p2"]
DAYS = ["2024-10-17", "2024-10-18"]
READINGS = 6000


def build(home: Path) -> pa.Table:
    rng = random.Random(3)
    rows = []
    for participant in PARTICIPANTS:
        for day in DAYS:
            start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
            for i in range(READINGS):
                x = rng.gauss(0, 0.3)
                rows.append(
                    {
                        "site": "kcl",
                        "participant_id": participant,
                        "date": day,
                        "time": start + dt.timedelta(seconds=i * 10),
                        "x": math.nan if i == 7 else (None if i == 8 else x),
                        "steps": rng.randrange(100),
                    }
                )
    table = pa.Table.from_pylist(rows)
    tables, partitions = {}, {}
    name = "radar_sensorkit_acceleration"
    tables[name], partitions[name] = _write_table(home, name, table)
    completeness = [
        {"source": "radar", "participant_id": p, "metric": "sensorkit_acceleration",
         "date": d, "rows": READINGS, "coverage": None}
        for p in PARTICIPANTS for d in DAYS
    ] + [
        {"source": "radar", "participant_id": "p1", "metric": "sensorkit_ambient_light",
         "date": DAYS[0], "rows": 90000, "coverage": 1.04},
        {"source": "radar", "participant_id": "p1", "metric": "sensorkit_ambient_light",
         "date": DAYS[1], "rows": 0, "coverage": 0.0},
    ]  # fmt: skip
    stats = [
        {"source": "radar", "site": "kcl", "participant_id": p,
         "metric": "sensorkit_acceleration", "device": "", "row_count": 2 * READINGS,
         "start_date": DAYS[0], "end_date": DAYS[-1], "day_count": 2}
        for p in PARTICIPANTS
    ]  # fmt: skip
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
    return table


@pytest.mark.local_only
def test_the_report_fetches_aggregates_not_the_tables_rows(tmp_path: Path) -> None:
    home = tmp_path / "home"
    table = build(home)
    issued: list[tuple[str, int]] = []

    def recorded(sql: str) -> pa.Table:
        answer = query.query_local(sql, home)
        issued.append((sql, answer.num_rows))
        return answer

    names = summaries.table_names(recorded)
    reports.write_report(recorded, tmp_path / "out", silent_days=3, table_names=names)

    topic = [sql for sql, _ in issued if '"radar_sensorkit_acceleration"' in sql]
    assert topic and all("GROUP BY" in sql for sql in topic)  # never the table's rows
    # from the table: a row per participant x period (x value column: x, steps); it holds 24,000
    assert max(rows for sql, rows in issued if sql in topic) == len(PARTICIPANTS) * 2
    assert max(rows for _, rows in issued) <= len(table.schema)  # its columns, listed
    assert sum(rows for _, rows in issued) < 100 < table.num_rows

    summary = json.loads((tmp_path / "out/summaries/month/radar/p1/2024-10.json").read_text())[
        "metrics"
    ]["sensorkit_acceleration"]
    mine = [r for r in table.to_pylist() if r["participant_id"] == "p1"]
    x = [r["x"] for r in mine if r["x"] is not None and math.isfinite(r["x"])]
    steps = [r["steps"] for r in mine]
    # coverage: min(1, coverage), 1 for rows and no rate, 0 for a metric without rows
    assert (tmp_path / "out/coverage_radar.csv").read_text().splitlines() == [
        f"participant_id,{DAYS[0]},{DAYS[1]}",
        "p1,1,0.5",
        "p2,0.5,0.5",
    ]
    assert summary["count"] == 2 * READINGS
    assert summary["values"]["x"] == {
        "mean": round(statistics.fmean(x), 6),
        "median": round(statistics.median(x), 6),
        "sd_sample": round(statistics.stdev(x), 6),
        "min": min(x),
        "max": max(x),
        "unit": "g",
    }
    assert summary["values"]["steps"] == {
        "mean": round(statistics.fmean(steps), 6),
        "median": statistics.median(steps),
        "sd_sample": round(statistics.stdev(steps), 6),
        "min": min(steps),
        "max": max(steps),
        "unit": "",
    }
    assert isinstance(summary["values"]["steps"]["max"], int)
