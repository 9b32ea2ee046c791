"""Daily merge (Map item): compact one participant x metric x day into one Parquet file.

The merged file is the union of every staged file of that day (staged files are one per raw
file and are overwritten on a rerun), read in key order and written with fixed settings, so
a rerun over the same inputs produces the same bytes. Where the staged files' columns differ
(sources whose columns come from the data), the schema drift rule of ``phenolake.drift``
applies: new columns are added, narrower types widened, and a staged file whose type change
cannot be widened is quarantined with the reason instead of merged.
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from phenolake import drift, lake, storage
from phenolake.config import Settings
from phenolake.contracts import DayItem
from phenolake.steps.common import StepEvent, s3_client


class MergeEvent(StepEvent):
    item: DayItem


def merge_tables(tables: list[pa.Table]) -> pa.Table:
    return pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({})


def merge_day(staged: list[tuple[str, pa.Table]]) -> tuple[pa.Table, dict[str, str]]:
    """The day's merged table and the staged files refused by the drift rule (key -> reason)."""
    unified = drift.unify(
        {},
        [(key, {f.name: drift.glue_type_of(f.type) for f in t.schema}) for key, t in staged],
    )
    kept = [t for key, t in staged if key in unified.accepted]
    return merge_tables(kept), unified.refused


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
    day = item.day_key()
    s3 = s3_client(settings)
    staged = sorted(
        (
            o
            for o in storage.list_objects(s3, settings.lake_bucket, lake.stage_prefix(day))
            if o.key.endswith(".parquet")
        ),
        key=lambda o: o.key,
    )
    tables = [(o.key, storage.read_table(s3, settings.lake_bucket, o.key)) for o in staged]
    merged, refused = merge_day(tables)
    for key, reason in refused.items():
        storage.quarantine(
            s3,
            lake_bucket=settings.lake_bucket,
            run_id=event.run_id,
            source_bucket=settings.lake_bucket,
            source_key=key,
            reason=reason,
            detail={"step": "daily_merge", "day": day.as_dict()},
        )
    body = to_parquet_bytes(merged)
    key = lake.merged_key(day)
    s3.put_object(Bucket=settings.lake_bucket, Key=key, Body=body)
    counts = {
        "rows": merged.num_rows,
        "staged_files": len(staged),
        "refused_files": len(refused),
        "merged_bytes": len(body),
    }
    flows = {  # the run's profile: the day's staged files read, its merged file written
        "rows_in": sum(table.num_rows for _, table in tables),
        "rows_out": merged.num_rows,
        "bytes_in": sum(o.size for o in staged),
        "bytes_out": len(body),
    }
    return {"key": key, **counts, "metrics": {**counts, **flows}}
