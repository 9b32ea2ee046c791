"""Daily merge (Map item): compact one participant x metric x day into one Parquet file.

The merged file is the union of every staged file of that day (staged files are one per raw
file and are overwritten on a rerun), read in key order and written with fixed settings, so
a rerun over the same inputs produces the same bytes.
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict

from phenolake import lake, storage
from phenolake.config import Settings
from phenolake.steps.common import StepEvent, s3_client


class DayItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    source: str
    metric: str
    participant: str
    day: str
    device: str = ""


class MergeEvent(StepEvent):
    item: DayItem


def merge_tables(tables: list[pa.Table]) -> pa.Table:
    return pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({})


def to_parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        compression="zstd",
        row_group_size=1 << 20,
        write_statistics=True,
        store_schema=True,
    )
    return sink.getvalue()


def run(event: MergeEvent, settings: Settings) -> dict[str, Any]:
    item = event.item
    day = lake.DayKey(item.source, item.metric, item.participant, item.day, item.device)
    s3 = s3_client(settings)
    staged = sorted(
        (
            o
            for o in storage.list_objects(s3, settings.lake_bucket, lake.stage_prefix(day))
            if o.key.endswith(".parquet")
        ),
        key=lambda o: o.key,
    )
    tables = [
        pq.read_table(
            io.BytesIO(s3.get_object(Bucket=settings.lake_bucket, Key=o.key)["Body"].read())
        )
        for o in staged
    ]
    merged = merge_tables(tables)
    body = to_parquet_bytes(merged)
    key = lake.merged_key(day)
    s3.put_object(Bucket=settings.lake_bucket, Key=key, Body=body)
    counts = {"rows": merged.num_rows, "staged_files": len(staged), "merged_bytes": len(body)}
    return {"key": key, **counts, "metrics": counts}
