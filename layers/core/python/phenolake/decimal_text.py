"""Tab-separated decimal text -> float64 columns, exact and strict, compiled by numba.

Why hand-written: converting text to numbers is nearly all of the MHEALTH conversion's work,
and the general CSV readers spend most of it on what such a log never has (quotes, escapes,
type inference, per-field allocation). Measured on the 2.4 GB benchmark log, CPU-seconds
for parsing alone: Arrow's reader ~17, polars' ~9, this ~4.3 (``bench/README.md``).

Strict: a block is parsed only when every line is ``ncols`` fields of the form
``[+-]digits[.digits][(e|E)[+-]digits]`` (or ``[+-].digits``) separated by single tabs and
ended by ``\\n``; anything else (a blank line, a space, ``\\r``, an empty cell, ``nan``,
a missing newline at the end) makes ``parse`` answer -1 and the caller uses a general reader
that says which line is bad and why. It never guesses.

Exact: a number is read only when its digits make an integer m <= 2^53 (leading zeros do
not count) and its decimal exponent p is within -22..22; then m and 10^|p| are both exact
doubles, and one IEEE division or multiplication of them is correctly rounded, so the result
is the double nearest the decimal: the same double ``strtod``, Arrow and polars give
(Clinger's fast path, the one fast_float takes first). Any other number (17 significant
digits, ``1e-30``) makes the block go to the general reader. ``tests/unit/test_decimal_text.py``
compares it with Python's ``float()`` on generated cells, bit for bit.

numba is optional: without it ``parse`` returns None and callers use the general reader (the
AWS Lambda zip layers have no room for it; see ``bench/README.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

try:
    import numba
except ImportError:  # a runtime without numba: callers fall back to a general CSV reader
    numba = None

#: The powers of ten that are exact doubles.
POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)
_MAX_EXACT = 1 << 53
_TAB, _NEWLINE, _MINUS, _PLUS, _DOT, _E, _E_UPPER = 9, 10, 45, 43, 46, 101, 69


def _digits(buf: Any, i: int, m: int) -> tuple[int, int, int]:
    """The digits from ``i`` on appended to ``m``: (m, the index after them, how many).

    The caller ensures the text ends in a newline, so the scan stops inside the buffer. Past
    2^53 ``m`` stops growing (so it never wraps) and stays above 2^53, which the caller
    refuses."""
    start = i
    d = np.uint8(buf[i] - 48)  # wraps for anything below '0': one test per byte
    while d <= 9:
        if m <= _MAX_EXACT:
            m = m * 10 + d
        i += 1
        d = np.uint8(buf[i] - 48)
    return m, i, i - start


def _parse(buf: Any, values: Any, pow10: Any) -> int:
    """Fill ``values[col, row]`` from ``buf``; return the rows read, or -1 when any line is
    outside the grammar or has more rows than ``values`` holds."""
    ncols = values.shape[0]
    capacity = values.shape[1]
    n = buf.size
    if n == 0:
        return 0
    if buf[n - 1] != _NEWLINE:  # every line is ended: no scan can run past the buffer
        return -1
    i = 0
    row = 0
    while i < n:
        if row >= capacity:
            return -1
        for col in range(ncols):
            c = buf[i]
            negative = c == _MINUS
            if negative or c == _PLUS:
                i += 1
            m, i, digits = _digits(buf, i, 0)
            fraction = 0
            if buf[i] == _DOT:
                m, i, fraction = _digits(buf, i + 1, m)
                digits += fraction
            if digits == 0 or m > _MAX_EXACT:
                return -1
            power = -fraction
            c = buf[i]
            if c in (_E, _E_UPPER):
                i += 1
                c = buf[i]
                negative_exponent = c == _MINUS
                if negative_exponent or c == _PLUS:
                    i += 1
                exponent, i, exponent_digits = _digits(buf, i, 0)
                if exponent_digits == 0:
                    return -1
                power += -exponent if negative_exponent else exponent
            if power > 22 or power < -22:
                return -1
            value = m * pow10[power] if power >= 0 else m / pow10[-power]
            values[col, row] = -value if negative else value
            c = buf[i]
            i += 1
            if c != (_NEWLINE if col == ncols - 1 else _TAB):
                return -1
        row += 1
    return row


def _count_lines(buf: Any) -> int:
    lines = 0
    for i in range(buf.size):
        if buf[i] == _NEWLINE:
            lines += 1
    return lines


def _compile(function: Any, *results_and_arguments: Any) -> Any:
    """numba's compiled ``function`` for text given as bytes (read-only) or as a bytearray.

    Compiled now, at import (a Lambda's init), not at the first block: with signatures given
    numba compiles eagerly, and loads the machine code from its on-disk cache when the package
    directory is writable (~0.3 s; compiling takes ~1-2 s, once per install, or per process
    where the directory is read-only)."""
    assert numba is not None
    result, *rest = results_and_arguments
    text = numba.types.Array(numba.types.uint8, 1, "C", readonly=True)
    signatures = [result(text.copy(readonly=readonly), *rest) for readonly in (True, False)]
    options = {"nogil": True, "boundscheck": False}
    try:
        return numba.njit(signatures, cache=True, **options)(function)
    except RuntimeError:  # "cannot cache ... no locator available"
        return numba.njit(signatures, **options)(function)


if numba is not None:
    _digits = numba.njit(inline="always")(_digits)
    _float64_rows = numba.types.Array(numba.types.float64, 2, "C")
    _powers = numba.types.Array(numba.types.float64, 1, "C")
    parse_into = _compile(_parse, numba.types.int64, _float64_rows, _powers)
    count_lines = _compile(_count_lines, numba.types.int64)
else:
    parse_into = count_lines = None


def parse(data: memoryview | bytes, ncols: int) -> list[pa.Array] | None:
    """``ncols`` float64 arrays from a block of whole lines, or None: the block has a line
    outside the grammar (the caller's general reader says which), or numba is not installed.

    The columns share one buffer from Arrow's memory pool (it reuses freed memory, where
    numpy's large allocations are fresh pages every time)."""
    if parse_into is None:
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    rows = count_lines(buf)
    column_bytes = rows * 8
    buffer = pa.allocate_buffer(ncols * column_bytes)
    values = np.frombuffer(buffer, dtype=np.float64).reshape(ncols, rows)
    if parse_into(buf, values, POW10) != rows:
        return None
    columns = [buffer.slice(k * column_bytes, column_bytes) for k in range(ncols)]
    return [pa.Array.from_buffers(pa.float64(), rows, [None, column]) for column in columns]
