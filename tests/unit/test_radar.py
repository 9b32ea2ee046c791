"""The RADAR-base converter: names, times, days, duplicates, and bad files with their reasons."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phenolake import sources, study, zipintake
from phenolake.sources.base import Member, Provenance, RejectedFile
from phenolake.sources.radar import convert as radar
from phenolake.sources.radar import paths, timefields
from phenolake.sources.toolkit import Rejection, RejectionReport
from tests.fakes import radar_restructure as rr
from tests.fakes.zips import make_zip

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
    for name in ("20241017_0000.csv.zip", "20241017_0000.csv", "20241017_0000.csv.gz.corrupted-1"):
        assert SOURCE.recognise(f"output/site-a/p1/t/{name}"), name
    assert SOURCE.recognise("export/offsets/sensorkit_acceleration.json")
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
        (
            gzip.compress(b"key.userId,value.time\np1,1\n", mtime=0)[:-9],
            "20241017_2300.csv.gz",
            "damaged",
        ),
        (
            gzip.compress(f"{HEADER}\n".encode(), mtime=0),
            "2024-10-17.csv.gz",
            "is not a file the study",
        ),
        (gzip.compress(b"", mtime=0), "20241017_2300.csv.gz", "empty file"),
        (
            gzip.compress(b"key.userId,value.x\np1,1\n", mtime=0),
            "20241017_2300.csv.gz",
            "no time field",
        ),
        (gzip.compress(b"a\0b,c\n", mtime=0), "20241017_2300.csv.gz", "binary"),
    ],
    # named, not by their bytes: a gzip header holds the time it was made, so each xdist
    # worker would collect its own test ids
    ids=["not-gzip", "damaged", "daily-file", "empty", "no-time-field", "binary"],
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


# --- paths, times and files as radar-output-restructure 3.0.6 writes them -------------------

STUDY = SOURCE.configured(
    {
        "topic_path_formats": {
            "application_server_status": rr.STATUS_FORMAT,
            "questionnaire_response": "${projectId}/${userId}/${topic}/${value:name}/${filename}",
        }
    }
)
UUID = "1543bc93-3c17-4381-89a5-c5d6272b827c"


def convert_at(source: radar.Radar, key: str, data: bytes) -> tuple[dict[str, pa.Table], list]:
    """Convert the bytes of the file at ``key`` (a raw key) as the Convert step does."""
    member = source.member(key)
    assert member is not None, key
    report = RejectionReport()
    provenance = Provenance(source_key=key, source_sha256="ab" * 32, run_id="r1")
    batches = source.convert(io.BytesIO(data), member, provenance, report)
    return {b.day: b.table for b in batches}, report.rejections()


def test_the_integration_tests_paths_are_read_back(tmp_path: Path) -> None:
    """RestructureS3IntegrationTest's output paths: the default format and its topic format
    with a ``${value:serverStatus}`` level."""
    data, schema = [p for p in rr.OUTPUT if p.endswith(".csv")], rr.OUTPUT[2]
    facts = {p: STUDY.facts(f"raw/radar/export/{p}") for p in data}
    assert [(f.site, f.participant, f.topic, f.folders, f.bin_start) for f in facts.values()] == [
        ("STAGING_PROJECT", UUID, "application_server_status", {"value.serverStatus": "CONNECTED"},
         dt.datetime(2020, 1, 28, 13, tzinfo=dt.UTC)),
        ("STAGING_PROJECT", UUID, "application_server_status", {"value.serverStatus": "CONNECTED"},
         dt.datetime(2020, 1, 28, 14, tzinfo=dt.UTC)),
        ("radar-test-root", "4ab9b985-6eec-4e51-9a29-f4c571c89f99", "android_phone_acceleration",
         {}, dt.datetime(2020, 5, 28, 10, tzinfo=dt.UTC)),
    ]  # fmt: skip
    assert STUDY.member(f"export/{data[0]}") == Member("radar", UUID, "application_server_status")
    assert STUDY.site_of(data[0]) == "STAGING_PROJECT"
    assert STUDY.member(schema) is None and STUDY.reject_reason(schema) is None  # logged
    # without the study's topic format, that level is not read as a topic
    assert SOURCE.member(data[0]) == Member("radar", "application_server_status", "CONNECTED")
    # the rows: the file the test asserts, exactly; its exact duplicate counted
    written = rr.integration_output(tmp_path)
    assert (tmp_path / data[0]).read_text() == rr.FIRST_1300
    days, rejections = convert_at(STUDY, data[1], (tmp_path / data[1]).read_bytes())
    assert [(r.reason, r.rows) for r in rejections] == [(radar.DUPLICATE, 2)]
    table = days["2020-01-28"]
    assert table.select(["site", "participant_id", "time", "server_status"]).to_pylist() == [
        {"site": "STAGING_PROJECT", "participant_id": UUID, "server_status": "CONNECTED",
         "time": dt.datetime(2020, 1, 28, 14, 2, 1, 596000, tzinfo=dt.UTC)},
        {"site": "STAGING_PROJECT", "participant_id": UUID, "server_status": "CONNECTED",
         "time": dt.datetime(2020, 1, 28, 14, 7, 37, 239000, tzinfo=dt.UTC)},
    ]  # fmt: skip
    accel = data[2]
    days, rejections = convert_at(STUDY, accel, (tmp_path / accel).read_bytes())
    assert rejections == [] and list(days) == ["2020-05-28"]
    assert days["2020-05-28"]["x"].to_pylist() == [float(r["value.x"]) for r in written[accel]]


@pytest.mark.parametrize(
    ("path_format", "path", "expected"),
    [  # FormattedPathFactoryTest.testFormat, PathFormatterTest.testDefaultPath
        ("${topic}/${projectId}/${userId}/${sourceId}/${time:yyyyMM}/${time:dd}/${filename}",
         "t/p/u/s/202101/02/20210102_1000.csv.gz", ("p", "u", "t", "2021-01-02T10:00:00+00:00")),
        (paths.DEFAULT_FORMAT, "p/u/my_topic/19700101_0000.csv",
         ("p", "u", "my_topic", "1970-01-01T00:00:00+00:00")),
        ("${projectId}/${userId}/${topic}/${time:yy}/${time:MMM}/${filename}",
         "p/u/t/21/Jan/20210102_1000.csv", ("p", "u", "t", "2021-01-02T10:00:00+00:00")),
        # the restructure.yml README example: week-based year, minutes, day of the year
        ("${projectId}/${userId}/${topic}/${time:mm}/${time:YYYYmmDD_HH'00'}${attempt}${extension}",
         "p/u/t/05/20210502_1000_1.csv.zip", ("p", "u", "t", None)),
        (paths.DEFAULT_FORMAT, "unknown-project/u/t/unknown-time.csv",
         ("unknown-project", "u", "t", None)),
    ],
)  # fmt: skip
def test_documented_formats(path_format: str, path: str, expected: tuple) -> None:
    facts = paths.PathFormat(path_format).match(f"raw/radar/{path}")
    assert facts is not None
    start = facts.bin_start.isoformat() if facts.bin_start else None
    assert (facts.site, facts.participant, facts.topic, start) == expected


@pytest.mark.parametrize(
    ("path_format", "reason"),
    [  # the tool's own refusals (FormattedPathFactoryTest, PathFormatterTest), then ours
        ("${projectId}/${userId}/${sourceId}/${filename}", "lacks ${topic}"),
        ("${topic}/${projectId}/${userId}/${attempt}", "lacks ${filename}"),
        ("${topic}/${userId}/${filename}${unknown}", "unknown path parameter ${unknown}"),
        ("${topic}/${userId}/${time:VVV}${attempt}${extension}", "pattern letter 'V'"),
        ("${projectId}/${topic}/${filename}", "lacks ${userId}"),
        ("${mp:project}/${userId}/${topic}/${filename}", "mp plugin takes no parameter"),
    ],
)
def test_unsupported_formats_are_refused_at_validation(path_format: str, reason: str) -> None:
    with pytest.raises(study.StudyConfigError) as refused:
        study.parse(f"sources:\n  radar:\n    options:\n      path_format: '{path_format}'\n")
    message = str(refused.value)
    assert reason in message and "\n" not in message
    assert message.startswith("study.yaml: sources: radar.options.path_format: ")


def test_sanitised_project_names_and_unknown_folders() -> None:
    """``CONNECT Pilot.2`` is filed under ``CONNECTPilot2``: its rows load under that site;
    ``unknown-project`` loads; ``unknown-user`` rows belong to no one."""
    header = "key.projectId,key.userId,key.sourceId,value.time,value.timeReceived,value.light\n"
    row = "{project},u-1,s-1,1.7291664E9,1.729166401E9,12.5\n"
    key = "raw/radar/output/{folder}/u-1/android_phone_light/20241017_1200.csv.gz"
    days, _ = convert_at(
        STUDY,
        key.format(folder="CONNECTPilot2"),
        gzip.compress((header + row.format(project="CONNECT Pilot.2")).encode()),
    )
    assert days["2024-10-17"].select(["site", "participant_id"]).to_pylist() == [
        {"site": "CONNECTPilot2", "participant_id": "u-1"}
    ]
    with pytest.raises(RejectedFile, match=r"site folder 'CONNECTPilot2' holds rows of another "
                       r"key.projectId: \['CONNECT Pilot.3'\]"):  # fmt: skip
        convert_at(
            STUDY,
            key.format(folder="CONNECTPilot2"),
            gzip.compress((header + row.format(project="CONNECT Pilot.3")).encode()),
        )
    days, _ = convert_at(
        STUDY,
        key.format(folder="unknown-project"),
        gzip.compress((header + row.format(project="")).encode()),
    )
    assert days["2024-10-17"]["site"].to_pylist() == ["unknown-project"]
    nobody = "raw/radar/output/CONNECTPilot2/unknown-user/android_phone_light/20241017_1200.csv.gz"
    with pytest.raises(RejectedFile, match=r"'unknown-user': .* belong to no participant"):
        convert_at(
            STUDY, nobody, gzip.compress(f"{header}CONNECT Pilot.2,,s-1,1.7291664E9,0,1\n".encode())
        )


def test_a_value_name_level_is_checked_against_the_rows() -> None:
    """restructure.yml's example: questionnaire_response under ``${value:name}``."""
    header = "key.projectId,key.userId,key.sourceId,value.time,value.timeCompleted,value.name\n"
    key = "raw/radar/output/CONNECTPilot2/u-1/questionnaire_response/{level}/20241017_0900.csv.gz"
    body = gzip.compress(
        f"{header}CONNECT Pilot.2,u-1,s-1,1729155600.5,1729155660.25,PHQ 8\n".encode()
    )
    assert STUDY.member(key.format(level="PHQ8")) == Member(
        "radar", "u-1", "questionnaire_response"
    )
    days, _ = convert_at(STUDY, key.format(level="PHQ8"), body)
    assert days["2024-10-17"].select(["time", "name"]).to_pylist() == [
        {"time": dt.datetime(2024, 10, 17, 9, 0, 0, 500000, tzinfo=dt.UTC), "name": "PHQ 8"}
    ]
    with pytest.raises(
        RejectedFile, match=r"folder 'ESM' holds rows of another value.name: \['PHQ 8'\]"
    ):
        convert_at(STUDY, key.format(level="ESM"), body)


def test_an_aggregate_topics_time_is_its_window_start() -> None:
    """Kafka-streams aggregates: AggregateKey's ``timeStart`` (RADAR-Schemas
    ``commons/kafka/aggregate_key.avsc``, value ``NumericAggregate``)."""
    header = (
        "key.projectId,key.userId,key.sourceId,key.timeStart,key.timeEnd,value.name,value.min,"
        "value.max,value.sum,value.count,value.mean,value.quartile.0,value.quartile.1,"
        "value.quartile.2\n"
    )
    rows = [
        "CONNECT,u-1,s-1,1.72920958E9,1.72920959E9,batteryLevel,0.5,0.52,5.1,10,0.51,0.5,0.51,0.52",
        "CONNECT,u-1,s-1,1.72920959E9,1.7292096E9,batteryLevel,0.5,0.5,5.0,10,0.5,0.5,0.5,0.5",
    ]
    key = "raw/radar/output/CONNECT/u-1/android_phone_battery_level_10sec/20241017_2300.csv.zip"
    data = rr.compressed(header + "\n".join(rows) + "\n", "zip", "20241017_2300.csv.zip")
    days, rejections = convert_at(STUDY, key, data)
    assert rejections == []
    assert {d: t["time"].to_pylist() for d, t in days.items()} == {
        "2024-10-17": [
            dt.datetime(2024, 10, 17, 23, 59, 40, tzinfo=dt.UTC),
            dt.datetime(2024, 10, 17, 23, 59, 50, tzinfo=dt.UTC),
        ]
    }
    # typed by the shipped AggregateKey schema (timeStart: double)
    assert days["2024-10-17"]["time_start"].to_pylist() == [1729209580.0, 1729209590.0]


def test_a_date_time_topics_time_is_read_as_the_tool_reads_it() -> None:
    """Fitbit sleep stages (RADAR-Schemas ``fitbit_sleep_stage.avsc``): ``dateTime`` is a
    local date-time, which the tool files as UTC; an unreadable one falls to timeReceived."""
    header = (
        "key.projectId,key.userId,key.sourceId,value.dateTime,value.timeReceived,"
        "value.duration,value.level,value.efficiency\n"
    )
    rows = [
        "CONNECT,u-1,s-1,2024-10-17T23:30:00,1729300000.5,1800,LIGHT,",
        "CONNECT,u-1,s-1,2024-10-17T23:59:30.250Z,1729300001,30,DEEP,92",
        "CONNECT,u-1,s-1,2024-10-17 23:40:00,1729300002,60,REM,",  # not ISO: timeReceived
    ]
    key = "raw/radar/output/CONNECT/u-1/connect_fitbit_sleep_stages/20241017_2300.csv.gz"
    days, rejections = convert_at(
        STUDY, key, gzip.compress(("\n".join([header.strip(), *rows]) + "\n").encode())
    )
    assert rejections == []
    assert {d: t["time"].to_pylist() for d, t in days.items()} == {
        "2024-10-17": [
            dt.datetime(2024, 10, 17, 23, 30, tzinfo=dt.UTC),
            dt.datetime(2024, 10, 17, 23, 59, 30, 250000, tzinfo=dt.UTC),
        ],
        "2024-10-19": [dt.datetime(2024, 10, 19, 1, 6, 42, tzinfo=dt.UTC)],
    }


@pytest.mark.parametrize(
    ("text", "seconds"),
    [  # what java.time gives (TimeUtil.parseDateTime / parseDate), checked with JDK 17
        ("2020-01-01T10:00:00Z", 1577872800.0),
        ("2020-01-01T10:00Z", None),
        ("2020-01-01T10:00:00.123456789Z", 1577872800.123456789),
        ("2020-01-01T10:00:00+01:00", None),
        ("2020-01-01T10:00:00", 1577872800.0),
        ("2020-01-01T10:00", 1577872800.0),
        ("2020-01-01T10:00:00.5", 1577872800.5),
        ("2020-01-01 10:00:00", None),
        ("2020-01-01t10:00:00z", None),
        ("2020-01-01t10:00:00", 1577872800.0),
        ("2020-01-01T10:00:00.Z", 1577872800.0),
        ("2020-01-01T10:00:00.", 1577872800.0),
        ("2020-01-01T10:00.5", None),
        ("2020-01-01T10:00:00.1234567891Z", None),
        ("2020-01-01T24:00:00", None),
        ("2020-02-30T10:00:00", None),
    ],
)
def test_date_times_parse_as_java_time_does(text: str, seconds: float | None) -> None:
    assert timefields.parse_date_time(text) == seconds


def test_time_fields_in_the_tools_order_row_by_row() -> None:
    header = ["key.userId", "key.start", "value.Time", "value.date", "value.timeCompleted"]
    assert [f for _, f, _ in timefields.fields_of(header)] == [
        "value.time", "key.start", "value.date", "value.timeCompleted",
    ]  # fmt: skip
    columns = [
        ("value.time", pa.array(["", "1.5E9", None, None])),
        ("key.start", pa.array([1_600_000_000_000, None, None, None])),
        ("value.date", pa.array(["2020-1-1", None, "2021-03-04", None])),
        ("value.timeCompleted", pa.array([None, None, 7.0, 8.0])),
    ]
    assert timefields.row_seconds(columns).to_pylist() == [1.6e9, 1.5e9, 1614816000.0, 8.0]
    parsed = pa.array([dt.datetime(2024, 10, 17, 23, 30), None], pa.timestamp("s"))
    assert timefields.row_seconds([("value.dateTime", parsed)]).to_pylist() == [1729207800.0, None]
    assert timefields.parse_date("2020-1-1") is None


def test_zip_compression_and_corrupted_backups() -> None:
    key = "raw/radar/output/CONNECT/u-1/android_phone_light/20241017_1200.csv.zip"
    text = "key.projectId,key.userId,value.time,value.light\nCONNECT,u-1,1.7291664E9,3.5\n"
    days, _ = convert_at(STUDY, key, rr.compressed(text, "zip", "20241017_1200.csv.zip"))
    assert days["2024-10-17"]["light"].to_pylist() == [3.5]
    assert not STUDY.is_archive(key) and STUDY.is_archive("radar/export.zip")
    two = io.BytesIO()
    with zipfile.ZipFile(two, "w") as archive:
        archive.writestr("a.csv", text)
        archive.writestr("b.csv", text)
    with pytest.raises(RejectedFile, match="holds 2 entries; radar-output-restructure's zip"):
        convert_at(STUDY, key, two.getvalue())
    backup = key.replace(".csv.zip", ".csv.gz.corrupted-0")
    assert STUDY.member(backup) == Member("radar", "u-1", "android_phone_light")  # Forget finds it
    with pytest.raises(RejectedFile) as refused:
        convert_at(STUDY, backup, b"\x1f\x8b broken")
    assert str(refused.value) == (
        "20241017_1200.csv.gz.corrupted-0 is radar-output-restructure's backup of "
        "20241017_1200.csv.gz, which the tool could not read and started afresh: its rows "
        "are in no other file (not converted; repair it by hand)"
    )


def test_every_other_file_under_the_tree_has_a_reason() -> None:
    schema = "output/CONNECT/u-1/android_phone_light/schema-android_phone_light.json"
    old = ("output/offsets.csv", "output/bins.csv")  # the HDFS restructure of 2018
    for side in ("output/offsets/android_phone_light.json", *old, schema):
        assert STUDY.member(side) is None and STUDY.reject_reason(side) is None, side
    assert "JSON output (format: json) is not read" in STUDY.reject_reason(
        "output/CONNECT/u-1/android_phone_light/20241017_1200.json"
    )
    assert "is not a file the study's radar path format writes" in STUDY.reject_reason(
        "output/CONNECT/u-1/notes.txt"
    )
    assert "backup of x.csv.gz, which the tool" in STUDY.reject_reason("output/x.csv.gz.corrupted")


def test_a_csv_zip_inside_an_export_zip_is_not_opened(tmp_path: Path) -> None:
    inner = rr.compressed("key.userId,value.time\nu-1,1.7E9\n", "zip", "20241017_1200.csv.zip")
    export = make_zip(tmp_path / "export.zip", {"CONNECT/u-1/t/20241017_1200.csv.zip": inner})
    extracted, report = zipintake.extract(
        export, tmp_path, is_archive=lambda name: sources.is_archive("radar", name)
    )
    assert [e.member for e in extracted] == ["CONNECT/u-1/t/20241017_1200.csv.zip"]
    assert extracted[0].path.read_bytes() == inner and not report.rejected


def test_local_site_selection_reads_the_studys_format() -> None:
    from phenolake_local import runner

    key = f"radar/export/{rr.OUTPUT[0]}"
    chosen = {"radar": {"include_sites": ["STAGING_PROJECT"]}}
    config = study.parse(
        f"sources:\n  radar:\n    options:\n      topic_path_formats:\n"
        f"        application_server_status: '{rr.STATUS_FORMAT}'\n"
    )
    assert runner._chosen_site("radar", key, chosen, config)
    assert not runner._chosen_site("radar", key, chosen)  # the default reads another level


def test_forget_finds_a_participants_files_under_the_studys_format() -> None:
    from phenolake import forget

    options = {"topic_path_formats": {"application_server_status": rr.STATUS_FORMAT}}
    relative = f"export/{rr.OUTPUT[0]}"
    assert forget.participant_of("radar", relative, options) == UUID
    assert forget.participant_of("radar", f"{relative[:-4]}.csv.gz.corrupted", options) == UUID
    assert forget.belongs("radar", relative, UUID, options)
