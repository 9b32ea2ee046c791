"""The MHEALTH converter: named columns, user id from the file name, bad input reported."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phenolake.sources import mhealth
from phenolake.sources.base import Member, Provenance, RejectedFile, Rejection

SOURCE = mhealth.MHealth()
MEMBER = Member(source="mhealth", participant="3", metric="readings")
PROV = Provenance(source_key="raw/mhealth/x/mHealth_subject3.log", source_sha256="ab" * 32, run_id="r1")


def line(values: list[float], label: int) -> str:
    return "\t".join(str(v) for v in values) + f"\t{label}\n"


def convert(text: str) -> tuple[pa.Table, list[Rejection]]:
    rejections: list[Rejection] = []
    batches = list(SOURCE.convert(io.BytesIO(text.encode()), MEMBER, PROV, rejections))
    return pa.concat_tables([b.table for b in batches]), rejections


def test_member_from_file_name() -> None:
    assert SOURCE.member("MHEALTHDATASET/mHealth_subject3.log") == MEMBER
    assert SOURCE.member("MHEALTHDATASET/README.txt") is None
    assert SOURCE.recognise("deep/er/mHealth_subject10.log")


def test_columns_row_index_and_provenance() -> None:
    table, rejections = convert(line([0.5] * 23, 4) + line([1.5] * 23, 0))
    assert rejections == []
    assert table.column_names[:3] == ["user_id", "row_index", "chest_acc_x"]
    assert "right_lower_arm_mag_z" in table.column_names
    assert table["row_index"].to_pylist() == [0, 1]
    assert table["activity_id"].to_pylist() == [4, 0]
    assert set(table["user_id"].to_pylist()) == {"3"}
    assert set(table["source_sha256"].to_pylist()) == {"ab" * 32}
    assert set(table["run_id"].to_pylist()) == {"r1"}


def test_wrong_column_count_and_truncated_last_line_are_counted() -> None:
    text = line([1.0] * 23, 1) + "1.0\t2.0\t3\n" + line([2.0] * 23, 2) + "1.0\t2.0"
    table, rejections = convert(text)
    assert table.num_rows == 2
    assert rejections[0].rows == 2
    assert "24 tab-separated fields" in rejections[0].reason


def test_empty_file_is_rejected() -> None:
    with pytest.raises(RejectedFile, match="empty"):
        convert("")


def test_non_numeric_cell_rejects_the_file() -> None:
    with pytest.raises(RejectedFile, match="unreadable value|not an MHEALTH log"):
        convert(line([1.0] * 23, 1).replace("1.0", "abc", 1))


def test_label_outside_range_rejects_the_file() -> None:
    with pytest.raises(RejectedFile, match="outside 0..12"):
        convert(line([1.0] * 23, 13))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=23, max_size=23),
                          st.integers(0, 12)), min_size=1, max_size=40))
def test_round_trip_of_values(rows: list[tuple[list[float], int]]) -> None:
    table, _ = convert("".join(line(v, label) for v, label in rows))
    assert table.num_rows == len(rows)
    assert table["chest_acc_x"].to_pylist() == pytest.approx([v[0] for v, _ in rows])
    assert table["activity_id"].to_pylist() == [label for _, label in rows]


def test_samples_are_seeded(tmp_path: Path) -> None:
    a = SOURCE.write_samples(tmp_path / "a", seed=7, rows=300)
    b = SOURCE.write_samples(tmp_path / "b", seed=7, rows=300)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert [p.name for p in a] == ["mHealth_subject1.log", "mHealth_subject2.log", "mHealth_subject3.log"]
    table, rejections = convert(a[0].read_text())
    assert table.num_rows == 300 and not rejections
