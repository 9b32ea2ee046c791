"""Settings a step needs (bucket names, catalog database, topic), read from the environment.

The environment is the deployment's wiring (names and ARNs the stack made). Behavioural
settings live in the study model (``phenolake.study``, with the one default of each); the few
that a stack parameter may also set are ``None`` here when the parameter is empty, and
``study.apply``/``study.thresholds`` resolve them (study.yaml, else the parameter, else the
default).

Deployed, each Lambda gets them as environment variables from template.yaml. The embedded
AWS runs every handler in one process, on threads, so the environment is looked up through a
context variable that the local invoker sets per call instead of mutating ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

_ENVIRONMENT: ContextVar[Mapping[str, str] | None] = ContextVar("phenolake_env", default=None)


def environ() -> Mapping[str, str]:
    """The environment of the function being run: the per-call override, else the process's."""
    return _ENVIRONMENT.get() or os.environ


@contextmanager
def using_environment(env: Mapping[str, str]) -> Iterator[None]:
    """Run a block as if the process had ``env`` as its environment (this thread only)."""
    token = _ENVIRONMENT.set(dict(env))
    try:
        yield
    finally:
        _ENVIRONMENT.reset(token)


class ConfigurationError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    landing_bucket: str
    lake_bucket: str
    scratch_bucket: str
    glue_database: str = "phenolake"
    ledger_table: str = ""
    topic_arn: str = ""
    kaggle_secret_id: str = ""
    slack_secret_id: str = ""
    timestream_database: str = ""
    timestream_table: str = ""
    region: str = "us-east-1"
    stage: str = "dev"
    #: The study's nominal rates, ``{(source, metric): Hz}`` (``NominalRates`` parameter).
    nominal_rates: tuple[tuple[str, str, float], ...] = ()
    #: ``SilentDays``; None: not set (study.yaml or its default decides).
    silent_days: int | None = None
    #: ``MapToleratedFailurePercentage``; None: not set (study.yaml or its default decides).
    map_tolerated_failure_percentage: float | None = None
    #: ``RedactMode``; None: not set (study.yaml ``redaction.mode`` or its default decides).
    redact_mode: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = environ() if env is None else env
        missing = [k for k in ("LANDING_BUCKET", "LAKE_BUCKET", "SCRATCH_BUCKET") if not env.get(k)]
        if missing:
            raise ConfigurationError(f"environment variable(s) not set: {', '.join(missing)}")
        return cls(
            landing_bucket=env["LANDING_BUCKET"],
            lake_bucket=env["LAKE_BUCKET"],
            scratch_bucket=env["SCRATCH_BUCKET"],
            glue_database=env.get("GLUE_DATABASE", "phenolake"),
            ledger_table=env.get("LEDGER_TABLE", ""),
            topic_arn=env.get("TOPIC_ARN", ""),
            kaggle_secret_id=env.get("KAGGLE_SECRET_ID", ""),
            slack_secret_id=env.get("SLACK_SECRET_ID", ""),
            timestream_database=env.get("TIMESTREAM_DATABASE", ""),
            timestream_table=env.get("TIMESTREAM_TABLE", ""),
            region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "us-east-1")),
            stage=env.get("STAGE", "dev"),
            nominal_rates=parse_rates(env.get("NOMINAL_RATES", "")),
            silent_days=_optional_count(env, "SILENT_DAYS"),
            map_tolerated_failure_percentage=_optional_percentage(
                env, "MAP_TOLERATED_FAILURE_PERCENTAGE"
            ),
            redact_mode=_choice(env, "REDACT_MODE", ("box", "pixelate")),
        )

    def rate(self, source: str, metric: str) -> float | None:
        """The configured nominal rate of a metric, if the study set one."""
        return next((hz for s, m, hz in self.nominal_rates if (s, m) == (source, metric)), None)


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def parse_rates(text: str) -> tuple[tuple[str, str, float], ...]:
    """``<source>.<metric>=50,<source>.<metric>=4`` -> ((source, metric, Hz), ...)."""
    rates = []
    for pair in _names(text):
        name, sep, value = pair.partition("=")
        source, dot, metric = name.strip().partition(".")
        try:
            hz = float(value)
        except ValueError:
            hz = -1.0
        if not sep or not dot or not source or not metric or not hz > 0:
            raise ConfigurationError(
                f"NOMINAL_RATES: expected source.metric=Hz (Hz > 0), got {pair!r}"
            )
        rates.append((source, metric.strip(), hz))
    return tuple(rates)


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = env.get(name) or None
    if value is not None and value not in allowed:
        raise ConfigurationError(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def _optional_count(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name, "")
    return _count(env, name, 0) if value else None


def _optional_percentage(env: Mapping[str, str], name: str) -> float | None:
    value = env.get(name, "")
    if not value:
        return None
    try:
        found = float(value)
    except ValueError:
        found = -1.0
    if not 0 <= found <= 100:
        raise ConfigurationError(f"{name}: expected a percentage 0-100, got {value!r}")
    return found


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name) or str(default)
    if not value.isdigit():
        raise ConfigurationError(f"{name}: expected a whole number >= 0, got {value!r}")
    return int(value)
