"""Convert (Map item): one raw file -> staged Parquet, one file per day it covers.

The source's converter streams record batches; each day's batches go to their own Parquet
writer on local disk, so memory stays bounded by one batch. Every row carries provenance
(source key, the raw file's sha256, run id). Bad rows are counted and reported in
quarantine; a file that cannot be trusted at all is quarantined whole. Nothing that reaches
this step is dropped without a reason: a file its source does not take (``Source.member``
None) is quarantined with the source's reason (``Source.reject_reason``) or, when it gives
none, the generic ``NOT_CONVERTED``; only a documented side file (``Source.side_file``, e.g.
``.DS_Store``) is not, and its reason is logged and kept in the manifest (``side_file``) for
the run summary. A file that converts to no rows and no bad row is quarantined too
(``NO_ROWS``). Small per-file tables a converter derives besides its rows (``SideTable``,
e.g. embrace's duplicate counts) go to ``stage/<source>/<name>/participant=<p>/``, one file
per raw file. The files beside a raw file that its source's conversion reads
(``Source.companions``: radar's ``schema-<topic>.json``) are read from ``raw/`` when they
exist and passed to the converter. A converter may say whose each day batch is
(``DayBatch.participant``, for a file holding several participants); the staged files are
then one per participant x day.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from pydantic import Field

from phenolake import contracts, lake, sources, storage
from phenolake.config import Settings
from phenolake.contracts import ConvertedManifest, RawFile, StagedDay
from phenolake.sources import toolkit
from phenolake.sources.base import Provenance, RejectedFile, SideTable
from phenolake.sources.toolkit import RejectionReport
from phenolake.steps.common import StepEvent, s3_client

log = logging.getLogger(__name__)

#: Why a file its source does not take is quarantined, when the source gives no reason.
NOT_CONVERTED = "not a file source {source} converts: {path}"
#: Why a file that converted to nothing, with no bad row either, is quarantined.
NO_ROWS = "converted to no rows and no bad row: nothing in it is data of source {source}"


class ConvertEvent(StepEvent):
    item: RawFile
    #: The sources' options as Plan resolved them (``Plan.source_options``).
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)


def download_with_sha256(s3: Any, bucket: str, key: str, target: Path) -> str:
    digest = hashlib.sha256()
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    with target.open("wb") as out:
        for chunk in iter(lambda: body.read(1 << 20), b""):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def convert_file(
    path: Path,
    source_name: str,
    raw_relative: str,
    provenance: Provenance,
    out_dir: Path,
    side_tables: list[SideTable] | None = None,
    companions: Mapping[str, bytes] | None = None,
    options: Mapping[str, Any] | None = None,
) -> tuple[dict[tuple[str, str], tuple[Path, int]], RejectionReport, Any]:
    """Pure conversion on local files: returns (participant, day) -> (parquet path, rows),
    the file's rejection report, and its member. The source's converter runs under the
    toolkit's rules (``toolkit.convert``): rows out of the time range are dropped, and a file
    mostly bad is rejected (RejectedFile) once it has been read.

    Side tables the converter yields (small, one per file) are appended to ``side_tables``;
    ``companions`` are the files beside this one the source reads (``Source.companions``);
    ``options`` are the source's (``Source.configured``)."""
    source = sources.configured(source_name, options)
    member = source.member(raw_relative)
    report = RejectionReport()
    if member is None:
        return {}, report, None
    writers: dict[tuple[str, str], pq.ParquetWriter] = {}
    outputs: dict[tuple[str, str], tuple[Path, int]] = {}
    try:
        with path.open("rb") as stream:
            batches = toolkit.convert(source, stream, member, provenance, report, companions)
            for batch in batches:
                if isinstance(batch, SideTable):
                    if side_tables is not None:
                        side_tables.append(batch)
                    continue
                whose = (batch.participant or member.participant, batch.day)
                if whose not in writers:
                    target = out_dir / f"{len(writers)}-{batch.day}.parquet"
                    writers[whose] = pq.ParquetWriter(
                        target, batch.table.schema, compression="zstd", **source.stage_parquet
                    )
                    outputs[whose] = (target, 0)
                writers[whose].write_table(batch.table)
                target, rows = outputs[whose]
                outputs[whose] = (target, rows + batch.table.num_rows)
    finally:
        for writer in writers.values():
            writer.close()
    return outputs, report, member


def read_companions(
    s3: Any,
    bucket: str,
    source_name: str,
    raw_relative: str,
    options: Mapping[str, Any] | None = None,
) -> dict[str, bytes]:
    """The files beside a raw file that its source's conversion reads, those that exist
    (``Source.companions``: radar's ``schema-<topic>.json``), by their raw path."""
    source = sources.configured(source_name, options)
    found: dict[str, bytes] = {}
    for path in source.companions(raw_relative):
        key = lake.raw_prefix(source_name) + path
        # listed first: a GET of a missing key is a 403 to a role whose ListBucket is limited
        # to raw/ (S3 gives a 404 only to an unconditional ListBucket)
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
        if listed and listed[0]["Key"] == key:
            found[path] = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return found


def run(event: ConvertEvent, settings: Settings) -> dict[str, Any]:
    item = event.item
    s3 = s3_client(settings)
    prefix = f"{lake.RAW}/{item.source}/"
    raw_relative = item.key[len(prefix) :] if item.key.startswith(prefix) else item.key
    manifest: dict[str, Any] = {"key": item.key, "source": item.source, "days": []}
    days: list[StagedDay] = []
    rows = 0
    rejected_rows = 0
    quarantined = 0
    staged_bytes = 0
    with tempfile.TemporaryDirectory(prefix="phenolake-convert-") as tmp:
        local = Path(tmp) / "input"
        sha256 = download_with_sha256(s3, item.bucket, item.key, local)
        raw_bytes = local.stat().st_size
        provenance = Provenance(
            source_key=item.key, source_sha256=sha256, run_id=item.ingest_run_id or event.run_id
        )
        manifest["sha256"] = sha256

        def quarantine_file(reason: str) -> None:
            storage.quarantine(
                s3,
                lake_bucket=settings.lake_bucket,
                run_id=event.run_id,
                source_bucket=item.bucket,
                source_key=item.key,
                reason=reason,
                detail={"step": "convert", "sha256": sha256},
            )

        side_tables: list[SideTable] = []
        try:
            options = event.options.get(item.source)
            companions = read_companions(s3, item.bucket, item.source, raw_relative, options)
            outputs, report, member = convert_file(
                local,
                item.source,
                raw_relative,
                provenance,
                Path(tmp),
                side_tables,
                companions,
                options,
            )
            rejections = report.rejections()
        except RejectedFile as exc:
            quarantine_file(str(exc))
            outputs, rejections, member, side_tables = {}, [], None, []
            quarantined = 1
            manifest["quarantined"] = str(exc)
        if member is None and not quarantined:
            source = sources.configured(item.source, event.options.get(item.source))
            manifest["not_data"] = True
            side = source.side_file(raw_relative)
            if side:
                manifest["side_file"] = side
                log.info("side file, not converted", extra={"key": item.key, "reason": side})
            else:
                reason = source.reject_reason(raw_relative) or NOT_CONVERTED.format(
                    source=item.source, path=raw_relative
                )
                quarantine_file(reason)
                quarantined = 1
                manifest["quarantined"] = reason
        elif member is not None and not outputs and not rejections and not side_tables:
            reason = NO_ROWS.format(source=item.source)
            quarantine_file(reason)
            quarantined = 1
            manifest["quarantined"] = reason
        for side in side_tables:
            assert member is not None
            side_key = lake.side_key(item.source, side.name, member.participant, item.key)
            sink = io.BytesIO()
            pq.write_table(side.table, sink, compression="zstd")
            s3.put_object(Bucket=settings.lake_bucket, Key=side_key, Body=sink.getvalue())
            manifest.setdefault("side_tables", []).append(side_key)
        for (participant, day), (path, day_rows) in sorted(outputs.items()):
            assert member is not None
            day_key = lake.DayKey(item.source, member.metric, participant, day, member.device)
            s3.upload_file(str(path), settings.lake_bucket, lake.stage_key(day_key, item.key))
            staged_bytes += path.stat().st_size
            days.append(StagedDay(**day_key.as_dict(), rows=day_rows))
            rows += day_rows
        if rejections:
            rejected_rows = sum(r.rows for r in rejections)
            storage.quarantine(
                s3,
                lake_bucket=settings.lake_bucket,
                run_id=event.run_id,
                source_bucket=item.bucket,
                source_key=item.key + ".rejected-rows",
                reason="; ".join(r.reason for r in rejections),
                detail={
                    "step": "convert",
                    "rejections": [r.as_dict() for r in rejections],
                    "rows_kept": rows,
                },
                body=b"",
            )
    manifest.update(rows=rows, rejected_rows=rejected_rows, days=days)
    written = ConvertedManifest.model_validate(manifest)
    manifest_key = lake.item_manifest_key(event.run_id, "converted", item.key)
    storage.put_json(s3, settings.lake_bucket, manifest_key, contracts.dump(written))
    counts = {"rows": rows, "rejected_rows": rejected_rows, "quarantined_files": quarantined}
    flows = {  # the run's profile: the raw file read, the day files staged
        "rows_in": rows + rejected_rows,
        "rows_out": rows,
        "bytes_in": raw_bytes,
        "bytes_out": staged_bytes,
    }
    return {
        "key": item.key,
        "manifest": manifest_key,
        "days": len(days),
        **counts,
        "metrics": {**counts, **flows},
    }
