"""The one wrapper every Lambda handler uses: Powertools logging, EMF metrics, event parsing.

A step's library function takes a parsed event model and the settings and returns a small
JSON-able dict; counts it wants published as metrics go under ``"metrics"`` and are emitted
as CloudWatch EMF here, so the library never imports anything Lambda-specific. Transient
AWS errors leave as ``TransientError``, the one name the state machine retries with backoff.

Every invocation is measured here (``phenolake.memory``: wall time and peak resident memory,
emitted as ``peak_memory_mb`` beside the configured ``memory_size_mb``), and one that belongs
to a run writes its profile record to the ledger (``phenolake.profile``), with the rows and
bytes in and out its step's metrics name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parser import parse
from pydantic import BaseModel, ValidationError

from phenolake import contracts, memory, profile, storage
from phenolake.config import Settings
from phenolake.errors import TransientError, is_transient

Event = TypeVar("Event", bound=BaseModel)

_UNITS = {"bytes": MetricUnit.Bytes, "seconds": MetricUnit.Seconds, "mb": MetricUnit.Megabytes}


def unit_of(metric: str) -> MetricUnit:
    """By the name's last word (``merged_bytes``), or the one before ``in``/``out``
    (``bytes_in``)."""
    words = metric.split("_")
    if len(words) > 1 and words[-1] in ("in", "out"):
        words.pop()
    return _UNITS.get(words[-1], MetricUnit.Count)


_STORES: dict[tuple[str, str], DynamoDBPersistenceLayer] = {}


def _idempotency_store(step: str, settings: Settings) -> DynamoDBPersistenceLayer:
    """Powertools' idempotency records live in the ledger table (pk ``idempotency#<step>``)."""
    key = (step, settings.ledger_table)
    if key not in _STORES:
        _STORES[key] = DynamoDBPersistenceLayer(
            table_name=settings.ledger_table,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value=f"idempotency#{step}",
            boto3_client=storage.client("dynamodb", settings.region),
        )
    return _STORES[key]


def lambda_entry(
    step: str,
    model: type[Event],
    run: Callable[[Event, Settings], dict[str, Any]],
    idempotency_key: str | None = None,
    label: Callable[[Event], str] | None = None,
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """``idempotency_key`` (JMESPath over the event) makes a step with side effects outside
    the lake (a notification sent) run once per key: a retry gets the first result back.
    ``label`` names the invocation's row in the run's profile when one function serves
    several states (``collect:extracted``); else it is ``step``."""
    logger = Logger(service=step)
    copy_config_to_registered_loggers(source_logger=logger, include={"phenolake"})

    @logger.inject_lambda_context(correlation_id_path="execution_id", clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        # One metric set per invocation: Powertools' Metrics shares one set across instances,
        # which concurrent invocations on threads of one process (the embedded AWS runs Map
        # items so) corrupt ("dictionary changed size during iteration" in its flush).
        metrics = EphemeralMetrics(namespace="phenolake", service=step)
        invocation = memory.Invocation()
        seen: dict[str, Any] = {}
        ok = False
        try:
            result = _invoke(event, context, metrics, seen)
            ok = True
            return result
        finally:
            measured = invocation.end()
            configured = memory.configured_mb() or int(getattr(context, "memory_limit_in_mb", 0))
            metrics.add_metric("peak_memory_mb", MetricUnit.Megabytes, round(measured.peak_mb, 1))
            if configured:
                metrics.add_metric("memory_size_mb", MetricUnit.Megabytes, configured)
            metrics.add_metric("duration_seconds", MetricUnit.Seconds, round(measured.seconds, 3))
            metrics.flush_metrics()
            _profile(context, seen, measured, configured, ok)

    def _profile(
        context: Any,
        seen: dict[str, Any],
        measured: memory.Measurement,
        configured: int,
        ok: bool,
    ) -> None:
        """The invocation's profile record; a transient failure to write it loses the record,
        not the step's work (a missing grant still fails, as it should)."""
        settings, run_id = seen.get("settings"), seen.get("run_id")
        if settings is None or not run_id or not settings.ledger_table:
            return
        record = profile.of_lambda(
            seen.get("label", step),
            str(getattr(context, "function_name", step)),
            str(getattr(context, "aws_request_id", "")),
            measured,
            configured,
            ok,
            profile.flows_of(seen.get("metrics", {})),
        )
        try:
            profile.write(
                storage.client("dynamodb", settings.region), settings.ledger_table, run_id, record
            )
        except Exception as exc:
            if not is_transient(exc):
                raise
            logger.warning("profile record not written", extra={"error": str(exc)})

    def _invoke(
        event: dict[str, Any], context: Any, metrics: EphemeralMetrics, seen: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            parsed = parse(event=event, model=model)
        except ValidationError as exc:  # one line naming the step and the field, not pydantic's
            raise contracts.ContractError(contracts.describe(exc, f"{step} event")) from None
        settings = Settings.from_env()
        seen["settings"] = settings
        seen["run_id"] = getattr(parsed, "run_id", None)
        seen["label"] = label(parsed) if label else step
        try:
            if idempotency_key and settings.ledger_table:
                config = IdempotencyConfig(
                    event_key_jmespath=idempotency_key, expires_after_seconds=7 * 24 * 3600
                )
                config.register_lambda_context(context)

                @idempotent_function(
                    data_keyword_argument="raw",
                    persistence_store=_idempotency_store(step, settings),
                    config=config,
                )
                def once(raw: dict[str, Any]) -> dict[str, Any]:
                    return run(parsed, settings)

                result = dict(once(raw=event))
            else:
                result = run(parsed, settings)
        except Exception as exc:
            if is_transient(exc) and not isinstance(exc, TransientError):
                raise TransientError(f"{type(exc).__name__}: {exc}") from exc
            raise
        seen["run_id"] = seen["run_id"] or result.get("run_id")
        seen["metrics"] = result.pop("metrics", {})
        for name, value in sorted(seen["metrics"].items()):
            metrics.add_metric(name=name, unit=unit_of(name), value=value)
        logger.info("step finished", extra={"step": step, "result": result})
        return result

    return handler
