"""Timestream batch load: CSV load files, the data-model mapping, an idempotent client token.

Cost (dry run): Timestream bills writes per 1 KB unit of each record; a multi-measure record
of n DOUBLE measures and d dimensions is about 8 (time) + 8n + sum(dimension sizes) + measure
name bytes. ``write_units(records, bytes_per_record)`` rounds each record up to 1 KB, the
batch-load price (USD per million write units) is a constant you can change.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from phenolake.sinks.base import SeriesSpec, TimeSeriesSink

USD_PER_MILLION_WRITES = 0.50


def client_token(run_id: str, prefix: str) -> str:
    """Same run + same files -> same token, so a retried Create never loads twice."""
    return hashlib.sha256(f"{run_id}|{prefix}".encode()).hexdigest()[:64]


def record_bytes(spec: SeriesSpec, dimension_bytes: int = 16) -> int:
    return (
        8 + 8 * len(spec.measures) + dimension_bytes * len(spec.dimensions) + len(spec.measure_name)
    )


def write_cost(records: int, spec: SeriesSpec) -> dict[str, float]:
    units = records * math.ceil(record_bytes(spec) / 1024)
    return {
        "records": records,
        "write_units": units,
        "usd": round(units / 1e6 * USD_PER_MILLION_WRITES, 6),
    }


class Timestream(TimeSeriesSink):
    name = "timestream"

    def __init__(self, database: str, table: str) -> None:
        self.database = database
        self.table = table

    def load_rows(self, table: pa.Table, spec: SeriesSpec) -> pa.Table:
        time_ms = pc.cast(pc.cast(table[spec.time_column], pa.timestamp("ms", "UTC")), pa.int64())
        columns: dict[str, Any] = {"time": time_ms}
        for dim in spec.dimensions:
            columns[dim] = table[dim]
        for measure in spec.measures:
            columns[measure] = pc.cast(table[measure], pa.float64())
        rows = pa.table(columns)
        keep = pc.is_valid(rows[spec.measures[0]])
        for measure in spec.measures[1:]:
            keep = pc.and_(keep, pc.is_valid(rows[measure]))
        return rows.filter(keep)

    def load_request(
        self, *, run_id: str, prefix: str, spec: SeriesSpec, bucket: str
    ) -> dict[str, Any]:
        return {
            "ClientToken": client_token(run_id, prefix),
            "TargetDatabaseName": self.database,
            "TargetTableName": self.table,
            "DataModelConfiguration": {
                "DataModel": {
                    "TimeColumn": "time",
                    "TimeUnit": "MILLISECONDS",
                    "DimensionMappings": [
                        {"SourceColumn": d, "DestinationColumn": d} for d in spec.dimensions
                    ],
                    "MultiMeasureMappings": {
                        "TargetMultiMeasureName": spec.measure_name,
                        "MultiMeasureAttributeMappings": [
                            {
                                "SourceColumn": m,
                                "TargetMultiMeasureAttributeName": m,
                                "MeasureValueType": "DOUBLE",
                            }
                            for m in spec.measures
                        ],
                    },
                }
            },
            "DataSourceConfiguration": {
                "DataSourceS3Configuration": {"BucketName": bucket, "ObjectKeyPrefix": prefix},
                "DataFormat": "CSV",
            },
            "ReportConfiguration": {
                "ReportS3Configuration": {
                    "BucketName": bucket,
                    "ObjectKeyPrefix": prefix.replace("/load/", "/report/", 1),
                    "EncryptionOption": "SSE_S3",
                }
            },
        }
