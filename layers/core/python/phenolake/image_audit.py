"""The ``image_redactions`` table: one row per image the Redact step saw.

Redact writes its rows as JSON (it runs without pyarrow, next to OpenCV); the Collect step
after Redact and Convert (state ``CollectRedactedAndConverted``) folds a run's rows into one
Parquet file per source and day, ``curated/image_redactions/source=<s>/date=<d>/<run>.parquet``,
and registers the table and its partitions in the Glue Data Catalog. A rerun of the same run
overwrites its own files.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from phenolake import catalog, lake

TABLE = "image_redactions"
PARTITIONS = ("source", "date")
SCHEMA = pa.schema(
    [
        pa.field("image_key", pa.string()),
        pa.field("source_key", pa.string()),
        pa.field("participant", pa.string()),
        pa.field("taken_at", pa.timestamp("ms", tz="UTC")),
        # where taken_at came from, when the source says (screenlake: csv | file_name |
        # file_name_as_utc, see the README's Source screenlake)
        pa.field("time_from", pa.string()),
        pa.field("faces", pa.int32()),
        pa.field("scores", pa.string()),  # JSON list of detector scores
        pa.field("boxes", pa.string()),  # JSON list of covered [x1, y1, x2, y2]
        pa.field("action", pa.string()),  # redacted | no_faces | quarantined
        pa.field("flagged", pa.bool_()),
        pa.field("reason", pa.string()),
        pa.field("mode", pa.string()),
        pa.field("detector", pa.string()),
        pa.field("model_sha256", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("redacted_at", pa.timestamp("ms", tz="UTC")),
    ]
)
GLUE_TYPES = {
    pa.string(): "string",
    pa.int32(): "int",
    pa.bool_(): "boolean",
    pa.timestamp("ms", tz="UTC"): "timestamp",
}
COLUMNS = [(f.name, GLUE_TYPES[f.type]) for f in SCHEMA]


def _timestamp(value: str | None) -> Any:
    if not value:
        return None
    import datetime as dt

    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def to_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                **{f.name: row.get(f.name) for f in SCHEMA},
                "taken_at": _timestamp(row.get("taken_at")),
                "redacted_at": _timestamp(row.get("redacted_at")),
                "scores": json.dumps(row.get("scores", [])),
                "boxes": json.dumps(row.get("boxes", [])),
                "flagged": bool(row.get("flagged")),
                "reason": row.get("reason") or "",
            }
            for row in rows
        ],
        schema=SCHEMA,
    )


def fold(
    s3: Any, glue: Any, lake_bucket: str, database: str, run_id: str, rows: list[dict[str, Any]]
) -> int:
    """Write the run's audit rows as Parquet and register them; returns the partitions written."""
    if not rows:
        return 0
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["source"], row["date"])].append(row)
    location = lake.s3_uri(lake_bucket, lake.curated_prefix(TABLE))
    for (source, day), group in sorted(groups.items()):
        buffer = io.BytesIO()
        pq.write_table(to_table(group), buffer, compression="zstd")
        key = lake.curated_partition_key(
            TABLE, [("source", source), ("date", day)], f"{lake.safe_part(run_id)}.parquet"
        )
        s3.put_object(Bucket=lake_bucket, Key=key, Body=buffer.getvalue())
    catalog.ensure_database(glue, database)
    catalog.ensure_table(
        glue,
        database,
        TABLE,
        COLUMNS,
        [(p, "string") for p in PARTITIONS],
        location,
        "One row per image Redact saw: faces, covered boxes, action, detector and model.",
    )
    catalog.ensure_partitions(
        glue,
        database,
        TABLE,
        COLUMNS,
        list(PARTITIONS),
        location,
        [(lake.safe_part(source), day) for source, day in groups],
    )
    return len(groups)
