"""The ledger of every landed object: what landed, what is pending, what was taken in.

Items, all in one DynamoDB table (pk, sk):

- ``object#<source>``, the landing key: taken in, with which ETag, by which run (Unzip
  writes it once an object has been taken in).
- ``pending#<source>``, the landing key: landed and not yet taken in. The Record function
  writes it for each S3 ``Object Created`` event of the landing bucket (EventBridge); the
  step that takes the object in deletes it, so a failed run leaves it for the next one.
  Plan reads only these, so a daily run's Plan reads what arrived, not all of landing.
- ``landed#<source>``, the landing key: the object's current version, with ``landed_on``
  = ``<source>#<yyyy-mm-dd>`` (UTC), the key of the ``landed-on`` index a replay of a window
  queries per day. One item per key, not per day: an S3 delete event carries no landing
  date, and a key landed again moves to its new day (a replay takes the current version, as
  a listing by LastModified did).
- ``pending-enabled``, the source: the one-time listing of an existing lake is done (Plan).
- ``forgotten``, the sha256 of a participant id that withdrew consent: a tombstone Unzip
  checks, so no later run or replay brings them back.

Events may arrive out of order and more than once: each pending and landed item keeps the S3
``sequencer`` of the event that wrote it (right-padded, as S3 says to compare them) and a
write or delete carrying an older one is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

#: The ledger table's index of landed objects by (source, UTC landing day).
LANDED_ON_INDEX = "landed-on"
SEQUENCER_WIDTH = 32
_BATCH_GET = 100
_BATCH_WRITE = 25


def sequencer_order(sequencer: str) -> str:
    """An S3 event sequencer made comparable as text: S3's are hex strings of varying length,
    compared after right-padding the shorter with zeros."""
    return sequencer.upper().ljust(SEQUENCER_WIDTH, "0") if sequencer else ""


@dataclass(frozen=True)
class Landed:
    """A landed object as the ledger holds it (pending or in the landing-date index)."""

    source: str
    bucket: str
    key: str
    etag: str
    size: int
    last_modified: dt.datetime

    @property
    def day(self) -> dt.date:
        return self.last_modified.astimezone(dt.UTC).date()

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "bucket": self.bucket,
            "key": self.key,
            "etag": self.etag,
            "size": self.size,
            "last_modified": self.last_modified.isoformat(),
        }


def _landed_of(source: str, item: dict[str, Any]) -> Landed:
    return Landed(
        source=source,
        bucket=item["bucket"]["S"],
        key=item["sk"]["S"],
        etag=item.get("etag", {}).get("S", ""),
        size=int(item.get("size", {}).get("N", "0")),
        last_modified=dt.datetime.fromisoformat(item["last_modified"]["S"]),
    )


def _is_conditional_failure(exc: Exception) -> bool:
    response = getattr(exc, "response", {}) or {}
    return response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class Ledger:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self.dynamodb = dynamodb
        self.table = table

    def seen(self, source: str) -> dict[str, str]:
        """Landing key -> ETag of every object of ``source`` taken in so far: reads the whole
        source, so only Plan's one-time listing of a lake older than pending items uses it."""
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

    # ------------------------------------------------------------------ pending and landed
    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for page in self.dynamodb.get_paginator("query").paginate(TableName=self.table, **kwargs):
            yield from page["Items"]

    @staticmethod
    def _landed_item(pk: str, obj: Landed, sequencer: str) -> dict[str, Any]:
        return {
            "pk": {"S": pk},
            "sk": {"S": obj.key},
            "bucket": {"S": obj.bucket},
            "etag": {"S": obj.etag},
            "size": {"N": str(obj.size)},
            "last_modified": {"S": obj.last_modified.astimezone(dt.UTC).isoformat()},
            "sequencer": {"S": sequencer_order(sequencer)},
        }

    def _put_newer(self, item: dict[str, Any], sequencer: str) -> bool:
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(sk) OR sequencer < :sequencer",
                ExpressionAttributeValues={":sequencer": {"S": sequencer_order(sequencer)}},
            )
        except Exception as exc:
            if _is_conditional_failure(exc):
                return False  # a later event of this key is already recorded
            raise
        return True

    def record_pending(self, obj: Landed, sequencer: str) -> bool:
        """An object landed (an S3 ``Object Created`` event): pending for Plan, and in the
        landing-date index. False when a later event of the key was recorded already."""
        if not self.table:
            return False
        pending = self._put_newer(
            self._landed_item(f"pending#{obj.source}", obj, sequencer), sequencer
        )
        landed = self._landed_item(f"landed#{obj.source}", obj, sequencer)
        landed["landed_on"] = {"S": f"{obj.source}#{obj.day.isoformat()}"}
        return self._put_newer(landed, sequencer) or pending

    def unland(self, source: str, key: str, sequencer: str) -> bool:
        """An object was deleted (an S3 ``Object Deleted`` event, e.g. consent withdrawn): no
        longer pending nor in the landing-date index. False when a later event re-landed it."""
        if not self.table:
            return False
        removed = True
        for pk in (f"pending#{source}", f"landed#{source}"):
            try:
                self.dynamodb.delete_item(
                    TableName=self.table,
                    Key={"pk": {"S": pk}, "sk": {"S": key}},
                    ConditionExpression="attribute_not_exists(sk) OR sequencer < :sequencer",
                    ExpressionAttributeValues={":sequencer": {"S": sequencer_order(sequencer)}},
                )
            except Exception as exc:
                if not _is_conditional_failure(exc):
                    raise
                removed = False
        return removed

    def pending(self, source: str) -> Iterator[Landed]:
        """Every object of ``source`` landed and not yet taken in (strongly consistent)."""
        if not self.table:
            return
        for item in self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"pending#{source}"}},
            ConsistentRead=True,
        ):
            yield _landed_of(source, item)

    def landed_on(self, source: str, day: dt.date) -> Iterator[Landed]:
        """Every object of ``source`` whose current version landed on ``day`` (UTC)."""
        if not self.table:
            return
        for item in self._query(
            IndexName=LANDED_ON_INDEX,
            KeyConditionExpression="landed_on = :day",
            ExpressionAttributeValues={":day": {"S": f"{source}#{day.isoformat()}"}},
        ):
            yield _landed_of(source, item)

    def taken_in(self, source: str, keys: Iterable[str]) -> dict[str, str]:
        """Landing key -> ETag taken in, for just these keys (BatchGetItem)."""
        wanted = list(dict.fromkeys(keys))
        if not self.table or not wanted:
            return {}
        found: dict[str, str] = {}
        for start in range(0, len(wanted), _BATCH_GET):
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [
                        {"pk": {"S": f"object#{source}"}, "sk": {"S": key}}
                        for key in wanted[start : start + _BATCH_GET]
                    ],
                    "ProjectionExpression": "sk, etag",
                    "ConsistentRead": True,
                }
            }
            while request:
                answer = self.dynamodb.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table, []):
                    found[item["sk"]["S"]] = item.get("etag", {}).get("S", "")
                request = answer.get("UnprocessedKeys") or {}
        return found

    def clear_pending(self, source: str, key: str, etag: str) -> bool:
        """The object was taken in with ``etag``: no longer pending. A version landed since
        (another ETag) stays pending for the next run."""
        if not self.table:
            return False
        try:
            self.dynamodb.delete_item(
                TableName=self.table,
                Key={"pk": {"S": f"pending#{source}"}, "sk": {"S": key}},
                ConditionExpression="etag = :etag",
                ExpressionAttributeValues={":etag": {"S": etag}},
            )
        except Exception as exc:
            if _is_conditional_failure(exc):
                return False
            raise
        return True

    def pending_enabled(self, source: str) -> bool:
        """Whether pending items cover ``source`` (its one-time listing is done)."""
        if not self.table:
            return True
        found = self.dynamodb.get_item(
            TableName=self.table,
            Key={"pk": {"S": "pending-enabled"}, "sk": {"S": source}},
            ConsistentRead=True,
        )
        return "Item" in found

    def enable_pending(self, source: str, listed: Iterable[Landed], taken: dict[str, str]) -> int:
        """The one-time move of an existing lake: every listed object goes in the landing-date
        index, those not taken in with the same ETag become pending; then the marker. Returns
        the objects made pending."""
        if not self.table:
            return 0
        writes: list[dict[str, Any]] = []
        made = indexed = 0
        for obj in listed:
            indexed += 1
            landed = self._landed_item(f"landed#{source}", obj, "")
            landed["landed_on"] = {"S": f"{source}#{obj.day.isoformat()}"}
            writes.append({"PutRequest": {"Item": landed}})
            if taken.get(obj.key) != obj.etag:
                writes.append(
                    {"PutRequest": {"Item": self._landed_item(f"pending#{source}", obj, "")}}
                )
                made += 1
        for start in range(0, len(writes), _BATCH_WRITE):
            request: dict[str, Any] = {self.table: writes[start : start + _BATCH_WRITE]}
            while request:
                request = (
                    self.dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems")
                    or {}
                )
        self.dynamodb.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": "pending-enabled"},
                "sk": {"S": source},
                "at": {"S": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")},
                "listed": {"N": str(indexed)},
            },
        )
        return made
