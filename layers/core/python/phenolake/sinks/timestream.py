"""Timestream batch load: CSV load files, the data-model mapping, an idempotent client token.

Cost (dry run): Timestream bills writes in 1 KB units per record; a multi-measure record of
n DOUBLE measures and d dimensions is 8 (time) + sum over dimensions of (name + value bytes)
+ the measure name + sum over measures of (name bytes + 8). ``measured_record_bytes`` takes the
mean over real rows (the dry run's preview), ``record_bytes`` assumes 16-byte dimension values;
``write_cost`` = records x ceil(bytes per record / 1024) write units x
``USD_PER_MILLION_WRITES`` / 1e6 (a constant: change it for your region or contract).
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
        8
        + sum(len(d) + dimension_bytes for d in spec.dimensions)
        + len(spec.measure_name)
        + sum(len(m) + 8 for m in spec.measures)
    )


def measured_record_bytes(rows: pa.Table, spec: SeriesSpec) -> float:
    """Mean record size over load rows (``Timestream.load_rows`` output), by the formula above."""
    if rows.num_rows == 0:
        return float(record_bytes(spec))
    dimensions = sum(
        len(d) + pc.mean(pc.binary_length(pc.cast(rows[d], pa.string()))).as_py()
        for d in spec.dimensions
    )
    return 8 + dimensions + len(spec.measure_name) + sum(len(m) + 8 for m in spec.measures)


def write_cost(
    records: int, spec: SeriesSpec, bytes_per_record: float | None = None
) -> dict[str, float]:
    size = record_bytes(spec) if bytes_per_record is None else bytes_per_record
    units = records * math.ceil(size / 1024)
    return {
        "records": records,
        "bytes_per_record": round(size, 1),
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
