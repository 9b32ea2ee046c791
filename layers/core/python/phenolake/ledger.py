"""The ledger of every landed object: what was seen, with which ETag, by which run.

Plan reads it so a daily run processes only what is new; Unzip writes to it once an object
has been taken in. One DynamoDB item per object: pk ``object#<source>``, sk the landing key.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from boto3.dynamodb.types import TypeDeserializer


class Ledger:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self.dynamodb = dynamodb
        self.table = table

    def seen(self, source: str) -> dict[str, str]:
        """Landing key -> ETag of every object of ``source`` taken in so far."""
        if not self.table:
            return {}
        found: dict[str, str] = {}
        paginator = self.dynamodb.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"object#{source}"}},
            ProjectionExpression="sk, etag",
        )
        for page in pages:
            for item in page["Items"]:
                found[item["sk"]["S"]] = item.get("etag", {}).get("S", "")
        return found

    def record(
        self, source: str, key: str, etag: str, status: str, run_id: str, **details: Any
    ) -> None:
        if not self.table:
            return
        item = {
            "pk": {"S": f"object#{source}"},
            "sk": {"S": key},
            "etag": {"S": etag},
            "status": {"S": status},
            "run_id": {"S": run_id},
            "at": {"S": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")},
        }
        for name, value in details.items():
            item[name] = {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
        self.dynamodb.put_item(TableName=self.table, Item=item)

    def get(self, source: str, key: str) -> dict[str, Any] | None:
        if not self.table:
            return None
        found = self.dynamodb.get_item(
            TableName=self.table, Key={"pk": {"S": f"object#{source}"}, "sk": {"S": key}}
        ).get("Item")
        if not found:
            return None
        deserializer = TypeDeserializer()
        return {k: deserializer.deserialize(v) for k, v in found.items()}
