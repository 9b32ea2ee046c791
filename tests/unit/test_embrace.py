"""The Embrace source: members found by structure, the dedupe rule's counts, bad input."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from phenolake import sources
from phenolake.sources import toolkit
from phenolake.sources.base import Member, Provenance, RejectedFile, SideTable
from phenolake.sources.embrace import convert as embrace
from phenolake.sources.toolkit import Rejection, RejectionReport

SOURCE = embrace.Embrace()
ZIP = "Sensors_U02_ALLSITES_20190801_20190831.zip"
PROV = Provenance(
    source_key=f"raw/embrace/{ZIP}/U02/FC/096/3YK3J151VJ/eda.csv",
    source_sha256="ab" * 32,
    run_id="r1",
)
EDA = Member(source="embrace", participant="fc096", metric="eda", device="3YK3J151VJ")
ACC = Member(source="embrace", participant="fc096", metric="acc", device="3YK3J151VJ")
T0 = 1564617600000  # 2019-08-01T00:00:00Z


def convert(member: Member, text: str) -> tuple[pa.Table, dict, list[Rejection]]:
    report = RejectionReport()
    out = list(toolkit.convert(SOURCE, io.BytesIO(text.encode()), member, PROV, report))
    rejections = report.rejections()
    days = [b.table for b in out if not isinstance(b, SideTable)]
    sides = [b for b in out if isinstance(b, SideTable)]
    assert len(sides) == 1 and sides[0].name == "duplicates"
    table = pa.concat_tables(days) if days else embrace.STAGE_SCHEMAS[member.metric].empty_table()
    return table, sides[0].table.to_pylist()[0], rejections


def counts(row: dict) -> dict:
    names = ("total_rows", "total_dupes", "perfect", "unclear", "nan", "kept_rows")
    return {n: row[n] for n in names}


# --- structure ---------------------------------------------------------------------------

site = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=4)
folder = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=10)


@given(
    lead=st.lists(folder, max_size=4),
    study=folder,
    site=site,
    participant=st.from_regex(r"[0-9]{2,4}", fullmatch=True),
    device=st.from_regex(r"[0-9A-Z]{6,12}", fullmatch=True),
    stream=st.sampled_from(embrace.FILES),
    zipped=st.booleans(),
)
def test_member_is_found_by_structure_under_any_leading_folders(
    lead: list[str],
    study: str,
    site: str,
    participant: str,
    device: str,
    stream: str,
    zipped: bool,
) -> None:
    inside = "/".join([*lead, study, site, participant, device, f"{stream}.csv"])
    path = f"{ZIP}/{inside}" if zipped else inside
    assert SOURCE.member(path) == Member(
        source="embrace", participant=site.lower() + participant, metric=stream, device=device
    )
    assert SOURCE.recognise(path)


@pytest.mark.parametrize(
    "path",
    [
        f"{ZIP}/FC/096/3YK3J151VJ/eda.csv",  # no study folder above the site
        f"{ZIP}/__MACOSX/U02/FC/096/3YK3J151VJ/._eda.csv",
        f"{ZIP}/U02/FC/096/3YK3J151VJ/.DS_Store",
        f"{ZIP}/U02/FC/096/3YK3J151VJ/bvp.csv",
    ],
)
def test_paths_outside_the_structure_are_not_members(path: str) -> None:
    assert SOURCE.member(path) is None


def test_reasons_for_files_that_are_not_members() -> None:
    assert "not in <study>/<SITE>/<participant>/<device>/" in SOURCE.reject_reason(
        f"{ZIP}/FC/096/3YK3J151VJ/eda.csv"
    )
    assert SOURCE.reject_reason(f"{ZIP}/U02/FC/096/X/notes.txt").startswith("not an Embrace file")
    assert SOURCE.reject_reason(f"{ZIP}/__MACOSX/U02/FC/096/X/._eda.csv") is None


def test_export_check_names_missing_stream_files_and_a_zip_without_structure() -> None:
    members = [f"U02/FC/096/D1/{s}.csv" for s in ("eda", "acc", "metadata")]
    assert SOURCE.check_export(members) == [
        ("U02/FC/096/D1/temp.csv", "device folder has no temp.csv (stream missing)")
    ]
    problems = SOURCE.check_export(["export/eda.csv", "readme.txt"])
    assert [where for where, _ in problems] == [""]
    assert "no Embrace device folder" in problems[0][1]


def test_export_month_and_registry() -> None:
    assert embrace.export_month(PROV.source_key) == "20190801_20190831"
    assert embrace.export_month("raw/embrace/loose/U02/FC/096/X/eda.csv") == ""
    assert sources.recognise(ZIP) == "embrace"
    assert sources.get("embrace").nominal_hz == {"eda": 4.0, "temp": 1.0, "acc": 32.0}


# --- dedupe ------------------------------------------------------------------------------

HAND_MADE_EDA = "\n".join(
    [
        "Unix Timestamp (UTC),EDA (microS)",
        f"{T0},0.100000",  # a
        f"{T0},0.100000",  # a: perfect copy
        f"{T0 + 250},0.200000",  # unclear pair
        f"{T0 + 250},0.300000",
        f"{T0 + 500},0.0",  # 0.0 and -0.0: a perfect copy once -0.0 is 0.0
        f"{T0 + 750},",  # NaN
        f"{T0 + 1000},nan",  # NaN, twice: a perfect copy, then dropped as NaN
        f"{T0 + 1000},nan",
        f"{T0 + 1250},0.400000",  # alone
        f"{T0 + 1500},0.500000",  # perfect triple with an unclear fourth
        f"{T0 + 1500},0.500000",
        f"{T0 + 1500},0.600000",
        f"{T0 + 500},-0.0",
        f"{T0 + 1500},0.500000",  # the third copy, at the end of the file
    ]
)


def test_dedupe_counts_on_a_hand_made_file() -> None:
    table, row, rejections = convert(EDA, HAND_MADE_EDA + "\n")
    assert rejections == []
    # timestamps repeated: T0 (2), +250 (2), +500 (2), +1000 (2), +1500 (4) -> 12 rows
    # exact copies: T0 (2), +500 (2), +1000 (2), +1500 x 0.5 (3) -> 9; unclear: 2 + 1 = 3
    assert counts(row) == {
        "total_rows": 14,
        "total_dupes": 12,
        "perfect": 9,
        "unclear": 3,
        "nan": 3,
        "kept_rows": 4,
    }
    assert (row["month"], row["stream"], row["device_id"]) == (
        "20190801_20190831",
        "eda",
        "3YK3J151VJ",
    )
    assert table["eda_microsiemens"].to_pylist() == [0.1, 0.0, 0.4, 0.5]
    assert [t.timestamp() * 1000 for t in table["time"].to_pylist()] == [
        T0,
        T0 + 500,
        T0 + 1250,
        T0 + 1500,
    ]
    assert str(np.copysign(1, table["eda_microsiemens"][1].as_py())) == "1.0"  # not -0.0
    assert table.schema == embrace.STAGE_SCHEMAS["eda"]


def test_acc_missing_means_a_missing_x() -> None:
    text = "\n".join(
        [
            "Unix Timestamp (UTC),x (g),y (g),z (g)",
            f"{T0},,0.1,0.1",
            f"{T0 + 31},0.1,,0.1",
            f"{T0 + 62},0.1,0.2,0.3",
        ]
    )
    table, row, _ = convert(ACC, text)
    assert (row["nan"], row["kept_rows"]) == (1, 2)
    assert table["y_g"].to_pylist() == [None, 0.2]


def test_days_are_utc_days_and_rows_come_out_sorted() -> None:
    text = "\n".join(
        [
            "Unix Timestamp (UTC),EDA (microS)",
            f"{T0 + 86_400_000},2.0",
            f"{T0 - 250},1.0",
            f"{T0},1.5",
        ]
    )
    batches = [
        (b.day, b.table["eda_microsiemens"].to_pylist())
        for b in SOURCE.convert(io.BytesIO(text.encode()), EDA, PROV, RejectionReport())
        if not isinstance(b, SideTable)
    ]
    assert batches == [("2019-07-31", [1.0]), ("2019-08-01", [1.5]), ("2019-08-02", [2.0])]


def test_duplicates_across_blocks_are_found() -> None:
    rows = [f"{T0 + i * 250},{i % 7}.000000" for i in range(5000)]
    text = "Unix Timestamp (UTC),EDA (microS)\n" + "\n".join([*rows, rows[0], rows[4999]]) + "\n"
    small = embrace.Embrace(block_bytes=4096)
    out = list(small.convert(io.BytesIO(text.encode()), EDA, PROV, RejectionReport()))
    row = out[-1].table.to_pylist()[0]
    assert (row["total_rows"], row["perfect"], row["kept_rows"]) == (5002, 4, 5000)


# --- bad input ---------------------------------------------------------------------------


def test_a_wrong_header_rejects_the_file() -> None:
    with pytest.raises(RejectedFile, match="header is not one of the Embrace stream headers"):
        convert(EDA, "time,eda\n1,2\n")
    with pytest.raises(RejectedFile, match="empty file"):
        convert(EDA, "")


def test_non_numeric_cells_are_skipped_and_reported() -> None:
    text = "\n".join(
        [
            "Unix Timestamp (UTC),EDA (microS)",
            f"{T0},0.1",
            "yesterday,0.2",
            f"{T0 + 250},high",
            f"{T0 + 500},0.3,9",
            f"{T0 + 750},0.4",
            f"{T0 + 1000},0.5",
            f"{T0 + 1250},0.6",
        ]
    )
    table, row, rejections = convert(EDA, text)
    assert table["eda_microsiemens"].to_pylist() == [0.1, 0.4, 0.5, 0.6]
    assert row["total_rows"] == 4
    reasons = {r.reason: r.rows for r in rejections}
    assert reasons == {embrace.BAD_TIME: 1, embrace.NON_NUMERIC: 1, embrace.WRONG_FIELDS: 1}
    examples = {r.reason: r.examples for r in rejections}
    assert "yesterday" in examples[embrace.BAD_TIME][0]


def test_a_file_of_mostly_bad_rows_is_rejected() -> None:
    text = "Unix Timestamp (UTC),EDA (microS)\n" + "\n".join(["x,y"] * 3 + [f"{T0},1.0"])
    with pytest.raises(RejectedFile, match="most rows are bad"):
        convert(EDA, text)


def test_temperature_header_in_utf8_and_latin1() -> None:
    member = Member(source="embrace", participant="fc096", metric="temp", device="D")
    for encoding in ("utf-8", "latin-1"):
        body = f"Unix Timestamp (UTC),Degrees (°C)\n{T0},33.1\n".encode(encoding)
        out = list(SOURCE.convert(io.BytesIO(body), member, PROV, RejectionReport()))
        assert out[0].table["temp_celsius"].to_pylist() == [33.1]


def test_metadata_gives_the_timezone_offset() -> None:
    member = Member(source="embrace", participant="fc096", metric="metadata", device="D")
    body = (
        ",".join(embrace.METADATA_HEADER)
        + "\n2019-08-01 12:00:00,-240,2.1,Mate,1.30,iOS,12.3,1.0\nsoon,x,,,,,,\n"
    )
    report = RejectionReport()
    out = list(toolkit.convert(SOURCE, io.BytesIO(body.encode()), member, PROV, report))
    rejections = report.rejections()
    assert [(b.day, b.table["timezone_minutes"].to_pylist()) for b in out] == [
        ("2019-08-01", [-240])
    ]
    assert [(r.reason, r.rows) for r in rejections] == [(embrace.BAD_METADATA, 1)]


# --- samples -----------------------------------------------------------------------------


def test_samples_have_the_shape_of_an_export(tmp_path: Path) -> None:
    paths = SOURCE.write_samples(tmp_path, 7)
    again = SOURCE.write_samples(tmp_path / "again", 7)
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]  # seeded
    names = [n for p in paths for n in zipfile.ZipFile(p).namelist()]
    members = {SOURCE.member(f"{ZIP}/{n}") for n in names} - {None}
    assert {(m.participant, m.device) for m in members} == {
        ("fc096", "3YK3J151VJ"),
        ("fc096", "3YK3K152ZP"),
        ("mg012", "3YK3M153QX"),
    }
    assert any(n.startswith("__MACOSX/") for n in names)
    assert any(n.endswith(".DS_Store") for n in names)
    assert any(n.startswith("Sensors_U02_FC_20190801_20190831/U02/") for n in names)
    temp = next(n for n in names if n.endswith("temp.csv"))
    with zipfile.ZipFile(paths[0]) as zf:
        assert zf.read(temp).decode("utf-8").startswith("Unix Timestamp (UTC),Degrees (°C)")
