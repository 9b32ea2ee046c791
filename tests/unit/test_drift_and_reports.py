"""The drift rule, completeness and report numbers for known inputs, and the RADAR fetch."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from phenolake import drift, silence
from phenolake.config import ConfigurationError, Settings, parse_rates
from phenolake.fetchers.s3copy import fetch_bucket
from phenolake.sources.radar import Radar
from phenolake.steps import completeness
from phenolake.steps.daily_merge import merge_day
from tests.cli import cli

# --- drift ---------------------------------------------------------------------------------


def test_new_columns_are_added_and_narrow_types_widen() -> None:
    unified = drift.unify(
        {"time": "timestamp", "x": "double"},
        [
            ("d1", {"time": "timestamp", "x": "bigint"}),  # narrower: read as double
            ("d2", {"time": "timestamp", "x": "double", "placement": "string"}),
            ("d3", {"time": "timestamp", "steps": "int"}),
            ("d4", {"time": "timestamp", "steps": "bigint"}),  # a new column may still widen
        ],
    )
    assert unified.columns == {
        "time": "timestamp", "x": "double", "placement": "string", "steps": "bigint",
    }  # fmt: skip
    assert unified.accepted == ["d1", "d2", "d3", "d4"]
    assert unified.refused == {}


def test_a_type_change_that_cannot_be_widened_refuses_the_file() -> None:
    unified = drift.unify(
        {"x": "bigint"},
        [
            ("d1", {"x": "double", "extra": "string"}),  # would change older partitions
            ("d2", {"x": "string"}),
            ("d3", {"x": "int"}),
        ],
    )
    assert unified.accepted == ["d3"]
    assert unified.refused == {
        "d1": "type change that cannot be widened: column 'x' is double, the table has bigint",
        "d2": "type change that cannot be widened: column 'x' is string, the table has bigint",
    }
    assert "extra" not in unified.columns  # a refused file adds nothing


def test_daily_merge_refuses_a_staged_file_of_another_type() -> None:
    merged, refused = merge_day(
        [
            ("a", pa.table({"lux": [1.5], "time": [1]})),
            ("b", pa.table({"lux": ["bright"], "time": [2]})),
            ("c", pa.table({"lux": [2.0], "placement": ["top"], "time": [3]})),
        ]
    )
    assert merged.to_pylist() == [
        {"lux": 1.5, "time": 1, "placement": None},
        {"lux": 2.0, "time": 3, "placement": "top"},
    ]
    assert list(refused) == ["b"]


# --- completeness numbers -------------------------------------------------------------------


def test_nominal_rates_configured_per_metric() -> None:
    settings = Settings("l", "k", "s", nominal_rates=parse_rates("radar.sensorkit_acceleration=50"))
    assert completeness.expected_rows("radar", "sensorkit_acceleration", settings) == 4_320_000
    assert completeness.expected_rows("radar", "questionnaire_response", settings) is None
    assert completeness.expected_rows("mhealth", "readings", settings) == 4_320_000
    with pytest.raises(ConfigurationError, match=r"source\.metric=Hz"):
        parse_rates("acceleration=fast")


@pytest.fixture
def s3() -> Iterator[object]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="lake")
        yield client


def put_parquet(s3: object, key: str, table: pa.Table, row_group: int = 2) -> None:
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=row_group)
    s3.put_object(Bucket="lake", Key=key, Body=sink.getvalue())  # type: ignore[attr-defined]


def test_completeness_of_known_day_files(s3: object) -> None:
    t0 = dt.datetime(2024, 10, 17, 6, tzinfo=dt.UTC)
    times = [t0 + dt.timedelta(seconds=i) for i in range(5)]
    put_parquet(
        s3,
        "merged/radar/accel/participant=p1/date=2024-10-17/part-0.parquet",
        pa.table(
            {
                "site": ["s"] * 5,
                "time": pa.array(times, pa.timestamp("us", "UTC")),
                "device": ["iPhone", "Watch", "Watch", None, "Watch"],
            }
        ),
    )
    put_parquet(
        s3,
        "merged/radar/survey/participant=p1/date=2024-10-17/part-0.parquet",
        pa.table({"site": ["s"], "time": pa.array(times[:1], pa.timestamp("us", "UTC"))}),
    )
    settings = Settings("l", "lake", "s", nominal_rates=parse_rates("radar.accel=0.001"))
    table, days = completeness.day_rows(s3, "lake", "radar", "2024-10-17", settings)
    assert table.to_pylist() == [
        {
            "participant_id": "p1", "metric": "accel", "rows": 5, "expected_rows": 86,
            "coverage": round(5 / 86, 6), "first_time": times[0], "last_time": times[-1],
        },
        {
            "participant_id": "p1", "metric": "survey", "rows": 1, "expected_rows": None,
            "coverage": None, "first_time": times[0], "last_time": times[0],
        },
    ]  # fmt: skip
    assert days.to_pylist() == [
        {"site": "s", "participant_id": "p1", "metric": "accel", "device": "", "rows": 1},
        {"site": "s", "participant_id": "p1", "metric": "accel", "device": "Watch", "rows": 3},
        {"site": "s", "participant_id": "p1", "metric": "accel", "device": "iPhone", "rows": 1},
        {"site": "s", "participant_id": "p1", "metric": "survey", "device": "", "rows": 1},
    ]


def test_participant_stats_from_days() -> None:
    days = pa.table(
        {
            "site": ["a", "a", "a", "b"],
            "participant_id": ["p1", "p1", "p1", "p2"],
            "metric": ["m", "m", "m", "m"],
            "device": ["", "", "w", ""],
            "rows": [10, 5, 7, 1],
            "source": ["radar"] * 4,
            "date": ["2024-10-17", "2024-10-19", "2024-10-18", "2024-10-18"],
        }
    )
    stats = completeness.participant_stats(days).to_pylist()
    assert stats == [
        {
            "source": "radar", "site": "a", "participant_id": "p1", "metric": "m", "device": "",
            "row_count": 15, "start_date": "2024-10-17", "end_date": "2024-10-19", "day_count": 2,
            "day_rows_mean": 7.5, "day_rows_sd": 2.5,
        },
        {
            "source": "radar", "site": "a", "participant_id": "p1", "metric": "m", "device": "w",
            "row_count": 7, "start_date": "2024-10-18", "end_date": "2024-10-18", "day_count": 1,
            "day_rows_mean": 7.0, "day_rows_sd": 0.0,
        },
        {
            "source": "radar", "site": "b", "participant_id": "p2", "metric": "m", "device": "",
            "row_count": 1, "start_date": "2024-10-18", "end_date": "2024-10-18", "day_count": 1,
            "day_rows_mean": 1.0, "day_rows_sd": 0.0,
        },
    ]  # fmt: skip


# --- reports -------------------------------------------------------------------------------


@pytest.mark.local_only
def test_day_coverage_averages_the_sources_metrics() -> None:
    from phenolake_tools import reports

    # COVERAGE_SQL's rows: a metric at 50%, one with rows and no rate (1); then one at 104%
    # (1) and the other without rows (0)
    rows = [
        {"source": "radar", "participant_id": "p1", "date": "2024-10-17", "covered": 1.5,
         "metrics": 2},
        {"source": "radar", "participant_id": "p1", "date": "2024-10-19", "covered": 1.0,
         "metrics": 2},
    ]  # fmt: skip
    views = reports.day_coverage(rows)
    assert views["radar"] == {("radar", "p1"): {"2024-10-17": 0.75, "2024-10-19": 0.5}}
    participants, dates, values = reports.pivot(views["radar"])
    assert (participants, dates) == (["p1"], ["2024-10-17", "2024-10-18", "2024-10-19"])
    assert values == [[0.75, 0.0, 0.5]]


def test_silent_participants_most_silent_first() -> None:
    stats = [
        {"source": "radar", "site": "a", "participant_id": "p1", "end_date": "2024-10-20"},
        {"source": "radar", "site": "a", "participant_id": "p2", "end_date": "2024-10-16"},
        {"source": "radar", "site": "a", "participant_id": "p2", "end_date": "2024-10-15"},
        {"source": "radar", "site": "b", "participant_id": "p3", "end_date": "2024-10-10"},
    ]
    silent = silence.silent_participants(stats, days=3)
    assert [(s.participant_id, s.last_date, s.days) for s in silent] == [
        ("p3", "2024-10-10", 10),
        ("p2", "2024-10-16", 4),
    ]
    as_of = silence.silent_participants(stats, days=3, as_of=dt.date(2024, 10, 17))
    assert [(s.participant_id, s.days) for s in as_of] == [("p3", 7)]


@pytest.mark.local_only
def test_periods() -> None:
    from phenolake_tools import reports

    day = dt.date(2024, 12, 31)
    assert reports.period_of(day, "month") == ("2024-12", dt.date(2024, 12, 1), day)
    assert reports.period_of(day, "week") == (
        "2025-W01",
        dt.date(2024, 12, 30),
        dt.date(2025, 1, 5),
    )
    assert reports.period_of(day, "year") == ("2024", dt.date(2024, 1, 1), day)


@pytest.mark.local_only
def test_report_without_a_lake_exits_2(tmp_path: Path) -> None:
    shown = cli("report", "--out", str(tmp_path / "r"), "--home", str(tmp_path / "none"))
    assert shown.returncode == 2
    assert shown.stderr.strip() == (
        f"phenolake: error: no completeness or participant_stats table in {tmp_path / 'none'}: "
        "run the pipeline first (phenolake run)"
    )
    bad = cli("report", "--out", "x", "--period", "day")
    assert (bad.returncode, bad.stderr.strip()) == (
        2,
        "phenolake: error: --period: expected month, week or year, got 'day'",
    )


# --- fetch ---------------------------------------------------------------------------------


def test_fetch_from_an_external_bucket_by_site(s3: object) -> None:
    client = s3
    client.create_bucket(Bucket="export")  # type: ignore[attr-defined]
    client.create_bucket(Bucket="landing")  # type: ignore[attr-defined]
    for site in ("kcl", "mssm", "test"):
        for hour in ("0000", "0100"):
            key = f"output/{site}/p1/sensorkit_acceleration/20241017_{hour}.csv.gz"
            client.put_object(Bucket="export", Key=key, Body=f"{site}{hour}".encode())  # type: ignore[attr-defined]
    [task] = Radar().fetch_tasks(
        {"bucket": "export", "prefix": "output", "exclude_sites": ["test"]}
    )
    today = dt.datetime.now(dt.UTC).date()
    fetch = lambda: fetch_bucket(  # noqa: E731
        client, source="radar", task=task.as_dict(), landing_bucket="landing", window=(today, today)
    )
    first = sorted(item["key"] for item in fetch())
    assert first == [
        f"radar/{site}/p1/sensorkit_acceleration/20241017_{hour}.csv.gz"
        for site in ("kcl", "mssm")
        for hour in ("0000", "0100")
    ]
    assert fetch() == []  # already landed, same ETag
    changed = "output/kcl/p1/sensorkit_acceleration/20241017_0100.csv.gz"
    client.put_object(Bucket="export", Key=changed, Body=b"new rows")  # type: ignore[attr-defined]
    assert [item["key"] for item in fetch()] == [
        "radar/kcl/p1/sensorkit_acceleration/20241017_0100.csv.gz"
    ]
    assert Radar().fetch_tasks({}) == []
    [only] = Radar().fetch_tasks({"bucket": "export", "include_sites": "kcl, mssm"})
    assert only.as_dict()["include_sites"] == ["kcl", "mssm"]


def test_plan_and_fetch_take_the_sites_from_parameters_and_the_execution_input(
    tmp_path: Path,
) -> None:
    from phenolake import study
    from phenolake_local.engine import EmbeddedAWS
    from tests.unit.test_handlers import EXECUTION, RUN, invoke

    config = "sources:\n  radar:\n    options:\n      bucket: export\n      prefix: output\n"
    config += "      include_sites: kcl,mssm\n"
    with EmbeddedAWS(tmp_path / "home", parameters={"SourceBuckets": "export"}) as aws:
        aws.s3.put_object(Bucket=aws.bucket("LakeBucket"), Key=study.CONFIG_KEY, Body=config)
        aws.s3.create_bucket(Bucket="export")
        for site in ("kcl", "mssm", "test"):
            key = f"output/{site}/p1/sensorkit_acceleration/20241017_0000.csv.gz"
            aws.s3.put_object(Bucket="export", Key=key, Body=site.encode())
        today = dt.datetime.now(dt.UTC).date().isoformat()
        event = {
            "execution_id": EXECUTION,
            "execution_name": RUN,
            "start_time": f"{today}T02:30:00Z",
            "input": {
                "date": today,
                "sources": ["radar"],
                "options": {"radar": {"exclude_sites": ["mssm"]}},
            },
        }
        plan = invoke(aws, "PlanFunction", event)
        assert plan["fetch"] == [
            {
                "source": "radar", "kind": "s3", "bucket": "export", "prefix": "output",
                "include_sites": ["kcl", "mssm"], "exclude_sites": ["mssm"],
            }
        ]  # fmt: skip
        fetched = invoke(aws, "FetchFunction", {"run_id": RUN, "plan": plan})
        assert fetched["fetched"] == 1
        landed = aws.s3.list_objects_v2(Bucket=aws.bucket("LandingBucket"))["Contents"]
        assert [o["Key"] for o in landed] == [
            "radar/kcl/p1/sensorkit_acceleration/20241017_0000.csv.gz"
        ]
