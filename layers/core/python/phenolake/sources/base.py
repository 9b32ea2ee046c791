"""The interface every source implements, so adding one touches only its own package.

A source (``sources/<name>/``) says how its landed objects are recognised, how an extracted
member maps to participant / device / metric, how a raw file becomes staged Parquet
(streaming, with provenance on every row, ``convert.py``), how its merged day files are
curated (``curate.py``, run by the shared Glue job ``glue_jobs/curate.py --source <name>``),
how to write seeded samples (``samples.py``, dev only), which options it takes
(``options.py``, a pydantic model, validated from ``study.yaml``) and, declared in
``spec.py``, its curated tables: each table's partition keys, participant column and time
column. Forget, reports and the contract test read the declarations; nothing guesses. What
every converter shares (the rejection report, the file and time-range rules, numeric cells,
provenance columns, day splitting) is the toolkit's (``toolkit.py``).
"""

from __future__ import annotations

import abc
import importlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

import pyarrow as pa

from phenolake.sinks.base import SeriesSpec

if TYPE_CHECKING:
    from pydantic import BaseModel

    from phenolake.sources.toolkit import RejectionReport


#: The placeholder of a table family's name (``radar_{metric}``: one table per topic).
METRIC = "{metric}"


@dataclass(frozen=True)
class TableSpec:
    """A curated table as its source declares it.

    ``name`` is the table's name, or a family's with ``{metric}`` in it (``radar_{metric}``:
    one table per topic, the topics being whatever the data holds). ``participant`` is the
    column holding the participant, which Forget deletes by; ``time`` the row's UTC time
    column (None where a row is a day or a count, not a moment). ``summarised``: the reports
    summarise the table's numeric columns per participant and period (by metric)."""

    name: str
    partition_keys: tuple[str, ...]
    participant: str | None
    time: str | None = None
    summarised: bool = False

    def matches(self, table: str) -> bool:
        return self.metric_of(table) is not None

    def names(self, metrics: Iterable[str]) -> list[str]:
        """The tables of this declaration that hold these metrics: the one table, or a
        family's table of each metric (``radar_{metric}``)."""
        if METRIC not in self.name:
            return [self.name]
        return sorted({self.name.replace(METRIC, metric) for metric in metrics})

    def metric_of(self, table: str) -> str | None:
        """The metric a table of this spec holds: the family's ``{metric}`` part, or the
        name itself for a single table; None when the table is not this spec's."""
        if METRIC not in self.name:
            return table if table == self.name else None
        head, _, tail = self.name.partition(METRIC)
        found = re.fullmatch(re.escape(head) + r"([a-z0-9_]+)" + re.escape(tail), table)
        return found.group(1) if found else None


@dataclass(frozen=True)
class CurateSizing:
    """The Glue resources one curate run of the source gets (StartJobRun's overrides of the
    shared curate job's): worker type, number of workers, timeout in minutes."""

    worker_type: str = "G.1X"
    workers: int = 2
    timeout_minutes: int = 60


@dataclass(frozen=True)
class ExportFile:
    """One file of a source's export: its name, the table it is read from, the table's
    columns with their header in the file, in order."""

    file_name: str
    table: str
    columns: tuple[tuple[str, str], ...]  # (table column, header in the file)


@dataclass(frozen=True)
class ExportSpec:
    """``phenolake export <source>``: per participant, one file per table that has rows of
    them, under ``<out>/<folder>/<participant>/<subfolder>/``, rows in ``order_by`` order."""

    participant_column: str
    participant_word: str
    folder: str
    subfolder: str
    order_by: tuple[str, ...]
    files: tuple[ExportFile, ...]


@dataclass(frozen=True)
class SourceSpec:
    """What a source declares beside its code (``sources/<name>/spec.py``).

    ``tables``: every curated table its curate module writes. ``fetch``: the fetcher kinds
    its fetch tasks use (``s3``, ``kaggle``), whose parameters are fields of its options
    model. ``sites``: its inputs are filed by site (``site_of``), so ``phenolake run
    --include-sites/--exclude-sites`` select them. ``units``: units of value columns per
    metric, for the reports. ``export``: the export ``phenolake export`` writes, if any."""

    tables: tuple[TableSpec, ...]
    fetch: tuple[str, ...] = ()
    curate: CurateSizing = CurateSizing()
    sites: bool = False
    units: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    export: ExportSpec | None = None

    def table(self, name: str) -> TableSpec | None:
        """The declaration a curated table (by its name in the catalog) falls under."""
        return next((t for t in self.tables if t.matches(name)), None)


class Lazy:
    """A class attribute naming what it holds by ``module:name``, imported when first read.

    A source's converter module is imported by its curate module, in Glue 5.1, which has no
    pydantic: its options model is named here and imported only where it is used (Plan, the
    study configuration), never by the converter's import. Its spec is named the same way,
    since a spec may be built from the converter's own definitions (screenlake's kinds)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __get__(self, instance: object, owner: type) -> Any:
        module, _, name = self.path.partition(":")
        return getattr(importlib.import_module(module), name)


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
    #: Where ``taken_at`` came from, when the source says (screenlake: ``csv``, ``file_name``,
    #: ``file_name_as_utc``); the ``time_from`` column of ``image_redactions``.
    time_from: str | None = None


@dataclass(frozen=True)
class Provenance:
    """Where a converted row came from: every staged row carries these three (the toolkit's
    ``provenance_columns``)."""

    source_key: str
    source_sha256: str
    run_id: str


@dataclass(frozen=True)
class DayBatch:
    """Rows of one day, as the converter streams them out.

    ``participant``: whose rows they are, for a file that holds several participants (a
    re-packaged set with the participant as a column); None: the member's."""

    day: str
    table: pa.Table
    participant: str | None = None


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
    #: The declared tables, fetch kinds, Glue sizing, sites, units and export (``spec.py``).
    spec: ClassVar[SourceSpec]
    #: The source's options (``study.yaml`` ``sources.<name>.options``, a run's ``options``):
    #: a pydantic model with ``extra="forbid"`` (``options.py``; see ``Lazy``).
    options_model: ClassVar[type[BaseModel]]
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

    def companions(self, raw_path: str) -> tuple[str, ...]:
        """Files beside a raw file that its conversion reads (paths below the source's raw
        folder, as ``member`` gets them), e.g. the schema radar types its columns by. The
        Convert step reads those that exist and passes them to ``convert`` as the keyword
        ``companions`` ({path: bytes}); when none exists, or the source names none (the
        default), ``convert`` is called without it."""
        return ()

    def configured(self, options: Mapping[str, Any]) -> Source:
        """The source as the study's options (validated, ``sources.<name>.options``) have it
        read its files, for a source whose paths depend on them (radar's path format); the
        source itself (the default) when they do not."""
        return self

    def is_archive(self, relative_path: str) -> bool:
        """Whether a landed object is an archive Unzip expands (default: a ``.zip``), or a
        file of the source's own that is converted as it is (radar's ``.csv.zip``)."""
        return relative_path.lower().endswith(".zip")

    def reject_reason(self, raw_path: str) -> str | None:
        """Why a file ``member`` does not take is quarantined: the source's own words; None
        (the default) for the Convert step's generic reason. Every such file is quarantined
        unless ``side_file`` names it."""
        return None

    def side_file(self, raw_path: str) -> str | None:
        """Why a file ``member`` does not take is a documented side file, not data (logged
        and listed in the run summary with this reason, not quarantined); None: it is not one.
        By default only operating-system metadata (``.DS_Store``, ``__MACOSX/``, ``._*``)."""
        from phenolake.zipintake import JUNK_REASON, is_junk

        return JUNK_REASON if is_junk(raw_path) else None

    def check_export(self, members: list[str]) -> list[tuple[str, str]]:
        """Problems of an extracted zip as a whole, as (member or folder, reason), e.g. a
        device folder without one of its stream files; Unzip quarantines a reason for each."""
        return []

    def image_facts(self, raw_path: str) -> ImageFacts | None:
        """Participant and capture time of an extracted image (path below the source's raw
        folder, as ``member`` gets it); None when the source has no images or cannot tell."""
        return None

    def export_image_facts(self, files: Mapping[str, Path]) -> dict[str, ImageFacts]:
        """Facts of the images of one extracted zip that its other files tell (screenlake: the
        screenshot CSV row of each image), by path below the source's raw folder (as
        ``image_facts`` gets it) -> facts; ``files`` maps those paths to the extracted local
        files. Images left out get ``image_facts``; none by default."""
        return {}

    def fetch_tasks(self, options: dict[str, Any]) -> list[FetchTask]:
        """Remote inputs to bring in (Kaggle datasets, external buckets); none by default."""
        return []

    def site_of(self, relative_path: str) -> str | None:
        """The site an input is filed under, for a source that declares ``spec.sites``."""
        return None

    def parse_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Options validated by the source's options model, as a dict of the fields given.

        An unknown or mistyped field is a ValueError of one line naming each
        (``radar.options.buckt: Extra inputs are not permitted``)."""
        from pydantic import ValidationError

        try:
            parsed = self.options_model.model_validate(dict(options))
        except ValidationError as exc:
            problems = "; ".join(
                f"{self.name}.options.{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            )
            raise ValueError(problems) from None
        return parsed.model_dump(exclude_unset=True)
