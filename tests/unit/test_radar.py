"""The RADAR-base converter: names, times, days, duplicates, and bad files with their reasons."""

from __future__ import annotations

import datetime as dt
import gzip
import io
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phenolake.sources.base import Member, Provenance, RejectedFile
from phenolake.sources.radar import convert as radar
from phenolake.sources.toolkit import Rejection, RejectionReport

SOURCE = radar.Radar()
MEMBER = Member(source="radar", participant="p1", metric="sensorkit_acceleration")
HEADER = "key.projectId,key.userId,key.sourceId,value.time,value.timeReceived,value.x,value.device"


def prov(name: str = "20241017_2300.csv.gz", site: str = "site-a") -> Provenance:
    key = f"raw/radar/export/{site}/p1/sensorkit_acceleration/{name}"
    return Provenance(source_key=key, source_sha256="cd" * 32, run_id="r1")


def convert(
    text: str | bytes, name: str = "20241017_2300.csv.gz", site: str = "site-a"
) -> tuple[dict[str, pa.Table], list[Rejection]]:
    data = text.encode() if isinstance(text, str) else text
    if name.endswith(".gz") and isinstance(text, str):
        data = gzip.compress(data)
    report = RejectionReport()
    batches = SOURCE.convert(io.BytesIO(data), MEMBER, prov(name, site), report)
    return {b.day: b.table for b in batches}, report.rejections()


def test_member_recognise_and_schema_files() -> None:
    path = "output/site-a/p1/sensorkit_acceleration/20241017_0000_1.csv.gz"
    assert SOURCE.recognise(path)
    assert SOURCE.recognise("x/site-a/p1/questionnaire_response/schema-questionnaire_response.json")
    assert not SOURCE.recognise("MHEALTHDATASET/mHealth_subject1.log")
    assert SOURCE.member(path) == MEMBER
    assert SOURCE.member("x/site-a/p1/sensorkit_acceleration/schema-x.json") is None
    # a file the path format did not write is no member: Convert quarantines it with why
    off = "x/site-a/p1/sensorkit_acceleration/2024-10-17.csv.gz"
    assert SOURCE.member(off) is None
    assert SOURCE.reject_reason(off) == (
        "'2024-10-17.csv.gz' is not a file the study's radar path format writes: "
        "${projectId}/${userId}/${topic}/${filename} "
        "(${filename}: yyyyMMdd_HH00[_N].csv[.gz|.zip], UTC)"
    )


def test_columns_times_days_and_provenance() -> None:
    rows = [
        "site-a,p1,s1,1.729206E9,1729209601.5,0.25,iPhone",  # 2024-10-17 23:00:00
        "site-a,p1,s1,1729206000.5,1729209602,-1,iPhone",
        "site-a,p1,s1,1729210200.25,1729210201,2,Watch",  # 2024-10-18 00:10:00.25
    ]
    days, rejections = convert(HEADER + "\n" + "\n".join(rows) + "\n")
    assert rejections == []
    assert sorted(days) == ["2024-10-17", "2024-10-18"]
    first = days["2024-10-17"]
    assert first.column_names == [
        "site", "participant_id", "time", "source_id", "time_received", "x", "device",
        "source_key", "source_sha256", "run_id",
    ]  # fmt: skip
    assert first.schema.field("time").type == pa.timestamp("us", "UTC")
    assert first.schema.field("x").type == pa.float64()  # "-1" and "2" do not make it an int
    utc = dt.UTC
    assert first["time"].to_pylist() == [
        dt.datetime(2024, 10, 17, 23, tzinfo=utc),
        dt.datetime(2024, 10, 17, 23, 0, 0, 500000, tzinfo=utc),
    ]
    assert days["2024-10-18"]["time"].to_pylist() == [
        dt.datetime(2024, 10, 18, 0, 10, 0, 250000, tzinfo=utc)
    ]
    assert set(first["site"].to_pylist()) == {"site-a"}
    assert set(first["participant_id"].to_pylist()) == {"p1"}
    assert set(first["source_key"].to_pylist()) == {prov().source_key}


def test_names_are_snake_case_and_never_clash() -> None:
    header = [
        "key.projectId", "key.userId", "key.sourceId", "value.time", "value.timeReceived",
        "value.answers.0.questionId", "value.date", "value.sourceKey", "value.x", "x",
    ]  # fmt: skip
    assert radar.column_names(header) == [
        "site", "participant_id", "source_id", "time", "time_received",
        "answers_0_question_id", "value_date", "value_source_key", "x", "x_9",
    ]  # fmt: skip


def test_exact_duplicates_removed_and_counted() -> None:
    row = "site-a,p1,s1,1729206000,1729206001,0.5,iPhone"
    other = "site-a,p1,s1,1729206000,1729206001,0.6,iPhone"  # same time, other value: kept
    days, rejections = convert(f"{HEADER}\n{row}\n{other}\n{row}\n{row}\n")
    assert days["2024-10-17"]["x"].to_pylist() == [0.5, 0.6]
    assert [(r.reason, r.rows) for r in rejections] == [(radar.DUPLICATE, 2)]


def test_ragged_rows_and_bad_times_are_skipped_with_reasons() -> None:
    text = (
        f"{HEADER}\n"
        "site-a,p1,s1,1729206000,1729206001,0.5,iPhone\n"
        "site-a,p1,s1,1729206001,0.5\n"
        "site-a,p1,s1,,,0.7,iPhone\n"
        "site-a,p1,s1,soon,later,0.8,iPhone\n"
        "site-a,p1,s1,,1729206002,0.9,iPhone\n"  # no value.time: the tool's next field
    )
    days, rejections = convert(text)
    assert days["2024-10-17"]["x"].to_pylist() == [0.5, 0.9]
    assert days["2024-10-17"]["time"][1].as_py().timestamp() == 1729206002
    found = {r.reason: r for r in rejections}
    assert found[radar.WRONG_FIELDS].rows == 1
    assert "line 3" in found[radar.WRONG_FIELDS].examples[0]
    assert found[radar.BAD_TIME].rows == 2
    assert found[radar.BAD_TIME].examples == [
        "data row 2: value.time None, value.timeReceived None",
        "data row 3: value.time 'soon', value.timeReceived 'later'",
    ]


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"not gzip at all", "20241017_2300.csv.gz", "is not gzip"),
        (gzip.compress(b"key.userId,value.time\np1,1\n")[:-9], "20241017_2300.csv.gz", "damaged"),
        (gzip.compress(f"{HEADER}\n".encode()), "2024-10-17.csv.gz", "is not a file the study"),
        (gzip.compress(b""), "20241017_2300.csv.gz", "empty file"),
        (gzip.compress(b"key.userId,value.x\np1,1\n"), "20241017_2300.csv.gz", "no time field"),
        (gzip.compress(b"a\0b,c\n"), "20241017_2300.csv.gz", "binary"),
    ],
)
def test_bad_files_are_rejected_whole(data: bytes, name: str, reason: str) -> None:
    with pytest.raises(RejectedFile, match=reason):
        convert(data, name)


def test_rows_of_another_site_reject_the_file() -> None:
    text = f"{HEADER}\nsite-b,p1,s1,1729206000,1729206001,0.5,iPhone\n"
    with pytest.raises(RejectedFile, match="site folder 'site-a' holds rows of another"):
        convert(text)


@settings(max_examples=200, deadline=None)
@given(
    micros=st.integers(min_value=946_684_800_000_000, max_value=4_102_444_800_000_000),
    form=st.sampled_from(["{:.6f}", "{:.15E}", "{:.15e}", "{!r}"]),
)
def test_epoch_seconds_parse_to_the_microsecond(micros: int, form: str) -> None:
    """Any 2000-2100 time, written as RADAR writes doubles (plain or scientific), comes back
    as the microsecond it was, and on the UTC day it falls on."""
    seconds = micros / 1_000_000
    text = form.format(seconds)
    parsed = radar.parse_seconds(pa.array([text]))
    got = radar.epoch_seconds_to_us(parsed)[0].as_py()
    assert abs(got - micros) <= 1  # a double holds a 2100 time to ~0.5 us
    day = (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=got)).date()
    days, _ = convert(f"{HEADER}\nsite-a,p1,s1,{text},0,0.5,iPhone\n")
    assert list(days) == [day.isoformat()]


@given(text=st.sampled_from(["", "nan", "inf", "-Infinity", "1e", "12:00", "0x10", "1,5"]))
def test_non_numbers_are_not_times(text: str) -> None:
    assert radar.parse_seconds(pa.array([text])).to_pylist() == [None]


def test_samples_have_the_promised_shapes(tmp_path: Path) -> None:
    written = SOURCE.write_samples(tmp_path, seed=7)
    names = {p.relative_to(tmp_path / "output").as_posix() for p in written}
    assert {n.split("/")[0] for n in names} == {"connect-kcl", "connect-mssm"}
    assert any(n.endswith("_0000_1.csv.gz") for n in names)
    assert any(n.endswith("schema-questionnaire_response.json") for n in names)
    light = sorted(p for p in written if "ambient_light" in p.name or "ambient_light" in str(p))
    headers = {gzip.decompress(p.read_bytes()).split(b"\n")[0] for p in light if p.suffix == ".gz"}
    assert len(headers) == 2  # later files add value.placement
    again = SOURCE.write_samples(tmp_path / "again", seed=7)
    assert again[0].read_bytes() == written[0].read_bytes()
