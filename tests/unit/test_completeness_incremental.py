"""Completeness updates from the days a run touched and equals a recompute from scratch.

Seeded random studies run day by day, with late files for old days, replaced days, days
whose files are gone (consent withdrawn) and participants on other time zones: after every
run the stored ``completeness`` and ``participant_days`` partitions equal ``day_rows`` over
every day file, and ``participant_stats`` equals ``participant_stats`` over every stored day
(counts and days exactly, mean and sd within 1e-9 relative).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import random
from collections.abc import Iterator
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from phenolake import daystats, lake, storage
from phenolake.config import Settings
from phenolake.steps import completeness

BUCKET = "lake"
SOURCE = "radar"
PARTICIPANTS = ["p1", "p2", "p3"]
#: (metric, device of the day key): watch days are filed per device, phone days are not
#: (their rows name the device in a column).
METRICS = [("phone_accel", ""), ("watch_hr", "w1"), ("watch_hr", "w2")]
DAYS = [(dt.date(2024, 10, 1) + dt.timedelta(days=i)).isoformat() for i in range(12)]


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def settings() -> Settings:
    return Settings("landing", BUCKET, "scratch")


def day_file(rng: random.Random, day: str, rows: int) -> bytes:
    start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    times = sorted(start + dt.timedelta(seconds=rng.randrange(86400)) for _ in range(rows))
    table = pa.table(
        {
            "site": [rng.choice(["kcl", "mssm"]) for _ in range(rows)],
            "time": pa.array(times, pa.timestamp("us", "UTC")),
            "device": [rng.choice(["iPhone", "Watch", None]) for _ in range(rows)],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def run(s3: Any, number: int, items: list[lake.DayKey]) -> dict[str, Any]:
    run_id = f"run-{number}"
    key = lake.work_key(run_id, "merge")
    document = [item.as_dict() for item in items]
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(document).encode())
    event = completeness.CompletenessEvent(run_id=run_id, days={"key": key, "count": len(items)})
    return completeness.run(event, settings())


def stored(s3: Any, table: str, day: str, schema: pa.Schema) -> list[dict[str, Any]]:
    return completeness._read_partition(s3, BUCKET, table, SOURCE, day, schema).to_pylist()


def assert_as_from_scratch(s3: Any, zone_of: Any) -> None:
    every_day = []
    first, last = dt.date.fromisoformat(DAYS[0]), dt.date.fromisoformat(DAYS[-1])
    around = [(first - dt.timedelta(days=1)).isoformat(), (last + dt.timedelta(days=1)).isoformat()]
    for day in [around[0], *DAYS, around[1]]:
        table, detail = completeness.day_rows(s3, BUCKET, SOURCE, day, zone_of=zone_of)
        assert stored(s3, completeness.TABLE, day, completeness.SCHEMA) == table.to_pylist()
        assert stored(s3, completeness.DAYS_TABLE, day, completeness.DAYS_SCHEMA) == (
            detail.to_pylist()
        )
        every_day += [{**r, "source": SOURCE, "date": day} for r in detail.to_pylist()]
    expected = completeness.participant_stats(pa.Table.from_pylist(every_day)).to_pylist()
    key = completeness.lake.curated_prefix(completeness.STATS_TABLE) + lake.MERGED_FILE
    got = pq.read_table(io.BytesIO(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()))
    found = got.to_pylist()
    exact = [c for c in completeness.STATS_SCHEMA.names if not c.startswith("day_rows_")]
    assert [{c: r[c] for c in exact} for r in found] == [{c: r[c] for c in exact} for r in expected]
    for mine, theirs in zip(found, expected, strict=True):
        for column in ("day_rows_mean", "day_rows_sd"):
            # the sd of near-equal days is a difference of near-equal sums: judged against
            # the rows' scale as well as relatively
            scale = theirs["day_rows_mean"] * 1e-9
            assert math.isclose(mine[column], theirs[column], rel_tol=1e-9, abs_tol=scale), (
                column,
                mine,
                theirs,
            )


@pytest.mark.parametrize("seed", range(4))
def test_runs_day_by_day_with_replays_equal_a_recompute(s3: Any, seed: int) -> None:
    rng = random.Random(seed)
    zones = {"p3": "America/New_York"} if seed % 2 else {}
    if zones:
        s3.put_object(
            Bucket=BUCKET,
            Key="config/study.yaml",
            Body=json.dumps({"participant_timezones": zones}).encode(),
        )
    zone_of = lambda participant: zones.get(participant, "UTC")  # noqa: E731
    present: set[str] = set()
    looked_up = 0
    for number, today in enumerate(DAYS):
        items = []
        # today's data, and now and then a late or replaced file for an older day, or a day
        # whose file is gone
        days = [today] + [rng.choice(DAYS[: number + 1]) for _ in range(rng.randrange(3))]
        for day in days:
            for participant in participants_of(rng):
                metric, device = rng.choice(METRICS)
                item = lake.DayKey(SOURCE, metric, participant, day, device)
                key = lake.merged_key(item)
                if key in present and rng.random() < 0.25:
                    s3.delete_object(Bucket=BUCKET, Key=key)
                    present.discard(key)
                else:
                    rows = rng.choice([1, 2, 3, rng.randrange(1, 60)])
                    s3.put_object(Bucket=BUCKET, Key=key, Body=day_file(rng, day, rows))
                    present.add(key)
                items.append(item)
        result = run(s3, number, items)
        assert result["stats_rebuilt"] == (number == 0)
        looked_up += result["stats_days_looked_up"]
        assert_as_from_scratch(s3, zone_of)
    print(f"seed {seed}: {looked_up} first/last day(s) looked up")


def participants_of(rng: random.Random) -> list[str]:
    return rng.sample(PARTICIPANTS, rng.randrange(1, len(PARTICIPANTS) + 1))


def test_a_lost_first_day_is_looked_up_in_the_days_after_it(s3: Any) -> None:
    """A replayed first day that has no data any more: the new first day is the next stored
    one, found by reading the one partition after it, not every one."""
    items = []
    for day in DAYS[:6]:
        item = lake.DayKey(SOURCE, "phone_accel", "p1", day)
        sink = io.BytesIO()
        pq.write_table(pa.table({"site": ["kcl"] * 5}), sink)
        s3.put_object(Bucket=BUCKET, Key=lake.merged_key(item), Body=sink.getvalue())
        items.append(item)
    run(s3, 0, items)
    s3.delete_object(Bucket=BUCKET, Key=lake.merged_key(items[0]))
    reads: list[str] = []
    storage.client("s3", "us-east-1").meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: reads.append(params["Key"])
    )
    result = run(s3, 1, [items[0]])
    assert result["stats_days_looked_up"] == 1 and result["stats_rebuilt"] == 0
    days_read = [k for k in reads if k.startswith(lake.curated_prefix(completeness.DAYS_TABLE))]
    assert days_read == [
        lake.curated_partition_key(completeness.DAYS_TABLE, [("source", SOURCE), ("date", d)])
        for d in DAYS[:2]
    ]  # the replaced day's old rows, then the day after it
    assert_as_from_scratch(s3, lambda participant: "UTC")
    [row] = completeness.participant_stats(
        pa.Table.from_pylist(
            [
                {**r, "source": SOURCE, "date": day}
                for day in DAYS[1:6]
                for r in stored(s3, completeness.DAYS_TABLE, day, completeness.DAYS_SCHEMA)
            ]
        )
    ).to_pylist()
    assert (row["start_date"], row["end_date"], row["day_count"]) == (DAYS[1], DAYS[5], 5)


def test_merged_statistics_take_a_day_out_and_put_one_in() -> None:
    days = [("2024-10-01", 10), ("2024-10-02", 4), ("2024-10-03", 7)]
    whole = daystats.DayStats.of(days)
    assert whole is not None and whole.mean == 7.0 and whole.sd == math.sqrt(6.0)
    result = daystats.update(whole, [("2024-10-02", 4)], [("2024-10-02", 1), ("2024-10-04", 2)])
    scratch = daystats.DayStats.of(
        [("2024-10-01", 10), ("2024-10-02", 1), ("2024-10-03", 7), ("2024-10-04", 2)]
    )
    assert result.stats is not None and scratch is not None
    assert (result.stats.day_count, result.stats.row_count) == (4, 20)
    assert (result.stats.start_date, result.stats.end_date) == ("2024-10-01", "2024-10-04")
    assert math.isclose(result.stats.m2, scratch.m2, rel_tol=1e-12)
    assert not result.lost_first and not result.lost_last
    gone = daystats.update(whole, [("2024-10-01", 10)], [])
    assert gone.lost_first and not gone.lost_last
    assert daystats.update(whole, days, []).stats is None
