"""The interface every source implements, so adding one touches only its own module.

A source says how its landed objects are recognised, how an extracted member maps to
participant / device / metric, how a raw file becomes staged Parquet (streaming, with
provenance on every row), which Glue job curates it, and how to write seeded samples. What
every converter shares (the rejection report, the file and time-range rules, numeric cells,
provenance columns, day splitting) is the toolkit's (``toolkit.py``).
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

import pyarrow as pa

from phenolake.sinks.base import SeriesSpec

if TYPE_CHECKING:
    from phenolake.sources.toolkit import RejectionReport


@dataclass(frozen=True)
class Member:
    """What one raw file is: whose data, from which device, of which metric."""

    source: str
    participant: str
    metric: str
    device: str = ""


@dataclass(frozen=True)
class ImageFacts:
    """Whose an extracted image is and when it was taken, so Redact can file the redacted
    copy under ``images/<source>/<participant>/<date>/`` and audit it."""

    participant: str
    taken_at: datetime | None = None


@dataclass(frozen=True)
class Provenance:
    """Where a converted row came from: every staged row carries these three (the toolkit's
    ``provenance_columns``)."""

    source_key: str
    source_sha256: str
    run_id: str


@dataclass(frozen=True)
class DayBatch:
    """Rows of one day, as the converter streams them out."""

    day: str
    table: pa.Table


@dataclass(frozen=True)
class SideTable:
    """A small table a converter derives from a whole file besides its rows (embrace's
    duplicate counts): Convert writes it once per raw file, under
    ``stage/<source>/<name>/participant=<p>/``, for the source's Glue job to curate."""

    name: str
    table: pa.Table


class RejectedFile(ValueError):
    """The whole file is unusable; the step quarantines it with this message as the reason."""


@dataclass(frozen=True)
class FetchTask:
    """One remote input a source wants brought into the landing bucket."""

    source: str
    kind: str
    spec: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "kind": self.kind, **self.spec}


class Source(abc.ABC):
    name: ClassVar[str]
    #: The curated tables the source's Glue job writes (documentation and completeness).
    tables: ClassVar[tuple[str, ...]]
    #: Nominal sample rate per metric in Hz, for expected-row counts; absent if irregular.
    nominal_hz: ClassVar[dict[str, float]] = {}
    #: The UTC timestamp column of converted rows, when the data has real times: rows before
    #: 2000 or more than a day in the future are rejected by the Convert step (a clock reset
    #: or a unit mix-up), so no far-off day partition is ever written.
    time_column: ClassVar[str | None] = None
    #: How the completeness report names a metric: the table its rows land in, where that
    #: says more than the merged folder's name (mhealth ``readings`` -> ``mhealth_readings``).
    metric_tables: ClassVar[dict[str, str]] = {}
    #: Streams copied to the time-series sink (Timestream) when it is enabled.
    timeseries: ClassVar[tuple[SeriesSpec, ...]] = ()
    #: pyarrow ``ParquetWriter`` options for the staged day files, beside zstd compression:
    #: where a source's volume makes the writer's cost matter (mhealth).
    stage_parquet: ClassVar[dict[str, Any]] = {}

    @abc.abstractmethod
    def recognise(self, relative_path: str) -> bool:
        """Whether a file or zip (path relative to what the user gave) looks like this source."""

    @abc.abstractmethod
    def member(self, raw_path: str) -> Member | None:
        """Map an extracted file (path below the source's raw folder) to its member, or None
        when the file is not data of this source (it is then reported, not converted)."""

    @abc.abstractmethod
    def convert(
        self, stream: BinaryIO, member: Member, provenance: Provenance, report: RejectionReport
    ) -> Iterator[DayBatch | SideTable]:
        """Stream a raw file into day batches; add its bad rows to ``report`` (and, for the
        file rule, count what was read: ``report.judge_by``).

        Raise RejectedFile when nothing in the file can be trusted. The rules every source
        shares (time range, file rule) are applied around this by ``toolkit.convert``."""

    @abc.abstractmethod
    def write_samples(self, out_dir: Path, seed: int) -> list[Path]:
        """Write seeded synthetic inputs shaped like the real thing."""

    def reject_reason(self, raw_path: str) -> str | None:
        """Why a file ``member`` does not take should be quarantined; None (the default) when
        it is simply not data (a README) and is only reported in the run's manifest."""
        return None

    def check_export(self, members: list[str]) -> list[tuple[str, str]]:
        """Problems of an extracted zip as a whole, as (member or folder, reason), e.g. a
        device folder without one of its stream files; Unzip quarantines a reason for each."""
        return []

    def image_facts(self, raw_path: str) -> ImageFacts | None:
        """Participant and capture time of an extracted image (path below the source's raw
        folder, as ``member`` gets it); None when the source has no images or cannot tell."""
        return None

    def fetch_tasks(self, options: dict[str, Any]) -> list[FetchTask]:
        """Remote inputs to bring in (Kaggle datasets, external buckets); none by default."""
        return []
