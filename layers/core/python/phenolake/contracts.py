"""What passes between the steps: one pydantic model per manifest and work item.

A step that writes a manifest or a work list builds it from these models, and the step that
reads it back validates it with the same model, so a field renamed on one side fails at once
(``ContractError``, one line naming the document and the field) instead of turning into a
``KeyError`` or a silent ``.get`` default in another step. The JSON on the wire keeps the
shape it had: the state machine's JSONPaths read some of these fields (``$.plan.run_id``,
``$.extracted.redact.key``, ``$.converted.curate``...), and a Distributed Map reads the work
lists from S3 item by item.

Only pydantic is imported here: Redact runs without pyarrow, and every step imports this.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
)

from phenolake import lake

Model = TypeVar("Model", bound=BaseModel)


class ContractError(ValueError):
    """A manifest or work item is not what its writer's model says; names where and what."""


def describe(error: ValidationError, where: str) -> str:
    """One line: ``<where>: <field>: <problem>`` for each problem."""
    problems = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "(top level)"
        problems.append(f"{where}: {field}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)


def load(model: type[Model], document: Any, where: str) -> Model:
    """``document`` (parsed JSON) as ``model``, or a ContractError naming ``where``."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise ContractError(describe(exc, where)) from None


def load_list(model: type[Model], documents: Any, where: str) -> list[Model]:
    """A JSON array of ``model`` items (a work list), the failing item's index named."""
    if not isinstance(documents, list):
        raise ContractError(f"{where}: expected a JSON array of items")
    return [load(model, item, f"{where}[{i}]") for i, item in enumerate(documents)]


def dump(model: BaseModel) -> dict[str, Any]:
    """The wire form (JSON types)."""
    return model.model_dump(mode="json")


class Contract(BaseModel):
    """A document one step writes and another reads: unknown fields refused, so a writer
    adding a field must add it here, where the reader sees it."""

    model_config = ConfigDict(extra="forbid")


class SparseContract(Contract):
    """A contract whose optional fields are left off the wire when they have no value, as
    their writers always wrote them (a reader takes absent as None)."""

    @model_serializer(mode="wrap")
    def _without_none(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


# ------------------------------------------------------------------------------ work lists


class WorkListRef(Contract):
    """Where a step wrote a Map's items (``Step.write_work_list``); a Map's ItemReader reads
    ``key`` from ``bucket``."""

    #: The lake bucket (a reader that knows it may be handed the key alone).
    bucket: str = ""
    key: str
    count: int = Field(ge=0)


class LandedObject(Contract):
    """One landed object to take in (Plan's and Fetch's ``landed`` work list, Unzip's item)."""

    source: str
    bucket: str
    key: str
    etag: str = ""
    size: int = 0
    last_modified: str | None = None


class FetchTask(BaseModel):
    """One remote input to bring in (``Source.fetch_tasks``): its kind and its parameters."""

    model_config = ConfigDict(extra="allow")

    source: str
    kind: str


class Window(Contract):
    start: str
    end: str


#: Detector scores at or above the low end are faces (covered); below the high end a face is
#: covered and flagged for a person to look at. The bench measures recall for exactly this.
FACE_UNSURE_BAND = (0.1, 0.5)


class Thresholds(Contract):
    """The study's run-time thresholds (``study.yaml`` ``thresholds``; the one default of each
    is here). Plan puts the effective values in its plan, so the state machine and the steps
    that need them take them from there: the Maps' ``ToleratedFailurePercentagePath``, Redact's
    unsure band and QA sample size, Notify's silent days."""

    map_tolerated_failure_percentage: float = Field(10, ge=0, le=100)
    silent_days: int = Field(7, ge=1)
    face_unsure_band: tuple[float, float] = FACE_UNSURE_BAND
    qa_images_per_week: int = Field(20, ge=0)

    @field_validator("face_unsure_band")
    @classmethod
    def _band(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0 < low < high <= 1:
            raise ValueError(f"expected 0 < low < high <= 1, got [{low}, {high}]")
        return value


class Redaction(Contract):
    """How Redact covers faces and draws its QA sample (``study.yaml`` ``redaction``)."""

    #: A solid black box, or coarse pixelation (at most 8 blocks across the face).
    mode: Literal["box", "pixelate"] = "box"
    #: The QA sample's seed: the same run's images and seed give the same sample.
    qa_seed: int = Field(4, ge=0)


class PlanWork(Contract):
    landed: WorkListRef


class Plan(BaseModel):
    """Plan's output (``$.plan``) and ``manifests/<run>/plan.json``."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    window: Window
    sources: list[str]
    participants: list[str]
    dry_run: bool
    replay: bool
    fetch: list[FetchTask]
    work: PlanWork
    estimate: dict[str, Any]
    study: str
    config_sha256: str
    thresholds: Thresholds = Field(default_factory=Thresholds)
    redaction: Redaction = Field(default_factory=Redaction)
    #: The study's timezone: the default window is yesterday there.
    timezone: str = "UTC"
    #: The run loads Timestream (the ``TimestreamEnabled`` Choice reads it).
    timestream_enabled: bool = False
    #: Each chosen source's options (study.yaml's, then the run's), validated: Unzip and
    #: Convert read files with them (``Source.configured``: radar's path format).
    source_options: dict[str, dict[str, Any]] = Field(default_factory=dict)


# ------------------------------------------------------------------------------------ unzip


class ImageRef(SparseContract):
    """An extracted image in scratch, with whose it is and when it was taken when the source
    can tell (``Source.image_facts``)."""

    bucket: str
    key: str
    participant: str | None = None
    taken_at: str | None = None
    time_from: str | None = None


class DataFile(Contract):
    """An extracted data file in ``raw/``, and the run that first took its landed object in."""

    bucket: str
    key: str
    ingest_run_id: str = ""


class RejectedMember(Contract):
    member: str
    reason: str


class ExtractedManifest(Contract):
    """What one Unzip item took in: ``manifests/<run>/extracted/<digest>.json``."""

    landing: LandedObject
    source: str
    images: list[ImageRef] = Field(default_factory=list)
    data: list[DataFile] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)
    rejected: list[RejectedMember] = Field(default_factory=list)
    quarantined: str | None = None


class ItemOutput(BaseModel):
    """A Map item's output as ResultWriter exports it: the manifest it wrote (and counts)."""

    model_config = ConfigDict(extra="allow")

    manifest: str


# --------------------------------------------------------------------- redact and convert


class ImageBatch(Contract):
    """A Redact item (``redact.json``): up to ``IMAGE_BATCH`` images of one source."""

    source: str
    images: list[ImageRef]


class RawFile(Contract):
    """A Convert item (``convert.json``): one extracted data file."""

    source: str
    bucket: str
    key: str
    #: The run that first took in the landed object this file came from (its provenance).
    ingest_run_id: str = ""


class DayItem(Contract):
    """A DailyMerge item (``merge.json``): one participant x metric x day (x device)."""

    source: str
    metric: str
    participant: str
    day: str
    device: str = ""

    def day_key(self) -> lake.DayKey:
        return lake.DayKey(self.source, self.metric, self.participant, self.day, self.device)

    @classmethod
    def of(cls, day: lake.DayKey) -> DayItem:
        return cls(**day.as_dict())


class StagedDay(DayItem):
    """A day a converted file covers, and its rows."""

    rows: int = Field(ge=0)


class ConvertedManifest(SparseContract):
    """What one Convert item wrote: ``manifests/<run>/converted/<digest>.json``."""

    key: str
    source: str
    days: list[StagedDay] = Field(default_factory=list)
    sha256: str
    quarantined: str | None = None
    not_data: bool | None = None
    #: Why a file that is not data was not quarantined (a documented side file).
    side_file: str | None = None
    side_tables: list[str] | None = None
    rows: int = 0
    rejected_rows: int = 0


class CurateItem(Contract):
    """A Curate item (``$.converted.curate``): a source, the participants it touched and the
    work list of the days it merged (the job curates exactly those day files)."""

    source: str
    #: Comma-separated: a Glue job argument is a string.
    participants: str
    #: Key of the run's DailyMerge work list (``manifests/<run>/work/merge.json``).
    days: str = ""


class AuditRow(Contract):
    """One image Redact saw (``manifests/<run>/redacted/``), folded into ``image_redactions``."""

    source: str
    participant: str
    taken_at: str | None
    date: str
    time_from: str | None = None
    source_key: str
    mode: str
    run_id: str
    redacted_at: str
    detector: str
    model_sha256: str
    image_key: str
    faces: int
    scores: list[float]
    boxes: list[list[int]]
    action: str
    flagged: bool
    reason: str


class RedactedManifest(Contract):
    source: str
    rows: list[AuditRow]


class ExtractedWork(Contract):
    """CollectExtracted's output (``$.extracted``)."""

    redact: WorkListRef
    convert: WorkListRef


class ConvertedWork(Contract):
    """CollectConverted's output (``$.converted``)."""

    merge: WorkListRef
    curate: list[CurateItem]


# ---------------------------------------------------------------------- timestream, notify


class BatchLoad(BaseModel):
    """One TimestreamLoads item's outcome: the state machine's ``KeepBatchLoad*`` states."""

    model_config = ConfigDict(extra="allow")

    TargetTableName: str = ""
    Measure: str = ""
    load: dict[str, Any] = Field(default_factory=dict)


class RunSummary(BaseModel):
    """What the state machine hands Notify (``summary``): the steps' outputs it reports."""

    model_config = ConfigDict(extra="allow")

    fetch: dict[str, Any] | None = None
    completeness: dict[str, Any] | None = None
    timestream_loads: list[BatchLoad] | None = None
    #: The Curate Map's job runs (``job``, ``state``, ``id``, ``started``/``completed`` in
    #: epoch ms, ``seconds``): the Glue rows of the run's profile.
    curated: list[dict[str, Any]] | None = None


class FailureRecord(BaseModel):
    """A failed Map item as the state machine's ``Record*Failure`` state wrote it: the
    item's input with the error after the last retry under ``error``."""

    model_config = ConfigDict(extra="allow")

    error: dict[str, Any] = Field(default_factory=dict)
    item: Any = None
