"""The embedded Step Functions engine on plain moto, for the tests of single patches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from phenolake_local import patches

REGION = "us-east-1"


@pytest.fixture
def patched_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto with state machine executions and every patch applied; the registered Lambda
    handlers are dropped after the test."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        patches.apply()
        yield
        patches.REGISTRY.functions.clear()
