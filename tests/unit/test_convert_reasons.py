"""The Convert step passes nothing over without a reason: a file its source does not take is
quarantined with one, a documented side file is listed in its manifest, a file of no rows
and no bad row is quarantined (the handler on the embedded AWS)."""

from __future__ import annotations

import gzip

from phenolake.steps.convert import NO_ROWS
from phenolake_local.engine import EmbeddedAWS
from tests.unit.test_handlers import RUN, aws, invoke, keys, read_json, stage

__all__ = ["aws"]  # the fixture


def reason(embedded: EmbeddedAWS, key: str) -> str:
    lake = embedded.bucket("LakeBucket")
    return read_json(embedded, lake, f"quarantine/{RUN}/{lake}/{key}.reason.json")["reason"]


def test_a_file_the_source_does_not_take_is_quarantined_with_its_reason(aws: EmbeddedAWS) -> None:
    result = stage(aws, "raw/mhealth/upload/notes.xyz", b"not data")
    assert result["quarantined_files"] == 1
    assert reason(aws, "raw/mhealth/upload/notes.xyz").startswith("not an MHEALTH file")


def test_a_side_file_is_listed_with_its_reason_not_quarantined(aws: EmbeddedAWS) -> None:
    lake = aws.bucket("LakeBucket")
    for key in ("raw/mhealth/set.zip/MHEALTHDATASET/README.txt", "raw/mhealth/x/.DS_Store"):
        result = stage(aws, key, b"text")
        assert result["quarantined_files"] == 0
        assert read_json(aws, lake, result["manifest"])["side_file"].endswith("not data")
    assert keys(aws, lake, "quarantine/") == []


def test_a_file_of_no_rows_and_no_bad_row_is_quarantined(aws: EmbeddedAWS) -> None:
    lake = aws.bucket("LakeBucket")
    key = "raw/radar/output/connect-kcl/kcl-003/sensorkit_ambient_light/20241021_1200.csv.gz"
    header = b"key.projectId,key.userId,key.sourceId,value.time,value.timeReceived,value.lux\n"
    aws.s3.put_object(Bucket=lake, Key=key, Body=gzip.compress(header, mtime=0))
    result = invoke(
        aws,
        "ConvertFunction",
        {"run_id": RUN, "item": {"source": "radar", "bucket": lake, "key": key}},
    )
    assert (result["quarantined_files"], result["rows"]) == (1, 0)
    assert reason(aws, key) == NO_ROWS.format(source="radar")
