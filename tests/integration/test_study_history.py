"""A study with history: RADAR-base exports arriving day by day, one `phenolake run` per day,
as radar-output-restructure writes them (``tests/fakes/radar_writer.py``).

After each daily run the curated Iceberg table holds exactly the rows that arrived so far
(none lost, none doubled, a re-delivered day replacing itself), and each run's Curate read
only the merged day files of that run's days: its work is what arrived, not the study's age.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from phenolake.sources.radar import schema
from phenolake_local import iceberg, runner
from tests.fakes import radar_writer

pytestmark = pytest.mark.slow

SITE = "connect-kcl"
PARTICIPANTS = ("kcl-h01", "kcl-h02")
TOPIC = "sensorkit_acceleration"
TABLE = "radar_sensorkit_acceleration"
DAYS = ("2024-10-17", "2024-10-18", "2024-10-19")
HOURS = (1, 7, 13, 19)
PER_HOUR = 5


def records(participant: str, day: str, hours: tuple[int, ...] = HOURS) -> list[dict]:
    start = dt.datetime.fromisoformat(f"{day}T00:00:00+00:00")
    found = []
    for hour in hours:
        for i in range(PER_HOUR):
            time = (start + dt.timedelta(hours=hour, seconds=i)).timestamp()
            found.append(
                {
                    "key": {"projectId": SITE, "userId": participant, "sourceId": "watch-1"},
                    "value": {
                        "time": time,
                        "timeReceived": time + 30,
                        "device": "iPhone",
                        "x": float(i),
                        "y": 0.5,
                        "z": -1.0,
                    },
                }
            )
    return found


def delivery(root: Path, day: str, hours: tuple[int, ...] = HOURS) -> Path:
    """One day's export of every participant, in the tool's layout."""
    shutil.rmtree(root, ignore_errors=True)
    combined = schema.combined_schema(TOPIC)
    for participant in PARTICIPANTS:
        folder = root / "output" / SITE / participant / TOPIC
        radar_writer.write_topic(folder, TOPIC, combined, records(participant, day, hours))
    return root / "output"


def curated(home: Path) -> Counter[tuple[str, str]]:
    """Rows per (participant, date) of the table's current snapshot, read as the catalog says."""
    state = json.loads((home / ".state" / "glue-catalog.json").read_text())
    entry = state["tables"]["phenolake"][TABLE]
    assert entry["Parameters"]["table_type"] == "ICEBERG"
    table = iceberg.static_table(home, entry["Parameters"]["metadata_location"])
    rows = table.scan(selected_fields=("participant_id", "date", "time")).to_arrow()
    found = Counter(zip(rows["participant_id"].to_pylist(), rows["date"].to_pylist(), strict=True))
    times = rows["time"].to_pylist()
    assert len(times) == len(set(zip(rows["participant_id"].to_pylist(), times, strict=True)))
    return Counter({(p, d): n for (p, d), n in found.items()})


def curate_read(home: Path, run_id: str) -> int:
    """The day files the run's Curate read, as the job printed them (no log: no Curate)."""
    path = home / "logs" / run_id / "phenolake-curate.log"
    if not path.exists():
        return 0
    log = path.read_text()
    found = re.findall(rf"{TABLE}: (\d+) day file\(s\)", log)
    return sum(int(n) for n in found)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory, spark: object) -> list[tuple]:
    base = tmp_path_factory.mktemp("history")
    home = base / "home"
    runs = []
    plan = [
        (DAYS[0], HOURS),
        (DAYS[1], HOURS),
        (DAYS[2], HOURS),
        (DAYS[1], HOURS),  # day 2 delivered again, unchanged
        (DAYS[0], (22,)),  # a late hour of day 1
    ]
    for step, (day, hours) in enumerate(plan):
        inputs = delivery(base / f"in-{step}", day, hours)
        result = runner.run(runner.RunOptions(home=home, inputs=[inputs], sources=["radar"]))
        assert result.status == "SUCCEEDED", f"{result.error}: {result.cause}"
        runs.append((day, hours, result, curated(home), curate_read(home, result.execution_name)))
    return runs


def expected(plan: list[tuple[str, tuple[int, ...]]]) -> Counter[tuple[str, str]]:
    hours: dict[str, set[int]] = {}
    for day, delivered in plan:
        hours.setdefault(day, set()).update(delivered)
    return Counter({(p, day): len(h) * PER_HOUR for day, h in hours.items() for p in PARTICIPANTS})


def test_each_run_leaves_exactly_the_rows_that_arrived(study) -> None:
    plan: list[tuple[str, tuple[int, ...]]] = []
    for day, hours, _, rows, _ in study:
        plan.append((day, hours))
        assert rows == expected(plan), f"after delivering {day} {hours}"


def test_each_curate_reads_only_the_days_of_its_run(study) -> None:
    """Two participants' day files per run, whatever the study's age; a byte-identical
    redelivery is no new object (the ledger has its ETag), so nothing is curated; the late
    hour of day 1 re-curates day 1 alone (its merged file holds the earlier hours too)."""
    every = len(PARTICIPANTS)
    assert [read for *_, read in study] == [every, every, every, 0, every]


def test_a_redelivered_day_changes_nothing(study) -> None:
    assert study[3][3] == study[2][3]
