"""Concurrent invocations keep their own EMF metrics (Map items run on threads here)."""

from __future__ import annotations

import contextlib
import io
import json
import threading
from typing import Any

import pytest
from pydantic import BaseModel

from phenolake.handler import lambda_entry


class CountEvent(BaseModel):
    n: int


class Context:
    function_name = "CountFunction"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:CountFunction"
    aws_request_id = "request"


def test_invocations_on_threads_emit_their_own_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LANDING_BUCKET", "LAKE_BUCKET", "SCRATCH_BUCKET"):
        monkeypatch.setenv(name, name.lower().replace("_", "-"))
    handler = lambda_entry(
        "count", CountEvent, lambda event, settings: {"metrics": {"rows": event.n}}
    )
    errors: list[BaseException] = []
    out = io.StringIO()
    lock = threading.Lock()

    def invoke(n: int) -> None:
        try:
            for _ in range(25):
                handler({"n": n}, Context())
        except BaseException as exc:
            with lock:
                errors.append(exc)

    with contextlib.redirect_stdout(out):
        threads = [threading.Thread(target=invoke, args=(n,)) for n in range(1, 9)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    emf: list[dict[str, Any]] = [
        json.loads(line) for line in out.getvalue().splitlines() if '"_aws"' in line
    ]
    assert len(emf) == 8 * 25
    # Powertools writes a metric's values as a list: one value each, no invocation merged in
    values = [record["rows"] for record in emf]
    assert all(len(value) == 1 for value in values)
    assert sorted(value[0] for value in values) == sorted(
        float(n) for n in range(1, 9) for _ in range(25)
    )
