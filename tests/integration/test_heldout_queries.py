"""Issue 16's acceptance check, written apart from the translator: research queries over the
sample lake (`make run`'s), each answer computed here from the tables' rows with Trino's
documented semantics, compared with `phenolake query`'s. No answer may differ from Athena's,
and at most 5% may be refused.

The rows are read without the query engine: Iceberg tables with PyIceberg (the snapshot the
Glue entry's ``metadata_location`` names), Hive tables from their partitions' Parquet files.
Trino semantics used below, from the Trino documentation (docs/src/main/sphinx/functions/)
unless a comment says otherwise: Athena's session zone is UTC, so a plain ``timestamp`` given
to ``AT TIME ZONE`` / ``at_timezone`` / ``to_unixtime`` is a UTC instant; ``with_timezone``
keeps the wall time; integer division truncates; decimal arithmetic follows decimal.md (scale
``max(xs, ys)`` for ``/``, rounded half up); ``CAST(double AS integer)`` rounds half away from
zero; ``avg`` of integers is a double, ``count`` a bigint; NULLs sort last unless ``NULLS
FIRST``; ``approx_percentile`` over a few values returns one of them (Trino's t-digest keeps
each value as its own centroid, and a quantile ``q`` of ``n`` sorted values is the value at
index ``min(floor(q * n), n - 1)``).

``python tests/integration/test_heldout_queries.py [--home DIR]`` prints the outcome counts
and every query that does not match, with what was expected and what came back.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.slow

UTC = dt.UTC
DATABASE = "phenolake"
#: the zones a study would give its sites (the sample lake's sites; not in any table)
SITE_ZONE = {"connect-kcl": "Europe/London", "connect-mssm": "America/New_York"}
MAX_REFUSED_SHARE = 0.05


# ---------------------------------------------------------------------------------------------
# The lake's rows, read without the query engine


class Lake:
    """The tables of a local lake, read with PyIceberg and pyarrow (never phenolake_tools)."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        catalog = json.loads((self.home / ".state" / "glue-catalog.json").read_text())
        self.tables: dict[str, dict[str, Any]] = catalog["tables"][DATABASE]
        self.partitions: dict[str, list[dict[str, Any]]] = catalog["partitions"].get(DATABASE, {})
        self._rows: dict[str, list[dict[str, Any]]] = {}

    def local(self, uri: str) -> Path:
        return self.home / uri.split("://", 1)[1]

    def is_iceberg(self, name: str) -> bool:
        params = self.tables[name].get("Parameters", {})
        return str(params.get("table_type", "")).upper() == "ICEBERG"

    def iceberg(self, name: str) -> Any:
        from phenolake_local import iceberg as li

        location = self.tables[name]["Parameters"]["metadata_location"]
        return li.static_table(self.home, location)

    def hive_files(self, name: str) -> list[tuple[str, dict[str, str]]]:
        """(s3 URI of each data file, its partition values) of a Hive table."""
        table = self.tables[name]
        keys = [k["Name"] for k in table.get("PartitionKeys", [])]
        places = [
            (p["StorageDescriptor"]["Location"], dict(zip(keys, p["Values"], strict=True)))
            for p in self.partitions.get(name, [])
        ] or [(table["StorageDescriptor"]["Location"], {})]
        out = []
        for location, values in places:
            folder = self.local(location)
            for file in sorted(folder.iterdir()) if folder.exists() else []:
                if file.is_file() and not file.name.startswith((".", "_")):
                    out.append((location.rstrip("/") + "/" + file.name, values))
        return out

    def rows(self, name: str) -> list[dict[str, Any]]:
        """Every row as Python values; timestamps naive UTC wall times (Athena's reading)."""
        if name not in self._rows:
            if self.is_iceberg(name):
                found = self.iceberg(name).scan().to_arrow().to_pylist()
            else:
                import pyarrow.parquet as pq

                columns = [c["Name"] for c in self.tables[name]["StorageDescriptor"]["Columns"]]
                found = []
                for uri, values in self.hive_files(name):
                    for row in pq.read_table(self.local(uri)).to_pylist():
                        found.append({c: row.get(c) for c in columns} | values)
            for row in found:
                for key, value in row.items():
                    if isinstance(value, dt.datetime) and value.tzinfo is not None:
                        row[key] = value.astimezone(UTC).replace(tzinfo=None)
            self._rows[name] = found
        return self._rows[name]

    def where(self, table: str, **equal: Any) -> list[dict[str, Any]]:
        return [r for r in self.rows(table) if all(r[k] == v for k, v in equal.items())]


# ---------------------------------------------------------------------------------------------
# Trino semantics, in Python


class Text(str):
    """An expected value given as Athena prints it (compared with ``query.trino_text``)."""


def ts3(value: dt.datetime) -> str:
    """A timestamp as Trino prints ``timestamp(3)``."""
    return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def ms(value: dt.datetime) -> dt.datetime:
    """A timestamp cut to milliseconds, as ``timestamp(3)`` holds it."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def in_zone(value: dt.datetime, zone: str) -> dt.datetime:
    """A plain timestamp (UTC, Athena's session zone) at a zone."""
    return value.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))


def tstz(value: dt.datetime, zone: str) -> Text:
    """``timestamp(3) with time zone`` text of a plain timestamp at a zone."""
    return Text(f"{ts3(in_zone(value, zone).replace(tzinfo=None))} {zone}")


def epoch(value: dt.datetime) -> float:
    """``to_unixtime`` of a plain timestamp (UTC): seconds, with the milliseconds."""
    whole = ms(value).replace(tzinfo=UTC)
    return whole.timestamp()


def java_round(value: float, digits: int = 0) -> float:
    """Trino's ``round(double, d)``: half away from zero on the scaled value
    (MathFunctions.round: Math.round of the absolute value times 10^d)."""
    factor = 10.0**digits
    magnitude = math.floor(abs(value) * factor + 0.5) / factor
    return -magnitude if value < 0 else magnitude


def to_integer(value: float) -> int:
    """``CAST(double AS integer|bigint)``: rounded half away from zero (conversion.md)."""
    return math.floor(abs(value) + 0.5) * (-1 if value < 0 else 1)


def java_double_text(value: float) -> str:
    """``CAST(double AS varchar)``: Java's shortest digits in scientific form (``3.079E2``)."""
    if value == 0:
        return "0.0E0" if math.copysign(1, value) > 0 else "-0.0E0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    power = len(text) - 1 + exponent
    mantissa = text[0] + "." + (text[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{power}"


def tdigest_quantile(values: Iterable[float], q: float) -> float:
    """``approx_percentile`` of a small group: each value its own centroid."""
    ordered = sorted(values)
    return ordered[min(math.floor(q * len(ordered)), len(ordered) - 1)]


def dec_div(x: Decimal, y: Decimal, scale: int) -> Decimal:
    """Decimal division rounded half up to the result's scale (decimal.md)."""
    return (x / y).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)


def date_diff_units(unit_seconds: float, start: dt.datetime, end: dt.datetime) -> int:
    """``date_diff`` of plain timestamps in a fixed-length unit: whole units, toward zero."""
    millis = round((ms(end) - ms(start)).total_seconds() * 1000)
    whole = abs(millis) // round(unit_seconds * 1000)
    return whole if millis >= 0 else -whole


def sample_sd(values: list[float]) -> float | None:
    return statistics.stdev(values) if len(values) > 1 else None


def zone_of(site: str) -> str:
    return SITE_ZONE[site]


def zone_case(column: str = "site") -> str:
    """The SQL of a site's zone, as a study would write it."""
    return (
        f"CASE {column} WHEN 'connect-kcl' THEN 'Europe/London' "
        "WHEN 'connect-mssm' THEN 'America/New_York' END"
    )


def group(rows: Iterable[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], list[dict]]:
    out: dict[tuple[Any, ...], list[dict]] = defaultdict(list)
    for row in rows:
        out[tuple(row[k] for k in keys)].append(row)
    return dict(out)


# ---------------------------------------------------------------------------------------------
# Cases


@dataclass
class Want:
    columns: list[str] | None
    rows: list[tuple[Any, ...]]
    ordered: bool = False
    #: Trino types of the columns, checked where given (None: not checked)
    types: list[str | None] | None = None


@dataclass
class Case:
    name: str
    sql: Callable[[Lake], str]
    expect: Callable[[Lake], Want]


CASES: list[Case] = []


def case(sql: str | Callable[[Lake], str]) -> Callable[[Callable[[Lake], Want]], Callable]:
    def register(expect: Callable[[Lake], Want]) -> Callable[[Lake], Want]:
        text = sql if callable(sql) else (lambda _lake, s=sql: s)
        CASES.append(Case(expect.__name__, text, expect))
        return expect

    return register


ACC = "radar_sensorkit_acceleration"
LIGHT = "radar_sensorkit_ambient_light"
QUEST = "radar_questionnaire_response"


@case(
    f"SELECT participant_id, date, count(*) AS n FROM {ACC} "
    "GROUP BY participant_id, date ORDER BY participant_id, date"
)
def daily_counts(lake: Lake) -> Want:
    found = group(lake.rows(ACC), "participant_id", "date")
    rows = sorted((p, d, len(v)) for (p, d), v in found.items())
    return Want(["participant_id", "date", "n"], rows, True, ["varchar", "varchar", "bigint"])


@case(
    f"SELECT participant_id, device, count(DISTINCT date) AS days, count(*) AS n "
    f"FROM {ACC} GROUP BY 1, 2"
)
def device_days(lake: Lake) -> Want:
    found = group(lake.rows(ACC), "participant_id", "device")
    rows = [(p, d, len({r["date"] for r in v}), len(v)) for (p, d), v in found.items()]
    return Want(
        ["participant_id", "device", "days", "n"], rows, types=[None, None, "bigint", "bigint"]
    )


@case(
    f"SELECT participant_id, date(at_timezone(time, {zone_case()})) AS local_day, "
    f"count(*) AS n FROM {ACC} GROUP BY 1, 2 ORDER BY 1, 2"
)
def local_day_counts(lake: Lake) -> Want:
    counts = Counter(
        (r["participant_id"], in_zone(r["time"], zone_of(r["site"])).date()) for r in lake.rows(ACC)
    )
    rows = sorted((p, d, n) for (p, d), n in counts.items())
    return Want(["participant_id", "local_day", "n"], rows, True, ["varchar", "date", "bigint"])


@case(
    "SELECT hour(time AT TIME ZONE 'Europe/London') AS local_hour, count(*) AS n "
    f"FROM {LIGHT} WHERE site = 'connect-kcl' GROUP BY 1 ORDER BY 1"
)
def london_hours(lake: Lake) -> Want:
    counts = Counter(
        in_zone(r["time"], "Europe/London").hour for r in lake.where(LIGHT, site="connect-kcl")
    )
    return Want(["local_hour", "n"], sorted(counts.items()), True, ["bigint", "bigint"])


@case(
    "WITH local AS (SELECT participant_id, device, "
    f"hour(at_timezone(time, {zone_case()})) AS h FROM {ACC}) "
    "SELECT participant_id, CASE WHEN h < 6 THEN 'night' WHEN h < 12 THEN 'morning' "
    "WHEN h < 18 THEN 'afternoon' ELSE 'evening' END AS part_of_day, count(*) AS n "
    "FROM local GROUP BY 1, 2"
)
def parts_of_day(lake: Lake) -> Want:
    def bucket(h: int) -> str:
        return "night" if h < 6 else "morning" if h < 12 else "afternoon" if h < 18 else "evening"

    counts = Counter(
        (r["participant_id"], bucket(in_zone(r["time"], zone_of(r["site"])).hour))
        for r in lake.rows(ACC)
    )
    return Want(["participant_id", "part_of_day", "n"], [(*k, n) for k, n in counts.items()])


@case(
    f"SELECT date_trunc('hour', time) AS hr, count(*) AS n FROM {ACC} "
    "WHERE participant_id = 'kcl-001' AND date = '2024-10-18' GROUP BY 1 ORDER BY 1"
)
def hourly_counts(lake: Lake) -> Want:
    counts = Counter(
        r["time"].replace(minute=0, second=0, microsecond=0)
        for r in lake.where(ACC, participant_id="kcl-001", date="2024-10-18")
    )
    return Want(["hr", "n"], sorted(counts.items()), True, ["timestamp(3)", "bigint"])


@case(
    "SELECT date_trunc('day', time AT TIME ZONE 'America/New_York') AS local_midnight, "
    f"count(*) AS n FROM {ACC} WHERE site = 'connect-mssm' GROUP BY 1 ORDER BY 1"
)
def new_york_days(lake: Lake) -> Want:
    counts = Counter(
        in_zone(r["time"], "America/New_York").date() for r in lake.where(ACC, site="connect-mssm")
    )
    rows = [
        (Text(f"{d:%Y-%m-%d} 00:00:00.000 America/New_York"), n) for d, n in sorted(counts.items())
    ]
    return Want(["local_midnight", "n"], rows, True, ["timestamp(3) with time zone", "bigint"])


@case(
    f"SELECT date_format(time, '%Y-%m-%d %H:%i') AS label, lux FROM {LIGHT} "
    "WHERE participant_id = 'kcl-002' AND date = '2024-10-19' ORDER BY time"
)
def light_labels(lake: Lake) -> Want:
    found = sorted(
        lake.where(LIGHT, participant_id="kcl-002", date="2024-10-19"), key=lambda r: r["time"]
    )
    rows = [(f"{r['time']:%Y-%m-%d %H:%M}", r["lux"]) for r in found]
    return Want(["label", "lux"], rows, True, ["varchar", "double"])


@case(f"SELECT format_datetime(time, 'EEEE') AS weekday, count(*) AS n FROM {QUEST} GROUP BY 1")
def questionnaire_weekdays(lake: Lake) -> Want:
    counts = Counter(f"{r['time']:%A}" for r in lake.rows(QUEST))
    return Want(["weekday", "n"], list(counts.items()), types=["varchar", "bigint"])


@case(
    "SELECT participant_id, date, date_diff('minute', min(time), max(time)) AS span_minutes "
    f"FROM {ACC} GROUP BY 1, 2"
)
def wear_span(lake: Lake) -> Want:
    found = group(lake.rows(ACC), "participant_id", "date")
    rows = [
        (p, d, date_diff_units(60, min(r["time"] for r in v), max(r["time"] for r in v)))
        for (p, d), v in found.items()
    ]
    return Want(["participant_id", "date", "span_minutes"], rows, types=[None, None, "bigint"])


@case(
    f"SELECT participant_id, min(date_add('hour', -4, time)) AS first_local FROM {QUEST} GROUP BY 1"
)
def shifted_first(lake: Lake) -> Want:
    found = group(lake.rows(QUEST), "participant_id")
    rows = [(p, ms(min(r["time"] for r in v)) - dt.timedelta(hours=4)) for (p,), v in found.items()]
    return Want(["participant_id", "first_local"], rows, types=["varchar", "timestamp(3)"])


@case(
    "SELECT participant_id, from_unixtime(time_completed) AS completed "
    f"FROM {QUEST} ORDER BY participant_id, completed"
)
def completed_at(lake: Lake) -> Want:
    # fromUnixTime(double): Math.round(unixTime * 1000) milliseconds, in the session zone
    def text(seconds: float) -> Text:
        millis = math.floor(seconds * 1000 + 0.5)
        instant = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=millis)
        return Text(f"{ts3(instant)} UTC")

    found = sorted((r["participant_id"], r["time_completed"]) for r in lake.rows(QUEST))
    rows = [(p, text(t)) for p, t in found]
    return Want(
        ["participant_id", "completed"], rows, True, ["varchar", "timestamp(3) with time zone"]
    )


@case(
    "SELECT participant_id, to_unixtime(time) AS t, time_completed - to_unixtime(time) AS lag_s "
    f"FROM {QUEST}"
)
def unixtime_lag(lake: Lake) -> Want:
    rows = [
        (r["participant_id"], epoch(r["time"]), r["time_completed"] - epoch(r["time"]))
        for r in lake.rows(QUEST)
    ]
    return Want(["participant_id", "t", "lag_s"], rows, types=["varchar", "double", "double"])


@case(
    "SELECT id_user, count(*) AS n FROM screenlake_accessibility "
    "WHERE from_unixtime(t_unix_ts_ms / 1e3) = \"timestamp\" AT TIME ZONE 'UTC' GROUP BY 1"
)
def epoch_agrees(lake: Lake) -> Want:
    def agrees(r: dict[str, Any]) -> bool:
        millis = math.floor(r["t_unix_ts_ms"] / 1e3 * 1000 + 0.5)
        return dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=millis) == ms(r["timestamp"])

    counts = Counter(r["id_user"] for r in lake.rows("screenlake_accessibility") if agrees(r))
    return Want(["id_user", "n"], list(counts.items()))


@case(
    "SELECT id_user, t_unix_ts_ms, from_unixtime(t_unix_ts_ms / 1000.0) AS at_tenth "
    "FROM screenlake_accessibility ORDER BY t_unix_ts_ms"
)
def decimal_epoch(lake: Lake) -> Want:
    # bigint / 1000.0 is decimal(19,0) / decimal(5,1): scale max(0, 1) = 1, half up; the
    # decimal is then coerced to double for from_unixtime
    def text(millis_in: int) -> Text:
        tenths = dec_div(Decimal(millis_in), Decimal("1000.0"), 1)
        millis = int(tenths * 1000)
        return Text(f"{ts3(dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=millis))} UTC")

    found = sorted(lake.rows("screenlake_accessibility"), key=lambda r: r["t_unix_ts_ms"])
    rows = [(r["id_user"], r["t_unix_ts_ms"], text(r["t_unix_ts_ms"])) for r in found]
    return Want(["id_user", "t_unix_ts_ms", "at_tenth"], rows, True)


@case(
    "SELECT panelist, session_duration_ms / 1000 AS secs, session_duration_ms / 60000 AS mins, "
    "session_duration_ms % 60000 AS rest_ms FROM screenlake_sessions"
)
def integer_division(lake: Lake) -> Want:
    rows = [
        (
            r["panelist"],
            r["session_duration_ms"] // 1000,
            r["session_duration_ms"] // 60000,
            r["session_duration_ms"] % 60000,
        )
        for r in lake.rows("screenlake_sessions")
    ]
    return Want(
        ["panelist", "secs", "mins", "rest_ms"],
        rows,
        types=["varchar", "bigint", "bigint", "bigint"],
    )


@case(
    "SELECT avg(session_duration_ms) AS mean_ms, sum(session_duration_ms) AS total_ms, "
    "count(seconds_since_last_active_ms) AS with_gap FROM screenlake_sessions"
)
def session_mean(lake: Lake) -> Want:
    durations = [r["session_duration_ms"] for r in lake.rows("screenlake_sessions")]
    gaps = [
        r for r in lake.rows("screenlake_sessions") if r["seconds_since_last_active_ms"] is not None
    ]
    rows = [(sum(durations) / len(durations), sum(durations), len(gaps))]
    return Want(["mean_ms", "total_ms", "with_gap"], rows, types=["double", "bigint", "bigint"])


@case(
    f"SELECT participant_id, CAST(avg(lux) AS integer) AS mean_lux, CAST(max(lux) AS bigint) "
    f"AS peak FROM {LIGHT} GROUP BY 1"
)
def rounded_light(lake: Lake) -> Want:
    found = group(lake.rows(LIGHT), "participant_id")
    rows = [
        (p, to_integer(sum(r["lux"] for r in v) / len(v)), to_integer(max(r["lux"] for r in v)))
        for (p,), v in found.items()
    ]
    return Want(
        ["participant_id", "mean_lux", "peak"], rows, types=["varchar", "integer", "bigint"]
    )


@case(
    "SELECT participant_id, time, CAST(answers_0_value_numeric / 2 AS integer) AS half_score "
    f"FROM {QUEST} ORDER BY participant_id, time"
)
def half_scores(lake: Lake) -> Want:
    # 0.5 -> 1 and 1.5 -> 2: half away from zero, not to even
    found = sorted(lake.rows(QUEST), key=lambda r: (r["participant_id"], r["time"]))
    rows = [
        (r["participant_id"], ms(r["time"]), to_integer(r["answers_0_value_numeric"] / 2))
        for r in found
    ]
    return Want(
        ["participant_id", "time", "half_score"], rows, True, [None, "timestamp(3)", "integer"]
    )


@case(
    "SELECT device, round(avg(x), 3) AS mean_x, round(stddev(y), 3) AS sd_y, "
    f"round(variance(z), 4) AS var_z FROM {ACC} GROUP BY device"
)
def device_moments(lake: Lake) -> Want:
    found = group(lake.rows(ACC), "device")
    rows = []
    for (device,), v in found.items():
        xs, ys, zs = ([r[c] for r in v] for c in "xyz")
        rows.append(
            (
                device,
                java_round(sum(xs) / len(xs), 3),
                java_round(statistics.stdev(ys), 3),
                java_round(statistics.variance(zs), 4),
            )
        )
    return Want(
        ["device", "mean_x", "sd_y", "var_z"], rows, types=["varchar", "double", "double", "double"]
    )


@case(
    "SELECT participant_id, date, approx_percentile(lux, 0.5) AS median_lux, "
    f"approx_percentile(lux, ARRAY[0.25, 0.75]) AS quartiles FROM {LIGHT} GROUP BY 1, 2"
)
def light_percentiles(lake: Lake) -> Want:
    found = group(lake.rows(LIGHT), "participant_id", "date")
    rows = []
    for (p, d), v in found.items():
        lux = [r["lux"] for r in v]
        rows.append(
            (p, d, tdigest_quantile(lux, 0.5), [tdigest_quantile(lux, q) for q in (0.25, 0.75)])
        )
    return Want(
        ["participant_id", "date", "median_lux", "quartiles"],
        rows,
        types=[None, None, "double", "array(double)"],
    )


@case(
    "SELECT stream, approx_percentile(total_rows, 0.9) AS p90, min(total_rows) AS low "
    "FROM embrace_duplicates GROUP BY stream"
)
def duplicate_p90(lake: Lake) -> Want:
    found = group(lake.rows("embrace_duplicates"), "stream")
    rows = [
        (s, tdigest_quantile([r["total_rows"] for r in v], 0.9), min(r["total_rows"] for r in v))
        for (s,), v in found.items()
    ]
    return Want(["stream", "p90", "low"], rows, types=["varchar", "bigint", "bigint"])


@case(
    "SELECT participant_id, stddev_pop(lux) AS sd_pop, var_pop(lux) AS var_pop, "
    f"stddev_samp(lux) AS sd_samp, var_samp(lux) AS var_samp FROM {LIGHT} GROUP BY 1"
)
def light_spread(lake: Lake) -> Want:
    found = group(lake.rows(LIGHT), "participant_id")
    rows = []
    for (p,), v in found.items():
        lux = [r["lux"] for r in v]
        rows.append(
            (
                p,
                statistics.pstdev(lux),
                statistics.pvariance(lux),
                statistics.stdev(lux),
                statistics.variance(lux),
            )
        )
    return Want(["participant_id", "sd_pop", "var_pop", "sd_samp", "var_samp"], rows)


@case(
    "SELECT time, date_diff('minute', lag(time) OVER (PARTITION BY participant_id ORDER BY time), "
    f"time) AS gap_minutes FROM {LIGHT} WHERE participant_id = 'kcl-001' ORDER BY time"
)
def light_gaps(lake: Lake) -> Want:
    times = sorted(r["time"] for r in lake.where(LIGHT, participant_id="kcl-001"))
    rows = [
        (ms(t), None if i == 0 else date_diff_units(60, times[i - 1], t))
        for i, t in enumerate(times)
    ]
    return Want(["time", "gap_minutes"], rows, True, ["timestamp(3)", "bigint"])


@case(
    "WITH g AS (SELECT participant_id, device, date_diff('second', lag(time) OVER "
    f"(PARTITION BY participant_id, device ORDER BY time), time) AS gap FROM {ACC}) "
    "SELECT participant_id, device, count(*) AS gaps, max(gap) AS longest FROM g "
    "WHERE gap > 60 GROUP BY 1, 2"
)
def acceleration_gaps(lake: Lake) -> Want:
    rows = []
    for (p, d), v in group(lake.rows(ACC), "participant_id", "device").items():
        times = sorted(r["time"] for r in v)
        gaps = [date_diff_units(1, a, b) for a, b in itertools.pairwise(times)]
        long = [g for g in gaps if g > 60]
        if long:
            rows.append((p, d, len(long), max(long)))
    return Want(["participant_id", "device", "gaps", "longest"], rows)


@case(
    "WITH r AS (SELECT participant_id, date, lux, row_number() OVER (PARTITION BY participant_id "
    f"ORDER BY lux DESC, time) AS rn FROM {LIGHT}) "
    "SELECT participant_id, rn, date, lux FROM r WHERE rn <= 3 ORDER BY participant_id, rn"
)
def brightest(lake: Lake) -> Want:
    rows = []
    for (p,), v in sorted(group(lake.rows(LIGHT), "participant_id").items()):
        top = sorted(v, key=lambda r: (-r["lux"], r["time"]))[:3]
        rows += [(p, i + 1, r["date"], r["lux"]) for i, r in enumerate(top)]
    return Want(
        ["participant_id", "rn", "date", "lux"], rows, True, [None, "bigint", None, "double"]
    )


@case(
    "SELECT participant_id, date, rows, sum(rows) OVER (PARTITION BY participant_id "
    "ORDER BY date) AS cumulative FROM participant_days WHERE source = 'radar' "
    "AND metric = 'sensorkit_acceleration' AND device = 'Watch' ORDER BY participant_id, date"
)
def cumulative_rows(lake: Lake) -> Want:
    found = lake.where(
        "participant_days", source="radar", metric="sensorkit_acceleration", device="Watch"
    )
    rows = []
    for (p,), v in sorted(group(found, "participant_id").items()):
        total = 0
        for r in sorted(v, key=lambda r: r["date"]):
            total += r["rows"]
            rows.append((p, r["date"], r["rows"], total))
    return Want(
        ["participant_id", "date", "rows", "cumulative"],
        rows,
        True,
        [None, None, "bigint", "bigint"],
    )


@case(
    "SELECT time, lux, avg(lux) OVER (ORDER BY time ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) "
    f"AS moving_avg FROM {LIGHT} WHERE participant_id = 'mssm-001' AND date = '2024-10-18' "
    "ORDER BY time"
)
def moving_average(lake: Lake) -> Want:
    found = sorted(
        lake.where(LIGHT, participant_id="mssm-001", date="2024-10-18"), key=lambda r: r["time"]
    )
    rows = []
    for i, r in enumerate(found):
        window = [x["lux"] for x in found[max(0, i - 2) : i + 1]]
        rows.append((ms(r["time"]), r["lux"], sum(window) / len(window)))
    return Want(["time", "lux", "moving_avg"], rows, True)


@case(
    "SELECT c.participant_id, c.date, c.rows AS counted, r.n AS read FROM completeness c JOIN "
    f"(SELECT participant_id, date, count(*) AS n FROM {ACC} GROUP BY 1, 2) r "
    "ON c.participant_id = r.participant_id AND c.date = r.date "
    "WHERE c.source = 'radar' AND c.metric = 'sensorkit_acceleration'"
)
def completeness_join(lake: Lake) -> Want:
    counts = Counter((r["participant_id"], r["date"]) for r in lake.rows(ACC))
    rows = [
        (c["participant_id"], c["date"], c["rows"], counts[(c["participant_id"], c["date"])])
        for c in lake.where("completeness", source="radar", metric="sensorkit_acceleration")
        if (c["participant_id"], c["date"]) in counts
    ]
    return Want(
        ["participant_id", "date", "counted", "read"], rows, types=[None, None, "bigint", "bigint"]
    )


@case(
    "SELECT c.participant_id, c.date, c.metric, w.minutes_worn FROM completeness c "
    "LEFT JOIN embrace_wear_time w ON w.participant_id = c.participant_id "
    "AND w.local_date = CAST(c.date AS date) WHERE c.source = 'embrace'"
)
def wear_left_join(lake: Lake) -> Want:
    wear = defaultdict(list)
    for w in lake.rows("embrace_wear_time"):
        wear[(w["participant_id"], w["local_date"])].append(w["minutes_worn"])
    rows = []
    for c in lake.where("completeness", source="embrace"):
        matched = wear.get((c["participant_id"], dt.date.fromisoformat(c["date"]))) or [None]
        rows += [(c["participant_id"], c["date"], c["metric"], m) for m in matched]
    return Want(["participant_id", "date", "metric", "minutes_worn"], rows)


@case(
    "SELECT source, count(*) AS n, count(coverage) AS rated, avg(COALESCE(coverage, 0)) AS "
    "mean_cov, "
    "sum(COALESCE(expected_rows, 0)) AS expected FROM completeness GROUP BY source"
)
def coverage_coalesce(lake: Lake) -> Want:
    rows = []
    for (s,), v in group(lake.rows("completeness"), "source").items():
        cov = [r["coverage"] or 0 for r in v]
        rows.append(
            (
                s,
                len(v),
                sum(r["coverage"] is not None for r in v),
                sum(cov) / len(cov),
                sum(r["expected_rows"] or 0 for r in v),
            )
        )
    return Want(
        ["source", "n", "rated", "mean_cov", "expected"],
        rows,
        types=["varchar", "bigint", "bigint", "double", "bigint"],
    )


@case(
    "SELECT participant_id, sum(TRY_CAST(answers_0_value AS integer)) AS total, "
    "count(TRY_CAST(answers_1_value AS integer)) AS numeric_answers, "
    f"max(TRY_CAST(version AS integer)) AS v FROM {QUEST} GROUP BY 1"
)
def try_cast_scores(lake: Lake) -> Want:
    def as_int(text: str | None) -> int | None:
        try:
            return int(text.strip()) if text is not None else None
        except ValueError:
            return None

    rows = []
    for (p,), v in group(lake.rows(QUEST), "participant_id").items():
        firsts = [as_int(r["answers_0_value"]) for r in v]
        seconds = [as_int(r["answers_1_value"]) for r in v]
        versions = [x for x in (as_int(r["version"]) for r in v) if x is not None]
        rows.append(
            (
                p,
                sum(x for x in firsts if x is not None),
                sum(x is not None for x in seconds),
                max(versions) if versions else None,
            )
        )
    return Want(
        ["participant_id", "total", "numeric_answers", "v"],
        rows,
        types=[None, "bigint", "bigint", "integer"],
    )


@case(
    "SELECT source, count(NULLIF(device, '')) AS with_device, count(NULLIF(site, '')) AS "
    "with_site, "
    "count(*) AS n FROM participant_days GROUP BY source"
)
def nullif_counts(lake: Lake) -> Want:
    rows = [
        (
            s,
            sum(r["device"] not in ("", None) for r in v),
            sum(r["site"] not in ("", None) for r in v),
            len(v),
        )
        for (s,), v in group(lake.rows("participant_days"), "source").items()
    ]
    return Want(["source", "with_device", "with_site", "n"], rows)


@case(
    f"SELECT time, CAST(lux AS varchar) AS lux_text FROM {LIGHT} "
    "WHERE participant_id = 'kcl-001' AND date = '2024-10-17' ORDER BY time"
)
def lux_as_text(lake: Lake) -> Want:
    found = sorted(
        lake.where(LIGHT, participant_id="kcl-001", date="2024-10-17"), key=lambda r: r["time"]
    )
    rows = [(ms(r["time"]), java_double_text(r["lux"])) for r in found]
    return Want(["time", "lux_text"], rows, True, ["timestamp(3)", "varchar"])


@case(
    "SELECT participant_id, metric, device, CAST(day_rows_mean AS varchar) AS mean_text, "
    "CAST(day_rows_sd AS varchar) AS sd_text FROM participant_stats WHERE source = 'screenlake'"
)
def stats_as_text(lake: Lake) -> Want:
    rows = [
        (
            r["participant_id"],
            r["metric"],
            r["device"],
            java_double_text(r["day_rows_mean"]),
            java_double_text(r["day_rows_sd"]),
        )
        for r in lake.where("participant_stats", source="screenlake")
    ]
    return Want(["participant_id", "metric", "device", "mean_text", "sd_text"], rows)


@case(
    "SELECT participant_id, CAST(rows AS decimal(12, 0)) / DECIMAL '86.4' AS per_kilosecond, "
    "rows * 100 / 4320000 AS pct_int FROM completeness WHERE source = 'mhealth'"
)
def decimal_per_kilosecond(lake: Lake) -> Want:
    # DECIMAL '86.4' is decimal(3,1): a decimal literal's precision is its digits, its scale
    # the digits after the point (decimal.md, "Decimal literals")
    # decimal(12,0) / decimal(3,1): precision 12 + 1 + max(0, 1) = 14, scale max(0, 1) = 1,
    # rounded half up; bigint * integer / integer stays bigint and truncates
    rows = [
        (
            r["participant_id"],
            dec_div(Decimal(r["rows"]), Decimal("86.4"), 1),
            r["rows"] * 100 // 4320000,
        )
        for r in lake.where("completeness", source="mhealth")
    ]
    return Want(
        ["participant_id", "per_kilosecond", "pct_int"],
        rows,
        types=["varchar", "decimal(14,1)", "bigint"],
    )


@case(
    "SELECT user_id, count(*) * 100.0 / (50 * 86400) AS coverage_pct, "
    "CAST(count(*) AS double) / (50 * 86400) AS coverage_ratio FROM mhealth GROUP BY user_id"
)
def decimal_coverage(lake: Lake) -> Want:
    # bigint * 100.0 is decimal(23,1); / integer keeps scale max(1, 0) = 1, half up
    rows = []
    for (u,), v in group(lake.rows("mhealth"), "user_id").items():
        pct = dec_div(Decimal(len(v)) * Decimal("100.0"), Decimal(50 * 86400), 1)
        rows.append((u, pct, len(v) / (50 * 86400)))
    return Want(
        ["user_id", "coverage_pct", "coverage_ratio"], rows, types=["varchar", None, "double"]
    )


@case(
    "SELECT split_part(source_key, '/', 2) AS source_folder, "
    "regexp_extract(source_key, 'Sensors_U02_([A-Z]+)_', 1) AS site_code, count(*) AS n "
    "FROM embrace_temp GROUP BY 1, 2"
)
def key_parts(lake: Lake) -> Want:
    import re

    def code(key: str) -> str | None:
        m = re.search(r"Sensors_U02_([A-Z]+)_", key)
        return m.group(1) if m else None

    counts = Counter(
        (r["source_key"].split("/")[1], code(r["source_key"])) for r in lake.rows("embrace_temp")
    )
    return Want(["source_folder", "site_code", "n"], [(*k, n) for k, n in counts.items()])


@case(
    "SELECT concat(site, '/', participant_id) AS who, lower(device) AS dev, "
    "lpad(CAST(hour(time) AS varchar), 2, '0') AS hh, count(*) AS n "
    f"FROM {ACC} WHERE date = '2024-10-19' GROUP BY 1, 2, 3"
)
def string_labels(lake: Lake) -> Want:
    counts = Counter(
        (f"{r['site']}/{r['participant_id']}", r["device"].lower(), f"{r['time'].hour:02d}")
        for r in lake.where(ACC, date="2024-10-19")
    )
    return Want(["who", "dev", "hh", "n"], [(*k, n) for k, n in counts.items()])


@case(
    "SELECT participant_id, array_agg(DISTINCT device ORDER BY device) AS devices, "
    f"cardinality(array_agg(DISTINCT date)) AS days FROM {ACC} GROUP BY 1"
)
def device_arrays(lake: Lake) -> Want:
    rows = [
        (p, sorted({r["device"] for r in v}), len({r["date"] for r in v}))
        for (p,), v in group(lake.rows(ACC), "participant_id").items()
    ]
    return Want(
        ["participant_id", "devices", "days"], rows, types=["varchar", "array(varchar)", "bigint"]
    )


@case(
    "SELECT user_id, histogram(activity) AS per_activity, "
    "element_at(histogram(activity), 'Standing still') AS standing FROM mhealth GROUP BY user_id"
)
def activity_histogram(lake: Lake) -> Want:
    rows = []
    for (u,), v in group(lake.rows("mhealth"), "user_id").items():
        counts = dict(Counter(r["activity"] for r in v))
        rows.append((u, counts, counts.get("Standing still")))
    return Want(
        ["user_id", "per_activity", "standing"],
        rows,
        types=["varchar", "map(varchar, bigint)", "bigint"],
    )


@case(
    "SELECT participant_id, date, map_agg(metric, rows) AS per_metric, "
    "element_at(map_agg(metric, rows), 'sensorkit_ambient_light') AS light "
    "FROM completeness WHERE source = 'radar' GROUP BY 1, 2"
)
def metric_maps(lake: Lake) -> Want:
    rows = []
    for (p, d), v in group(
        lake.where("completeness", source="radar"), "participant_id", "date"
    ).items():
        m = {r["metric"]: r["rows"] for r in v}
        rows.append((p, d, m, m.get("sensorkit_ambient_light")))
    return Want(["participant_id", "date", "per_metric", "light"], rows)


@case(
    "SELECT participant_id, question, answer FROM radar_questionnaire_response CROSS JOIN "
    "UNNEST(ARRAY[answers_0_question_id, answers_1_question_id], "
    "ARRAY[answers_0_value, answers_1_value]) AS t(question, answer)"
)
def unnest_answers(lake: Lake) -> Want:
    rows = []
    for r in lake.rows(QUEST):
        rows.append((r["participant_id"], r["answers_0_question_id"], r["answers_0_value"]))
        rows.append((r["participant_id"], r["answers_1_question_id"], r["answers_1_value"]))
    return Want(["participant_id", "question", "answer"], rows)


@case(
    "SELECT question, count(*) AS n, avg(CAST(answer AS double)) AS mean_answer FROM "
    f"{QUEST} CROSS JOIN UNNEST(ARRAY[answers_0_question_id, answers_1_question_id], "
    "ARRAY[answers_0_value, answers_1_value]) AS t(question, answer) GROUP BY question"
)
def unnest_means(lake: Lake) -> Want:
    found = defaultdict(list)
    for r in lake.rows(QUEST):
        found[r["answers_0_question_id"]].append(float(r["answers_0_value"]))
        found[r["answers_1_question_id"]].append(float(r["answers_1_value"]))
    rows = [(q, len(v), sum(v) / len(v)) for q, v in found.items()]
    return Want(["question", "n", "mean_answer"], rows, types=["varchar", "bigint", "double"])


@case(
    f"SELECT site, participant_id, count(*) AS n FROM {LIGHT} GROUP BY ROLLUP (site, "
    "participant_id)"
)
def rollup_counts(lake: Lake) -> Want:
    found = lake.rows(LIGHT)
    rows = [(s, p, len(v)) for (s, p), v in group(found, "site", "participant_id").items()]
    rows += [(s, None, len(v)) for (s,), v in group(found, "site").items()]
    rows.append((None, None, len(found)))
    return Want(["site", "participant_id", "n"], rows)


@case(
    "SELECT source, metric, sum(rows) AS total FROM participant_days "
    "GROUP BY GROUPING SETS ((source), (source, metric))"
)
def grouping_sets(lake: Lake) -> Want:
    found = lake.rows("participant_days")
    rows = [(s, None, sum(r["rows"] for r in v)) for (s,), v in group(found, "source").items()]
    rows += [
        (s, m, sum(r["rows"] for r in v)) for (s, m), v in group(found, "source", "metric").items()
    ]
    return Want(["source", "metric", "total"], rows, types=["varchar", "varchar", "bigint"])


def _order_key_nulls_first(value: float | None) -> tuple[int, float]:
    return (0, 0.0) if value is None else (1, value)


@case(
    "SELECT participant_id, metric, date, coverage FROM completeness WHERE source = 'embrace' "
    "ORDER BY coverage NULLS FIRST, participant_id, metric, date"
)
def nulls_first(lake: Lake) -> Want:
    found = sorted(
        lake.where("completeness", source="embrace"),
        key=lambda r: (
            _order_key_nulls_first(r["coverage"]),
            r["participant_id"],
            r["metric"],
            r["date"],
        ),
    )
    return Want(
        ["participant_id", "metric", "date", "coverage"],
        [(r["participant_id"], r["metric"], r["date"], r["coverage"]) for r in found],
        True,
    )


@case(
    "SELECT participant_id, metric, date, coverage FROM completeness WHERE source = 'embrace' "
    "ORDER BY coverage DESC, participant_id, metric, date"
)
def nulls_last_desc(lake: Lake) -> Want:
    # Trino sorts NULLs last by default, also for DESC
    found = lake.where("completeness", source="embrace")
    rated = sorted(
        (r for r in found if r["coverage"] is not None),
        key=lambda r: (-r["coverage"], r["participant_id"], r["metric"], r["date"]),
    )
    unrated = sorted(
        (r for r in found if r["coverage"] is None),
        key=lambda r: (r["participant_id"], r["metric"], r["date"]),
    )
    return Want(
        ["participant_id", "metric", "date", "coverage"],
        [(r["participant_id"], r["metric"], r["date"], r["coverage"]) for r in rated + unrated],
        True,
    )


@case(
    f"SELECT participant_id, time, lux FROM {LIGHT} ORDER BY lux DESC, time, participant_id "
    "OFFSET 2 LIMIT 3"
)
def offset_limit(lake: Lake) -> Want:
    found = sorted(lake.rows(LIGHT), key=lambda r: (-r["lux"], r["time"], r["participant_id"]))[2:5]
    return Want(
        ["participant_id", "time", "lux"],
        [(r["participant_id"], ms(r["time"]), r["lux"]) for r in found],
        True,
    )


@case("SHOW COLUMNS FROM embrace_temp")
def show_columns(lake: Lake) -> Want:
    # Athena shows the column names only (show-columns.html); the result column's name and
    # padding are not documented, so only the names are compared
    names = [f.name for f in lake.iceberg("embrace_temp").schema().fields]
    return Want(None, [(n,) for n in names])


@case(
    "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
    "'phenolake' AND table_name = 'embrace_eda' ORDER BY ordinal_position"
)
def information_schema(lake: Lake) -> Want:
    trino = {
        "string": "varchar",
        "timestamp": "timestamp(3)",
        "double": "double",
        "date": "date",
        "bigint": "bigint",
        "int": "integer",
    }
    columns = lake.tables["embrace_eda"]["StorageDescriptor"]["Columns"]
    return Want(
        ["column_name", "data_type"], [(c["Name"], trino[c["Type"]]) for c in columns], True
    )


@case('SELECT snapshot_id, parent_id, operation FROM "embrace_eda$snapshots"')
def snapshots(lake: Lake) -> Want:
    meta = lake.iceberg("embrace_eda").metadata
    rows = [
        (s.snapshot_id, s.parent_snapshot_id, s.summary.operation.value) for s in meta.snapshots
    ]
    return Want(
        ["snapshot_id", "parent_id", "operation"], rows, types=["bigint", "bigint", "varchar"]
    )


def _first_snapshot(lake: Lake, name: str) -> int:
    return min(lake.iceberg(name).metadata.snapshots, key=lambda s: s.timestamp_ms).snapshot_id


@case(
    lambda lake: (
        "SELECT participant_id, count(*) AS n, round(avg(eda_microsiemens), 4) AS mean_eda "
        f"FROM embrace_eda FOR VERSION AS OF {_first_snapshot(lake, 'embrace_eda')} GROUP BY 1"
    )
)
def time_travel(lake: Lake) -> Want:
    table = lake.iceberg("embrace_eda")
    found = table.scan(snapshot_id=_first_snapshot(lake, "embrace_eda")).to_arrow().to_pylist()
    rows = [
        (p, len(v), java_round(sum(r["eda_microsiemens"] for r in v) / len(v), 4))
        for (p,), v in group(found, "participant_id").items()
    ]
    return Want(["participant_id", "n", "mean_eda"], rows)


@case('SELECT "$path" AS file, count(*) AS n FROM embrace_temp GROUP BY 1')
def iceberg_paths(lake: Lake) -> Want:
    tasks = list(lake.iceberg("embrace_temp").scan().plan_files())
    assert all(not t.delete_files for t in tasks), "position deletes: count rows per file otherwise"
    return Want(["file", "n"], [(t.file.file_path, t.file.record_count) for t in tasks])


@case(
    "SELECT \"$path\" AS file, count(*) AS n FROM participant_days WHERE source = 'mhealth' "
    "GROUP BY 1"
)
def hive_paths(lake: Lake) -> Want:
    import pyarrow.parquet as pq

    rows = [
        (uri, pq.read_metadata(lake.local(uri)).num_rows)
        for uri, values in lake.hive_files("participant_days")
        if values["source"] == "mhealth"
    ]
    return Want(["file", "n"], rows)


@case(
    "SELECT participant_id, max_by(time, x_g) AS peak_at, max(x_g) AS peak FROM embrace_acc "
    "GROUP BY 1"
)
def peak_acceleration(lake: Lake) -> Want:
    rows = []
    for (p,), v in group(lake.rows("embrace_acc"), "participant_id").items():
        top = max(r["x_g"] for r in v)
        at = [r["time"] for r in v if r["x_g"] == top]
        assert len(at) == 1, "a tie: max_by would be arbitrary"
        rows.append((p, ms(at[0]), top))
    return Want(
        ["participant_id", "peak_at", "peak"], rows, types=["varchar", "timestamp(3)", "double"]
    )


@case(
    "SELECT device_id, count_if(temp_celsius > 33) AS warm, count(*) AS n, "
    "round(100.0 * count_if(temp_celsius > 33) / count(*), 1) AS warm_pct FROM embrace_temp "
    "GROUP BY 1"
)
def warm_share(lake: Lake) -> Want:
    # count_if(x) -> bigint (aggregate.md): a Python int, as count(*)'s
    rows = []
    for (d,), v in group(lake.rows("embrace_temp"), "device_id").items():
        warm = sum(r["temp_celsius"] > 33 for r in v)
        # 100.0 * bigint: decimal(23,1); / bigint: scale 1, half up; round(x, 1) keeps it
        pct = dec_div(Decimal("100.0") * warm, Decimal(len(v)), 1)
        rows.append((d, warm, len(v), pct))
    return Want(
        ["device_id", "warm", "n", "warm_pct"], rows, types=["varchar", "bigint", "bigint", None]
    )


@case(
    "SELECT t.participant_id, date(date_add('minute', m.timezone_minutes, t.time)) AS local_day, "
    "count(*) AS n, count_if(date(date_add('minute', m.timezone_minutes, t.time)) = t.local_date) "
    "AS agrees FROM embrace_temp t JOIN embrace_metadata m ON t.device_id = m.device_id GROUP BY "
    "1, 2"
)
def offset_local_days(lake: Lake) -> Want:
    # count_if(x) -> bigint (aggregate.md)
    offsets = defaultdict(list)
    for m in lake.rows("embrace_metadata"):
        offsets[m["device_id"]].append(m["timezone_minutes"])
    counts: Counter = Counter()
    agree: Counter = Counter()
    for t in lake.rows("embrace_temp"):
        for minutes in offsets.get(t["device_id"], []):
            day = (t["time"] + dt.timedelta(minutes=minutes)).date()
            counts[(t["participant_id"], day)] += 1
            agree[(t["participant_id"], day)] += day == t["local_date"]
    rows = [(p, d, n, agree[(p, d)]) for (p, d), n in counts.items()]
    return Want(
        ["participant_id", "local_day", "n", "agrees"],
        rows,
        types=[None, "date", "bigint", "bigint"],
    )


@case(
    "SELECT participant_id, date, time, lux, lux / sum(lux) OVER (PARTITION BY participant_id, "
    "date) "
    f"AS share FROM {LIGHT} WHERE site = 'connect-mssm'"
)
def share_of_day(lake: Lake) -> Want:
    found = lake.where(LIGHT, site="connect-mssm")
    totals = {
        k: sum(r["lux"] for r in v) for k, v in group(found, "participant_id", "date").items()
    }
    rows = [
        (
            r["participant_id"],
            r["date"],
            ms(r["time"]),
            r["lux"],
            r["lux"] / totals[(r["participant_id"], r["date"])],
        )
        for r in found
    ]
    return Want(["participant_id", "date", "time", "lux", "share"], rows)


@case(
    "SELECT participant_id, sum(row_count) AS total, rank() OVER (ORDER BY sum(row_count) DESC) "
    "AS rnk, "
    "dense_rank() OVER (ORDER BY sum(row_count) DESC) AS drnk FROM participant_stats "
    "WHERE source = 'radar' GROUP BY participant_id"
)
def rank_participants(lake: Lake) -> Want:
    totals = {
        p: sum(r["row_count"] for r in v)
        for (p,), v in group(
            lake.where("participant_stats", source="radar"), "participant_id"
        ).items()
    }
    distinct = sorted(set(totals.values()), reverse=True)
    rows = [
        (p, t, 1 + sum(x > t for x in totals.values()), 1 + distinct.index(t))
        for p, t in totals.items()
    ]
    return Want(
        ["participant_id", "total", "rnk", "drnk"], rows, types=[None, "bigint", "bigint", "bigint"]
    )


@case(
    "SELECT participant_id, time, date_diff('hour', time, lead(time) OVER (PARTITION BY "
    f"participant_id ORDER BY time)) AS hours_to_next FROM {QUEST}"
)
def hours_to_next(lake: Lake) -> Want:
    rows = []
    for (p,), v in group(lake.rows(QUEST), "participant_id").items():
        times = sorted(r["time"] for r in v)
        for i, t in enumerate(times):
            nxt = times[i + 1] if i + 1 < len(times) else None
            rows.append((p, ms(t), None if nxt is None else date_diff_units(3600, t, nxt)))
    return Want(["participant_id", "time", "hours_to_next"], rows)


@case(
    "SELECT participant_id, date, first_value(lux) OVER (PARTITION BY participant_id, date "
    "ORDER BY time ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS first_lux, "
    "last_value(lux) OVER (PARTITION BY participant_id, date ORDER BY time "
    "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_lux "
    f"FROM {LIGHT} WHERE participant_id = 'kcl-001'"
)
def first_last(lake: Lake) -> Want:
    rows = []
    for (p, d), v in group(
        lake.where(LIGHT, participant_id="kcl-001"), "participant_id", "date"
    ).items():
        ordered = sorted(v, key=lambda r: r["time"])
        rows += [(p, d, ordered[0]["lux"], ordered[-1]["lux"])] * len(v)
    return Want(["participant_id", "date", "first_lux", "last_lux"], rows)


@case(
    f"WITH daily AS (SELECT participant_id, date, count(*) AS n FROM {ACC} GROUP BY 1, 2) "
    "SELECT participant_id, avg(n) AS mean_rows, min(n) AS low, max(n) AS high, count(*) AS days "
    "FROM daily GROUP BY participant_id HAVING count(*) >= 3"
)
def daily_summary(lake: Lake) -> Want:
    counts = Counter((r["participant_id"], r["date"]) for r in lake.rows(ACC))
    per = defaultdict(list)
    for (p, _), n in counts.items():
        per[p].append(n)
    rows = [(p, sum(v) / len(v), min(v), max(v), len(v)) for p, v in per.items() if len(v) >= 3]
    return Want(
        ["participant_id", "mean_rows", "low", "high", "days"],
        rows,
        types=["varchar", "double", "bigint", "bigint", "bigint"],
    )


@case(
    "SELECT upper(substr(activity, 1, 3)) AS code, length(activity) AS len, count(*) AS n "
    "FROM mhealth GROUP BY 1, 2"
)
def activity_codes(lake: Lake) -> Want:
    counts = Counter((r["activity"][:3].upper(), len(r["activity"])) for r in lake.rows("mhealth"))
    return Want(
        ["code", "len", "n"],
        [(*k, n) for k, n in counts.items()],
        types=["varchar", "bigint", "bigint"],
    )


@case(
    "WITH g AS (SELECT user_id, date_diff('millisecond', lag(timestamp) OVER (PARTITION BY user_id "
    "ORDER BY timestamp), timestamp) AS step FROM mhealth) "
    "SELECT user_id, histogram(step) AS steps FROM g WHERE step IS NOT NULL GROUP BY user_id"
)
def sampling_steps(lake: Lake) -> Want:
    rows = []
    for (u,), v in group(lake.rows("mhealth"), "user_id").items():
        times = sorted(r["timestamp"] for r in v)
        rows.append(
            (u, dict(Counter(date_diff_units(0.001, a, b) for a, b in itertools.pairwise(times))))
        )
    return Want(["user_id", "steps"], rows, types=["varchar", "map(bigint, bigint)"])


@case(
    "SELECT stream, CAST(sum(total_dupes) AS double) / sum(total_rows) AS dupe_ratio, "
    "sum(kept_rows) AS kept FROM embrace_duplicates GROUP BY stream"
)
def duplicate_ratio(lake: Lake) -> Want:
    rows = [
        (
            s,
            sum(r["total_dupes"] for r in v) / sum(r["total_rows"] for r in v),
            sum(r["kept_rows"] for r in v),
        )
        for (s,), v in group(lake.rows("embrace_duplicates"), "stream").items()
    ]
    return Want(["stream", "dupe_ratio", "kept"], rows, types=["varchar", "double", "bigint"])


@case(
    "SELECT regexp_extract(apk, '^([a-z]+)\\.', 1) AS vendor, split_part(apk, '.', 2) AS org, "
    "count(DISTINCT id_session) AS sessions FROM screenlake_segments GROUP BY 1, 2"
)
def app_vendors(lake: Lake) -> Want:
    import re

    found = defaultdict(set)
    for r in lake.rows("screenlake_segments"):
        m = re.match(r"^([a-z]+)\.", r["apk"])
        parts = r["apk"].split(".")
        found[(m.group(1) if m else None, parts[1] if len(parts) > 1 else None)].add(
            r["id_session"]
        )
    return Want(["vendor", "org", "sessions"], [(*k, len(v)) for k, v in found.items()])


@case(
    "SELECT weekday, format_datetime(timestamp, 'EEEE') AS from_time, "
    "day_of_week(timestamp) AS dow, count(*) AS n FROM screenlake_screenshots GROUP BY 1, 2, 3"
)
def screenshot_weekdays(lake: Lake) -> Want:
    counts = Counter(
        (r["weekday"], f"{r['timestamp']:%A}", r["timestamp"].isoweekday())
        for r in lake.rows("screenlake_screenshots")
    )
    return Want(["weekday", "from_time", "dow", "n"], [(*k, n) for k, n in counts.items()])


@case(
    "SELECT participant_id, date_diff('day', DATE '2024-10-17', CAST(date AS date)) + 1 AS "
    "study_day, "
    f"count(*) AS n FROM {LIGHT} GROUP BY 1, 2"
)
def study_days(lake: Lake) -> Want:
    start = dt.date(2024, 10, 17)
    counts = Counter(
        (r["participant_id"], (dt.date.fromisoformat(r["date"]) - start).days + 1)
        for r in lake.rows(LIGHT)
    )
    return Want(
        ["participant_id", "study_day", "n"],
        [(*k, n) for k, n in counts.items()],
        types=[None, "bigint", "bigint"],
    )


@case(
    "SELECT extract(hour FROM time AT TIME ZONE 'Asia/Kolkata') AS h, "
    "minute(time AT TIME ZONE 'Asia/Kolkata') AS m, count(*) AS n "
    f"FROM {QUEST} GROUP BY 1, 2"
)
def kolkata_clock(lake: Lake) -> Want:
    counts = Counter(
        (in_zone(r["time"], "Asia/Kolkata").hour, in_zone(r["time"], "Asia/Kolkata").minute)
        for r in lake.rows(QUEST)
    )
    return Want(
        ["h", "m", "n"], [(*k, n) for k, n in counts.items()], types=["bigint", "bigint", "bigint"]
    )


@case(
    "SELECT participant_id, with_timezone(time, 'America/New_York') AS as_new_york, "
    "to_unixtime(with_timezone(time, 'America/New_York')) - to_unixtime(time) AS shift_s "
    f"FROM {QUEST} WHERE site = 'connect-mssm'"
)
def with_zone(lake: Lake) -> Want:
    rows = []
    for r in lake.where(QUEST, site="connect-mssm"):
        wall = ms(r["time"])
        instant = wall.replace(tzinfo=ZoneInfo("America/New_York"))
        rows.append(
            (
                r["participant_id"],
                Text(f"{ts3(wall)} America/New_York"),
                instant.timestamp() - wall.replace(tzinfo=UTC).timestamp(),
            )
        )
    return Want(
        ["participant_id", "as_new_york", "shift_s"],
        rows,
        types=["varchar", "timestamp(3) with time zone", "double"],
    )


@case(
    "SELECT site, count(DISTINCT participant_id) AS participants, "
    f"approx_distinct(participant_id) AS approx FROM {ACC} GROUP BY site"
)
def participants_per_site(lake: Lake) -> Want:
    rows = []
    for (s,), v in group(lake.rows(ACC), "site").items():
        people = len({r["participant_id"] for r in v})
        rows.append((s, people, people))
    return Want(["site", "participants", "approx"], rows, types=["varchar", "bigint", "bigint"])


@case(
    "SELECT source, participant_id, metric, rows FROM completeness c WHERE rows < 1000 AND EXISTS "
    "(SELECT 1 FROM participant_stats s WHERE s.participant_id = c.participant_id AND "
    "s.day_count > 1)"
)
def exists_filter(lake: Lake) -> Want:
    multi = {s["participant_id"] for s in lake.rows("participant_stats") if s["day_count"] > 1}
    rows = [
        (c["source"], c["participant_id"], c["metric"], c["rows"])
        for c in lake.rows("completeness")
        if c["rows"] < 1000 and c["participant_id"] in multi
    ]
    return Want(["source", "participant_id", "metric", "rows"], rows)


@case(
    "SELECT 'acceleration' AS stream, count(*) AS n FROM embrace_acc UNION ALL "
    "SELECT 'eda', count(*) FROM embrace_eda UNION ALL SELECT 'temp', count(*) FROM embrace_temp"
)
def union_counts(lake: Lake) -> Want:
    rows = [
        ("acceleration", len(lake.rows("embrace_acc"))),
        ("eda", len(lake.rows("embrace_eda"))),
        ("temp", len(lake.rows("embrace_temp"))),
    ]
    # a string literal is varchar(n) in Trino ('acceleration': varchar(12)), and the union's
    # column the common super type of varchar(12), varchar(3), varchar(4)
    return Want(["stream", "n"], rows, types=["varchar(12)", "bigint"])


@case(
    "SELECT participant_id, count(*) AS n FROM embrace_eda WHERE source_key LIKE '%\\_FC\\_%' "
    "ESCAPE '\\' "
    "AND time BETWEEN TIMESTAMP '2019-08-01 23:58:00' AND TIMESTAMP '2019-08-02 00:02:00' GROUP "
    "BY 1"
)
def like_between(lake: Lake) -> Want:
    lo, hi = dt.datetime(2019, 8, 1, 23, 58), dt.datetime(2019, 8, 2, 0, 2)
    counts = Counter(
        r["participant_id"]
        for r in lake.rows("embrace_eda")
        if "_FC_" in r["source_key"] and lo <= ms(r["time"]) <= hi
    )
    return Want(["participant_id", "n"], list(counts.items()))


@case(
    "SELECT participant_id, IF(count(*) >= 1000, 'enough', 'sparse') AS verdict, "
    "greatest(max(temp_celsius), 0) AS hi, least(min(temp_celsius), 100) AS lo FROM embrace_temp "
    "GROUP BY 1"
)
def if_greatest(lake: Lake) -> Want:
    rows = []
    for (p,), v in group(lake.rows("embrace_temp"), "participant_id").items():
        temps = [r["temp_celsius"] for r in v]
        rows.append(
            (
                p,
                "enough" if len(v) >= 1000 else "sparse",
                max(max(temps), 0.0),
                min(min(temps), 100.0),
            )
        )
    return Want(
        ["participant_id", "verdict", "hi", "lo"],
        rows,
        # IF's result: the common super type of varchar(6) and varchar(6)
        types=["varchar", "varchar(6)", "double", "double"],
    )


@case(
    "SELECT panelist, date, count(*) AS events, min(timestamp) AS first_event, max(timestamp) AS "
    "last_event, array_agg(event ORDER BY timestamp) AS sequence FROM screenlake_logs GROUP BY 1, 2"
)
def log_sequences(lake: Lake) -> Want:
    rows = []
    for (p, d), v in group(lake.rows("screenlake_logs"), "panelist", "date").items():
        ordered = sorted(v, key=lambda r: r["timestamp"])
        rows.append(
            (
                p,
                d,
                len(v),
                ms(ordered[0]["timestamp"]),
                ms(ordered[-1]["timestamp"]),
                [r["event"] for r in ordered],
            )
        )
    return Want(
        ["panelist", "date", "events", "first_event", "last_event", "sequence"],
        rows,
        types=[None, None, "bigint", "timestamp(3)", "timestamp(3)", "array(varchar)"],
    )


@case(
    "SELECT participant_id, round(avg(temp_celsius), 2) AS mean_c, "
    "round(avg(temp_celsius * 9 / 5 + 32), 2) AS mean_f, "
    "CAST(round(stddev(temp_celsius), 3) AS decimal(6, 3)) AS sd_c FROM embrace_temp GROUP BY 1"
)
def temperature_units(lake: Lake) -> Want:
    rows = []
    for (p,), v in group(lake.rows("embrace_temp"), "participant_id").items():
        c = [r["temp_celsius"] for r in v]
        f = [x * 9 / 5 + 32 for x in c]
        sd = java_round(statistics.stdev(c), 3)
        rows.append(
            (
                p,
                java_round(sum(c) / len(c), 2),
                java_round(sum(f) / len(f), 2),
                Decimal(repr(sd)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP),
            )
        )
    return Want(
        ["participant_id", "mean_c", "mean_f", "sd_c"],
        rows,
        types=[None, "double", "double", "decimal(6,3)"],
    )


@case(
    "SELECT participant_id, date_format(time AT TIME ZONE 'Europe/London', '%H:%i') AS "
    "local_clock, "
    f"answers_0_value AS answer FROM {QUEST} WHERE site = 'connect-kcl' ORDER BY participant_id, "
    "time"
)
def london_clock(lake: Lake) -> Want:
    found = sorted(
        lake.where(QUEST, site="connect-kcl"), key=lambda r: (r["participant_id"], r["time"])
    )
    rows = [
        (r["participant_id"], f"{in_zone(r['time'], 'Europe/London'):%H:%M}", r["answers_0_value"])
        for r in found
    ]
    return Want(["participant_id", "local_clock", "answer"], rows, True)


@case(
    "SELECT count(*) AS n, count(DISTINCT participant_id) AS participants, min(local_date) AS "
    "first_day, "
    "max(local_date) AS last_day, sum(minutes_worn) AS worn FROM embrace_wear_time"
)
def wear_totals(lake: Lake) -> Want:
    found = lake.rows("embrace_wear_time")
    rows = [
        (
            len(found),
            len({r["participant_id"] for r in found}),
            min(r["local_date"] for r in found),
            max(r["local_date"] for r in found),
            sum(r["minutes_worn"] for r in found),
        )
    ]
    return Want(
        ["n", "participants", "first_day", "last_day", "worn"],
        rows,
        types=["bigint", "bigint", "date", "date", "double"],
    )


@case(
    "SELECT participant_id, date, ntile(4) OVER (PARTITION BY participant_id, date ORDER BY lux, "
    "time) "
    f"AS quartile, lux FROM {LIGHT} WHERE participant_id = 'mssm-002'"
)
def light_quartiles(lake: Lake) -> Want:
    rows = []
    for (p, d), v in group(
        lake.where(LIGHT, participant_id="mssm-002"), "participant_id", "date"
    ).items():
        ordered = sorted(v, key=lambda r: (r["lux"], r["time"]))
        n = len(ordered)
        size, extra = divmod(n, 4)
        bucket, left = 1, size + (1 if extra >= 1 else 0)
        for r in ordered:
            if left == 0:
                bucket += 1
                left = size + (1 if extra >= bucket else 0)
            rows.append((p, d, bucket, r["lux"]))
            left -= 1
    return Want(
        ["participant_id", "date", "quartile", "lux"], rows, types=[None, None, "bigint", "double"]
    )


@case(
    "SELECT participant_id, sum(rows) FILTER (WHERE metric = 'sensorkit_acceleration') AS "
    "acc_rows, "
    "sum(rows) FILTER (WHERE metric = 'questionnaire_response') AS responses "
    "FROM completeness WHERE source = 'radar' GROUP BY 1"
)
def filtered_sums(lake: Lake) -> Want:
    rows = []
    for (p,), v in group(lake.where("completeness", source="radar"), "participant_id").items():
        acc = [r["rows"] for r in v if r["metric"] == "sensorkit_acceleration"]
        resp = [r["rows"] for r in v if r["metric"] == "questionnaire_response"]
        rows.append((p, sum(acc) if acc else None, sum(resp) if resp else None))
    return Want(
        ["participant_id", "acc_rows", "responses"], rows, types=["varchar", "bigint", "bigint"]
    )


@case(
    "SELECT date, min(first_time) AS earliest, max(last_time) AS latest, "
    "date_diff('second', min(first_time), max(last_time)) AS covered_s FROM completeness "
    "WHERE source = 'screenlake' GROUP BY date"
)
def screenlake_span(lake: Lake) -> Want:
    rows = []
    for (d,), v in group(lake.where("completeness", source="screenlake"), "date").items():
        lo, hi = min(r["first_time"] for r in v), max(r["last_time"] for r in v)
        rows.append((d, ms(lo), ms(hi), date_diff_units(1, lo, hi)))
    return Want(
        ["date", "earliest", "latest", "covered_s"],
        rows,
        types=[None, "timestamp(3)", "timestamp(3)", "bigint"],
    )


ACCESS = "screenlake_accessibility"


@case(
    "SELECT participant_id, rows * 0.25 AS quarter, rows / 1.5 AS per_one_and_half "
    "FROM completeness WHERE source = 'mhealth'"
)
def decimal_literals(lake: Lake) -> Want:
    # 0.25 is decimal(2,2), 1.5 decimal(2,1) (a literal with a point is a decimal in Trino);
    # bigint * decimal(2,2): decimal(21,2); bigint / decimal(2,1): decimal(21,1), half up
    rows = [
        (
            r["participant_id"],
            Decimal(r["rows"]) * Decimal("0.25"),
            dec_div(Decimal(r["rows"]), Decimal("1.5"), 1),
        )
        for r in lake.where("completeness", source="mhealth")
    ]
    return Want(
        ["participant_id", "quarter", "per_one_and_half"],
        rows,
        types=["varchar", "decimal(21,2)", "decimal(21,1)"],
    )


@case(
    "SELECT participant_id, floor(lux / 100) AS band, ceil(lux / 100) AS upper, count(*) AS n "
    f"FROM {LIGHT} GROUP BY 1, 2, 3"
)
def light_bands(lake: Lake) -> Want:
    counts = Counter(
        (r["participant_id"], float(math.floor(r["lux"] / 100)), float(math.ceil(r["lux"] / 100)))
        for r in lake.rows(LIGHT)
    )
    return Want(
        ["participant_id", "band", "upper", "n"],
        [(*k, n) for k, n in counts.items()],
        types=["varchar", "double", "double", "bigint"],
    )


@case(
    "SELECT date_trunc('week', CAST(date AS date)) AS week_start, "
    "last_day_of_month(CAST(date AS date)) AS month_end, "
    "date_add('day', 1, CAST(date AS date)) AS next_day, count(*) AS n "
    f"FROM {ACC} GROUP BY 1, 2, 3"
)
def calendar_dates(lake: Lake) -> Want:
    counts: Counter = Counter()
    for r in lake.rows(ACC):
        day = dt.date.fromisoformat(r["date"])
        nxt = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        counts[
            (
                day - dt.timedelta(days=day.weekday()),
                nxt - dt.timedelta(days=1),
                day + dt.timedelta(days=1),
            )
        ] += 1
    return Want(
        ["week_start", "month_end", "next_day", "n"],
        [(*k, n) for k, n in counts.items()],
        types=["date", "date", "date", "bigint"],
    )


@case(
    "SELECT CAST(time AS varchar) AS time_text, CAST(CAST(time AS date) AS varchar) AS day_text "
    f"FROM {QUEST} ORDER BY time, participant_id"
)
def temporal_text(lake: Lake) -> Want:
    found = sorted(lake.rows(QUEST), key=lambda r: (r["time"], r["participant_id"]))
    rows = [(ts3(r["time"]), r["time"].date().isoformat()) for r in found]
    return Want(["time_text", "day_text"], rows, True, ["varchar", "varchar"])


@case(
    "SELECT panelist, date_parse(t_natural_day_ts, '%Y-%m-%d') AS day_start, "
    "date(timestamp) = date(date_parse(t_natural_day_ts, '%Y-%m-%d')) AS same_day "
    "FROM screenlake_screenshots"
)
def parsed_days(lake: Lake) -> Want:
    rows = []
    for r in lake.rows("screenlake_screenshots"):
        start = dt.datetime.strptime(r["t_natural_day_ts"], "%Y-%m-%d")
        rows.append((r["panelist"], start, r["timestamp"].date() == start.date()))
    return Want(
        ["panelist", "day_start", "same_day"], rows, types=["varchar", "timestamp(3)", "boolean"]
    )


@case(
    "SELECT id_user, regexp_replace(text, '\\s+', ' ') AS one_line, strpos(text, 'today') AS at, "
    f"regexp_like(text, '[0-9]+\\.[0-9]+') AS has_price FROM {ACCESS} WHERE text IS NOT NULL"
)
def text_cleanup(lake: Lake) -> Want:
    import re

    rows = [
        (
            r["id_user"],
            re.sub(r"\s+", " ", r["text"]),
            r["text"].find("today") + 1,
            re.search(r"[0-9]+\.[0-9]+", r["text"]) is not None,
        )
        for r in lake.rows(ACCESS)
        if r["text"] is not None
    ]
    return Want(
        ["id_user", "one_line", "at", "has_price"],
        rows,
        types=["varchar", "varchar", "bigint", "boolean"],
    )


@case(
    "SELECT id_session, array_join(array_agg(apk ORDER BY timestamp), ' > ') AS path, "
    f"count(*) AS events FROM {ACCESS} GROUP BY id_session"
)
def app_paths(lake: Lake) -> Want:
    rows = []
    for (s,), v in group(lake.rows(ACCESS), "id_session").items():
        ordered = sorted(v, key=lambda r: r["timestamp"])
        rows.append((s, " > ".join(r["apk"] for r in ordered), len(v)))
    return Want(["id_session", "path", "events"], rows, types=["varchar", "varchar", "bigint"])


@case(
    "WITH s AS (SELECT id_session, array_agg(apk ORDER BY timestamp) AS apps FROM "
    f"{ACCESS} GROUP BY id_session) SELECT id_session, contains(apps, 'com.whatsapp') AS whatsapp, "
    "cardinality(array_distinct(apps)) AS distinct_apps, element_at(apps, -1) AS last_app, "
    "slice(apps, 1, 2) AS first_two FROM s"
)
def session_arrays(lake: Lake) -> Want:
    rows = []
    for (s,), v in group(lake.rows(ACCESS), "id_session").items():
        apps = [r["apk"] for r in sorted(v, key=lambda r: r["timestamp"])]
        rows.append((s, "com.whatsapp" in apps, len(set(apps)), apps[-1], apps[:2]))
    return Want(
        ["id_session", "whatsapp", "distinct_apps", "last_app", "first_two"],
        rows,
        types=["varchar", "boolean", "bigint", "varchar", "array(varchar)"],
    )


@case(
    "SELECT participant, bool_or(flagged) AS any_flagged, bool_and(faces = 0) AS all_clear, "
    "sum(CASE WHEN flagged THEN 1 ELSE 0 END) AS flagged_images, avg(faces) AS mean_faces, "
    "sum(faces) AS faces FROM image_redactions GROUP BY participant"
)
def redaction_flags(lake: Lake) -> Want:
    rows = []
    for (p,), v in group(lake.rows("image_redactions"), "participant").items():
        faces = [r["faces"] for r in v]
        rows.append(
            (
                p,
                any(r["flagged"] for r in v),
                all(f == 0 for f in faces),
                sum(1 for r in v if r["flagged"]),
                sum(faces) / len(faces),
                sum(faces),
            )
        )
    return Want(
        ["participant", "any_flagged", "all_clear", "flagged_images", "mean_faces", "faces"],
        rows,
        types=["varchar", "boolean", "boolean", "bigint", "double", "bigint"],
    )


@case(
    f"WITH d AS (SELECT participant_id, date, count(*) AS n FROM {ACC} GROUP BY 1, 2) "
    "SELECT participant_id, date, n, percent_rank() OVER (ORDER BY n) AS pr, "
    "cume_dist() OVER (ORDER BY n) AS cd FROM d"
)
def daily_ranks(lake: Lake) -> Want:
    counts = Counter((r["participant_id"], r["date"]) for r in lake.rows(ACC))
    ns = list(counts.values())
    total = len(ns)
    rows = []
    for (p, d), n in counts.items():
        below = sum(x < n for x in ns)
        upto = sum(x <= n for x in ns)
        rows.append((p, d, n, below / (total - 1) if total > 1 else 0.0, upto / total))
    return Want(
        ["participant_id", "date", "n", "pr", "cd"],
        rows,
        types=["varchar", "varchar", "bigint", "double", "double"],
    )


@case(
    "SELECT time, lux, lag(lux, 2, 0) OVER (ORDER BY time) AS two_back, "
    "lead(lux, 1) OVER (ORDER BY time) AS next_lux "
    f"FROM {LIGHT} WHERE participant_id = 'kcl-002' AND date = '2024-10-18' ORDER BY time"
)
def lag_default(lake: Lake) -> Want:
    found = sorted(
        lake.where(LIGHT, participant_id="kcl-002", date="2024-10-18"), key=lambda r: r["time"]
    )
    rows = []
    for i, r in enumerate(found):
        rows.append(
            (
                ms(r["time"]),
                r["lux"],
                found[i - 2]["lux"] if i >= 2 else 0.0,
                found[i + 1]["lux"] if i + 1 < len(found) else None,
            )
        )
    return Want(["time", "lux", "two_back", "next_lux"], rows, True)


@case(
    f"SELECT participant_id FROM {ACC} WHERE date = '2024-10-20' INTERSECT "
    f"SELECT participant_id FROM {QUEST} EXCEPT SELECT participant_id FROM {LIGHT} "
    "WHERE lux > 600"
)
def set_operations(lake: Lake) -> Want:
    late = {r["participant_id"] for r in lake.where(ACC, date="2024-10-20")}
    answered = {r["participant_id"] for r in lake.rows(QUEST)}
    bright = {r["participant_id"] for r in lake.rows(LIGHT) if r["lux"] > 600}
    return Want(["participant_id"], [(p,) for p in (late & answered) - bright])


@case(f"SELECT DISTINCT site, participant_id FROM {LIGHT} ORDER BY site DESC, participant_id")
def distinct_people(lake: Lake) -> Want:
    pairs = sorted({(r["site"], r["participant_id"]) for r in lake.rows(LIGHT)})
    pairs.sort(key=lambda x: x[0], reverse=True)
    return Want(["site", "participant_id"], pairs, True)


@case(
    "SELECT participant_id, count(*) AS n, sum(count(*)) OVER () AS total, "
    "round(100.0 * count(*) / sum(count(*)) OVER (), 2) AS pct FROM embrace_eda GROUP BY 1"
)
def share_of_total(lake: Lake) -> Want:
    counts = Counter(r["participant_id"] for r in lake.rows("embrace_eda"))
    total = sum(counts.values())
    rows = [
        (p, n, total, dec_div(Decimal("100.0") * n, Decimal(total), 1)) for p, n in counts.items()
    ]
    # 100.0 * bigint / bigint: scale 1 (rounded half up); round(decimal, 2) keeps the value
    return Want(
        ["participant_id", "n", "total", "pct"], rows, types=["varchar", "bigint", "bigint", None]
    )


@case(
    "SELECT year(time) AS y, quarter(time) AS q, month(time) AS m, week(time) AS w, "
    f"day_of_year(time) AS doy, count(*) AS n FROM {LIGHT} GROUP BY 1, 2, 3, 4, 5"
)
def calendar_parts(lake: Lake) -> Want:
    counts = Counter(
        (
            r["time"].year,
            (r["time"].month - 1) // 3 + 1,
            r["time"].month,
            r["time"].isocalendar()[1],
            r["time"].timetuple().tm_yday,
        )
        for r in lake.rows(LIGHT)
    )
    return Want(
        ["y", "q", "m", "w", "doy", "n"], [(*k, n) for k, n in counts.items()], types=["bigint"] * 6
    )


@case(
    "SELECT participant_id, time, answers_0_value_numeric + answers_1_value_numeric AS phq2, "
    "CASE WHEN answers_0_value_numeric + answers_1_value_numeric >= 3 THEN 'positive' "
    f"ELSE 'negative' END AS screen FROM {QUEST} WHERE name = 'phq2'"
)
def phq2_screen(lake: Lake) -> Want:
    rows = []
    for r in lake.where(QUEST, name="phq2"):
        score = r["answers_0_value_numeric"] + r["answers_1_value_numeric"]
        rows.append(
            (r["participant_id"], ms(r["time"]), score, "positive" if score >= 3 else "negative")
        )
    return Want(
        ["participant_id", "time", "phq2", "screen"],
        rows,
        types=["varchar", "timestamp(3)", "double", "varchar(8)"],
    )


@case(
    "SELECT coalesce(text, '(no text)') AS shown, count(*) AS n "
    f"FROM {ACCESS} GROUP BY 1 ORDER BY n DESC, shown"
)
def coalesce_text(lake: Lake) -> Want:
    counts = Counter(r["text"] if r["text"] is not None else "(no text)" for r in lake.rows(ACCESS))
    rows = sorted(counts.items(), key=lambda x: (-x[1], x[0]))
    return Want(["shown", "n"], rows, True, ["varchar", "bigint"])


@case("SELECT device_id, time, x_g FROM embrace_acc ORDER BY x_g DESC LIMIT 5")
def top_five(lake: Lake) -> Want:
    found = sorted(lake.rows("embrace_acc"), key=lambda r: -r["x_g"])[:5]
    assert len({r["x_g"] for r in found}) == 5, "ties: the top five would not be one answer"
    return Want(
        ["device_id", "time", "x_g"],
        [(r["device_id"], ms(r["time"]), r["x_g"]) for r in found],
        True,
    )


@case(
    "SELECT participant_id, count(*) AS n FROM embrace_temp WHERE CAST(time AS date) <> local_date "
    "GROUP BY 1"
)
def utc_vs_local_date(lake: Lake) -> Want:
    counts = Counter(
        r["participant_id"]
        for r in lake.rows("embrace_temp")
        if r["time"].date() != r["local_date"]
    )
    return Want(["participant_id", "n"], list(counts.items()))


@case(
    "SELECT user_id, element_at(histogram(activity), 'Running') AS running_rows, "
    "map_keys(histogram(activity)) IS NOT NULL AS has_keys, "
    "cardinality(histogram(activity)) AS activities FROM mhealth GROUP BY user_id"
)
def activity_map_functions(lake: Lake) -> Want:
    rows = []
    for (u,), v in group(lake.rows("mhealth"), "user_id").items():
        counts = Counter(r["activity"] for r in v)
        rows.append((u, counts.get("Running"), True, len(counts)))
    return Want(
        ["user_id", "running_rows", "has_keys", "activities"],
        rows,
        types=["varchar", "bigint", "boolean", "bigint"],
    )


@case(
    "SELECT participant_id, format_datetime(time AT TIME ZONE 'Europe/London', "
    f"'yyyy-MM-dd HH:mm Z') AS local_stamp FROM {QUEST} WHERE site = 'connect-kcl'"
)
def joda_local_stamp(lake: Lake) -> Want:
    # Joda's Z: the offset without a colon (+0100)
    rows = [
        (r["participant_id"], in_zone(r["time"], "Europe/London").strftime("%Y-%m-%d %H:%M %z"))
        for r in lake.where(QUEST, site="connect-kcl")
    ]
    return Want(["participant_id", "local_stamp"], rows, types=["varchar", "varchar"])


@case(
    "SELECT participant_id, date_diff('day', min(time), max(time)) AS whole_days, "
    f"date_diff('hour', min(time), max(time)) AS hours FROM {LIGHT} GROUP BY 1"
)
def whole_days(lake: Lake) -> Want:
    rows = []
    for (p,), v in group(lake.rows(LIGHT), "participant_id").items():
        lo, hi = min(r["time"] for r in v), max(r["time"] for r in v)
        rows.append((p, date_diff_units(86400, lo, hi), date_diff_units(3600, lo, hi)))
    return Want(
        ["participant_id", "whole_days", "hours"], rows, types=["varchar", "bigint", "bigint"]
    )


@case(
    "SELECT participant_id, CAST(time AT TIME ZONE 'America/New_York' AS timestamp) AS local_wall "
    f"FROM {QUEST} WHERE site = 'connect-mssm' ORDER BY participant_id, local_wall"
)
def local_wall_time(lake: Lake) -> Want:
    # CAST(timestamp with time zone AS timestamp) keeps the zone's wall clock
    found = sorted(
        (r["participant_id"], in_zone(ms(r["time"]), "America/New_York").replace(tzinfo=None))
        for r in lake.where(QUEST, site="connect-mssm")
    )
    return Want(["participant_id", "local_wall"], found, True, ["varchar", "timestamp(3)"])


@case(
    "SELECT panelist, from_unixtime(session_start / 1000, 'Europe/Berlin') AS started "
    "FROM screenlake_sessions"
)
def unixtime_in_zone(lake: Lake) -> Want:
    rows = []
    for r in lake.rows("screenlake_sessions"):
        instant = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=r["session_start"] // 1000)
        rows.append((r["panelist"], tstz(instant, "Europe/Berlin")))
    return Want(["panelist", "started"], rows, types=["varchar", "timestamp(3) with time zone"])


@case(
    "SELECT participant_id, count(*) AS days, stddev(minutes_worn) AS sd_minutes, "
    "avg(percent_worn) AS mean_share FROM embrace_wear_time GROUP BY 1"
)
def single_day_sd(lake: Lake) -> Want:
    rows = []
    for (p,), v in group(lake.rows("embrace_wear_time"), "participant_id").items():
        minutes = [r["minutes_worn"] for r in v]
        share = [r["percent_worn"] for r in v]
        rows.append((p, len(v), sample_sd(minutes), sum(share) / len(share)))
    return Want(["participant_id", "days", "sd_minutes", "mean_share"], rows)


@case(
    f"SELECT sum(lux) AS total, count(*) AS n, avg(lux) AS mean, max(time) AS last FROM {LIGHT} "
    "WHERE lux < 0"
)
def empty_aggregates(lake: Lake) -> Want:
    assert not [r for r in lake.rows(LIGHT) if r["lux"] < 0]
    return Want(
        ["total", "n", "mean", "last"],
        [(None, 0, None, None)],
        types=["double", "bigint", "double", "timestamp(3)"],
    )


@case(
    "SELECT device, round(avg(sqrt(x * x + y * y + z * z)), 6) AS mean_magnitude, "
    f"round(max(abs(x)), 4) AS max_abs_x FROM {ACC} GROUP BY device"
)
def magnitude(lake: Lake) -> Want:
    rows = []
    for (d,), v in group(lake.rows(ACC), "device").items():
        mags = [math.sqrt(r["x"] * r["x"] + r["y"] * r["y"] + r["z"] * r["z"]) for r in v]
        rows.append(
            (d, java_round(sum(mags) / len(mags), 6), java_round(max(abs(r["x"]) for r in v), 4))
        )
    return Want(
        ["device", "mean_magnitude", "max_abs_x"], rows, types=["varchar", "double", "double"]
    )


@case(
    "SELECT id_user, text, cardinality(split(text, ' ')) AS words, split(text, ' ')[1] AS "
    "first_word "
    f"FROM {ACCESS} WHERE text IS NOT NULL AND id_user = 'p002'"
)
def words(lake: Lake) -> Want:
    rows = [
        (r["id_user"], r["text"], len(r["text"].split(" ")), r["text"].split(" ")[0])
        for r in lake.where(ACCESS, id_user="p002")
        if r["text"] is not None
    ]
    return Want(
        ["id_user", "text", "words", "first_word"],
        rows,
        types=["varchar", "varchar", "bigint", "varchar"],
    )


@case(
    "SELECT participant_id, round(answers_0_value_numeric) AS r0, "
    "round(answers_0_value_numeric / 3, 2) AS third, mod(CAST(answers_0_value AS integer), 2) AS "
    "odd "
    f"FROM {QUEST}"
)
def score_rounding(lake: Lake) -> Want:
    rows = [
        (
            r["participant_id"],
            java_round(r["answers_0_value_numeric"]),
            java_round(r["answers_0_value_numeric"] / 3, 2),
            int(r["answers_0_value"]) % 2,
        )
        for r in lake.rows(QUEST)
    ]
    return Want(
        ["participant_id", "r0", "third", "odd"],
        rows,
        types=["varchar", "double", "double", "integer"],
    )


@case(
    "SELECT participant_id, count(*) AS n FROM "
    f"{ACC} WHERE time >= TIMESTAMP '2024-10-19 00:00:00' - INTERVAL '1' DAY "
    "AND time < TIMESTAMP '2024-10-19 00:00:00' + INTERVAL '90' MINUTE GROUP BY 1"
)
def interval_window(lake: Lake) -> Want:
    lo, hi = dt.datetime(2024, 10, 18), dt.datetime(2024, 10, 19, 1, 30)
    counts = Counter(r["participant_id"] for r in lake.rows(ACC) if lo <= ms(r["time"]) < hi)
    return Want(["participant_id", "n"], list(counts.items()), types=["varchar", "bigint"])


@case(
    "SELECT date_trunc('hour', time) + (minute(time) / 15) * INTERVAL '15' MINUTE AS quarter_hour, "
    f"count(*) AS n FROM {ACC} WHERE participant_id = 'mssm-002' AND date = '2024-10-18' "
    "GROUP BY 1 ORDER BY 1"
)
def quarter_hours(lake: Lake) -> Want:
    # bigint * interval day to second is one of Trino's operators (IntervalDayTimeOperators'
    # bigintMultiply, beside multiplyByBigint): Athena runs this query
    counts = Counter(
        r["time"].replace(minute=r["time"].minute // 15 * 15, second=0, microsecond=0)
        for r in lake.where(ACC, participant_id="mssm-002", date="2024-10-18")
    )
    return Want(["quarter_hour", "n"], sorted(counts.items()), True, ["timestamp(3)", "bigint"])


@case(
    "SELECT from_unixtime(floor(to_unixtime(time) / 900) * 900) AS slot, count(*) AS n "
    f"FROM {LIGHT} WHERE participant_id = 'kcl-001' GROUP BY 1"
)
def epoch_slots(lake: Lake) -> Want:
    counts = Counter(
        math.floor(epoch(r["time"]) / 900) * 900
        for r in lake.where(LIGHT, participant_id="kcl-001")
    )
    rows = [
        (Text(f"{ts3(dt.datetime(1970, 1, 1) + dt.timedelta(seconds=s))} UTC"), n)
        for s, n in counts.items()
    ]
    return Want(["slot", "n"], rows, types=["timestamp(3) with time zone", "bigint"])


@case(
    "SELECT participant_id, count(*) AS n FROM "
    f"{QUEST} WHERE time AT TIME ZONE 'UTC' < TIMESTAMP '2024-10-18 20:00:30 Europe/London' "
    "GROUP BY 1"
)
def zoned_literal(lake: Lake) -> Want:
    # 20:00:30 in London (BST, +01:00) is 19:00:30 UTC
    cut = dt.datetime(2024, 10, 18, 19, 0, 30)
    counts = Counter(r["participant_id"] for r in lake.rows(QUEST) if ms(r["time"]) < cut)
    return Want(["participant_id", "n"], list(counts.items()))


@case(
    "SELECT participant_id, count(*) AS n FROM "
    f"{LIGHT} WHERE CAST(date AS date) BETWEEN DATE '2024-10-18' AND DATE '2024-10-19' "
    "AND time > CAST('2024-10-18 12:30' AS timestamp) GROUP BY 1"
)
def date_range(lake: Lake) -> Want:
    lo, hi, after = dt.date(2024, 10, 18), dt.date(2024, 10, 19), dt.datetime(2024, 10, 18, 12, 30)
    counts = Counter(
        r["participant_id"]
        for r in lake.rows(LIGHT)
        if lo <= dt.date.fromisoformat(r["date"]) <= hi and ms(r["time"]) > after
    )
    return Want(["participant_id", "n"], list(counts.items()))


@case(
    "SELECT participant_id, date_format(local_date, '%W %e %M %Y') AS day_label, minutes_worn "
    "FROM embrace_wear_time"
)
def date_labels(lake: Lake) -> Want:
    rows = [
        (
            r["participant_id"],
            f"{r['local_date']:%A} {r['local_date'].day} {r['local_date']:%B %Y}",
            r["minutes_worn"],
        )
        for r in lake.rows("embrace_wear_time")
    ]
    return Want(
        ["participant_id", "day_label", "minutes_worn"],
        rows,
        types=["varchar", "varchar", "double"],
    )


@case(
    "SELECT source, approx_percentile(rows, 0.5) AS median_rows, max(rows) AS most "
    "FROM participant_days WHERE source IN ('screenlake', 'mhealth') GROUP BY source"
)
def median_day_rows(lake: Lake) -> Want:
    rows = []
    for (s,), v in group(lake.rows("participant_days"), "source").items():
        if s in ("screenlake", "mhealth"):
            counts = [r["rows"] for r in v]
            rows.append((s, tdigest_quantile(counts, 0.5), max(counts)))
    return Want(["source", "median_rows", "most"], rows, types=["varchar", "bigint", "bigint"])


@case(f"SELECT participant_id, max(time) - min(time) AS span FROM {LIGHT} GROUP BY 1")
def interval_span(lake: Lake) -> Want:
    # timestamp - timestamp is an interval day to second, shown as 'D HH:MM:SS.mmm'
    rows = []
    for (p,), v in group(lake.rows(LIGHT), "participant_id").items():
        delta = ms(max(r["time"] for r in v)) - ms(min(r["time"] for r in v))
        hours, rest = divmod(delta.seconds, 3600)
        clock = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
        text = f"{delta.days} {clock}.{delta.microseconds // 1000:03d}"
        rows.append((p, Text(text)))
    return Want(["participant_id", "span"], rows, types=["varchar", "interval day to second"])


@case(
    "SELECT participant_id, to_milliseconds(max(time) - min(time)) AS span_ms "
    f"FROM {QUEST} GROUP BY 1"
)
def interval_millis(lake: Lake) -> Want:
    rows = []
    for (p,), v in group(lake.rows(QUEST), "participant_id").items():
        delta = ms(max(r["time"] for r in v)) - ms(min(r["time"] for r in v))
        rows.append((p, round(delta.total_seconds() * 1000)))
    return Want(["participant_id", "span_ms"], rows, types=["varchar", "bigint"])


@case(
    "SELECT participant_id, approx_percentile(minutes_worn, 0.5) AS median_minutes "
    "FROM embrace_wear_time GROUP BY 1"
)
def wear_median(lake: Lake) -> Want:
    rows = [
        (p, tdigest_quantile([r["minutes_worn"] for r in v], 0.5))
        for (p,), v in group(lake.rows("embrace_wear_time"), "participant_id").items()
    ]
    return Want(["participant_id", "median_minutes"], rows, types=["varchar", "double"])


@case(
    "SELECT c.participant_id, c.date, c.rows AS light_rows, count(q.time) AS responses FROM "
    "completeness c LEFT JOIN radar_questionnaire_response q ON q.participant_id = "
    "c.participant_id AND q.date = c.date WHERE c.source = 'radar' AND c.metric = "
    "'sensorkit_ambient_light' GROUP BY 1, 2, 3"
)
def responses_per_light_day(lake: Lake) -> Want:
    answered = Counter((r["participant_id"], r["date"]) for r in lake.rows(QUEST))
    rows = [
        (
            c["participant_id"],
            c["date"],
            c["rows"],
            answered.get((c["participant_id"], c["date"]), 0),
        )
        for c in lake.where("completeness", source="radar", metric="sensorkit_ambient_light")
    ]
    return Want(["participant_id", "date", "light_rows", "responses"], rows)


@case(
    "SELECT participant_id, date, (array_agg(lux ORDER BY lux DESC))[1] AS brightest, "
    "filter(array_agg(lux ORDER BY time), x -> x > 300) AS bright_readings, "
    "transform(array_agg(lux ORDER BY time), x -> round(x / 100)) AS hundreds "
    f"FROM {LIGHT} WHERE participant_id = 'kcl-002' GROUP BY 1, 2"
)
def light_lambdas(lake: Lake) -> Want:
    rows = []
    for (p, d), v in group(
        lake.where(LIGHT, participant_id="kcl-002"), "participant_id", "date"
    ).items():
        by_time = [r["lux"] for r in sorted(v, key=lambda r: r["time"])]
        rows.append(
            (
                p,
                d,
                max(by_time),
                [x for x in by_time if x > 300],
                [java_round(x / 100) for x in by_time],
            )
        )
    return Want(
        ["participant_id", "date", "brightest", "bright_readings", "hundreds"],
        rows,
        types=["varchar", "varchar", "double", "array(double)", "array(double)"],
    )


@case(
    "WITH days AS (SELECT day FROM UNNEST(sequence(DATE '2024-10-16', DATE '2024-10-20', "
    "INTERVAL '1' DAY)) AS t(day)), answered AS (SELECT CAST(date AS date) AS day, count(*) AS n "
    f"FROM {QUEST} WHERE participant_id = 'mssm-002' GROUP BY 1) "
    "SELECT d.day, COALESCE(a.n, 0) AS responses FROM days d LEFT JOIN answered a "
    "ON a.day = d.day ORDER BY d.day"
)
def date_spine(lake: Lake) -> Want:
    answered = Counter(
        dt.date.fromisoformat(r["date"]) for r in lake.where(QUEST, participant_id="mssm-002")
    )
    days = [dt.date(2024, 10, 16) + dt.timedelta(days=i) for i in range(5)]
    return Want(
        ["day", "responses"], [(d, answered.get(d, 0)) for d in days], True, ["date", "bigint"]
    )


@case(
    "SELECT regexp_extract(source_key, '/([0-9]{8})_([0-9]{2})00', 1) AS file_day, "
    "CAST(regexp_extract(source_key, '/([0-9]{8})_([0-9]{2})00', 2) AS integer) AS file_hour, "
    f"count(*) AS n FROM {LIGHT} GROUP BY 1, 2"
)
def file_hours(lake: Lake) -> Want:
    import re

    counts: Counter = Counter()
    for r in lake.rows(LIGHT):
        m = re.search(r"/([0-9]{8})_([0-9]{2})00", r["source_key"])
        counts[(m.group(1), int(m.group(2))) if m else (None, None)] += 1
    return Want(
        ["file_day", "file_hour", "n"],
        [(*k, n) for k, n in counts.items()],
        types=["varchar", "integer", "bigint"],
    )


@case(
    "WITH t AS (SELECT participant_id, sum(rows) AS total FROM participant_days GROUP BY 1) "
    "SELECT participant_id, total, row_number() OVER (ORDER BY total DESC, participant_id) "
    "AS place FROM t ORDER BY place LIMIT 5"
)
def busiest_participants(lake: Lake) -> Want:
    totals = Counter()
    for r in lake.rows("participant_days"):
        totals[r["participant_id"]] += r["rows"]
    ranked = sorted(totals.items(), key=lambda x: (-x[1], x[0]))[:5]
    return Want(
        ["participant_id", "total", "place"],
        [(p, t, i + 1) for i, (p, t) in enumerate(ranked)],
        True,
        ["varchar", "bigint", "bigint"],
    )


@case(
    "SELECT id_user, timestamp, date_format(timestamp, '%h:%i:%s %p') AS clock12, "
    "date_format(timestamp, '%f') AS fraction, to_iso8601(timestamp) AS iso "
    f"FROM {ACCESS} WHERE id_user = 'p001' ORDER BY timestamp"
)
def clock_formats(lake: Lake) -> Want:
    # %f prints 6 digits of a millisecond timestamp (datetime.md: 000000 .. 999000)
    found = sorted(lake.where(ACCESS, id_user="p001"), key=lambda r: r["timestamp"])
    rows = []
    for r in found:
        t = ms(r["timestamp"])
        rows.append(
            (
                r["id_user"],
                t,
                t.strftime("%I:%M:%S %p"),
                f"{t.microsecond:06d}",
                t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}",
            )
        )
    return Want(
        ["id_user", "timestamp", "clock12", "fraction", "iso"],
        rows,
        True,
        ["varchar", "timestamp(3)", "varchar", "varchar", "varchar"],
    )


@case(
    "SELECT text, length(text) AS chars, substr(text, 18, 2) AS unit, reverse(substr(text, 1, 7)) "
    f"AS backwards FROM {ACCESS} WHERE text LIKE 'Weather%' AND id_user = 'p002'"
)
def unicode_text(lake: Lake) -> Want:
    rows = [
        (r["text"], len(r["text"]), r["text"][17:19], r["text"][:7][::-1])
        for r in lake.where(ACCESS, id_user="p002")
        if r["text"] is not None and r["text"].startswith("Weather")
    ]
    return Want(
        ["text", "chars", "unit", "backwards"],
        rows,
        types=["varchar", "bigint", "varchar", "varchar"],
    )


# ---------------------------------------------------------------------------------------------
# Comparison


@dataclass
class Outcome:
    name: str
    sql: str
    status: str  # match | refused | DIFFERENT
    detail: str = ""
    expected: Any = None
    got: Any = None


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def _same(want: Any, got: Any, kind: str, text: Callable[[Any, str], str]) -> bool:
    if isinstance(want, Text):
        return got is not None and text(got, kind) == str(want)
    if want is None or got is None:
        return want is None and got is None
    if isinstance(want, bool) or isinstance(got, bool):
        return type(want) is type(got) and want == got
    if isinstance(want, float) or isinstance(got, float):
        return (
            isinstance(got, float | int)
            and isinstance(want, float | int)
            and _close(float(want), float(got))
        )
    if isinstance(want, Decimal):
        return isinstance(got, Decimal) and want == got
    if isinstance(want, dict):
        pairs = dict(got) if isinstance(got, list) else got
        inner = kind[kind.index(",") + 1 : -1].strip() if kind.startswith("map(") else ""
        return (
            isinstance(pairs, dict)
            and set(pairs) == set(want)
            and all(_same(want[k], pairs[k], inner, text) for k in want)
        )
    if isinstance(want, list):
        inner = kind[len("array(") : -1] if kind.startswith("array(") else ""
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(_same(w, g, inner, text) for w, g in zip(want, got, strict=True))
        )
    if isinstance(want, dt.datetime) and isinstance(got, dt.datetime):
        return got.tzinfo is None and want == got
    return type(want) is type(got) and want == got


def _sort_key(value: Any) -> str:
    if isinstance(value, float):
        return f"f{value:.9g}"
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return "t" + value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return f"d{value.normalize()}"
    if isinstance(value, dict):
        return repr(sorted((repr(k), _sort_key(v)) for k, v in value.items()))
    if isinstance(value, list) and value and isinstance(value[0], tuple):
        return _sort_key(dict(value))
    if isinstance(value, list):
        return repr([_sort_key(v) for v in value])
    return f"{type(value).__name__}:{value}"


def compare(want: Want, table: Any, text: Callable[[Any, str], str]) -> str:
    """'' when the engine's table is the expected answer, else what differs ('; ' between)."""
    names = table.column_names
    kinds = [(f.metadata or {}).get(b"trino_type", b"").decode() for f in table.schema]
    problems = []
    if want.columns is not None and names != want.columns:
        return f"columns {names} != {want.columns}"
    for name, kind, expected in zip(names, kinds, want.types or [], strict=False):
        if expected is not None and kind.replace(" ", "") != expected.replace(" ", ""):
            problems.append(f"column {name} is {kind}, Athena's is {expected}")
    got = [tuple(r[n] for n in names) for r in table.to_pylist()] if names else []
    if want.columns is None:  # SHOW output: values without their padding
        got = [tuple(v.strip() if isinstance(v, str) else v for v in r) for r in got]
    if len(got) != len(want.rows):
        return "; ".join([*problems, f"{len(got)} rows, Athena's answer has {len(want.rows)}"])
    expected = list(want.rows)
    if not want.ordered:
        # a column given as Athena's text sorts by that text on both sides
        texts = {i for r in want.rows for i, v in enumerate(r) if isinstance(v, Text)}
        expected.sort(key=lambda r: [str(v) if isinstance(v, Text) else _sort_key(v) for v in r])
        got.sort(
            key=lambda r: [
                text(v, kinds[i]) if i in texts and v is not None else _sort_key(v)
                for i, v in enumerate(r)
            ]
        )
    for index, (w, g) in enumerate(zip(expected, got, strict=True)):
        if len(w) != len(g) or not all(
            _same(a, b, k, text) for a, b, k in zip(w, g, kinds, strict=False)
        ):
            problems.append(f"row {index}: expected {w!r}, got {g!r}")
            break
    return "; ".join(problems)


def run_all(home: Path) -> list[Outcome]:
    from phenolake_tools import query

    lake = Lake(home)
    outcomes = []
    for item in CASES:
        sql = item.sql(lake)
        want = item.expect(lake)
        try:
            table = query.query_local(sql, home)
        except query.Unsupported as refused:
            outcomes.append(Outcome(item.name, sql, "refused", str(refused)))
            continue
        except query.QueryError as error:
            outcomes.append(Outcome(item.name, sql, "DIFFERENT", f"error: {error}", want.rows[:3]))
            continue
        detail = compare(want, table, query.trino_text)
        outcomes.append(Outcome(item.name, sql, "DIFFERENT" if detail else "match", detail))
    return outcomes


def report(outcomes: list[Outcome]) -> str:
    counts = Counter(o.status for o in outcomes)
    lines = [
        f"{len(outcomes)} held-out queries: {counts['match']} match, {counts['refused']} refused, "
        f"{counts['DIFFERENT']} different"
    ]
    lines += [f"  {o.status:9} {o.name}" for o in outcomes]
    for o in outcomes:
        if o.status != "match":
            lines += ["", f"[{o.status}] {o.name}", f"  SQL: {o.sql}", f"  {o.detail}"]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The test


@pytest.fixture(scope="module")
def lake_home(tmp_path_factory: pytest.TempPathFactory, spark: object) -> Path:
    """The sample lake as `make run` builds it: every bundled source's samples, one run."""
    from phenolake_local import runner

    home = tmp_path_factory.mktemp("heldout-home")
    result = runner.run(runner.RunOptions(home=home))
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return home


def test_held_out_research_queries_give_athenas_answers(lake_home: Path) -> None:
    outcomes = run_all(lake_home)
    text = report(outcomes)
    print(text)
    assert len(outcomes) >= 60
    different = [o for o in outcomes if o.status == "DIFFERENT"]
    refused = [o for o in outcomes if o.status == "refused"]
    assert all("\n" not in o.detail for o in refused), "a refusal is one line"
    assert not different, text
    assert len(refused) <= MAX_REFUSED_SHARE * len(outcomes), text


def _main(argv: list[str]) -> int:
    """Build the sample lake (or reuse ``--home DIR``'s) and print the outcomes."""
    import tempfile

    if "--home" in argv:
        home = Path(argv[argv.index("--home") + 1])
    else:
        home = Path(tempfile.mkdtemp(prefix="heldout-home-"))
    if not (home / ".state" / "glue-catalog.json").exists():
        from phenolake_local import glue_local, runner

        glue_local.WORKER.warm()
        try:
            result = runner.run(runner.RunOptions(home=home))
        finally:
            glue_local.WORKER.stop()
        if result.status != "SUCCEEDED":
            print(f"the sample run failed: {result.error} {result.cause}")
            return 1
    outcomes = run_all(home)
    print(report(outcomes))
    return 0 if not any(o.status == "DIFFERENT" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
