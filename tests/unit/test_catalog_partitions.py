"""Registering a run's partitions costs what the run touched, not the table's history."""

from __future__ import annotations

import boto3
import moto
import pytest
from botocore.stub import Stubber

from phenolake import catalog

COLUMNS = [("rows", "bigint")]
LOCATION = "s3://lake/curated/participant_days/"


def _table(glue: object) -> None:
    glue.create_database(DatabaseInput={"Name": "phenolake"})  # type: ignore[attr-defined]
    catalog.ensure_table(
        glue, "phenolake", "participant_days", COLUMNS, [("date", "string")], LOCATION
    )


def test_partitions_register_once_without_listing_the_table() -> None:
    with moto.mock_aws():
        glue = boto3.client("glue", region_name="us-east-1")
        _table(glue)
        listed: list[str] = []
        glue.meta.events.register(
            "before-call.glue.GetPartitions", lambda **kw: listed.append("GetPartitions")
        )
        days = [[f"2025-03-{d:02d}"] for d in range(1, 31)]
        first = catalog.ensure_partitions(
            glue, "phenolake", "participant_days", COLUMNS, ["date"], LOCATION, days
        )
        again = catalog.ensure_partitions(
            glue,
            "phenolake",
            "participant_days",
            COLUMNS,
            ["date"],
            LOCATION,
            [["2025-03-30"], ["2025-03-31"], ["2025-03-31"]],
        )
        found = glue.get_partitions(DatabaseName="phenolake", TableName="participant_days")
        assert listed == ["GetPartitions"]  # only the test's own listing below
    assert (first, again) == (30, 1)
    values = sorted(p["Values"][0] for p in found["Partitions"])
    assert values == [f"2025-03-{d:02d}" for d in range(1, 32)]
    where = {p["Values"][0]: p["StorageDescriptor"]["Location"] for p in found["Partitions"]}
    assert where["2025-03-31"] == LOCATION + "date=2025-03-31/"


def test_a_partition_glue_refuses_is_a_one_line_error() -> None:
    """Any refusal but "already exists" stops the step, naming the table and partition."""
    glue = boto3.client("glue", region_name="us-east-1")
    with Stubber(glue) as stub:
        stub.add_response(
            "batch_create_partition",
            {
                "Errors": [
                    {
                        "PartitionValues": ["2025-03-01"],
                        "ErrorDetail": {
                            "ErrorCode": "ResourceNumberLimitExceededException",
                            "ErrorMessage": "Number of partitions exceeds the limit",
                        },
                    }
                ]
            },
        )
        with pytest.raises(RuntimeError) as raised:
            catalog.ensure_partitions(
                glue, "phenolake", "participant_days", COLUMNS, ["date"], LOCATION,
                [["2025-03-01"]],
            )  # fmt: skip
    assert str(raised.value) == (
        "phenolake.participant_days: partition ['2025-03-01'] not registered: "
        "ResourceNumberLimitExceededException: Number of partitions exceeds the limit"
    )
