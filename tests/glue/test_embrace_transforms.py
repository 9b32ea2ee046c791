"""The Embrace curate module's transforms on known inputs (Spark and modules as on Glue 5.1)."""

from __future__ import annotations

import datetime as dt
import importlib
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.slow

T0 = dt.datetime(2019, 8, 1, 12, 0, tzinfo=dt.UTC)


def job() -> ModuleType:
    """The source's curate module, from the published library zip (as the Glue job has it)."""
    return importlib.import_module("phenolake.sources.embrace.curate")


def eda_rows(windows: list[list[float]]) -> list[tuple[Any, ...]]:
    """4 Hz samples, one list of values per 10-second window."""
    rows = []
    for w, values in enumerate(windows):
        for i, value in enumerate(values):
            time = T0 + dt.timedelta(seconds=10 * w, milliseconds=250 * i)
            rows.append(("fc096", "D1", dt.date(2019, 8, 1), time, value))
    return rows


def test_wear_time_on_a_known_eda_pattern(spark: Any) -> None:
    windows = [
        [0.5] * 40,  # worn
        [0.01] * 37 + [0.5] * 3,  # 92.5% below 0.03 uS: not worn
        [0.01] * 36 + [0.5] * 4,  # exactly 90%: worn (not worn means more than 90%)
        [0.02] * 20,  # a short window, all low: not worn
        [0.03] * 40,  # 0.03 is not below 0.03: worn
    ]
    eda = spark.createDataFrame(  # type: ignore[attr-defined]
        eda_rows(windows),
        "participant_id string, device_id string, local_date date, time timestamp, "
        "eda_microsiemens double",
    )
    [row] = job().wear_time(eda).collect()
    minutes = (40 + 40 + 40) / 4 / 60
    assert (row.participant_id, row.device_id, row.local_date) == (
        "fc096",
        "D1",
        dt.date(2019, 8, 1),
    )
    assert row.minutes_worn == pytest.approx(minutes, abs=1e-4)
    assert row.percent_worn == pytest.approx(minutes / 1440 * 100, abs=1e-4)


def test_local_date_takes_the_offset_in_force_at_each_time(spark: Any) -> None:
    embrace_job = job()
    metadata = spark.createDataFrame(  # type: ignore[attr-defined]
        [
            ("p", "D1", dt.datetime(2019, 8, 1, 12, 0, tzinfo=dt.UTC), -240),
            ("p", "D1", dt.datetime(2019, 8, 2, 12, 0, tzinfo=dt.UTC), 120),
            ("p", "D1", dt.datetime(2019, 8, 2, 12, 0, tzinfo=dt.UTC), 120),  # a copy
        ],
        embrace_job.METADATA_COLUMNS,
    )
    samples = spark.createDataFrame(  # type: ignore[attr-defined]
        [
            ("p", "D1", dt.datetime(2019, 8, 1, 2, 0, tzinfo=dt.UTC)),  # before any: the first
            ("p", "D1", dt.datetime(2019, 8, 2, 3, 0, tzinfo=dt.UTC)),  # -4 h: still 1 August
            ("p", "D1", dt.datetime(2019, 8, 2, 23, 0, tzinfo=dt.UTC)),  # +2 h: 3 August
            ("p", "D2", dt.datetime(2019, 8, 2, 23, 0, tzinfo=dt.UTC)),  # no metadata: unknown
        ],
        "participant_id string, device_id string, time timestamp",
    )
    rows = embrace_job.with_local_date(samples, embrace_job.offsets(metadata)).collect()
    assert sorted((r.device_id, r.time.isoformat(), r.local_date) for r in rows) == [
        ("D1", "2019-08-01T02:00:00", dt.date(2019, 7, 31)),
        ("D1", "2019-08-02T03:00:00", dt.date(2019, 8, 1)),
        ("D1", "2019-08-02T23:00:00", dt.date(2019, 8, 3)),
        ("D2", "2019-08-02T23:00:00", None),
    ]


def test_a_run_reads_its_own_day_files_and_the_utc_days_around_its_local_days() -> None:
    embrace_job = job()
    keys = [
        "merged/embrace/eda/participant=fc096/device=D1/date=2019-08-02/part-0.parquet",
        "merged/embrace/metadata/participant=fc096/device=D1/date=2019-08-02/part-0.parquet",
        "merged/radar/eda/participant=fc096/date=2019-08-02/part-0.parquet",
        "stage/embrace/eda/participant=fc096/device=D1/date=2019-08-02/x.parquet",
    ]
    assert embrace_job.by_metric(keys) == {"eda": keys[:1], "metadata": keys[1:2]}
    assert embrace_job.around([dt.date(2019, 8, 1), dt.date(2019, 8, 3)]) == {
        "2019-07-31",
        "2019-08-01",
        "2019-08-02",
        "2019-08-03",
        "2019-08-04",
    }
