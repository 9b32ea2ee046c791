"""radar's column types come from the topic's Avro schema, never from an hour's values; the
fixtures are written as radar-output-restructure writes them (``tests/fakes/radar_writer.py``,
checked here against the tool's own expected output)."""

from __future__ import annotations

import gzip
import io
import json
import logging
from pathlib import Path

import fastavro
import pyarrow as pa
import pytest

from phenolake.sources.base import Member, Provenance, RejectedFile
from phenolake.sources.radar import convert as radar
from phenolake.sources.radar import schema
from phenolake.sources.toolkit import RejectionReport
from tests.fakes import radar_schemas, radar_writer

DATA = Path(__file__).parents[1] / "data" / "radar-output-restructure"
SOURCE = radar.Radar()


def convert(
    text: str,
    topic: str,
    companion: dict | None = None,
    name: str = "20241017_0900.csv.gz",
    site: str = "site-a",
    participant: str = "p1",
) -> tuple[pa.Table, RejectionReport]:
    key = f"raw/radar/export/{site}/{participant}/{topic}/{name}"
    member = Member(source="radar", participant=participant, metric=topic)
    companions = None
    if companion is not None:
        companions = {
            f"export/{site}/{participant}/{topic}/schema-{topic}.json": json.dumps(
                companion
            ).encode()
        }
    report = RejectionReport()
    batches = SOURCE.convert(
        io.BytesIO(gzip.compress(text.encode())),
        member,
        Provenance(source_key=key, source_sha256="ab" * 32, run_id="r1"),
        report,
        companions,
    )
    tables = [b.table for b in batches]
    return (pa.concat_tables(tables) if tables else pa.table({})), report


def csv_of(schema_json: dict, records: list[dict]) -> str:
    """The one file a list of records of one header gives, as the tool writes it."""
    cells = [radar_writer.record_cells(schema_json, r) for r in records]
    header = [h for h, _ in cells[0]]
    assert all([h for h, _ in c] == header for c in cells)
    return radar_writer.csv_line(header) + "".join(
        radar_writer.csv_line([v for _, v in c]) for c in cells
    )


# --- the writer is the tool's ------------------------------------------------------------


def test_the_writer_gives_csv_avro_converter_tests_header_and_values() -> None:
    """CsvAvroConverterTest.writeRecord: full.avsc / full.json, with a and i.other excluded."""
    full = json.loads((DATA / "full.avsc").read_text())
    record = radar_writer.from_avro_json(full, json.loads((DATA / "full.json").read_text()))
    cells = [
        (h, v) for h, v in radar_writer.record_cells(full, record) if h not in ("a", "i.other")
    ]
    assert [h for h, _ in cells] == [
        "b", "c", "d", "e", "f", "g", "h", "i.some", "j.0", "j.1", "k", "l.la", "m",
    ]  # fmt: skip
    assert [v for _, v in cells] == [
        "/w", "/w", "1000000000000000000", "1.21322421E-15", "0.1213231", "132101", "",
        "1", "", "some", "Y", "", "false",
    ]  # fmt: skip


def test_the_writer_gives_the_integration_tests_files(tmp_path: Path) -> None:
    """RestructureS3IntegrationTest: both application_server_status files restructured give
    exactly its files and its 20200128_1300.csv (the 13:57 record once from each file)."""
    records, written = [], None
    for path in sorted((DATA / "application_server_status").rglob("*.avro")):
        with path.open("rb") as stream:
            reader = fastavro.reader(stream)
            records += list(reader)
            written = reader.writer_schema
    folder = tmp_path / "STAGING_PROJECT" / "1543bc93" / "application_server_status" / "CONNECTED"
    files = radar_writer.write_topic(
        folder, "application_server_status", written, records, compress=False
    )
    assert sorted(p.name for p in files) == [
        "20200128_1300.csv", "20200128_1400.csv", "schema-application_server_status.json",
    ]  # fmt: skip
    assert (folder / "20200128_1300.csv").read_text() == (
        "key.projectId,key.userId,key.sourceId,value.time,value.serverStatus,value.ipAddress\n"
        "STAGING_PROJECT,1543bc93-3c17-4381-89a5-c5d6272b827c,"
        "99caf236-bbe6-4eed-9c63-fba77349821d,1.58021982003E9,CONNECTED,\n"
        "STAGING_PROJECT,1543bc93-3c17-4381-89a5-c5d6272b827c,"
        "99caf236-bbe6-4eed-9c63-fba77349821d,1.58021982003E9,CONNECTED,\n"
    )
    assert json.loads((folder / "schema-application_server_status.json").read_text()) == written


@pytest.mark.parametrize(
    ("value", "single", "text"),
    [
        (1e7, False, "1.0E7"), (9999999.0, False, "9999999.0"), (0.001, False, "0.001"),
        (1e-4, False, "1.0E-4"), (-0.0, False, "-0.0"), (float("nan"), False, "NaN"),
        (float("-inf"), False, "-Infinity"), (1.009765863418579, True, "1.0097659"),
    ],
)  # fmt: skip
def test_numbers_print_as_java_does(value: float, single: bool, text: str) -> None:
    assert radar_writer.java_number(value, single) == text


def test_opencsv_quotes_only_what_needs_it() -> None:
    assert radar_writer.csv_line(["a", "b,c", 'say "hi"', "two\nlines", ""]) == (
        'a,"b,c","say ""hi""","two\nlines",\n'
    )


# --- the shipped RADAR-Schemas -----------------------------------------------------------


def test_topics_json_is_what_the_shipped_specifications_give() -> None:
    shipped = json.loads((schema.SCHEMAS / "topics.json").read_text())
    assert shipped == radar_schemas.document(schema.SCHEMAS / "specifications")
    assert shipped["commit"] == schema.UPSTREAM_COMMIT
    names = schema.shipped_names()
    for topic, entry in shipped["topics"].items():
        assert entry["key_schema"] in names and entry["value_schema"] in names, topic
    assert (schema.SCHEMAS / "LICENSE").read_text().lstrip().startswith("Apache License")


def test_topics_follow_the_specifications_rules() -> None:
    topics = schema.shipped_topics()
    assert topics["questionnaire_response"]["value_schema"] == (
        "org.radarcns.active.questionnaire.Questionnaire"
    )
    # a stream's topics are its windowed outputs, keyed by AggregateKey
    assert topics["android_phone_acceleration_10sec"] == {
        "key_schema": "org.radarcns.kafka.AggregateKey",
        "value_schema": "org.radarcns.stream.aggregator.AggregateList",
        "specification": "stream/android_phone.yml",
    }
    assert topics["android_phone_acceleration"]["value_schema"] == (
        "org.radarcns.passive.phone.PhoneAcceleration"
    )
    # aRMT 1.1.0 had it as an audio recording; the newest specification's schema wins
    assert topics["questionnaire_audio"]["specification"] == "active/aRMT-1.18.0.yml"


def test_questionnaire_columns_types() -> None:
    found = schema.shipped("questionnaire_response")
    assert found is not None
    kinds = {
        h: found.column_type(h)
        for h in ("key.projectId", "value.timeNotification", "value.answers.7.value",
                  "value.answers.0.questionId", "value.name", "value.nothing")
    }  # fmt: skip
    assert kinds["key.projectId"] == schema.ColumnType(
        "string", False, frozenset({"null", "string"})
    )
    assert kinds["value.timeNotification"].kind == "double"
    assert kinds["value.answers.7.value"] == schema.ColumnType(
        "string", True, frozenset({"int", "string", "double"})
    )
    assert kinds["value.answers.0.questionId"].kind == "string"
    assert not kinds["value.nothing"].in_schema


# --- Convert types by the schema ---------------------------------------------------------

QUESTIONNAIRE = schema.combined_schema("questionnaire_response")


def phq8(t: float, scores: list[int]) -> dict:
    answers = [(f"phq8_{i + 1}", s) for i, s in enumerate(scores)]
    return radar_writer.questionnaire("site-a", "p1", "s1", "PHQ8", t, answers)


def esm(t: float, values: list) -> dict:
    answers = [(f"esm_{i + 1}", v) for i, v in enumerate(values)]
    return radar_writer.questionnaire("site-a", "p1", "s1", "ESM", t, answers)


def test_a_union_of_number_and_text_is_text_plus_numeric_in_every_hour() -> None:
    """A PHQ8 hour (int answers) and an ESM hour (text) give one column type each."""
    t = 1729155600.0  # 2024-10-17 09:00 UTC
    numbers, _ = convert(
        csv_of(QUESTIONNAIRE, [phq8(t, [0, 1, 2, 3, 0, 1, 2, 3])]), "questionnaire_response"
    )
    texts, report = convert(
        csv_of(QUESTIONNAIRE, [esm(t + 60, ["Quite a bit", "42", 3.5])]), "questionnaire_response"
    )
    assert report.rejections() == []
    for table in (numbers, texts):
        assert table.schema.field("answers_0_value").type == pa.string()
        assert table.schema.field("answers_0_value_numeric").type == pa.float64()
        assert table.schema.field("answers_0_start_time").type == pa.float64()
        assert table.schema.field("time_notification").type == pa.float64()
    assert numbers["answers_2_value"].to_pylist() == ["2"]
    assert numbers["answers_2_value_numeric"].to_pylist() == [2.0]
    assert texts.select(["answers_0_value", "answers_1_value", "answers_2_value"]).to_pylist() == [
        {"answers_0_value": "Quite a bit", "answers_1_value": "42", "answers_2_value": "3.5"}
    ]
    assert texts["answers_0_value_numeric"].to_pylist() == [None]
    assert texts["answers_1_value_numeric"].to_pylist() == [42.0]
    assert texts["name"].to_pylist() == ["ESM"]


def test_the_schema_beside_the_file_types_maps_enums_booleans_and_longs() -> None:
    """A string map's "42" stays "42"; an int map's values are numbers; the sibling schema
    wins over RADAR-Schemas (this topic is not in it)."""
    value = {
        "type": "record", "name": "Reading", "namespace": "org.example",
        "fields": [
            {"name": "time", "type": "double"},
            {"name": "labels", "type": {"type": "map", "values": "string"}},
            {"name": "counts", "type": {"type": "map", "values": "int"}},
            {"name": "state", "type": {"type": "enum", "name": "State", "symbols": ["ON", "OFF"]}},
            {"name": "charging", "type": "boolean"},
            {"name": "steps", "type": ["null", "long"], "default": None},
            {"name": "note", "type": ["null", "string"], "default": None},
        ],
    }  # fmt: skip
    written = {
        "type": "record", "name": "combined",
        "fields": [
            {"name": "key", "type": QUESTIONNAIRE["fields"][0]["type"]},
            {"name": "value", "type": value},
        ],
    }  # fmt: skip
    record = {
        "key": {"projectId": "site-a", "userId": "p1", "sourceId": "s1"},
        "value": {
            "time": 1729155600.5, "labels": {"room": "42", "floor": "ground, east"},
            "counts": {"taps": 7}, "state": "OFF", "charging": True, "steps": 12345678901,
            "note": 'he said "fine"\nthen left',
        },
    }  # fmt: skip
    table, report = convert(csv_of(written, [record]), "example_readings", companion=written)
    assert report.rejections() == []
    row = table.drop_columns(["source_key", "source_sha256", "run_id"]).to_pylist()[0]
    assert {k: v for k, v in row.items() if k not in ("time",)} == {
        "site": "site-a", "participant_id": "p1", "source_id": "s1", "labels_room": "42",
        "labels_floor": "ground, east", "counts_taps": 7, "state": "OFF", "charging": True,
        "steps": 12345678901, "note": 'he said "fine"\nthen left',
    }  # fmt: skip
    assert table.schema.field("counts_taps").type == pa.int64()
    assert table.schema.field("charging").type == pa.bool_()


def test_a_cell_off_the_schema_skips_its_row_with_the_reason() -> None:
    header = "key.projectId,key.userId,key.sourceId,value.time,value.timeReceived,value.lux"
    rows = ["site-a,p1,s1,1729155600,1729155601,12.5", "site-a,p1,s1,1729155660,1729155661,bright"]
    text = "\n".join([header, *rows]) + "\n"
    table, report = convert(text, "sensorkit_ambient_light")
    assert table["lux"].to_pylist() == [12.5]
    assert table.schema.field("lux").type == pa.float64()
    (rejection,) = report.rejections()
    assert rejection.reason == radar.OFF_SCHEMA
    assert rejection.rows == 1
    assert rejection.examples == ["data row 2: value.lux 'bright' (schema: float)"]


def test_a_topic_with_no_schema_is_text_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    header = "key.projectId,key.userId,key.sourceId,value.time,value.score"
    with caplog.at_level(logging.WARNING):
        table, report = convert(f"{header}\nsite-a,p1,s1,1729155600,7\n", "study_custom_topic")
    assert report.rejections() == []
    assert table.schema.field("score").type == pa.string()
    assert table["score"].to_pylist() == ["7"]
    assert "topic 'study_custom_topic' has no schema" in caplog.text


def test_a_broken_schema_beside_the_file_rejects_it_with_the_reason() -> None:
    header = "key.projectId,key.userId,key.sourceId,value.time"
    with pytest.raises(RejectedFile, match=r"schema-t\.json is not an Avro record schema"):
        convert(f"{header}\nsite-a,p1,s1,1729155600\n", "t", companion=["null", "string"])


def test_the_tools_acceleration_records_load_with_the_schema_types() -> None:
    """The connector's 1000 PhoneAcceleration records (float x/y/z), written as the tool
    writes them, load whole, each value as the tool printed it."""
    path = next((DATA / "android_phone_acceleration").rglob("*.avro"))
    with path.open("rb") as stream:
        reader = fastavro.reader(stream)
        records = list(reader)
        written = reader.writer_schema
    text = csv_of(written, records)
    table, report = convert(
        text, "android_phone_acceleration", companion=written, name="20200528_1000.csv.gz",
        site="radar-test-root", participant="4ab9b985-6eec-4e51-9a29-f4c571c89f99",
    )  # fmt: skip
    assert report.rejections() == []
    assert table.num_rows == len(records) == 1000
    assert table.schema.field("x").type == pa.float64()
    first = text.splitlines()[1].split(",")
    assert first[3:] == [
        "1.590662003948E9",
        "1.590662003948E9",
        "-0.020834351",
        "-0.012369909",
        "1.0097659",
    ]
    assert table["x"][0].as_py() == -0.020834351  # the printed float, not its float32 binary
    assert table["time"][0].as_py().isoformat() == "2020-05-28T10:33:23.948000+00:00"


def test_companions_are_the_schema_beside_the_file() -> None:
    path = "export/site-a/p1/questionnaire_response/20241017_0900.csv.gz"
    assert SOURCE.companions(path) == (
        "export/site-a/p1/questionnaire_response/schema-questionnaire_response.json",
    )
    assert SOURCE.companions("export/site-a/p1/questionnaire_response/schema-x.json") == ()


def test_the_convert_step_reads_the_companion_beside_the_raw_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``read_companions``: the schema beside the raw file when it is there, nothing else."""
    import boto3
    from moto import mock_aws

    from phenolake.steps.convert import read_companions

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="lake")
        folder = "export/site-a/p1/questionnaire_response"
        s3.put_object(
            Bucket="lake", Key=f"raw/radar/{folder}/schema-questionnaire_response.json", Body=b"{}"
        )
        s3.put_object(
            Bucket="lake",
            Key=f"raw/radar/{folder}/schema-questionnaire_response.json.bak",
            Body=b"x",
        )
        found = read_companions(s3, "lake", "radar", f"{folder}/20241017_0900.csv.gz")
        assert found == {f"{folder}/schema-questionnaire_response.json": b"{}"}
        other = "export/site-a/p1/sensorkit_acceleration/20241017_0900.csv.gz"
        assert read_companions(s3, "lake", "radar", other) == {}
        assert read_companions(s3, "lake", "mhealth", "mHealth_subject1.log") == {}


def test_the_tools_server_status_records_load_enum_as_text_and_null_as_null() -> None:
    """Both connector files of application_server_status (an enum, a nullable string)."""
    records, written = [], None
    for path in sorted((DATA / "application_server_status").rglob("*.avro")):
        with path.open("rb") as stream:
            reader = fastavro.reader(stream)
            records += list(reader)
            written = reader.writer_schema
    assert written is not None
    table, report = convert(
        csv_of(written, records), "application_server_status", companion=written,
        name="20200128_1300.csv.gz", site="STAGING_PROJECT",
        participant="1543bc93-3c17-4381-89a5-c5d6272b827c",
    )  # fmt: skip
    # the two files hold the same three records: exact duplicates, counted
    assert [(r.reason, r.rows) for r in report.rejections()] == [(radar.DUPLICATE, 3)]
    assert (
        table.select(["server_status", "ip_address"]).to_pylist()
        == [{"server_status": "CONNECTED", "ip_address": None}] * 3
    )
    assert table.schema.field("ip_address").type == pa.string()
    assert [t.isoformat() for t in table["time"].to_pylist()] == [
        "2020-01-28T13:57:00.030000+00:00",
        "2020-01-28T14:02:01.596000+00:00",
        "2020-01-28T14:07:37.239000+00:00",
    ]
