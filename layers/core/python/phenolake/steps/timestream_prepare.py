"""Timestream prepare: write batch-load CSVs for the days this run merged, one load per stream.

Each source declares which merged metrics are time series (``Source.timeseries``). For each,
the day files merged in this run become CSVs under ``manifests/<run>/timestream/load/...``
and one CreateBatchLoadTask request is returned for the state machine's
Create -> Wait -> Describe loop. A dry run returns the record counts and the write cost.
"""

from __future__ import annotations

import io
import posixpath
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from phenolake import lake, sources, storage
from phenolake.config import Settings
from phenolake.sinks.timestream import Timestream, write_cost
from phenolake.steps.common import StepEvent, s3_client


class TimestreamPrepareEvent(StepEvent):
    dry_run: bool = False


def run(event: TimestreamPrepareEvent, settings: Settings) -> dict[str, Any]:
    s3 = s3_client(settings)
    sink = Timestream(settings.timestream_database, settings.timestream_table)
    days = storage.get_json(s3, settings.lake_bucket, lake.work_key(event.run_id, "merge"))
    tasks: list[dict[str, Any]] = []
    costs: list[dict[str, Any]] = []
    records = 0
    for name in sorted({d["source"] for d in days}):
        for spec in sources.get(name).timeseries:
            prefix = (
                lake.manifest_key(event.run_id, "timestream", "load", name, spec.measure_name) + "/"
            )
            count = 0
            for day in (d for d in days if d["source"] == name and d["metric"] == spec.metric):
                key = lake.merged_key(
                    lake.DayKey(
                        **{k: day[k] for k in ("source", "metric", "participant", "day", "device")}
                    )
                )
                body = s3.get_object(Bucket=settings.lake_bucket, Key=key)["Body"].read()
                rows = sink.load_rows(pq.read_table(io.BytesIO(body)), spec)
                count += rows.num_rows
                if event.dry_run or rows.num_rows == 0:
                    continue
                out = io.BytesIO()
                pacsv.write_csv(rows, out)
                s3.put_object(
                    Bucket=settings.lake_bucket,
                    Key=posixpath.join(prefix, f"{lake.key_digest(key)}.csv"),
                    Body=out.getvalue(),
                )
            records += count
            costs.append({"source": name, "stream": spec.measure_name, **write_cost(count, spec)})
            if count and not event.dry_run:
                tasks.append(
                    sink.load_request(
                        run_id=event.run_id, prefix=prefix, spec=spec, bucket=settings.lake_bucket
                    )
                )
    return {
        "tasks": tasks,
        "cost": costs,
        "dry_run": event.dry_run,
        "metrics": {"timestream_records": records},
    }
