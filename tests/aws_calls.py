"""Count the AWS calls the code under test makes (every handler's boto3 client), by operation."""

from __future__ import annotations

from typing import Any

import boto3


class Calls:
    """The AWS calls every handler makes while counting (their clients are made afresh)."""

    def __init__(self) -> None:
        self.made: list[tuple[str, dict[str, Any]]] = []
        self.query_items: dict[str, int] = {}

    def __enter__(self) -> Calls:
        from phenolake import storage

        storage.reset_clients()  # a client copies the session's hooks when it is made
        events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
        events.register("before-parameter-build", self.before, unique_id="pending-calls")
        events.register("after-call.dynamodb.Query", self.after_query, unique_id="pending-q")
        return self

    def __exit__(self, *exc: object) -> None:
        from phenolake import storage

        events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
        events.unregister("before-parameter-build", unique_id="pending-calls")
        events.unregister("after-call.dynamodb.Query", unique_id="pending-q")
        storage.reset_clients()

    def before(self, model: Any, params: dict[str, Any], context: dict, **_: Any) -> None:
        self.made.append((f"{model.service_model.service_name}:{model.name}", params))
        values = params.get("ExpressionAttributeValues", {})
        context["queried"] = next(iter(values.values()), {}).get("S", "")

    def after_query(self, parsed: dict[str, Any], context: dict, **_: Any) -> None:
        """Items read, by the partition (or index key) queried."""
        queried = context.get("queried", "")
        self.query_items[queried] = self.query_items.get(queried, 0) + len(parsed["Items"])
        if not self.query_items[queried]:
            del self.query_items[queried]

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.made if name == operation]

    def listings(self, bucket: str) -> list[dict[str, Any]]:
        return [p for p in self.of("s3:ListObjectsV2") if p["Bucket"] == bucket]
