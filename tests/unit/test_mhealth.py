"""The MHEALTH converter: named columns, user id from the file name, bad input reported."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import tempfile
from pathlib import Path
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phenolake import decimal_text, sources
from phenolake.sources import toolkit
from phenolake.sources.base import Member, Provenance, RejectedFile
from phenolake.sources.mhealth import convert as mhealth
from phenolake.sources.toolkit import Rejection, RejectionReport
from phenolake.steps.convert import convert_file

SOURCE = mhealth.MHealth()
MEMBER = Member(source="mhealth", participant="3", metric="readings")
PROV = Provenance(
    source_key="raw/mhealth/x/mHealth_subject3.log", source_sha256="ab" * 32, run_id="r1"
)
GOOD = "\t".join(["1.5"] * 23) + "\t4\n"


def line(values: list[float], label: int | str) -> str:
    return "\t".join(str(v) for v in values) + f"\t{label}\n"


def convert(
    text: str | bytes, source: mhealth.MHealth = SOURCE
) -> tuple[pa.Table, list[Rejection]]:
    data = text.encode() if isinstance(text, str) else text
    report = RejectionReport()
    batches = list(toolkit.convert(source, io.BytesIO(data), MEMBER, PROV, report))
    if not batches:
        return mhealth.STAGE_SCHEMA.empty_table(), report.rejections()
    table = pa.concat_tables([b.table for b in batches])
    return table, report.rejections()


def by_reason(rejections: list[Rejection]) -> dict[str, tuple[int, list[str]]]:
    return {r.reason: (r.rows, r.examples) for r in rejections}


def test_member_from_file_name() -> None:
    assert SOURCE.member("MHEALTHDATASET/mHealth_subject3.log") == MEMBER
    assert SOURCE.member("MHEALTHDATASET/README.txt") is None
    assert SOURCE.recognise("deep/er/mHealth_subject10.log")


def test_columns_row_index_and_provenance() -> None:
    table, rejections = convert(line([0.5] * 23, 4) + line([1.5] * 23, 0))
    assert rejections == []
    assert table.schema == mhealth.STAGE_SCHEMA
    assert table.column_names[:3] == ["user_id", "row_index", "chest_acc_x"]
    assert "right_lower_arm_mag_z" in table.column_names
    assert table["row_index"].to_pylist() == [0, 1]
    assert table["activity_id"].to_pylist() == [4, 0]
    assert set(table["user_id"].to_pylist()) == {"3"}
    assert set(table["source_key"].to_pylist()) == {PROV.source_key}
    assert set(table["source_sha256"].to_pylist()) == {"ab" * 32}
    assert set(table["run_id"].to_pylist()) == {"r1"}


def test_wrong_column_count_is_counted_with_line_numbers() -> None:
    too_many = "\t".join(["1"] * 25)
    text = GOOD + "1.0\t2.0\t3\n" + GOOD + GOOD + too_many + "\n" + GOOD
    table, rejections = convert(text)
    assert table["row_index"].to_pylist() == [0, 2, 3, 5]  # row_index is the line, so time holds
    assert by_reason(rejections) == {
        mhealth.WRONG_FIELDS: (2, ["line 2: '1.0\\t2.0\\t3'", f"line 5: {too_many!r}"])
    }
    assert "24 tab-separated fields" in rejections[0].reason


def test_truncated_last_line_is_reported_as_such() -> None:
    table, rejections = convert(GOOD + GOOD + GOOD + "1.0\t2.0")
    assert table.num_rows == 3
    assert by_reason(rejections) == {mhealth.TRUNCATED: (1, ["line 4: '1.0\\t2.0'"])}
    # cut inside a value: 24 fields but the label is empty
    table, rejections = convert(GOOD + GOOD[:-2])
    assert table.num_rows == 1
    assert by_reason(rejections)[mhealth.TRUNCATED][0] == 1
    # a whole last line without its newline is kept
    table, rejections = convert(GOOD + GOOD[:-1])
    assert table["row_index"].to_pylist() == [0, 1] and rejections == []


def test_non_numeric_cells_are_counted_and_the_rest_kept() -> None:
    bad = line([1.0] * 23, 1).replace("1.0", "abc", 1)
    empty = line([1.0] * 23, 1).replace("1.0", "", 1)
    table, rejections = convert(GOOD + bad + GOOD + empty + GOOD)
    assert table["row_index"].to_pylist() == [0, 2, 4]
    rows, examples = by_reason(rejections)[mhealth.NON_NUMERIC]
    assert rows == 2
    assert [e.split(":")[0] for e in examples] == ["line 2", "line 4"]
    assert examples[0].startswith("line 2: 'abc\\t1.0")


def test_nan_and_infinity_are_bad_rows() -> None:
    text = GOOD + line([1.0] * 22 + [float("nan")], 1) + line([float("-inf")] + [1.0] * 22, 1)
    text += line(["1e400"] + [1.0] * 22, 1) + GOOD + GOOD + GOOD
    table, rejections = convert(text)
    assert table["row_index"].to_pylist() == [0, 4, 5, 6]
    rows, examples = by_reason(rejections)[mhealth.NON_FINITE]
    assert rows == 3
    assert [e.split(":")[0] for e in examples] == ["line 2", "line 3", "line 4"]


@pytest.mark.parametrize("label", ["13", "-1", "4.5", "x"])
def test_label_outside_0_to_12_is_a_bad_row(label: str) -> None:
    table, rejections = convert(GOOD + line([1.0] * 23, label) + GOOD)
    assert table["row_index"].to_pylist() == [0, 2]
    reason = mhealth.NON_NUMERIC if label == "x" else mhealth.BAD_LABEL
    assert by_reason(rejections) == {reason: (1, [f"line 2: {line([1.0] * 23, label)[:-1]!r}"])}


def test_label_written_as_a_float_and_padded_cells_are_read() -> None:
    table, rejections = convert(line([" 1.5 "] + [1.0] * 22, "12.0") + line(["+.5"] * 23, " 04"))
    assert rejections == []
    assert table["activity_id"].to_pylist() == [12, 4]
    assert table["chest_acc_x"].to_pylist() == [1.5, 0.5]


def test_blank_lines_are_counted_not_dropped() -> None:
    table, rejections = convert(GOOD + "\n" + GOOD + "\r\n" + GOOD + GOOD)
    assert table["row_index"].to_pylist() == [0, 2, 4, 5]
    assert by_reason(rejections) == {mhealth.BLANK: (2, ["line 2: ''", "line 4: ''"])}


def test_windows_line_endings() -> None:
    table, rejections = convert(GOOD.replace("\n", "\r\n") * 3)
    assert table["row_index"].to_pylist() == [0, 1, 2] and rejections == []


def test_empty_file_is_rejected() -> None:
    with pytest.raises(RejectedFile, match="empty file"):
        convert("")


def test_binary_file_is_rejected() -> None:
    with pytest.raises(RejectedFile, match="binary file"):
        convert(b"PK\x03\x04\x00\x00" + bytes(range(256)) * 4)


def test_file_with_no_valid_row_is_rejected() -> None:
    with pytest.raises(RejectedFile, match=r"no valid rows in 2 line\(s\): row does not have 24"):
        convert("a,b,c\n1,2,3\n")
    with pytest.raises(RejectedFile, match="no valid rows in 1 line"):
        convert(line([1.0] * 23, 1).replace("1.0", "abc", 1))


def test_mostly_bad_file_is_rejected_and_half_bad_is_kept() -> None:
    bad = "1\t2\n"
    with pytest.raises(RejectedFile, match=r"most lines are bad \(3 of 5\)"):
        convert(GOOD + bad + GOOD + bad + bad)
    table, rejections = convert(GOOD + bad + GOOD + bad)
    assert table.num_rows == 2 and rejections[0].rows == 2


def test_examples_are_capped_and_counts_exact_across_blocks() -> None:
    source = mhealth.MHealth(block_bytes=1000)
    lines = [GOOD if i % 3 else "x\n" for i in range(300)]
    table, rejections = convert("".join(lines), source)
    assert table.num_rows == 200
    assert table["row_index"].to_pylist() == [i for i in range(300) if i % 3]
    [rejection] = rejections
    assert rejection.rows == 100
    assert rejection.examples == [f"line {n}: 'x'" for n in (1, 4, 7, 10, 13)]


def test_over_long_line_is_skipped_and_counted() -> None:
    source = mhealth.MHealth(block_bytes=512)
    long = "9" * 5000 + "\n"
    table, rejections = convert(GOOD + long + GOOD + GOOD, source)
    assert table["row_index"].to_pylist() == [0, 2, 3]
    assert by_reason(rejections) == {mhealth.LONG_LINE: (1, [f"line 2: {'9' * 120!r}"])}


class Trickle(io.RawIOBase):
    """A stream that returns at most a few bytes a read, like a slow socket."""

    def __init__(self, data: bytes, step: int, fail_after: int | None = None) -> None:
        self.inner = io.BytesIO(data)
        self.step = step
        self.fail_after = fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.fail_after is not None and self.inner.tell() >= self.fail_after:
            raise OSError("connection reset")
        chunk = self.inner.read(min(self.step, len(buffer)))
        buffer[: len(chunk)] = chunk
        return len(chunk)


class ReadOnly:
    """A stream with read() only."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self.inner.read(min(size, 5))


def test_short_reads_and_streams_without_readinto() -> None:
    text = (GOOD * 3 + "bad\n" + GOOD * 3 + "1\t2").encode()
    source = mhealth.MHealth(block_bytes=600)
    for stream in (Trickle(text, 7), ReadOnly(text)):
        report = RejectionReport()
        batches = list(toolkit.convert(source, stream, MEMBER, PROV, report))  # type: ignore[arg-type]
        rejections = report.rejections()
        table = pa.concat_tables([b.table for b in batches])
        assert table["row_index"].to_pylist() == [0, 1, 2, 4, 5, 6]
        assert {r.reason: r.rows for r in rejections} == {
            mhealth.WRONG_FIELDS: 1,
            mhealth.TRUNCATED: 1,
        }


def test_read_error_propagates_and_closing_early_does_not_hang() -> None:
    text = (GOOD * 200).encode()
    source = mhealth.MHealth(block_bytes=1000, row_group_rows=10)
    with pytest.raises(OSError, match="connection reset"):
        list(source.convert(Trickle(text, 500, fail_after=5000), MEMBER, PROV, RejectionReport()))  # type: ignore[arg-type]
    batches = source.convert(io.BytesIO(text), MEMBER, PROV, RejectionReport())
    assert next(batches).table.num_rows >= 10
    batches.close()


def test_row_groups_gather_blocks_of_a_day() -> None:
    source = mhealth.MHealth(block_bytes=1000, row_group_rows=50)
    data = io.BytesIO((GOOD * 200).encode())
    tables = [b.table for b in source.convert(data, MEMBER, PROV, RejectionReport())]
    assert [t.num_rows for t in tables] == [50] * 4  # five whole blocks of 10 lines (94 bytes)
    assert sum(t.num_rows for t in tables) == 200


def test_rows_are_split_at_midnight_by_row_index() -> None:
    start = dt.datetime(2014, 1, 1, 23, 59, 59, 960_000, tzinfo=dt.UTC)  # rows 0, 1 on day 1
    source = mhealth.MHealth(recording_start=start, block_bytes=700)
    text = GOOD + "bad\n" + GOOD + GOOD
    batches = list(source.convert(io.BytesIO(text.encode()), MEMBER, PROV, RejectionReport()))
    days: dict[str, list[int]] = {}
    for batch in batches:
        days.setdefault(batch.day, []).extend(batch.table["row_index"].to_pylist())
    assert days == {"2014-01-01": [0], "2014-01-02": [2, 3]}
    assert [mhealth.day_of_row(i, start) for i in (0, 1, 2)] == ["2014-01-01"] * 2 + ["2014-01-02"]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=23, max_size=23),
            st.integers(0, 12),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_round_trip_of_values(rows: list[tuple[list[float], int]]) -> None:
    table, _ = convert("".join(line(v, label) for v, label in rows))
    assert table.num_rows == len(rows)
    assert table["chest_acc_x"].to_pylist() == pytest.approx([v[0] for v, _ in rows])
    assert table["activity_id"].to_pylist() == [label for _, label in rows]


BAD_LINES = {
    mhealth.WRONG_FIELDS: st.sampled_from(["1\t2\t3", "\t".join(["1"] * 25), "x"]),
    mhealth.NON_NUMERIC: st.sampled_from(["abc", "", "1,5", "0x10", "--1"]).map(
        lambda cell: "\t".join([cell] + ["0.5"] * 22 + ["3"])
    ),
    mhealth.NON_FINITE: st.sampled_from(["nan", "-inf", "Infinity", "1e999"]).map(
        lambda cell: "\t".join(["0.5"] * 5 + [cell] + ["0.5"] * 17 + ["3"])
    ),
    mhealth.BAD_LABEL: st.sampled_from(["13", "-2", "0.5", "100"]).map(
        lambda label: "\t".join(["0.5"] * 23 + [label])
    ),
    mhealth.BLANK: st.just(""),
}
GOOD_LINE = st.tuples(
    st.lists(st.integers(-99_999, 99_999).map(lambda i: i / 1000), min_size=23, max_size=23),
    st.integers(0, 12),
).map(lambda row: "\t".join(map(str, row[0])) + f"\t{row[1]}")
ANY_LINE = st.one_of(
    GOOD_LINE.map(lambda text: ("good", text)),
    *[bad.map(lambda text, reason=reason: (reason, text)) for reason, bad in BAD_LINES.items()],
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(ANY_LINE, min_size=1, max_size=60),
    st.integers(600, 4000),
    st.booleans(),
)
def test_mixed_good_and_bad_lines(
    lines: list[tuple[str, str]], block_bytes: int, final_newline: bool
) -> None:
    if lines[-1][0] == mhealth.BLANK:
        final_newline = True  # a missing newline after an empty last line is no line at all
    text = "\n".join(t for _, t in lines) + ("\n" if final_newline else "")
    expected: dict[str, int] = {}
    for number, (kind, _) in enumerate(lines, start=1):
        if kind != "good":
            reason = mhealth.TRUNCATED if number == len(lines) and not final_newline else kind
            expected[reason] = expected.get(reason, 0) + 1
    good = [i for i, (kind, _) in enumerate(lines) if kind == "good"]
    source = mhealth.MHealth(block_bytes=block_bytes)
    if not good or sum(expected.values()) > len(lines) / 2:
        with pytest.raises(RejectedFile):
            convert(text, source)
        return
    table, rejections = convert(text, source)
    assert table["row_index"].to_pylist() == good
    first_values = [float(lines[i][1].split("\t")[0]) for i in good]
    assert table["chest_acc_x"].to_pylist() == first_values
    assert table["activity_id"].to_pylist() == [int(lines[i][1].split("\t")[-1]) for i in good]
    assert {r.reason: r.rows for r in rejections} == expected
    for rejection in rejections:  # examples name the first bad lines of that reason
        numbers = [int(e.split(":")[0].removeprefix("line ")) for e in rejection.examples]
        assert numbers == sorted(numbers) and len(numbers) == min(5, rejection.rows)


CELLS = st.one_of(
    st.sampled_from(
        [
            "1",
            "-9.8184",
            " 1.5",
            "1.5 ",
            "+.5",
            "5.",
            "1e5",
            "1E+05",
            "1.e5",
            ".e5",
            "nan",
            "NaN",
            "-inf",
            "Infinity",
            "1e400",
            "",
            " ",
            "abc",
            "0x10",
            "1_0",
            "1,5",
            "\u0661",
            "4.0",
            "4.5",
            "12",
            "13",
            "-0",
            "00",
            "nan(1)",
            "+-1",
            "1e",
            "e1",
            ".",
        ]
    ),
    st.text(alphabet="0123456789.eE+- naifx", max_size=6),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(CELLS, min_size=24, max_size=24))
def test_checked_path_agrees_with_the_fast_path(cells: list[str]) -> None:
    """The slow path (bytes, regex, cast) keeps exactly the cells Arrow's float parser reads."""
    data = ("\t".join(cells) + "\n").encode()
    fast, _ = mhealth._read_fast(data)
    checked, _, verdict = mhealth._read_checked(data)
    assert (fast is not None) == bool((verdict.codes == 0).all())
    if fast is not None:
        assert fast.equals(checked)


@settings(max_examples=200, deadline=None)
@given(st.lists(CELLS, min_size=24, max_size=24), st.sampled_from(["\n", "\r\n", ""]))
def test_exact_parser_reads_a_line_only_when_arrow_reads_it_alike(
    cells: list[str], end: str
) -> None:
    """decimal_text (the fast parser) says "clean" only for lines Arrow keeps, with equal values."""
    data = ("\t".join(cells) + end).encode()
    exact = mhealth._read_exact(data)
    if exact is None or (checked := mhealth._with_labels(exact)) is None:
        return
    with mock.patch.object(decimal_text, "parse_into", None):
        by_arrow, invalid = mhealth._read_fast(data)
    assert by_arrow is not None and not invalid.numbers
    assert checked.equals(by_arrow)


@pytest.mark.local_only
def test_exact_parser_reads_clean_blocks_and_declines_the_rest() -> None:
    assert decimal_text.parse_into is not None, "numba is a dependency: without it, slow"
    clean = mhealth._read_exact((GOOD * 3 + GOOD.replace("1.5", "-9.8184e-3")).encode())
    assert clean is not None and clean.num_rows == 4
    assert clean["chest_acc_x"].to_pylist() == [1.5] * 3 + [-0.0098184]
    for bad in ("\n", "\r\n", "1\t2\n", GOOD.replace("\n", "\t\n"), GOOD.replace("1.5", "1_5", 1)):
        assert mhealth._read_exact((GOOD + bad + GOOD).encode()) is None, bad
    assert mhealth._read_exact((GOOD + GOOD[:-1]).encode()) is None  # no newline at the end
    assert mhealth._read_exact(codecs.BOM_UTF8 + GOOD.encode()) is None


def convert_both_ways(raw: Path, source: mhealth.MHealth, out: Path) -> list[object]:
    """convert_file with decimal_text and with Arrow's reader alone: each day's Parquet table
    and the report (or the reason the file was rejected)."""
    results: list[object] = []
    for parse_into in (decimal_text.parse_into, None):
        target = out / ("exact" if parse_into else "arrow")
        target.mkdir()
        with (
            mock.patch.object(decimal_text, "parse_into", parse_into),
            mock.patch.object(sources, "get", lambda name: source),
        ):
            try:
                outputs, report, _ = convert_file(
                    raw, "mhealth", "mHealth_subject3.log", PROV, target
                )
            except RejectedFile as exc:
                results.append(str(exc))
                continue
        tables = {day: pq.read_table(path) for (_, day), (path, _) in outputs.items()}
        results.append((tables, [r.as_dict() for r in report.rejections()]))
    return results


@pytest.mark.local_only
def test_exact_parser_and_arrow_write_the_same_parquet_for_a_clean_file(tmp_path: Path) -> None:
    [raw, *_] = SOURCE.write_samples(tmp_path, seed=11, rows=3000)
    start = dt.datetime(2014, 1, 1, 23, 59, 30, tzinfo=dt.UTC)  # 60 s of rows: two days
    source = mhealth.MHealth(recording_start=start, block_bytes=8192, row_group_rows=500)
    parsed: list[pa.Table | None] = []
    read_exact = mhealth._read_exact

    def spy(data: bytes) -> pa.Table | None:
        table = read_exact(data)
        if decimal_text.parse_into is not None:  # the run with decimal_text
            parsed.append(table)
        return table

    with mock.patch.object(mhealth, "_read_exact", spy):
        by_exact, by_arrow = convert_both_ways(raw, source, tmp_path)
    assert len(parsed) > 1 and all(table is not None for table in parsed)  # it read every block
    assert by_exact == by_arrow
    tables, rejections = by_exact  # type: ignore[misc]
    assert rejections == [] and sorted(tables) == ["2014-01-01", "2014-01-02"]
    assert [t.num_rows for _, t in sorted(tables.items())] == [1500, 1500]
    assert tables["2014-01-01"].schema == mhealth.STAGE_SCHEMA


@pytest.mark.local_only
@settings(max_examples=60, deadline=None)
@given(
    st.lists(ANY_LINE, min_size=1, max_size=60),
    st.integers(600, 4000),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
def test_exact_parser_and_arrow_write_the_same_parquet(
    lines: list[tuple[str, str]], block_bytes: int, newline: str, final_newline: bool
) -> None:
    """Any mix of good and bad lines: the same Parquet and the same report either way."""
    text = newline.join(t for _, t in lines) + (newline if final_newline else "")
    source = mhealth.MHealth(block_bytes=block_bytes, row_group_rows=16)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "mHealth_subject3.log"
        raw.write_text(text, newline="")
        by_exact, by_arrow = convert_both_ways(raw, source, Path(tmp))
    assert by_exact == by_arrow


def test_convert_file_writes_good_rows_and_reports_bad(tmp_path: Path) -> None:
    from phenolake.steps.convert import convert_file

    raw = tmp_path / "mHealth_subject3.log"
    raw.write_text(GOOD * 5 + "1\t2\n" + GOOD * 4 + "oops")
    outputs, report, member = convert_file(raw, "mhealth", "mHealth_subject3.log", PROV, tmp_path)
    rejections = report.rejections()
    assert member == MEMBER
    [(path, rows)] = outputs.values()
    assert rows == 9 and pq.read_table(path).num_rows == 9
    assert by_reason(rejections) == {
        mhealth.WRONG_FIELDS: (1, ["line 6: '1\\t2'"]),
        mhealth.TRUNCATED: (1, ["line 11: 'oops'"]),
    }


def test_samples_are_seeded(tmp_path: Path) -> None:
    a = SOURCE.write_samples(tmp_path / "a", seed=7, rows=300)
    b = SOURCE.write_samples(tmp_path / "b", seed=7, rows=300)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [p.name for p in a] == [f"mHealth_subject{n}.log" for n in (1, 2, 3)]
    table, rejections = convert(a[0].read_text())
    assert table.num_rows == 300 and not rejections
