"""The run summary counts what its labels say: rows in the tables, distinct participant-days,
and the rows of day files the daily merge refused apart (Notify on the embedded AWS)."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from phenolake_local.engine import EmbeddedAWS
from tests.unit.test_handlers import RUN, aws, invoke, keys, mhealth_day, mhealth_log, stage

__all__ = ["aws"]  # the fixture


def test_rows_of_a_day_file_the_merge_refused_are_not_counted_as_rows(
    aws: EmbeddedAWS, tmp_path: Path
) -> None:
    lake = aws.bucket("LakeBucket")
    stage(aws, "raw/mhealth/a/mHealth_subject1.log", mhealth_log(tmp_path / "a", rows=50))
    stage(aws, "raw/mhealth/b/mHealth_subject1.log", mhealth_log(tmp_path / "b", rows=80))
    stage(aws, "raw/mhealth/b/mHealth_subject2.log", mhealth_log(tmp_path / "c", rows=30))
    # the second file of participant 1's day, as a converter of another type would stage it
    [_, drifted] = keys(aws, lake, "stage/mhealth/readings/participant=1/")
    table = pq.read_table(io.BytesIO(aws.s3.get_object(Bucket=lake, Key=drifted)["Body"].read()))
    text = pc.cast(table.column("chest_acc_x"), pa.string())
    table = table.set_column(table.column_names.index("chest_acc_x"), "chest_acc_x", text)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    aws.s3.put_object(Bucket=lake, Key=drifted, Body=sink.getvalue())
    refused = table.num_rows  # 50 or 80: the staged files sort by their origin's digest
    merged = [
        invoke(aws, "DailyMergeFunction", {"run_id": RUN, "item": mhealth_day(participant)})
        for participant in ("1", "2")
    ]
    assert [m["refused_files"] for m in merged] == [1, 0]
    notified = invoke(aws, "NotifyFunction", {"run_id": RUN, "status": "SUCCEEDED"})
    rows = 50 + 80 + 30 - refused
    # three staged days (two of participant 1, one refused), of two participant-days
    assert (notified["rows"], notified["refused_rows"], notified["days"]) == (rows, refused, 2)
    assert f"rows {rows}, participant-days 2" in notified["message"]
    assert f"rows of refused day files {refused}" in notified["message"]
