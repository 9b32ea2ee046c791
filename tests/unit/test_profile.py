"""The run's profile: the handler's memory meter and its EMF line, the per-step table built
from invocation records, the Notify message carrying it, and the timeline chart."""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path
from typing import Any

from PIL import Image
from pydantic import BaseModel

from phenolake import memory, profile
from phenolake.config import using_environment
from phenolake.handler import lambda_entry
from phenolake.steps import notify
from phenolake_tools.profile_chart import write_chart

ENVIRONMENT = {
    "LANDING_BUCKET": "landing",
    "LAKE_BUCKET": "lake",
    "SCRATCH_BUCKET": "scratch",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
}


class HoldEvent(BaseModel):
    mb: int


class Context:
    function_name = "HoldFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:HoldFunction"
    aws_request_id = "request"


def hold(event: HoldEvent, _: Any) -> dict[str, Any]:
    held = bytearray(event.mb * memory.MB)  # zeroed pages: touched, so resident
    held[:: memory.PAGE_SIZE] = b"x" * len(held[:: memory.PAGE_SIZE])
    time.sleep(0.1)  # held while it works: the sampler reads between two of its steps
    return {"held": len(held)}


def invoke_in_sandbox(mb: int) -> tuple[memory.Measurement, dict[str, Any]]:
    """As the embedded AWS invokes: the window it opened (footprint 0) in SANDBOX; the EMF
    line the handler printed."""
    handler = lambda_entry("hold", HoldEvent, hold)
    window = memory.METER.open(footprint=0)
    token = memory.SANDBOX.set(window)
    printed = io.StringIO()
    try:
        with using_environment(ENVIRONMENT), contextlib.redirect_stdout(printed):
            handler({"mb": mb}, Context())
    finally:
        memory.SANDBOX.reset(token)
        window.close()
    assert window.reported is not None  # the REPORT line's figure is the handler's
    emf = next(json.loads(line) for line in printed.getvalue().splitlines() if '"_aws"' in line)
    return window.reported, emf


def test_a_handler_holding_150_mb_measures_its_peak_and_one_holding_none_far_less() -> None:
    hungry, emf = invoke_in_sandbox(150)
    idle, _ = invoke_in_sandbox(0)
    assert hungry.peak_mb >= 150
    assert idle.peak_mb < 30
    assert hungry.shared == 1 and hungry.seconds > 0
    names = {m["Name"]: m["Unit"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert names["peak_memory_mb"] == names["memory_size_mb"] == "Megabytes"
    assert emf["peak_memory_mb"] == [round(hungry.peak_mb, 1)]
    assert emf["memory_size_mb"] == [512.0]


def test_without_an_engine_the_peak_is_the_whole_process_as_on_lambda() -> None:
    handler = lambda_entry("hold", HoldEvent, hold)
    before = memory.resident_bytes()
    printed = io.StringIO()
    with using_environment(ENVIRONMENT), contextlib.redirect_stdout(printed):
        handler({"mb": 64}, Context())
    emf = next(json.loads(x) for x in printed.getvalue().splitlines() if '"_aws"' in x)
    # the whole process, not the growth: a process this size may hold the 64 MB in pages it
    # already had, so the peak is bounded below by its size, not by its size plus 64 MB
    assert emf["peak_memory_mb"][0] >= max(64, 0.9 * before / memory.MB)


def record(step: str, started: float, seconds: float, **kwargs: Any) -> profile.Invocation:
    return profile.Invocation(
        step=step,
        function=f"{step}-fn",
        request_id=f"{step}-{started}",
        started=started,
        ended=started + seconds,
        seconds=seconds,
        **kwargs,
    )


RECORDS = [
    record("plan", 100.0, 1.5, peak_mb=80.0, configured_mb=1024),
    record(
        "convert",
        102.0,
        2.0,
        peak_mb=300.0,
        configured_mb=2048,
        shared=2,
        flows={"rows_in": 60, "rows_out": 59, "bytes_in": 2048, "bytes_out": 900},
    ),
    record(
        "convert",
        102.5,
        3.0,
        peak_mb=250.0,
        configured_mb=2048,
        shared=2,
        flows={"rows_in": 40, "rows_out": 40, "bytes_in": 1024, "bytes_out": 600},
    ),
    record("convert", 103.0, 0.5, peak_mb=20.0, configured_mb=2048, ok=False),
]


def test_the_step_table_sums_flows_and_takes_the_highest_peak() -> None:
    glue = profile.of_glue_runs(
        [
            {
                "job": "curate",
                "id": "jr_1",
                "state": "SUCCEEDED",
                "started": 107_000,
                "completed": 137_000,
                "seconds": 30,
            }
        ],
        {"rows_in": 99, "rows_out": 198},
    )
    rows = {r["step"]: r for r in profile.steps([*RECORDS, *glue])}
    assert list(rows) == ["plan", "convert", "curate"]
    convert = rows["convert"]
    assert convert["wall_seconds"] == 3.5  # 102.0 to 105.5
    assert (convert["invocations"], convert["failed"]) == (3, 1)
    assert convert["lambda_seconds"] == 5.5
    assert (convert["peak_mb"], convert["configured_mb"], convert["shared"]) == (300.0, 2048, True)
    assert (convert["rows_in"], convert["rows_out"]) == (100, 99)
    assert (convert["bytes_in"], convert["bytes_out"]) == (3072, 1500)
    assert rows["plan"]["rows_in"] is None and rows["plan"]["glue_seconds"] is None
    curate = rows["curate"]
    assert (curate["glue_seconds"], curate["wall_seconds"], curate["lambda_seconds"]) == (
        30.0,
        30.0,
        None,
    )
    assert (curate["rows_in"], curate["rows_out"]) == (99, 198)
    assert profile.cells(convert)[4] == "300* / 2048"
    assert profile.cells(convert)[8] == "3.0 KiB"


def test_a_record_goes_through_its_ledger_item_unchanged() -> None:
    from boto3.dynamodb.types import TypeDeserializer

    item = profile._item("run-1", RECORDS[1])
    assert item["pk"] == {"S": "profile#run-1"}
    assert item["sk"]["S"].startswith("1970-01-01T00:01:42.000000+00:00#")
    assert int(item["expiration"]["N"]) > 0  # the ledger's TTL attribute
    back = profile.Invocation.of({k: TypeDeserializer().deserialize(v) for k, v in item.items()})
    assert back == RECORDS[1]


def test_the_notify_message_carries_the_profile_table() -> None:
    collected = {
        "totals": {k: 0 for k in ("objects", "data_files", "images", "rows", "days")}
        | {"quarantined": 0, "rejected_rows": 0, "refused_rows": 0, "rejected_members": 0},
        "quarantine": "s3://lake/quarantine/run-1/",
        "profile": {"steps": profile.steps(RECORDS)},
    }
    text = notify.message("run-1", "SUCCEEDED", collected, None)
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("step "))
    assert lines[header].split()[:3] == ["step", "wall", "s"]
    assert lines[header + 1].split()[0] == "plan"
    convert = lines[header + 2].split()
    assert convert[0] == "convert" and "300*" in convert and "99" in convert
    assert len(text.encode()) < 256 * 1024  # SNS's limit


def test_the_chart_is_a_png_with_a_row_per_step(tmp_path: Path) -> None:
    invocations = [r.as_dict() for r in RECORDS]
    written = write_chart(
        {"steps": profile.steps(RECORDS), "invocations": invocations},
        tmp_path / "profile.png",
        "phenolake run run-1",
    )
    with Image.open(written) as image:
        assert image.format == "PNG"
        assert image.size == (1210, 286)  # 11 x (0.5 x 2 steps + 1.6) inches at 110 dpi
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 50  # bars, labels, axes: not blank
    assert any(c == (76, 114, 176) for _, c in colours)  # the Lambda bars' colour
