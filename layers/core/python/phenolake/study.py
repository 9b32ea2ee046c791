"""The study configuration: one YAML file, validated before anything runs.

A study team edits ``study.yaml`` (sources and their settings, nominal rates, timezones,
sinks, thresholds). It is validated by ``phenolake validate`` and ``make deploy`` before it
is published to the lake bucket (``config/study.yaml``), and again by Plan at the start of
every run, so a typo stops the run at once with the field named, instead of surfacing as
wrong numbers weeks later. A missing file means the defaults below.

This model holds every behavioural setting, each with its one default. The environment
(``config.Settings``) holds the deployment's wiring: bucket, table and topic names. A few
settings can also be given as stack parameters (``SilentDays``, ``NominalRates``,
``MapToleratedFailurePercentage``, ``EnableTimestream``, ``RedactMode``); one rule decides: a
value set in study.yaml wins, else the stack parameter when it is set, else the default here.
Plan resolves them once per run (``thresholds``, ``redaction``) and hands them on in its plan,
so every step of a run uses the values Plan read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import zoneinfo
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from phenolake import sources
from phenolake.contracts import Redaction, Thresholds

CONFIG_KEY = "config/study.yaml"


class StudyConfigError(ValueError):
    """The configuration is invalid; the message names each field and its problem."""


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA timezone {value!r}") from None
    return value


class SourceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    #: The source's own settings (for example its fetch's ``bucket`` and sites), validated by
    #: its options model (``sources/<name>/options.py``), which names a field it lacks.
    options: dict[str, Any] = Field(default_factory=dict)
    #: Nominal sample rate per metric (Hz), overriding the source's own, for completeness.
    nominal_hz: dict[str, float] = Field(default_factory=dict)

    @field_validator("nominal_hz")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for metric, hz in value.items():
            if hz <= 0:
                raise ValueError(f"{metric}: a nominal rate must be > 0 Hz, got {hz}")
        return value


class Timestream(BaseModel):
    """Whether the run loads Timestream. The table's retention is not here: it is a property
    of the table the stack makes (``TimestreamMemoryRetentionHours``,
    ``TimestreamMagneticRetentionDays``), which a copy in this file could only contradict."""

    model_config = ConfigDict(extra="forbid")

    #: Load the run's time series (the stack must have been deployed with
    #: ``EnableTimestream=true``, which makes the table); unset: as the stack was deployed.
    enabled: bool = False


#: A summary's name: a word, as it heads the figures' rows (``heart_rate``).
_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"


class SummaryFilter(BaseModel):
    """Only the rows whose ``field`` is exactly ``equals`` (the CONNECT script's
    ``filter_field:filter_value``, ``value.key:HeartRate``: text, compared whole)."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1)
    equals: str = Field(min_length=1)


class FeatureSummary(BaseModel):
    """Statistics of one value field of a topic (the CONNECT script's ``--feature``).

    Fields are named as in the export's CSV header (``value.intValue``) or as the table's
    column (``int_value``); times are epoch seconds or the table's ``time``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME)
    topic: str = Field(min_length=1)
    time_field: str = "value.time"
    value_field: str = Field(min_length=1)
    filter: SummaryFilter | None = None
    unit: str = ""


class SliderSummary(BaseModel):
    """Statistics of the answers whose question id starts with ``prefix`` (the script's
    ``--questionnaire-slider``), each answer's time being its response's ``time_field``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME)
    topic: str = "questionnaire_response"
    prefix: str = Field(min_length=1)
    time_field: str = "value.timeCompleted"


class HistogramSummary(BaseModel):
    """How often each answer was given to the question ``question_id`` (the script's
    ``--questionnaire-histogram``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME)
    topic: str = "questionnaire_response"
    question_id: str = Field(min_length=1)
    time_field: str = "value.timeCompleted"


class ResponseSummary(BaseModel):
    """Questionnaire responses counted (one per row) by the time they were completed (the
    script's ``--questionnaire``)."""

    model_config = ConfigDict(extra="forbid")

    topic: str = "questionnaire_response"
    time_field: str = "value.timeCompleted"


def _connect_features() -> list[FeatureSummary]:
    """The CONNECT study's wearable features (``extract_patient_summary.py``'s example), on
    RADAR's Health Connect topic, whose value field is ``intValue``."""
    return [
        FeatureSummary(
            name=name,
            topic="android_health_connect_typed_data",
            value_field="value.intValue",
            filter=SummaryFilter(field="value.key", equals=key),
            unit=unit,
        )
        for name, key, unit in (("steps", "Steps", "steps"), ("heart_rate", "HeartRate", "bpm"))
    ]


class Summaries(BaseModel):
    """The study's summaries per participant per period, as the CONNECT scripts make them
    (MHM-data-pipelines ``extract_patient_summary.py``); ``phenolake report`` and
    ``phenolake summary`` compute them with SQL over the curated tables. The defaults are the
    CONNECT set; a topic the lake has no table for is skipped, and the report says so."""

    model_config = ConfigDict(extra="forbid")

    features: list[FeatureSummary] = Field(default_factory=_connect_features)
    sliders: list[SliderSummary] = Field(
        default_factory=lambda: [
            SliderSummary(name="negative_emotions", prefix="negative_emotions_")
        ]
    )
    histograms: list[HistogramSummary] = Field(
        default_factory=lambda: [HistogramSummary(name="sleep", question_id="sleep_5")]
    )
    #: None: no response counts.
    responses: ResponseSummary | None = Field(default_factory=ResponseSummary)

    @model_validator(mode="after")
    def _unique_names(self) -> Summaries:
        for what, items in (
            ("features", self.features),
            ("sliders", self.sliders),
            ("histograms", self.histograms),
        ):
            names = [item.name for item in items]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"{what}: name(s) given more than once: {', '.join(twice)}")
        return self


class StudyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    study: str = Field("phenolake", min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    timezone: str = "UTC"
    participant_timezones: dict[str, str] = Field(default_factory=dict)
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    sinks: dict[str, Timestream] = Field(default_factory=lambda: {"timestream": Timestream()})
    thresholds: Thresholds = Field(default_factory=Thresholds)
    redaction: Redaction = Field(default_factory=Redaction)
    summaries: Summaries = Field(default_factory=Summaries)

    @field_validator("timezone")
    @classmethod
    def _study_zone(cls, value: str) -> str:
        return _timezone(value)

    @field_validator("participant_timezones")
    @classmethod
    def _participant_zones(cls, value: dict[str, str]) -> dict[str, str]:
        for participant, zone in value.items():
            try:
                _timezone(zone)
            except ValueError as exc:
                raise ValueError(f"{participant}: {exc}") from None
        return value

    @field_validator("sources")
    @classmethod
    def _known_sources(cls, value: dict[str, SourceSettings]) -> dict[str, SourceSettings]:
        for name, found in value.items():
            source = sources.get(name)  # UnknownSource (a ValueError) names the known ones
            found.options = source.parse_options(found.options)
        return value

    @field_validator("sinks")
    @classmethod
    def _known_sinks(cls, value: dict[str, Timestream]) -> dict[str, Timestream]:
        unknown = sorted(set(value) - {"timestream"})
        if unknown:
            raise ValueError(f"unknown sink(s) {', '.join(unknown)} (known: timestream)")
        return value

    @model_validator(mode="after")
    def _some_source(self) -> StudyConfig:
        if not self.enabled_sources():
            raise ValueError("every source is disabled: enable at least one")
        return self

    def enabled_sources(self) -> list[str]:
        """Sources to run: every registered one but those set ``enabled: false``."""
        return [n for n in sources.names() if self.sources.get(n, SourceSettings()).enabled]

    def options(self, source: str) -> dict[str, Any]:
        found = self.sources.get(source)
        return dict(found.options) if found else {}

    def timestream_enabled(self, deployed: bool) -> bool:
        """The run loads Timestream: as study.yaml says when it says so, else as deployed.
        A study that asks for it on a stack without the table is refused (no silent skip)."""
        sink = self.sinks.get("timestream")
        if sink is None or "enabled" not in sink.model_fields_set:
            return deployed
        if sink.enabled and not deployed:
            raise StudyConfigError(
                "sinks.timestream.enabled is true but the stack has no Timestream table: "
                "deploy it with EnableTimestream=true"
            )
        return sink.enabled

    def zone_of(self, participant: str) -> str:
        """The participant's IANA timezone: their own, else the study's."""
        return self.participant_timezones.get(participant, self.timezone)

    def nominal_hz(self, source: str, metric: str) -> float | None:
        found = self.sources.get(source)
        if found and metric in found.nominal_hz:
            return found.nominal_hz[metric]
        return sources.get(source).nominal_hz.get(metric)


def _describe(error: ValidationError, where: str) -> str:
    problems = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {field}: {message}")
    return "; ".join(problems)


def parse(text: str, where: str = "study.yaml") -> StudyConfig:
    try:
        document = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark else ""
        raise StudyConfigError(f"{where}:{at}: not valid YAML") from None
    if not isinstance(document, dict):
        raise StudyConfigError(f"{where}: expected a mapping of settings at the top level")
    try:
        return StudyConfig.model_validate(document)
    except ValidationError as exc:
        raise StudyConfigError(_describe(exc, where)) from None


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_from_lake(s3: Any, bucket: str) -> tuple[StudyConfig, str]:
    """The published configuration and its sha256 (defaults and the hash of "" when absent)."""
    try:
        text = s3.get_object(Bucket=bucket, Key=CONFIG_KEY)["Body"].read().decode()
    except s3.exceptions.NoSuchKey:
        text = ""
    return parse(text, f"s3://{bucket}/{CONFIG_KEY}"), digest(text)


def thresholds(settings: Any, config: StudyConfig) -> Thresholds:
    """The run's thresholds by the one rule: set in study.yaml, else the stack parameter
    when set (``SilentDays``, ``MapToleratedFailurePercentage``), else the default."""
    chosen = config.thresholds.model_dump()
    deployed = {
        "silent_days": settings.silent_days,
        "map_tolerated_failure_percentage": settings.map_tolerated_failure_percentage,
    }
    for name, value in deployed.items():
        if name not in config.thresholds.model_fields_set and value is not None:
            chosen[name] = value
    return Thresholds.model_validate(chosen)


def redaction(settings: Any, config: StudyConfig) -> Redaction:
    """Redact's settings by the same rule (``RedactMode`` is the stack parameter)."""
    chosen = config.redaction.model_dump()
    if "mode" not in config.redaction.model_fields_set and settings.redact_mode is not None:
        chosen["mode"] = settings.redact_mode
    return Redaction.model_validate(chosen)


def apply(settings: Any, config: StudyConfig) -> Any:
    """Settings with what study.yaml sets explicitly taking precedence over the deployment's
    parameters (``NominalRates``, ``SilentDays``), so the file is the one place to look."""
    rates = {(s, m): hz for s, m, hz in settings.nominal_rates}
    for name, found in config.sources.items():
        rates.update({(name, metric): hz for metric, hz in found.nominal_hz.items()})
    chosen = thresholds(settings, config)
    return dataclasses.replace(
        settings,
        nominal_rates=tuple((s, m, hz) for (s, m), hz in rates.items()),
        silent_days=chosen.silent_days,
        map_tolerated_failure_percentage=chosen.map_tolerated_failure_percentage,
    )
