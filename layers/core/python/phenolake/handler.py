"""The one wrapper every Lambda handler uses: Powertools logging, EMF metrics, event parsing.

A step's library function takes a parsed event model and the settings and returns a small
JSON-able dict; counts it wants published as metrics go under ``"metrics"`` and are emitted
as CloudWatch EMF here, so the library never imports anything Lambda-specific. Transient
AWS errors leave as ``TransientError``, the one name the state machine retries with backoff.
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

from phenolake import contracts, storage
from phenolake.config import Settings
from phenolake.errors import TransientError, is_transient

Event = TypeVar("Event", bound=BaseModel)

_UNITS = {"bytes": MetricUnit.Bytes, "seconds": MetricUnit.Seconds}


def unit_of(metric: str) -> MetricUnit:
    return _UNITS.get(metric.rsplit("_", 1)[-1], MetricUnit.Count)


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
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """``idempotency_key`` (JMESPath over the event) makes a step with side effects outside
    the lake (a notification sent) run once per key: a retry gets the first result back."""
    logger = Logger(service=step)
    copy_config_to_registered_loggers(source_logger=logger, include={"phenolake"})

    @logger.inject_lambda_context(correlation_id_path="execution_id", clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        # One metric set per invocation: Powertools' Metrics shares one set across instances,
        # which concurrent invocations on threads of one process (the embedded AWS runs Map
        # items so) corrupt ("dictionary changed size during iteration" in its flush).
        metrics = EphemeralMetrics(namespace="phenolake", service=step)
        try:
            return _invoke(event, context, metrics)
        finally:
            metrics.flush_metrics()

    def _invoke(event: dict[str, Any], context: Any, metrics: EphemeralMetrics) -> dict[str, Any]:
        try:
            parsed = parse(event=event, model=model)
        except ValidationError as exc:  # one line naming the step and the field, not pydantic's
            raise contracts.ContractError(contracts.describe(exc, f"{step} event")) from None
        settings = Settings.from_env()
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
        for name, value in sorted(result.pop("metrics", {}).items()):
            metrics.add_metric(name=name, unit=unit_of(name), value=value)
        logger.info("step finished", extra={"step": step, "result": result})
        return result

    return handler
