"""Count the AWS calls the code under test makes (every handler's boto3 client), by operation."""

from __future__ import annotations

from typing import Any

import boto3


class Calls:
    """The AWS calls every handler makes while counting (their clients are made afresh)."""

    def __init__(self) -> None:
        self.made: list[tuple[str, dict[str, Any], str | None]] = []
        self.query_items: dict[str, int] = {}

    def _hooks(self) -> list[tuple[str, Any]]:
        return [
            ("before-parameter-build", self.before),
            ("after-call.dynamodb.Query", self.after_query),
        ]

    def __enter__(self) -> Calls:
        """Hooks on boto3's session, and on every session made while counting (moto's
        ``mock_aws`` starts a new one): a client copies its session's hooks when made."""
        from botocore import handlers

        from phenolake import storage

        storage.reset_clients()
        self._session = boto3.DEFAULT_SESSION
        self._registered = self._hooks()
        for event, hook in self._registered:
            handlers.BUILTIN_HANDLERS.append((event, hook))
            if self._session is not None:
                self._session.events.register(event, hook)
        return self

    def __exit__(self, *exc: object) -> None:
        from botocore import handlers

        from phenolake import storage

        for event, hook in self._registered:
            handlers.BUILTIN_HANDLERS.remove((event, hook))
            if self._session is not None:
                self._session.events.unregister(event, hook)
        storage.reset_clients()

    def before(self, model: Any, params: dict[str, Any], context: dict, **_: Any) -> None:
        from phenolake_local import iam

        caller = iam._CALLER.get()  # the role the calling code runs under (None: the developer)
        self.made.append(
            (f"{model.service_model.service_name}:{model.name}", params, caller and caller.role)
        )
        values = params.get("ExpressionAttributeValues", {})
        context["queried"] = next(iter(values.values()), {}).get("S", "")

    def after_query(self, parsed: dict[str, Any], context: dict, **_: Any) -> None:
        """Items read, by the partition (or index key) queried."""
        queried = context.get("queried", "")
        self.query_items[queried] = self.query_items.get(queried, 0) + len(parsed["Items"])
        if not self.query_items[queried]:
            del self.query_items[queried]

    def of(self, operation: str, role: str = "") -> list[dict[str, Any]]:
        """The parameters of each call of ``operation`` (made under ``role``, when given)."""
        return [p for name, p, by in self.made if name == operation and (by == role or not role)]

    def listings(self, bucket: str, role: str = "phenolake-PlanFunctionRole") -> list[dict]:
        """Plan's listings of ``bucket`` (its role's ListObjectsV2 calls)."""
        return [p for p in self.of("s3:ListObjectsV2", role) if p["Bucket"] == bucket]
