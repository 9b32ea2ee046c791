"""What a Distributed Map's ResultWriter exported: the next step reads the items' results
from S3, since the Map's own output can carry no more than where they are.

The layout is AWS's: ``manifest.json`` under ``<Prefix>/<map run id>/`` names the result
files by status (``SUCCEEDED``, ``FAILED``, ``PENDING``); each file is a JSON array of child
executions whose ``Input`` and ``Output`` are JSON text, and failed ones carry ``Error`` and
``Cause``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from phenolake import storage

STATUSES = ("SUCCEEDED", "FAILED", "PENDING")


class ResultsError(ValueError):
    """The manifest or a result file is not what ResultWriter writes."""


@dataclass
class MapResults:
    map_run_arn: str
    succeeded: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)

    def outputs(self) -> list[Any]:
        """The succeeded items' outputs, in the order the Map read its items."""
        return [json.loads(entry["Output"]) for entry in self.succeeded]


def read(s3: Any, details: dict[str, str]) -> MapResults:
    """``details`` is the Map's ``ResultWriterDetails`` (``Bucket``, ``Key`` of the manifest)."""
    bucket, key = details["Bucket"], details["Key"]
    where = f"s3://{bucket}/{key}"
    manifest = storage.get_json(s3, bucket, key)
    files = manifest.get("ResultFiles") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or "MapRunArn" not in manifest:
        raise ResultsError(f"{where}: not a ResultWriter manifest (no MapRunArn/ResultFiles)")
    results = MapResults(manifest["MapRunArn"])
    for status in STATUSES:
        entries = getattr(results, status.lower())
        for result_file in files.get(status, []):
            found = storage.get_json(
                s3, manifest.get("DestinationBucket", bucket), result_file["Key"]
            )
            if not isinstance(found, list):
                raise ResultsError(f"{where}: {result_file['Key']} is not a JSON array")
            entries.extend(found)
    results.succeeded.sort(key=_started)
    return results


def _started(entry: dict[str, Any]) -> str:
    return entry.get("Name", "")
