"""The converter toolkit: the rejection report and the file rule, the time-range rule around
a converter, the numeric-cell grammar (against Arrow, Python and decimal_text), provenance
columns and day splitting."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyarrow import csv

from phenolake import decimal_text
from phenolake.sources import toolkit
from phenolake.sources.base import DayBatch, Member, Provenance, RejectedFile, SideTable, Source
from phenolake.sources.toolkit import RejectionReport

PROV = Provenance(source_key="raw/x/k.csv", source_sha256="ef" * 32, run_id="r9")
MEMBER = Member(source="fake", participant="p1", metric="m")

# --- the report and the file rule ------------------------------------------------------------


def test_counts_are_exact_and_examples_capped() -> None:
    report = RejectionReport()
    for line in range(1, 9):
        report.add("bad", [toolkit.line_example(line, "x" * 500)])
    report.add("other", rows=3)
    assert report.bad == 11
    [bad, other] = report.rejections()
    assert (bad.rows, len(bad.examples)) == (8, toolkit.MAX_EXAMPLES)
    assert bad.examples[0] == f"line 1: {'x' * toolkit.EXAMPLE_CHARS!r}"
    assert (other.rows, other.examples) == (3, [])
    assert report.summary() == f"bad: 8 (first: {bad.examples[0]}); other: 3"


def test_merge_adds_counts_and_keeps_the_first_examples() -> None:
    first, second = RejectionReport(seen=4), RejectionReport(seen=6)
    first.add("a", ["1", "2", "3"], rows=3)
    second.add("a", ["4", "5", "6"], rows=3)
    second.add("b", ["7"])
    first.merge(second)
    assert first.seen == 10
    assert [(r.reason, r.rows, r.examples) for r in first.rejections()] == [
        ("a", 6, ["1", "2", "3", "4", "5"]),
        ("b", 1, ["7"]),
    ]


@given(seen=st.integers(0, 200), bad=st.integers(0, 200))
def test_the_file_rule(seen: int, bad: int) -> None:
    """Rejected exactly when nothing is good or more than half is bad; never without a count."""
    bad = min(bad, seen)
    report = RejectionReport(seen=seen)
    if bad:
        report.add("broken", ["line 1: 'x'"], rows=bad)
    RejectionReport(seen=seen, by_reason=report.by_reason).judge()  # not counted: no rule
    report.judge_by("line")
    if seen and bad == seen:
        with pytest.raises(RejectedFile, match=rf"^no valid rows in {seen} line\(s\): broken"):
            report.judge()
    elif bad > seen * toolkit.MAX_BAD_FRACTION:
        with pytest.raises(RejectedFile, match=rf"^most lines are bad \({bad} of {seen}\): "):
            report.judge()
    else:
        report.judge()


# --- the rules around a converter -------------------------------------------------------------


def times_batch(day: str, *times: dt.datetime | None) -> DayBatch:
    column = pa.array(times, pa.timestamp("us", "UTC"))
    return DayBatch(day, pa.table({"time": column, "n": pa.array(range(len(times)))}))


def test_rows_out_of_the_time_range_are_dropped_and_reported() -> None:
    report = RejectionReport()
    early = dt.datetime(1999, 12, 31, 23, 59, tzinfo=dt.UTC)
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    good = dt.datetime(2024, 10, 17, tzinfo=dt.UTC)
    batch = times_batch("2024-10-17", early, good, None, ahead)
    kept = toolkit.in_time_range(batch, "time", report)
    assert kept is not None and kept.table["n"].to_pylist() == [1, 2]  # a null is not a time
    [rejection] = report.rejections()
    assert (rejection.reason, rejection.rows) == (toolkit.OUT_OF_RANGE, 2)
    assert rejection.examples[0] == f"time {early}"
    assert toolkit.in_time_range(times_batch("1999-12-31", early), "time", report) is None
    assert toolkit.in_time_range(batch, None, report) is batch  # a source without a clock
    assert report.rejections()[0].rows == 3


class Fake(Source):
    """A converter that yields what it is given and reports ``bad`` of ``seen`` rows."""

    name = "fake"
    tables = ("fake",)
    time_column = "time"

    def __init__(self, batches: list[DayBatch | SideTable], seen: int, bad: int) -> None:
        self.batches, self.seen, self.bad = batches, seen, bad
        self.closed = False

    def recognise(self, relative_path: str) -> bool:
        return True

    def member(self, raw_path: str) -> Member | None:
        return MEMBER

    def convert(
        self, stream: BinaryIO, member: Member, provenance: Provenance, report: RejectionReport
    ) -> Iterator[DayBatch | SideTable]:
        report.judge_by("row")
        try:
            yield from self.batches
            report.seen += self.seen
            if self.bad:
                report.add("unreadable", rows=self.bad)
        finally:
            self.closed = True

    def write_samples(self, out_dir: Path, seed: int) -> list[Path]:
        return []


GOOD = dt.datetime(2024, 10, 17, 12, tzinfo=dt.UTC)
EARLY = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)


def test_convert_applies_the_time_range_and_then_the_file_rule() -> None:
    side = SideTable("counts", pa.table({"n": [1]}))
    batches = [times_batch("1990-01-01", EARLY, EARLY, EARLY), times_batch("2024-10-17", GOOD)]
    # 3 of 4 rows out of range and 1 row of 3 unreadable: the file rule weighs only the latter
    source = Fake([*batches, side], seen=3, bad=1)
    report = RejectionReport()
    out = list(toolkit.convert(source, io.BytesIO(), MEMBER, PROV, report))
    assert [type(b).__name__ for b in out] == ["DayBatch", "SideTable"]
    assert [(r.reason, r.rows) for r in report.rejections()] == [
        ("unreadable", 1),
        (toolkit.OUT_OF_RANGE, 3),
    ]
    mostly_bad = Fake(batches, seen=3, bad=2)
    got = toolkit.convert(mostly_bad, io.BytesIO(), MEMBER, PROV, RejectionReport())
    assert next(got).day == "2024-10-17"  # batches come first; the verdict when it is read
    with pytest.raises(RejectedFile, match=r"most rows are bad \(2 of 3\): unreadable: 2"):
        next(got)


def test_closing_the_conversion_early_closes_the_converter() -> None:
    source = Fake([times_batch("2024-10-17", GOOD)] * 3, seen=3, bad=0)
    got = toolkit.convert(source, io.BytesIO(), MEMBER, PROV, RejectionReport())
    next(got)
    got.close()
    assert source.closed


# --- numeric cells ----------------------------------------------------------------------------

CELL = st.one_of(
    st.text(alphabet="0123456789+-.eE \tnaifx", max_size=8),
    st.floats(allow_nan=False).map(repr),
    st.sampled_from(["1", " -9.8184", "1.5 ", "+.5", "5.", "1E+05", ".e5", "1e400", "", "."]),
)


def arrow_reads(cell: str) -> float | None:
    """The float Arrow's CSV reader makes of the cell, or None when it refuses it."""
    try:
        table = csv.read_csv(
            io.BytesIO(f"{cell},0\n".encode()),
            read_options=csv.ReadOptions(column_names=["x", "y"]),
            parse_options=csv.ParseOptions(quote_char=False, ignore_empty_lines=False),
            convert_options=csv.ConvertOptions(
                column_types={"x": pa.float64(), "y": pa.float64()}, null_values=[]
            ),
        )
    except pa.ArrowInvalid:
        return None
    return table["x"][0].as_py()


@settings(max_examples=300, deadline=None)
@given(st.lists(CELL, min_size=1, max_size=20))
def test_a_number_is_what_arrow_and_python_read_as_one(cells: list[str]) -> None:
    read = toolkit.numbers(pa.array(cells, pa.string()))
    for cell, is_number, value in zip(
        cells, read.is_number.to_pylist(), read.values.to_pylist(), strict=True
    ):
        arrow = arrow_reads(cell)
        if is_number:
            assert arrow is not None and value == arrow == float(cell.strip(" \t")), cell
        else:
            assert value is None
            assert arrow is None or not np.isfinite(arrow), cell  # refused, or nan / inf


@settings(max_examples=300, deadline=None)
@given(st.lists(CELL, min_size=1, max_size=10))
def test_binary_cells_read_alike(cells: list[str]) -> None:
    as_text = toolkit.numbers(pa.array(cells, pa.string()))
    as_bytes = toolkit.numbers(pa.array([c.encode() for c in cells], pa.binary()))
    assert as_bytes.is_number.equals(as_text.is_number)
    assert as_bytes.values.equals(as_text.values)


@settings(max_examples=300, deadline=None)
@given(CELL)
def test_decimal_text_reads_only_numbers_and_alike(cell: str) -> None:
    """MHEALTH's fast parser takes a subset of the grammar (no blanks, exact values only)."""
    parsed = decimal_text.parse((cell + "\n").encode(), 1)
    if parsed is None:
        return
    [value] = parsed[0].to_pylist()
    read = toolkit.numbers(pa.array([cell]))
    assert read.is_number.to_pylist() == [True] and read.trimmed.to_pylist() == [cell]
    assert read.values.to_pylist() == [value]


def test_nulls_and_chunked_columns() -> None:
    read = toolkit.numbers(pa.chunked_array([["1.5", None], ["x", " 2 "]]))
    assert read.values.to_pylist() == [1.5, None, None, 2.0]
    assert read.is_number.to_pylist() == [True, False, False, True]


# --- provenance and days ----------------------------------------------------------------------


def test_provenance_columns_as_strings_or_dictionaries() -> None:
    plain = toolkit.provenance_columns(PROV, 3)
    assert list(plain) == [f.name for f in toolkit.PROVENANCE_FIELDS]
    assert plain["run_id"].to_pylist() == ["r9"] * 3
    encoded = toolkit.provenance_columns(PROV, 3, dictionary=True)
    assert encoded["source_key"].type == pa.dictionary(pa.int32(), pa.string())
    assert encoded["source_key"].cast(pa.string()).equals(plain["source_key"])
    assert toolkit.provenance_row(PROV) == {
        "source_key": "raw/x/k.csv",
        "source_sha256": "ef" * 32,
        "run_id": "r9",
    }


def test_constant_columns_are_built_once_and_sliced() -> None:
    constants = toolkit.ConstantColumns({"user_id": "7", **toolkit.provenance_row(PROV)})
    small, large = constants.columns(10), constants.columns(100)
    assert small["user_id"].to_pylist() == ["7"] * 10
    assert (
        large["source_sha256"].buffers()[2].address == small["source_sha256"].buffers()[2].address
    )
    assert len(constants.columns(200_000)["run_id"]) == 200_000
    with pytest.raises(ValueError, match="constant column too large"):
        toolkit.constant_column("x" * 1024, 2_100_000)


def test_utc_days_floor_before_1970_and_read_every_unit() -> None:
    assert toolkit.utc_days(np.array([-1, 0, 86_399_999, 86_400_000]), "ms").tolist() == [
        -1,
        0,
        0,
        1,
    ]
    stamps = pa.array([GOOD], pa.timestamp("us", "UTC"))
    assert toolkit.day_name(toolkit.utc_days(stamps, "us")[0]) == "2024-10-17"
    assert toolkit.utc_days([86_400], "s").tolist() == [1]


@given(st.lists(st.integers(-3, 3), max_size=40))
def test_split_by_day_groups_rows_by_day_in_order(days: list[int]) -> None:
    table = pa.table({"row": pa.array(range(len(days)), pa.int64())})
    first = dt.date(2024, 10, 17)
    batches = toolkit.split_by_day(table, np.array(days, dtype=np.int64), first)
    expected = sorted(range(len(days)), key=lambda row: days[row])  # stable: rows keep order
    assert [row for b in batches for row in b.table["row"].to_pylist()] == expected
    names = [b.day for b in batches]
    assert names == sorted(set(names))
    assert names == [(first + dt.timedelta(days=d)).isoformat() for d in sorted(set(days))]
