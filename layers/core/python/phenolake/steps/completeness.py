"""Completeness: rows per source x participant x metric x day, against the nominal rate.

Recomputed for every (source, day) the run touched, from the merged files (Parquet footers
only, no data read), and written as the ``completeness`` table, partitioned by source and
date, so Athena shows what data there is and what is missing.
"""

from __future__ import annotations

import io
import posixpath
from collections import defaultdict
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from phenolake import catalog, lake, sources, storage
from phenolake.config import Settings
from phenolake.steps.common import StepEvent, s3_client

TABLE = "completeness"
COLUMNS: list[catalog.Column] = [
    ("participant_id", "string"),
    ("metric", "string"),
    ("device_id", "string"),
    ("rows", "bigint"),
    ("expected_rows", "bigint"),
    ("coverage", "double"),
]
PARTITIONS: list[catalog.Column] = [("source", "string"), ("date", "string")]
SCHEMA = pa.schema(
    [
        ("participant_id", pa.string()),
        ("metric", pa.string()),
        ("device_id", pa.string()),
        ("rows", pa.int64()),
        ("expected_rows", pa.int64()),
        ("coverage", pa.float64()),
    ]
)


class WorkRef(BaseModel):
    key: str
    count: int = 0


class CompletenessEvent(StepEvent):
    days: WorkRef


def parse_merged_key(key: str) -> dict[str, str] | None:
    """merged/<source>/<metric>/participant=<p>/[device=<d>/]date=<d>/part-0.parquet"""
    parts = key.split("/")
    if len(parts) < 6 or parts[0] != lake.MERGED:
        return None
    found = {"source": parts[1], "metric": parts[2], "device": ""}
    for part in parts[3:-1]:
        name, _, value = part.partition("=")
        found[name] = value
    return found if "participant" in found and "date" in found else None


def expected_rows(source: str, metric: str) -> int | None:
    rate = sources.get(source).nominal_hz.get(metric) if source in sources.REGISTRY else None
    return round(rate * 86400) if rate else None


def run(event: CompletenessEvent, settings: Settings) -> dict[str, Any]:
    s3 = s3_client(settings)
    glue = storage.client("glue", settings.region)
    days = storage.get_json(s3, settings.lake_bucket, event.days.key)
    touched = sorted({(d["source"], d["day"]) for d in days})
    location = lake.s3_uri(settings.lake_bucket, lake.curated_prefix(TABLE))
    written = 0
    for source, day in touched:
        rows: dict[str, list[Any]] = defaultdict(list)
        for obj in storage.list_objects(s3, settings.lake_bucket, f"{lake.MERGED}/{source}/"):
            found = parse_merged_key(obj.key)
            if not found or found["date"] != day:
                continue
            body = s3.get_object(Bucket=settings.lake_bucket, Key=obj.key)["Body"].read()
            count = pq.ParquetFile(io.BytesIO(body)).metadata.num_rows
            expected = expected_rows(source, found["metric"])
            rows["participant_id"].append(found["participant"])
            rows["metric"].append(found["metric"])
            rows["device_id"].append(found["device"])
            rows["rows"].append(count)
            rows["expected_rows"].append(expected)
            rows["coverage"].append(round(count / expected, 6) if expected else None)
        table = pa.table(rows, schema=SCHEMA).sort_by(
            [("participant_id", "ascending"), ("metric", "ascending"), ("device_id", "ascending")]
        )
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
        key = posixpath.join(
            lake.curated_prefix(TABLE), f"source={source}", f"date={day}", "part-0.parquet"
        )
        s3.put_object(Bucket=settings.lake_bucket, Key=key, Body=sink.getvalue())
        written += table.num_rows
    catalog.ensure_database(glue, settings.glue_database)
    catalog.ensure_table(
        glue,
        settings.glue_database,
        TABLE,
        COLUMNS,
        PARTITIONS,
        location,
        "Rows per participant x metric x day against the nominal rate.",
    )
    catalog.ensure_partitions(
        glue, settings.glue_database, TABLE, COLUMNS, [k for k, _ in PARTITIONS], location, touched
    )
    counts = {"completeness_rows": written, "days": len(touched)}
    return {**counts, "metrics": counts}
