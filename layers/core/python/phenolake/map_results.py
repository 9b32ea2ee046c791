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

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from phenolake import contracts, storage

STATUSES = ("SUCCEEDED", "FAILED", "PENDING")


class ResultsError(ValueError):
    """The manifest or a result file is not what ResultWriter writes."""


class ResultFile(BaseModel):
    model_config = ConfigDict(extra="allow")

    Key: str
    Size: int = 0


class ResultManifest(BaseModel):
    """AWS's ``manifest.json`` (fields as AWS documents them; others kept)."""

    model_config = ConfigDict(extra="allow")

    MapRunArn: str
    ResultFiles: dict[str, list[ResultFile]]
    DestinationBucket: str | None = None


class ChildExecution(BaseModel):
    """One item's entry in a result file: ``Input``/``Output`` are JSON text."""

    model_config = ConfigDict(extra="allow")

    Name: str = ""
    Input: str = "null"
    Output: str | None = None
    Error: str | None = None
    Cause: str | None = None


class ChildExecutions(BaseModel):
    entries: list[ChildExecution] = Field(default_factory=list)


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
    try:
        manifest = ResultManifest.model_validate(storage.get_json(s3, bucket, key))
    except ValidationError:
        raise ResultsError(
            f"{where}: not a ResultWriter manifest (no MapRunArn/ResultFiles)"
        ) from None
    results = MapResults(manifest.MapRunArn)
    for status in STATUSES:
        entries = getattr(results, status.lower())
        for result_file in manifest.ResultFiles.get(status, []):
            found = storage.get_json(s3, manifest.DestinationBucket or bucket, result_file.Key)
            if not isinstance(found, list):
                raise ResultsError(f"{where}: {result_file.Key} is not a JSON array")
            checked = contracts.load(
                ChildExecutions, {"entries": found}, f"{where}: {result_file.Key}"
            )
            entries.extend(e.model_dump(exclude_unset=True) for e in checked.entries)
    results.succeeded.sort(key=_started)
    return results


def _started(entry: dict[str, Any]) -> str:
    return entry.get("Name", "")
