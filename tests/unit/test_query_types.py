"""Result types and values that Athena (Trino) gives and DuckDB would not by itself: decimal
literals, bigint aggregates, interval arithmetic and interval results. Each expected answer is
from the Trino documentation or the Trino operator it names."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from phenolake_tools import query
from phenolake_tools.query import QueryError


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("types-home")


def run(sql: str, home: Path) -> pa.Table:
    return query.query_local(sql, home)


def kinds(table: pa.Table) -> list[str]:
    return [(f.metadata or {})[b"trino_type"].decode() for f in table.schema]


def first(table: pa.Table) -> tuple[Any, ...]:
    return tuple(table.column(i)[0].as_py() for i in range(table.num_columns))


def csv_row(table: pa.Table) -> str:
    return query.format_table(table, "csv").splitlines()[1]


# decimal.md, "Decimal literals": DECIMAL 'xxxxxxx.yyyyyyy' has precision x + y digits and
# scale y (Decimals.parse: leading zeros do not count; at least one digit)


@pytest.mark.parametrize(
    ("literal", "kind", "value"),
    [
        ("DECIMAL '86.4'", "decimal(3,1)", Decimal("86.4")),
        ("DECIMAL '0.1'", "decimal(1,1)", Decimal("0.1")),
        ("DECIMAL '-12.345'", "decimal(5,3)", Decimal("-12.345")),
        ("DECIMAL '1'", "decimal(1,0)", Decimal("1")),
        ("DECIMAL '007.50'", "decimal(3,2)", Decimal("7.50")),
        ("DECIMAL '.5'", "decimal(1,1)", Decimal("0.5")),
    ],
)
def test_a_decimal_literal_has_its_own_precision_and_scale(
    literal: str, kind: str, value: Decimal, home: Path
) -> None:
    table = run(f"SELECT {literal} AS d", home)
    assert kinds(table) == [kind]
    assert first(table) == (value,)


def test_a_cast_to_bare_decimal_is_still_decimal_38_0(home: Path) -> None:
    # DECIMAL without parameters is decimal(38,0) (decimal.md); the cast rounds half up
    table = run("SELECT CAST('86.5' AS DECIMAL) AS d", home)
    assert kinds(table) == ["decimal(38,0)"]
    assert first(table) == (Decimal("87"),)


def test_decimal_division_by_a_decimal_literal(home: Path) -> None:
    # decimal(12,0) / decimal(3,1): precision 12 + 1 + max(0, 1 - 0) = 14, scale
    # max(0, 1) = 1, rounded half up (decimal.md, "Arithmetic operators"): 1500 / 86.4
    # = 17.36... -> 17.4
    table = run("SELECT CAST(1500 AS decimal(12, 0)) / DECIMAL '86.4' AS d", home)
    assert kinds(table) == ["decimal(14,1)"]
    assert first(table) == (Decimal("17.4"),)


def test_an_invalid_decimal_literal_is_an_error(home: Path) -> None:
    with pytest.raises(QueryError, match="Invalid decimal literal"):
        run("SELECT DECIMAL '1e5'", home)


# aggregate.md: count_if(x) -> bigint; count, sum of integers are bigint too


def test_count_if_is_a_bigint_column(home: Path) -> None:
    table = run(
        "SELECT count_if(x > 1) AS n, count(DISTINCT x) AS d, sum(x) AS s, "
        "count_if(x > 1) OVER () AS w FROM (VALUES 1, 2, 3, 3) AS t(x) GROUP BY x",
        home,
    )
    assert kinds(table) == ["bigint"] * 4
    assert [f.type for f in table.schema] == [pa.int64()] * 4


def test_count_if_prints_as_a_number_in_json(home: Path) -> None:
    table = run("SELECT count_if(x > 1) AS n FROM (VALUES 1, 2, 3) AS t(x)", home)
    assert json.loads(query.format_table(table, "json")) == [{"n": 2}]


# IntervalDayTimeOperators: interval day to second * bigint, bigint * interval, * double and
# / double (truncated toward zero, Java's (long)); an integer coerces to bigint


def test_a_bigint_times_an_interval_shifts_a_timestamp(home: Path) -> None:
    table = run(
        "SELECT date_trunc('hour', t) + (minute(t) / 15) * INTERVAL '15' MINUTE AS slot "
        "FROM (VALUES TIMESTAMP '2024-10-18 10:47:12.345') AS v(t)",
        home,
    )
    assert kinds(table) == ["timestamp(3)"]
    assert first(table) == (dt.datetime(2024, 10, 18, 10, 45),)


@pytest.mark.parametrize(
    ("sql", "text"),
    [
        ("3 * INTERVAL '15' MINUTE", "0 00:45:00.000"),
        ("INTERVAL '15' MINUTE * 2.5", "0 00:37:30.000"),
        ("INTERVAL '15' MINUTE / 4", "0 00:03:45.000"),
        ("INTERVAL '1' SECOND / 3", "0 00:00:00.333"),
        ("INTERVAL '-1' SECOND / 3", "-0 00:00:00.333"),
        ("INTERVAL '2' DAY * 3", "6 00:00:00.000"),
    ],
)
def test_an_interval_scaled_by_a_number(sql: str, text: str, home: Path) -> None:
    table = run(f"SELECT {sql} AS i", home)
    assert kinds(table) == ["interval day to second"]
    assert csv_row(table) == text


def test_an_interval_divided_by_zero_is_trinos_error(home: Path) -> None:
    with pytest.raises(QueryError, match=r"Cannot divide by double 0\.0"):
        run("SELECT INTERVAL '1' SECOND / 0", home)


def test_a_timestamp_plus_an_interval_has_at_least_millisecond_precision(home: Path) -> None:
    # TimestampPlusIntervalDayToSecond: timestamp(p) -> timestamp(max(3, p))
    table = run("SELECT TIMESTAMP '2024-10-18 10:47:00' + INTERVAL '1' HOUR AS t", home)
    assert kinds(table) == ["timestamp(3)"]
    assert csv_row(table) == "2024-10-18 11:47:00.000"


def test_a_date_takes_an_interval_of_whole_days_in_hours(home: Path) -> None:
    # DateTimeOperators: a date plus a day-to-second interval of whole days
    assert first(run("SELECT DATE '2024-01-01' + INTERVAL '48' HOUR AS d", home)) == (
        dt.date(2024, 1, 3),
    )
    with pytest.raises(QueryError, match="Cannot add hour, minutes or seconds to a date"):
        run("SELECT DATE '2024-01-01' + INTERVAL '3' HOUR", home)


# datetime.md, "Interval functions" and the operator table: interval results print as
# 'D HH:MM:SS.mmm' and 'Y-M' (IntervalDayTime.formatMillis, IntervalYearMonth.formatMonths)


@pytest.mark.parametrize(
    ("sql", "kind", "text"),
    [
        ("interval '2' day + interval '3' hour", "interval day to second", "2 03:00:00.000"),
        ("interval '2' day - interval '3' hour", "interval day to second", "1 21:00:00.000"),
        ("interval '25' hour", "interval day to second", "1 01:00:00.000"),
        ("interval '3' year + interval '5' month", "interval year to month", "3-5"),
        ("interval '3' year - interval '5' month", "interval year to month", "2-7"),
    ],
)
def test_interval_results_print_as_athena_shows_them(
    sql: str, kind: str, text: str, home: Path
) -> None:
    table = run(f"SELECT {sql} AS i", home)
    assert kinds(table) == [kind]
    assert csv_row(table) == text
    assert json.loads(query.format_table(table, "json")) == [{"i": text}]


def test_timestamp_minus_timestamp_is_an_interval_day_to_second(home: Path) -> None:
    table = run(
        "SELECT max(t) - min(t) AS span, to_milliseconds(max(t) - min(t)) AS ms FROM (VALUES "
        "TIMESTAMP '2024-10-18 10:00:00.123', TIMESTAMP '2024-10-19 12:30:00.000') AS v(t)",
        home,
    )
    assert kinds(table) == ["interval day to second", "bigint"]
    assert first(table) == (
        dt.timedelta(days=1, hours=2, minutes=29, seconds=59, milliseconds=877),
        95399877,
    )
    assert csv_row(table) == "1 02:29:59.877,95399877"


def test_a_negative_difference_of_microsecond_timestamps_rounds_half_up(home: Path) -> None:
    # TimestampMinusTimestamp: microseconds apart rounded half up to milliseconds
    table = run(
        "SELECT TIMESTAMP '2024-10-18 10:00:00.0005' - TIMESTAMP '2024-10-18 10:00:00' AS a, "
        "TIMESTAMP '2024-10-18 10:00:00' - TIMESTAMP '2024-10-18 10:00:00.0005' AS b, "
        "TIMESTAMP '2024-10-18 10:00:00' - TIMESTAMP '2024-10-18 10:00:00.0015' AS c",
        home,
    )
    assert csv_row(table) == "0 00:00:00.001,0 00:00:00.000,-0 00:00:00.001"


def test_to_milliseconds_takes_only_a_day_to_second_interval(home: Path) -> None:
    with pytest.raises(QueryError, match="to_milliseconds"):
        run("SELECT to_milliseconds(interval '1' month)", home)


# select.md, "Complex grouping operations": ROLLUP, CUBE and GROUPING SETS; a column left out
# of a row's grouping set is NULL there; aggregate.md: grouping() sets the bit of each argument
# left out, the first argument the highest bit

GROUPED = "(VALUES ('a', 'x', 1), ('a', 'y', 2), ('b', 'x', 3)) AS t(s, p, n)"


def csv_rows(table: pa.Table) -> list[str]:
    return query.format_table(table, "csv").splitlines()[1:]


def test_rollup_adds_the_subtotals_and_the_total(home: Path) -> None:
    table = run(
        f"SELECT s, p, sum(n) AS total, grouping(s, p) AS g FROM {GROUPED} "
        "GROUP BY ROLLUP (s, p) ORDER BY g, s, p",
        home,
    )
    assert kinds(table) == ["varchar(1)", "varchar(1)", "bigint", "integer"]
    assert csv_rows(table) == [
        "a,x,1,0",
        "a,y,2,0",
        "b,x,3,0",
        "a,,3,1",
        "b,,3,1",
        ",,6,3",
    ]


def test_grouping_sets_group_by_each_set(home: Path) -> None:
    table = run(
        f"SELECT s, p, count(*) AS c FROM {GROUPED} "
        "GROUP BY GROUPING SETS ((s), (s, p), ()) ORDER BY s, p",
        home,
    )
    assert csv_rows(table) == ["a,x,1", "a,y,1", "a,,2", "b,x,1", "b,,1", ",,3"]


def test_cube_groups_by_every_subset(home: Path) -> None:
    table = run(f"SELECT s, p, count(*) AS c FROM {GROUPED} GROUP BY CUBE (s, p)", home)
    assert sorted(csv_rows(table)) == sorted(
        ["a,x,1", "a,y,1", "b,x,1", "a,,2", "b,,1", ",x,2", ",y,1", ",,3"]
    )


def test_a_plain_key_beside_a_rollup(home: Path) -> None:
    table = run(
        f"SELECT s, p, count(*) AS c FROM {GROUPED} GROUP BY s, ROLLUP (p) ORDER BY s, p", home
    )
    assert csv_rows(table) == ["a,x,1", "a,y,1", "a,,2", "b,x,1", "b,,1"]


# aggregate.md, array_agg(x ORDER BY y); with DISTINCT the ORDER BY keys are the argument


def test_array_agg_distinct_in_order(home: Path) -> None:
    table = run(
        "SELECT array_agg(DISTINCT p ORDER BY p DESC) AS ps, "
        "cardinality(array_agg(DISTINCT p)) AS c FROM "
        "(VALUES 'x', 'y', 'x', NULL, NULL) AS t(p)",
        home,
    )
    assert kinds(table) == ["array(varchar(1))", "bigint"]
    assert first(table) == (["y", "x", None], 3)


def test_array_agg_distinct_ordered_by_another_column_is_trinos_error(home: Path) -> None:
    with pytest.raises(QueryError, match="ORDER BY expressions must appear in arguments"):
        run(f"SELECT array_agg(DISTINCT p ORDER BY n) FROM {GROUPED}", home)


def test_an_interval_inside_an_array_is_refused(home: Path) -> None:
    with pytest.raises(query.Unsupported, match="interval inside"):
        run("SELECT ARRAY[INTERVAL '1' DAY] AS a", home)


def test_sums_and_negations_of_intervals(home: Path) -> None:
    table = run(
        "SELECT sum(t - TIMESTAMP '2024-10-18 00:00:00') AS total, -INTERVAL '1' DAY AS back, "
        "DATE '2024-01-05' + -INTERVAL '1' DAY AS day_before FROM (VALUES "
        "TIMESTAMP '2024-10-18 10:00:00.123', TIMESTAMP '2024-10-19 12:30:00.000') AS v(t)",
        home,
    )
    assert csv_row(table) == "1 22:30:00.123,-1 00:00:00.000,2024-01-04"


@pytest.mark.parametrize(
    "sql",
    [
        "DATE '2024-01-02' - DATE '2024-01-01'",
        "TIMESTAMP '2024-01-02 00:00:00' - DATE '2024-01-01'",
        "interval '3' month * 2",
    ],
)
def test_operators_whose_coercions_are_not_reproduced_are_refused(sql: str, home: Path) -> None:
    with pytest.raises(query.Unsupported):
        run(f"SELECT {sql}", home)


@pytest.mark.parametrize(
    ("sql", "text"),
    [
        ("interval '2' day - interval '3' hour", "1 21:00:00.000"),
        ("INTERVAL '-1' SECOND / 3", "-0 00:00:00.333"),
        ("interval '3' year - interval '5' month", "2-7"),
        ("interval '5' month - interval '3' year", "-2-7"),
    ],
)
def test_an_interval_cast_to_varchar_is_its_text(sql: str, text: str, home: Path) -> None:
    # IntervalDayTimeOperators.castToSlice: formatMillis; year to month: formatMonths
    table = run(f"SELECT CAST({sql} AS varchar) AS t", home)
    assert kinds(table) == ["varchar"]
    assert first(table) == (text,)


def test_a_difference_of_instants_rounds_the_sub_millisecond_parts(home: Path) -> None:
    # TimestampWithTimeZoneOperators.TimestampMinusTimestamp: epoch milliseconds apart, one
    # more (less) when the fractions of a millisecond differ by half a millisecond or more
    table = run(
        "SELECT TIMESTAMP '2024-10-18 10:00:00.0004 UTC' - TIMESTAMP '2024-10-18 10:00:00.0009 UTC'"
        " AS a, TIMESTAMP '2024-10-18 10:00:00 Europe/London' - TIMESTAMP '2024-10-18 10:00:00'"
        " AS b",
        home,
    )
    assert csv_row(table) == "-0 00:00:00.001,-0 01:00:00.000"
