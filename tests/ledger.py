"""The ledger's key schema (``template.yaml`` LedgerTable: ``pk``, ``sk``) for tests on moto."""

from __future__ import annotations

from typing import Any


def create_ledger(dynamodb: Any, name: str = "ledger") -> None:
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
    )
