"""Research-style Athena queries over a small lake shaped like the sample one (RADAR light
and heart-rate readings partitioned by day, completeness, participants with their zones),
each checked against an answer computed here from the same rows with pandas, following
Trino's documented semantics: local days and hours in the participant's zone across the
October/November 2024 DST changes, integer and decimal division, CAST rounding half away from
zero, whole-unit date_diff, approx_percentile as Trino's t-digest answers for groups whose
every value is its own centroid. No query may answer differently; at most 5% may be refused.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import json
import math
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from phenolake_tools import query
from phenolake_tools.query import Unsupported

BUCKET = "phenolake-123456789012-lake"
ZONES = {"p01": "America/New_York", "p02": "Europe/London", "p03": "Asia/Tokyo"}
SITES = {"p01": "nyc", "p02": "kcl", "p03": "tky"}
DAYS = [dt.date(2024, 10, 25) + dt.timedelta(days=i) for i in range(12)]
PLACEMENTS = ["wrist", "pocket", None]


def _rows() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = random.Random(16)
    light, heart = [], []
    for participant in ZONES:
        moment = dt.datetime.combine(DAYS[0], dt.time()) + dt.timedelta(minutes=rng.randint(0, 40))
        end = dt.datetime.combine(DAYS[-1], dt.time(23, 59))
        while moment <= end:
            if rng.random() > 0.08:  # some readings missing
                lux = round(rng.uniform(0, 200), 1)
                light.append((participant, moment, lux, rng.choice(PLACEMENTS)))
            bpm = rng.choice([None, *range(55, 110)])
            heart.append((participant, moment + dt.timedelta(minutes=7), bpm))
            moment += dt.timedelta(minutes=50, seconds=rng.randint(-300, 300))
    light_frame = pd.DataFrame(light, columns=["participant_id", "time", "lux", "placement"])
    heart_frame = pd.DataFrame(heart, columns=["participant_id", "time", "bpm"])
    for frame in (light_frame, heart_frame):
        frame["time"] = frame["time"].astype("datetime64[ms]")
        frame["date"] = frame["time"].dt.strftime("%Y-%m-%d")
    return light_frame, heart_frame


LIGHT, HEART = _rows()


def _completeness() -> pd.DataFrame:
    grouped = LIGHT.groupby(["participant_id", "date"])
    frame = grouped.agg(
        rows=("lux", "size"), first_time=("time", "min"), last_time=("time", "max")
    ).reset_index()
    frame["metric"] = "sensorkit_ambient_light"
    frame["expected_rows"] = 29
    frame["coverage"] = frame["rows"] / frame["expected_rows"]
    frame["source"] = "radar"
    return frame


COMPLETENESS = _completeness()


def _table(name: str, columns: list[tuple[str, str]], keys: list[tuple[str, str]]) -> dict:
    return {
        "Name": name,
        "DatabaseName": "phenolake",
        "TableType": "EXTERNAL_TABLE",
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in columns],
            "Location": f"s3://{BUCKET}/curated/{name}/",
        },
        "PartitionKeys": [{"Name": n, "Type": t} for n, t in keys],
    }


def _write(home: Path, name: str, frame: pd.DataFrame, keys: list[str]) -> list[dict]:
    """One Parquet file per partition, as the pipeline writes them; the partitions."""
    partitions = []
    root = home / BUCKET / "curated" / name
    groups = frame.groupby(keys) if keys else [((), frame)]
    for values, part in groups:
        values = values if isinstance(values, tuple) else (values,)
        folder = root.joinpath(*(f"{k}={v}" for k, v in zip(keys, values, strict=True)))
        folder.mkdir(parents=True, exist_ok=True)
        data = part.drop(columns=keys)
        pq.write_table(pa.Table.from_pandas(data, preserve_index=False), folder / "part-0.parquet")
        if keys:
            location = f"s3://{BUCKET}/curated/{name}/" + "/".join(
                f"{k}={v}" for k, v in zip(keys, values, strict=True)
            )
            partitions.append({"Values": list(values), "StorageDescriptor": {"Location": location}})
    return partitions


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("lake")
    people = pd.DataFrame(
        {
            "participant_id": list(ZONES),
            "site": [SITES[p] for p in ZONES],
            "timezone": list(ZONES.values()),
        }
    )
    completeness = COMPLETENESS[
        ["participant_id", "metric", "rows", "expected_rows", "coverage", "first_time",
         "last_time", "source", "date"]
    ]  # fmt: skip
    partitions = {
        "radar_light": _write(home, "radar_light", LIGHT, ["date"]),
        "heart": _write(home, "heart", HEART, ["date"]),
        "completeness": _write(home, "completeness", completeness, ["source", "date"]),
        "participants": _write(home, "participants", people, []),
    }
    tables = {
        "radar_light": _table(
            "radar_light",
            [("participant_id", "string"), ("time", "timestamp"), ("lux", "double"),
             ("placement", "string")],
            [("date", "string")],
        ),
        "heart": _table(
            "heart",
            [("participant_id", "string"), ("time", "timestamp"), ("bpm", "int")],
            [("date", "string")],
        ),
        "completeness": _table(
            "completeness",
            [("participant_id", "string"), ("metric", "string"), ("rows", "bigint"),
             ("expected_rows", "bigint"), ("coverage", "double"), ("first_time", "timestamp"),
             ("last_time", "timestamp")],
            [("source", "string"), ("date", "string")],
        ),
        "participants": _table(
            "participants",
            [("participant_id", "string"), ("site", "string"), ("timezone", "string")],
            [],
        ),
    }  # fmt: skip
    (home / ".state").mkdir()
    (home / ".state" / "glue-catalog.json").write_text(
        json.dumps(
            {
                "databases": {"phenolake": {"Name": "phenolake"}},
                "tables": {"phenolake": tables},
                "partitions": {"phenolake": partitions},
            }
        )
    )
    return home


# ---- Trino's semantics, written out independently ------------------------------------------


def local(frame: pd.DataFrame, zone: str | None = None) -> pd.Series:
    """Each reading's wall clock in its participant's zone (or the one given)."""
    utc = frame["time"].dt.tz_localize("UTC")
    if zone:
        return utc.dt.tz_convert(zone)
    return pd.Series(
        [t.tz_convert(ZONES[p]) for t, p in zip(utc, frame["participant_id"], strict=True)],
        index=frame.index,
    )


def tdigest_value(values: list[float], quantile: float) -> float:
    """airlift's TDigest.valuesAt (Trino's approx_percentile) when every value is its own
    centroid (no merge happens for groups this small)."""
    means = sorted(values)
    count = len(means)
    if count == 1:
        return means[0]
    position = quantile * count
    if position < 1:
        return means[0]
    if position >= count - 1:
        return means[-1]
    weight_so_far, current = 0.5, 0
    while current < count - 1 and weight_so_far + 1 <= position:
        weight_so_far += 1
        current += 1
    if position - weight_so_far < 0.5:
        return means[current]
    return means[current + 1]


def java_round(value: float, digits: int) -> float:
    """Trino's round(double, d): Math.round(x * 10^d) / 10^d, away from zero for negatives."""
    factor = 10.0**digits
    if value < 0:
        return -(math.floor(-value * factor + 0.5) / factor)
    return math.floor(value * factor + 0.5) / factor


def part_of_day(hour: int) -> str:
    if hour < 6:
        return "night"
    if hour < 12:
        return "morning"
    if hour < 18:
        return "afternoon"
    return "evening"


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


# ---- the queries and their expected answers ------------------------------------------------


def q_local_daily_counts() -> list[dict]:
    p = LIGHT[LIGHT.participant_id == "p01"]
    days = local(p, "America/New_York").dt.date
    counts = days.value_counts().sort_index()
    return [{"day": d, "n": int(n)} for d, n in counts.items()]


def q_daily_counts_in_each_zone() -> list[dict]:
    frame = LIGHT.assign(day=local(LIGHT).map(lambda t: t.date()))
    counts = frame.groupby(["participant_id", "day"]).size().reset_index(name="n")
    return records(counts.sort_values(["participant_id", "day"]))


def q_time_of_day() -> list[dict]:
    frame = LIGHT.assign(part=local(LIGHT).map(lambda t: part_of_day(t.hour)))
    out = []
    for (participant, part), group in sorted(frame.groupby(["participant_id", "part"])):
        mean = sum(group.lux) / len(group)
        # Unrounded: a sum of doubles depends on the order Athena's workers add them in.
        out.append({"participant_id": participant, "part": part, "n": len(group),
                    "mean_lux": mean})  # fmt: skip
    return out


def q_percentiles() -> list[dict]:
    frame = LIGHT.assign(d=local(LIGHT, "America/New_York").dt.date)
    out = []
    for (participant, day), group in sorted(frame.groupby(["participant_id", "d"])):
        values = list(group.lux)
        out.append({"participant_id": participant, "d": day,
                    "p50": tdigest_value(values, 0.5),
                    "p": [tdigest_value(values, 0.1), tdigest_value(values, 0.9)]})  # fmt: skip
    return out


def q_hours_in_london() -> list[dict]:
    p = LIGHT[LIGHT.participant_id == "p02"]
    hours = local(p, "Europe/London").dt.hour.value_counts().sort_index()
    return [{"h": int(h), "n": int(n)} for h, n in hours.items()]


def q_day_of_week() -> list[dict]:
    p = LIGHT[LIGHT.participant_id == "p03"]
    days = local(p, "Asia/Tokyo").dt.dayofweek + 1  # ISO: Monday is 1
    return [{"dow": int(d), "n": int(n)} for d, n in days.value_counts().sort_index().items()]


def q_longest_gap() -> list[dict]:
    out = []
    for participant, group in sorted(LIGHT.groupby("participant_id")):
        times = sorted(group.time)
        gaps = [int((b - a).total_seconds() // 60) for a, b in itertools.pairwise(times)]
        out.append({"participant_id": participant, "longest_gap": max(gaps)})
    return out


def q_brightest() -> list[dict]:
    out = []
    for participant, group in sorted(LIGHT.groupby("participant_id")):
        top = group.sort_values("lux", ascending=False, kind="stable").head(3)
        if len(set(group.lux.nlargest(4))) < 4:
            pytest.skip("a tie in the top readings would make the order arbitrary")
        out += [{"participant_id": participant, "time": t.to_pydatetime(), "lux": x}
                for t, x in zip(top.time, top.lux, strict=True)]  # fmt: skip
    return out


def q_running_counts() -> list[dict]:
    out = []
    for participant, group in sorted(LIGHT.groupby("participant_id")):
        total = 0
        for day, n in sorted(Counter(group.date).items()):
            total += n
            out.append({"participant_id": participant, "date": day, "n": n, "cum": total})
    return out


def q_completeness_join() -> list[dict]:
    out = []
    for row in COMPLETENESS.sort_values(["participant_id", "date"]).itertuples():
        readings = LIGHT[(LIGHT.participant_id == row.participant_id) & (LIGHT.date == row.date)]
        out.append({"participant_id": row.participant_id, "date": row.date,
                    "coverage": row.coverage, "readings": int(readings.lux.count())})  # fmt: skip
    return out


def q_low_coverage() -> list[dict]:
    out = []
    for participant, group in sorted(COMPLETENESS.groupby("participant_id")):
        out.append({"participant_id": participant, "low_days": int((group.coverage < 0.9).sum()),
                    "worst": float(group.coverage.min())})  # fmt: skip
    return out


def q_heart_by_local_day() -> list[dict]:
    frame = HEART.assign(d=local(HEART).map(lambda t: t.date()))
    out = []
    for (participant, day), group in sorted(frame.groupby(["participant_id", "d"])):
        values = [v for v in group.bpm if v is not None and not pd.isna(v)]
        out.append({"participant_id": participant, "d": day,
                    "a": (sum(values) / len(values)) if values else None,
                    "n": len(values), "total": len(group)})  # fmt: skip
    return out


def q_division() -> list[dict]:
    out = []
    for participant, group in sorted(COMPLETENESS.groupby("participant_id")):
        total, count = int(group["rows"].sum()), len(group)
        # bigint / decimal(5,1) is decimal(21,1), rounded half up.
        thousands = (decimal.Decimal(total) / decimal.Decimal("1000.0")).quantize(
            decimal.Decimal("0.1"), decimal.ROUND_HALF_UP
        )
        out.append({"participant_id": participant, "mean_rows": int(total / count),
                    "k_rows": thousands})  # fmt: skip
    return out


def q_first_local() -> list[dict]:
    out = []
    for participant, group in sorted(LIGHT.groupby("participant_id")):
        first = local(group, "America/New_York").min()
        out.append({"participant_id": participant, "first_local": first.strftime("%Y-%m-%d %H:%M"),
                    "iso": first.strftime("%Y-%m-%dT%H:%M:%S.") + f"{first.microsecond // 1000:03d}"
                    + first.strftime("%z")[:3] + ":" + first.strftime("%z")[3:]})  # fmt: skip
    return out


def q_latest_as_text() -> list[dict]:
    latest = LIGHT.time.max()
    return [{"latest": latest.strftime("%Y-%m-%d %H:%M:%S.") + f"{latest.microsecond // 1000:03d}"}]


def q_hours_on_dst_day() -> list[dict]:
    p = LIGHT[(LIGHT.participant_id == "p02") & (LIGHT.date == "2024-10-27")]
    # London's offsets are whole hours: the local hour starts where the UTC hour does.
    hours = p["time"].dt.floor("h").dt.tz_localize("UTC").dt.tz_convert("Europe/London")
    return [
        {"hr": h.to_pydatetime(), "n": int(n)} for h, n in hours.value_counts().sort_index().items()
    ]


def q_full_days() -> list[dict]:
    frame = LIGHT.assign(d=local(LIGHT).map(lambda t: t.date()))
    sizes = frame.groupby(["participant_id", "d"]).size()
    full = sizes[sizes >= 20].reset_index().groupby("participant_id").size()
    return [{"participant_id": p, "days": int(n)} for p, n in sorted(full.items())]


def q_placements() -> list[dict]:
    counts = Counter(p if isinstance(p, str) else "unknown" for p in LIGHT.placement)
    return [{"p": p, "n": n} for p, n in sorted(counts.items(), key=lambda i: (-i[1], i[0]))]


def q_metrics() -> list[dict]:
    return [
        {"participant_id": p, "m": m} for p in sorted(ZONES) for m in sorted(["heart", "light"])
    ]


def q_cast_rounding() -> list[dict]:
    halves = sorted({x for x in LIGHT.lux if abs(x * 2 - round(x * 2)) < 1e-9 and x % 1})
    return [{"lux": x, "i": math.floor(x + 0.5)} for x in halves[:5]]


def q_width_buckets() -> list[dict]:
    buckets = Counter(min(int(x // 50) + 1, 5) for x in LIGHT.lux)
    return [{"b": b, "n": n} for b, n in sorted(buckets.items())]


def q_night_share() -> list[dict]:
    out = []
    for participant, group in sorted(LIGHT.groupby("participant_id")):
        hours = local(group, "America/New_York").dt.hour
        night = int(((hours >= 0) & (hours <= 5)).sum())
        out.append({"participant_id": participant, "pct": night * 100 // len(group)})
    return out


def q_last_reading_per_day() -> list[dict]:
    frame = LIGHT.assign(d=local(LIGHT, "Europe/London").dt.date)
    out = []
    for (participant, day), group in sorted(frame.groupby(["participant_id", "d"])):
        out.append({"participant_id": participant, "d": day,
                    "last_lux": group.sort_values("time").lux.iloc[-1]})  # fmt: skip
    return out


def q_placement_histogram() -> list[dict]:
    out = []
    for participant, group in sorted(LIGHT.groupby("participant_id")):
        counts = Counter(p for p in group.placement if isinstance(p, str))
        out.append({"participant_id": participant, "h": dict(counts)})
    return out


def q_day_boundaries() -> list[dict]:
    days = local(LIGHT, "America/New_York").dt.strftime("%Y-%m-%d")
    return [{"n": int((LIGHT.date != days).sum())}]


def q_stddev() -> list[dict]:
    out = []
    for participant, group in sorted(LIGHT.groupby("participant_id")):
        out.append({"participant_id": participant, "sd": java_round(group.lux.std(ddof=1), 3)})
    return out


JOIN = "FROM radar_light l JOIN participants p ON l.participant_id = p.participant_id"
PART = (
    "CASE WHEN hour(l.time AT TIME ZONE p.timezone) < 6 THEN 'night' "
    "WHEN hour(l.time AT TIME ZONE p.timezone) < 12 THEN 'morning' "
    "WHEN hour(l.time AT TIME ZONE p.timezone) < 18 THEN 'afternoon' ELSE 'evening' END"
)
QUERIES: list[tuple[str, Callable[[], list[dict]]]] = [
    (
        "SELECT date(time AT TIME ZONE 'America/New_York') AS day, count(*) AS n "
        "FROM radar_light WHERE participant_id = 'p01' GROUP BY 1 ORDER BY 1",
        q_local_daily_counts,
    ),
    (
        f"SELECT l.participant_id, date(l.time AT TIME ZONE p.timezone) AS day, count(*) AS n "
        f"{JOIN} GROUP BY 1, 2 ORDER BY 1, 2",
        q_daily_counts_in_each_zone,
    ),
    (
        f"SELECT l.participant_id, {PART} AS part, count(*) AS n, avg(l.lux) AS mean_lux "
        f"{JOIN} GROUP BY 1, 2 ORDER BY 1, 2",
        q_time_of_day,
    ),
    (
        "SELECT participant_id, date(time AT TIME ZONE 'America/New_York') AS d, "
        "approx_percentile(lux, 0.5) AS p50, approx_percentile(lux, ARRAY[0.1, 0.9]) AS p "
        "FROM radar_light GROUP BY 1, 2 ORDER BY 1, 2",
        q_percentiles,
    ),
    (
        "SELECT hour(time AT TIME ZONE 'Europe/London') AS h, count(*) AS n FROM radar_light "
        "WHERE participant_id = 'p02' GROUP BY 1 ORDER BY 1",
        q_hours_in_london,
    ),
    (
        "SELECT extract(DOW FROM time AT TIME ZONE 'Asia/Tokyo') AS dow, count(*) AS n "
        "FROM radar_light WHERE participant_id = 'p03' GROUP BY 1 ORDER BY 1",
        q_day_of_week,
    ),
    (
        "SELECT participant_id, max(date_diff('minute', prev, time)) AS longest_gap FROM "
        "(SELECT participant_id, time, lag(time) OVER (PARTITION BY participant_id ORDER BY time) "
        "AS prev FROM radar_light) GROUP BY 1 ORDER BY 1",
        q_longest_gap,
    ),
    (
        "SELECT participant_id, time, lux FROM (SELECT participant_id, time, lux, row_number() "
        "OVER (PARTITION BY participant_id ORDER BY lux DESC) AS rn FROM radar_light) "
        "WHERE rn <= 3 ORDER BY participant_id, rn",
        q_brightest,
    ),
    (
        "SELECT participant_id, date, count(*) AS n, sum(count(*)) OVER "
        "(PARTITION BY participant_id ORDER BY date) AS cum FROM radar_light GROUP BY 1, 2 "
        "ORDER BY 1, 2",
        q_running_counts,
    ),
    (
        "SELECT c.participant_id, c.date, c.coverage, count(l.lux) AS readings FROM completeness c "
        "LEFT JOIN radar_light l ON l.participant_id = c.participant_id AND l.date = c.date "
        "WHERE c.source = 'radar' GROUP BY 1, 2, 3 ORDER BY 1, 2",
        q_completeness_join,
    ),
    (
        "SELECT participant_id, count(*) FILTER (WHERE coverage < 0.9) AS low_days, "
        "min(coverage) AS worst FROM completeness GROUP BY 1 ORDER BY 1",
        q_low_coverage,
    ),
    (
        "SELECT h.participant_id, date(h.time AT TIME ZONE p.timezone) AS d, avg(h.bpm) AS a, "
        "count(h.bpm) AS n, count(*) AS total FROM heart h JOIN participants p "
        "ON h.participant_id = p.participant_id GROUP BY 1, 2 ORDER BY 1, 2",
        q_heart_by_local_day,
    ),
    (
        "SELECT participant_id, sum(rows) / count(*) AS mean_rows, sum(rows) / 1000.0 AS k_rows "
        "FROM completeness GROUP BY 1 ORDER BY 1",
        q_division,
    ),
    (
        "SELECT participant_id, format_datetime(min(time AT TIME ZONE 'America/New_York'), "
        "'yyyy-MM-dd HH:mm') AS first_local, to_iso8601(min(time AT TIME ZONE "
        "'America/New_York')) AS iso FROM radar_light GROUP BY 1 ORDER BY 1",
        q_first_local,
    ),
    ("SELECT CAST(max(time) AS varchar) AS latest FROM radar_light", q_latest_as_text),
    (
        "SELECT date_trunc('hour', time AT TIME ZONE 'Europe/London') AS hr, count(*) AS n "
        "FROM radar_light WHERE participant_id = 'p02' AND date = '2024-10-27' GROUP BY 1 "
        "ORDER BY 1",
        q_hours_on_dst_day,
    ),
    (
        "WITH days AS (SELECT l.participant_id, date(l.time AT TIME ZONE p.timezone) AS d "
        f"{JOIN} GROUP BY 1, 2 HAVING count(*) >= 20) "
        "SELECT participant_id, count(*) AS days FROM days GROUP BY 1 ORDER BY 1",
        q_full_days,
    ),
    (
        "SELECT coalesce(placement, 'unknown') AS p, count(*) AS n FROM radar_light "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
        q_placements,
    ),
    (
        "SELECT participant_id, m FROM participants CROSS JOIN UNNEST(ARRAY['light', 'heart']) "
        "AS t(m) ORDER BY 1, 2",
        q_metrics,
    ),
    (
        "SELECT DISTINCT lux, CAST(lux AS integer) AS i FROM radar_light "
        "WHERE lux * 2 = floor(lux * 2) AND lux <> floor(lux) ORDER BY lux LIMIT 5",
        q_cast_rounding,
    ),
    (
        "SELECT width_bucket(lux, 0, 200, 4) AS b, count(*) AS n FROM radar_light "
        "GROUP BY 1 ORDER BY 1",
        q_width_buckets,
    ),
    (
        "SELECT participant_id, count_if(hour(time AT TIME ZONE 'America/New_York') "
        "BETWEEN 0 AND 5) * 100 / count(*) AS pct FROM radar_light GROUP BY 1 ORDER BY 1",
        q_night_share,
    ),
    (
        "SELECT participant_id, date(time AT TIME ZONE 'Europe/London') AS d, "
        "max_by(lux, time) AS last_lux FROM radar_light GROUP BY 1, 2 ORDER BY 1, 2",
        q_last_reading_per_day,
    ),
    (
        "SELECT participant_id, histogram(placement) AS h FROM radar_light GROUP BY 1 ORDER BY 1",
        q_placement_histogram,
    ),
    (
        "SELECT count(*) AS n FROM radar_light "
        "WHERE date <> CAST(date(time AT TIME ZONE 'America/New_York') AS varchar)",
        q_day_boundaries,
    ),
    (
        "SELECT participant_id, round(stddev(lux), 3) AS sd FROM radar_light GROUP BY 1 ORDER BY 1",
        q_stddev,
    ),
]


def same(got: Any, want: Any) -> bool:
    if isinstance(want, float) and isinstance(got, float):
        return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(want, dict) and isinstance(got, list):
        return dict(got) == want
    if isinstance(want, list) and isinstance(got, list):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(want, dt.datetime) and isinstance(got, dt.datetime):
        if (want.tzinfo is None) != (got.tzinfo is None):
            return False
        return got == want and (want.tzinfo is None or got.utcoffset() == want.utcoffset())
    return got == want


@pytest.mark.parametrize(("sql", "expected"), QUERIES, ids=[e.__name__ for _, e in QUERIES])
def test_a_research_query_gives_athenas_answer(lake: Path, sql: str, expected: Callable) -> None:
    want = expected()
    got = query.query_local(sql, lake).to_pylist()
    assert len(got) == len(want), (got[:5], want[:5])
    for row, wanted in zip(got, want, strict=True):
        assert list(row) == list(wanted), (row, wanted)
        for key in wanted:
            assert same(row[key], wanted[key]), (key, row, wanted)


def test_at_most_five_percent_of_the_research_queries_are_refused(lake: Path) -> None:
    refused = []
    for sql, _ in QUERIES:
        try:
            query.query_local(sql, lake)
        except Unsupported as exc:
            refused.append((sql, str(exc)))
    assert len(refused) <= 0.05 * len(QUERIES), refused


def test_the_hour_london_repeats_is_two_hours(lake: Path) -> None:
    """London leaves summer time on 2024-10-27 at 02:00 BST: 01:xx happens twice, as two
    instants that show the same wall-clock hour."""
    rows = query.query_local(
        "SELECT hour(t AT TIME ZONE 'Europe/London') AS h, "
        "CAST(date_trunc('hour', t AT TIME ZONE 'Europe/London') AS varchar) AS slot "
        "FROM (VALUES TIMESTAMP '2024-10-27 00:30:00', TIMESTAMP '2024-10-27 01:30:00') AS v(t)",
        lake,
    ).to_pylist()
    assert rows == [
        {"h": 1, "slot": "2024-10-27 01:00:00 Europe/London"},
        {"h": 1, "slot": "2024-10-27 01:00:00 Europe/London"},
    ]
