"""decimal_text: the numba parser reads a number only when it gets the exact double, and reads
the plain decimals real logs hold; Python's float() (correctly rounded) is the reference."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phenolake import decimal_text

# numba's kernel: Lambda has no numba (README "Dependencies in Lambda"), so its MHEALTH blocks
# all go to Arrow's reader, which the mhealth tests cover in the python3.13 Lambda venv too.
pytestmark = pytest.mark.local_only


def bits(value: float) -> int:
    return struct.unpack("<q", struct.pack("<d", value))[0]


def parse_cells(cells: list[str], ncols: int = 1) -> list[float] | None:
    text = "".join(
        "\t".join(cells[i : i + ncols]) + "\n" for i in range(0, len(cells), ncols)
    ).encode()
    columns = decimal_text.parse(text, ncols)
    if columns is None:
        return None
    return [columns[i % ncols][i // ncols].as_py() for i in range(len(cells))]


def test_numba_is_installed() -> None:
    assert decimal_text.parse_into is not None, "numba is a dependency: without it, slow"


DECIMALS = st.builds(
    lambda sign, whole, fraction, exponent: (
        sign + whole + ("." + fraction if fraction is not None else "") + exponent
    ),
    st.sampled_from(["", "-", "+"]),
    st.text("0123456789", max_size=20),
    st.none() | st.text("0123456789", max_size=20),
    st.sampled_from(["", "e5", "E-7", "e+22", "e-30", "e23", "e0", "e-22", "e400"]),
).filter(lambda cell: any(c.isdigit() for c in cell))
FORMATTED = st.builds(
    lambda x, form: repr(x) if form == "repr" else format(x, form),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([".5g", "repr", ".17g", "e", ".3f", ".15g"]),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(DECIMALS | FORMATTED, min_size=1, max_size=12))
def test_a_number_read_is_the_nearest_double(cells: list[str]) -> None:
    values = parse_cells(cells)
    if values is None:  # declined: the general reader takes the block
        return
    for cell, value in zip(cells, values, strict=True):
        assert bits(value) == bits(float(cell)), cell


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.floats(allow_nan=False, allow_infinity=False).filter(
            lambda x: x == 0 or 1e-7 < abs(x) < 1e10
        ),
        min_size=4,
        max_size=40,
    ),
    st.sampled_from([".5g", ".6g", ".15g"]),
)
def test_plain_decimals_of_up_to_15_digits_are_read(values: list[float], form: str) -> None:
    """What the MHEALTH logs hold (5-6 significant digits) never falls back to the slow path."""
    cells = [format(x, form) for x in values[: len(values) // 2 * 2]]
    parsed = parse_cells(cells, ncols=2)
    assert parsed is not None, cells
    assert [bits(v) for v in parsed] == [bits(float(c)) for c in cells]


def test_signed_zero_and_forms_arrow_accepts() -> None:
    assert parse_cells(["-0", "+.5", "5.", "1E+05", "1.e5", "0.000000000001"]) == [
        -0.0, 0.5, 5.0, 1e5, 1e5, 1e-12
    ]  # fmt: skip
    assert math.copysign(1, parse_cells(["-0.0"])[0]) == -1  # type: ignore[index]
    # 15 significant digits after 3 leading zeros: 18 digits in all, and still exact
    assert parse_cells(["0.000178813933075737"]) == [0.000178813933075737]


@pytest.mark.parametrize(
    "text",
    [
        "1.5",  # no newline at the end
        "1.5\r\n",
        "1.5 \n",
        " 1.5\n",
        "\n",
        "1.5\n\n",
        "nan\n",
        "inf\n",
        "1_0\n",
        "1,5\n",
        "--1\n",
        "1e\n",
        ".\n",
        "-\n",
        "0x10\n",
        "1.5\t\n",  # an empty cell
        "9007199254740993\n",  # 2^53 + 1: more than a double holds exactly
        "1234567890123456789\n",  # 19 digits
        "1e23\n",  # 10^23 is not an exact double
        "1e-23\n",
        "\u0661\n",
    ],
)
def test_anything_else_is_declined(text: str) -> None:
    assert decimal_text.parse(text.encode(), 1) is None


def test_field_count_must_match() -> None:
    assert decimal_text.parse(b"1\t2\n", 3) is None
    assert decimal_text.parse(b"1\t2\t3\t4\n", 3) is None
    assert decimal_text.parse(b"1\t2\t3\n", 3) is not None


def test_columns_share_one_buffer_and_empty_text_is_no_rows() -> None:
    columns = decimal_text.parse(bytearray(b"1\t2\n3\t4\n"), 2)
    assert columns is not None
    assert [c.to_pylist() for c in columns] == [[1.0, 3.0], [2.0, 4.0]]
    assert columns[0].buffers()[1].address + 16 == columns[1].buffers()[1].address
    assert [len(c) for c in decimal_text.parse(b"", 2) or []] == [0, 0]


def test_the_kernel_refuses_more_rows_than_it_was_given() -> None:
    assert decimal_text.parse_into is not None
    values = np.zeros((1, 1))
    text = np.frombuffer(b"1\n2\n", dtype=np.uint8)
    assert decimal_text.parse_into(text, values, decimal_text.POW10) == -1
