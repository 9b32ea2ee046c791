"""The ledger of every landed object: what was seen, with which ETag, by which run.

Plan reads it so a daily run processes only what is new; Unzip writes to it once an object
has been taken in. One DynamoDB item per object: pk ``object#<source>``, sk the landing key.
A participant who withdrew consent leaves a tombstone (pk ``forgotten``, sk the sha256 of
the participant id) that Unzip checks, so no later run or replay brings them back.
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

    def ingest_run(self, source: str, key: str, etag: str) -> str | None:
        """The run that first took in this object with this ETag (a replay keeps it, so the
        curated rows, whose ``run_id`` says which run took their source in, stay the same)."""
        found = self.get(source, key)
        if found and found.get("etag") == etag:
            return found.get("ingest_run_id") or found.get("run_id")
        return None

    def delete(self, source: str, key: str) -> bool:
        if not self.table:
            return False
        removed = self.dynamodb.delete_item(
            TableName=self.table,
            Key={"pk": {"S": f"object#{source}"}, "sk": {"S": key}},
            ReturnValues="ALL_OLD",
        )
        return bool(removed.get("Attributes"))

    def forget(self, participant_sha256: str) -> None:
        if not self.table:
            return
        self.dynamodb.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": "forgotten"},
                "sk": {"S": participant_sha256},
                "at": {"S": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")},
            },
        )

    def forgotten(self) -> frozenset[str]:
        """sha256 of every participant id that withdrew consent."""
        if not self.table:
            return frozenset()
        found: set[str] = set()
        pages = self.dynamodb.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "forgotten"}},
            ProjectionExpression="sk",
        )
        for page in pages:
            found.update(item["sk"]["S"] for item in page["Items"])
        return frozenset(found)
