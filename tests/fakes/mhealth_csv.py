"""MHEALTH CSV re-packagings, written by the re-packaging's rule from original ``.log`` lines.

The Kaggle set ``gaurav2022/mobile-health-human-behavior-analysis`` (``mhealth_raw_data.csv``)
is the ten ``mHealth_subjectN.log`` files read as doubles, twelve of their columns kept
(left-ankle acceleration and gyroscope: fields 6-11; right-lower-arm acceleration and
gyroscope: fields 15-20), the label as ``Activity`` and ``subjectN`` as ``subject``, and
written by pandas' ``to_csv(index=False)``: a header row, commas, a float as its shortest
round-trip text (``repr``), subjects one after another, each in its log's order. The column
list is the one the code reading the published file uses (its readers on GitHub name
``alx,aly,alz,glx,gly,glz,arx,ary,arz,grx,gry,grz,Activity,subject``)."""

from __future__ import annotations

KAGGLE_HEADER = "alx,aly,alz,glx,gly,glz,arx,ary,arz,grx,gry,grz,Activity,subject"
#: 0-based fields of a ``.log`` line the Kaggle file keeps, in its column order.
KAGGLE_FIELDS = [5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 19]

#: The first line of the original ``mHealth_subject1.log`` (UCI MHEALTH), as published.
SUBJECT1_FIRST_LINE = (
    "-9.8184\t0.009971\t0.29563\t0.0041863\t0.0041863\t2.1849\t-9.6967\t0.63077\t0.1039\t"
    "-0.84053\t-0.68762\t-0.37\t-0.36327\t0.29963\t-8.6499\t-4.5781\t0.18776\t-0.44902\t"
    "-1.0103\t0.034483\t-2.35\t-1.6102\t-0.030899\t0\n"
)


def kaggle_row(log_line: str, subject: int) -> str:
    cells = log_line.rstrip("\n").split("\t")
    values = [repr(float(cells[i])) for i in KAGGLE_FIELDS]
    return ",".join([*values, str(int(float(cells[23]))), f"subject{subject}"]) + "\n"


def kaggle_csv(logs: dict[int, str]) -> bytes:
    """``mhealth_raw_data.csv`` of the given subjects' ``.log`` texts."""
    rows = [
        kaggle_row(line, subject)
        for subject, text in sorted(logs.items())
        for line in text.splitlines(keepends=True)
    ]
    return (KAGGLE_HEADER + "\n" + "".join(rows)).encode()
