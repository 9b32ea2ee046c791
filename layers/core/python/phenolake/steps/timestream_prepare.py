"""Timestream prepare: write batch-load CSVs for the days this run merged, one load per stream.

Each source declares which merged metrics are time series (``Source.timeseries``). For each,
the day files merged in this run become CSVs under ``manifests/<run>/timestream/load/...``
and one CreateBatchLoadTask request is returned for the state machine's
Create -> Wait -> Describe loop. A dry run returns the record counts and the write cost.

``estimate_landed`` is the dry run's estimate before anything is extracted (the Plan step
calls it): for every landed file (or zip member, read through ranged GETs) that is one of a
source's time series, the first ``PREVIEW_BYTES`` are converted as Convert would, the load
records counted, and the file's rows estimated as kept rows x file size / bytes read. Record
sizes are measured on those rows; a few records are returned as a preview.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from typing import IO, Any

import pyarrow as pa
import pyarrow.csv as pacsv

from phenolake import lake, sources, storage, zipintake
from phenolake.config import Settings
from phenolake.contracts import DayItem
from phenolake.sinks.base import SeriesSpec
from phenolake.sinks.timestream import Timestream, measured_record_bytes, write_cost
from phenolake.sources import toolkit
from phenolake.sources.base import DayBatch, Provenance, RejectedFile
from phenolake.steps.common import StepEvent, read_work_list, s3_client

PREVIEW_BYTES = 64 << 10
PREVIEW_RECORDS = 3


class TimestreamPrepareEvent(StepEvent):
    dry_run: bool = False


def run(event: TimestreamPrepareEvent, settings: Settings) -> dict[str, Any]:
    s3 = s3_client(settings)
    sink = Timestream(settings.timestream_database, settings.timestream_table)
    days = read_work_list(s3, settings, event.run_id, "merge", DayItem)
    tasks: list[dict[str, Any]] = []
    costs: list[dict[str, Any]] = []
    records = 0
    for name in sorted({d.source for d in days}):
        for spec in sources.get(name).timeseries:
            prefix = lake.timestream_load_prefix(event.run_id, name, spec.measure_name)
            count = 0
            size = 0.0
            for day in (d for d in days if d.source == name and d.metric == spec.metric):
                key = lake.merged_key(day.day_key())
                rows = sink.load_rows(storage.read_table(s3, settings.lake_bucket, key), spec)
                count += rows.num_rows
                size += measured_record_bytes(rows, spec) * rows.num_rows
                if event.dry_run or rows.num_rows == 0:
                    continue
                out = io.BytesIO()
                pacsv.write_csv(rows, out)
                s3.put_object(
                    Bucket=settings.lake_bucket,
                    Key=lake.timestream_csv_key(prefix, key),
                    Body=out.getvalue(),
                )
            records += count
            cost = write_cost(count, spec, size / count if count else None)
            costs.append({"source": name, "stream": spec.measure_name, **cost})
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
        "metrics": {"timestream_records": records, "rows_out": records},
    }


def _landed_files(
    s3: Any, item: dict[str, Any]
) -> Iterator[tuple[str, int, Callable[[], IO[bytes]]]]:
    """(path below the source's raw folder, size, opener) of a landed file or its zip members."""
    source, bucket, key, size = item["source"], item["bucket"], item["key"], int(item["size"])
    if not sources.is_archive(source, key):
        yield (
            lake.raw_relative(source, lake.raw_key(source, key)),
            size,
            lambda: storage.open_ranged(s3, bucket, key, size),
        )
        return
    try:
        archive = zipfile.ZipFile(storage.open_ranged(s3, bucket, key, size))
    except (zipfile.BadZipFile, OSError):
        return  # Unzip will quarantine it; nothing of it would be loaded
    with archive:
        for info in archive.infolist():
            if info.is_dir() or zipintake.is_junk(info.filename):
                continue
            relative = lake.raw_relative(source, lake.raw_key(source, key, info.filename))
            yield relative, info.file_size, lambda info=info: archive.open(info)


def estimate_landed(s3: Any, work: list[dict[str, Any]], enabled: bool) -> dict[str, Any]:
    """Timestream records, write units and cost of loading the landed ``work``, and a preview."""
    sink = Timestream("", "")
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    preview: list[dict[str, Any]] = []
    for item in work:
        source = sources.get(item["source"])
        specs: dict[str, SeriesSpec] = {s.metric: s for s in source.timeseries}
        if not specs:
            continue
        for relative, size, opener in _landed_files(s3, item):
            member = source.member(relative)
            spec = specs.get(member.metric) if member else None
            if member is None or spec is None:
                continue
            with opener() as stream:
                head = stream.read(PREVIEW_BYTES)
            if size > len(head):
                head = head[: head.rfind(b"\n") + 1]
            provenance = Provenance(source_key=relative, source_sha256="", run_id="dry-run")
            try:
                tables = [
                    b.table
                    for b in toolkit.convert(
                        source, io.BytesIO(head), member, provenance, toolkit.RejectionReport()
                    )
                    if isinstance(b, DayBatch)
                ]
            except RejectedFile:
                continue  # Convert will quarantine it; nothing of it would be loaded
            if not tables or not head:
                continue
            rows = sink.load_rows(pa.concat_tables(tables), spec)
            stream_total = totals.setdefault(
                (item["source"], spec.measure_name),
                {"records": 0.0, "bytes": 0.0, "sampled": 0},
            )
            stream_total["records"] += rows.num_rows * size / len(head)
            stream_total["bytes"] += measured_record_bytes(rows, spec) * rows.num_rows
            stream_total["sampled"] += rows.num_rows
            shown = sum(1 for p in preview if p["measure_name"] == spec.measure_name)
            for record in rows.slice(0, max(0, PREVIEW_RECORDS - shown)).to_pylist():
                preview.append({"measure_name": spec.measure_name, **record})
    streams = []
    for (name, stream), total in sorted(totals.items()):
        spec = next(s for s in sources.get(name).timeseries if s.measure_name == stream)
        size = total["bytes"] / total["sampled"] if total["sampled"] else None
        streams.append(
            {"source": name, "stream": stream, **write_cost(round(total["records"]), spec, size)}
        )
    return {
        "enabled": enabled,
        "streams": streams,
        "usd": round(sum(s["usd"] for s in streams), 6),
        "preview": preview,
    }
