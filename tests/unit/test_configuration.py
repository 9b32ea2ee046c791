"""One configuration model: every study setting is read by the deployed code, each has one
default, and the one precedence rule (study.yaml, else the stack parameter, else the default)
holds; the settings that used to do nothing now change what a run does."""

from __future__ import annotations

import ast
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws
from pydantic import BaseModel

from phenolake import contracts, study
from phenolake.config import ConfigurationError, Settings
from phenolake.steps import completeness
from phenolake.steps.plan import RunRequest, resolve_window
from phenolake.steps.redact import RedactEvent

PROJECT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
#: What is deployed: the library (less the developer tooling lane A moves out), the handlers,
#: the Glue jobs and the state machines.
DEPLOYED_PYTHON = [
    *(PROJECT / "layers" / "core" / "python" / "phenolake").rglob("*.py"),
    *(PROJECT / "functions").rglob("*.py"),
    *(PROJECT / "glue_jobs").rglob("*.py"),
]
#: The sample writers live in the library tree but are never deployed (layers/core/Makefile).
DEV_ONLY = {"samples.py"}
STATE_MACHINES = list((PROJECT / "statemachine").glob("*.asl.yaml"))
#: Settings the researcher's commands read, not the deployed stack: study.yaml's
#: ``summaries`` are figures ``phenolake report`` / ``phenolake summary`` compute (by Athena
#: SQL) where the researcher runs them; each is read by the tooling named here instead.
TOOLS_READ = {
    "summaries": [PROJECT / "tools" / "phenolake_tools" / f for f in ("cli.py", "summaries.py")]
}


def _fields(model: type[BaseModel], where: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, field name) of every field of the model and the models it holds."""
    for name, info in model.model_fields.items():
        path = f"{where}{name}"
        yield path, name
        for inner in _models_in(info.annotation):
            yield from _fields(inner, f"{path}.")


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for argument in getattr(annotation, "__args__", ()):
        yield from _models_in(argument)


def _attributes_read(paths: list[Path] = DEPLOYED_PYTHON) -> set[str]:
    """Every ``x.<name>`` read in deployed Python (stores and the models' own declarations
    are not reads)."""
    read: set[str] = set()
    for path in paths:
        if path.name in DEV_ONLY:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                read.add(node.attr)
    return read


def test_every_field_of_the_study_model_is_read_by_the_deployed_code() -> None:
    read = _attributes_read()
    paths = {m for f in STATE_MACHINES for m in re.findall(r"\$\.[A-Za-z0-9_.]+", f.read_text())}
    jsonpath_names = {part for p in paths for part in p.split(".")[1:]}
    unread = [
        path
        for path, name in _fields(study.StudyConfig)
        if path.split(".")[0] not in TOOLS_READ and name not in read | jsonpath_names
    ]
    assert not unread, f"study.yaml settings no deployed code reads: {unread}"
    for section, readers in TOOLS_READ.items():
        by_tools = _attributes_read(readers)
        unread = [
            path
            for path, name in _fields(study.StudyConfig)
            if path.split(".")[0] == section and name not in by_tools
        ]
        assert not unread, f"study.yaml settings its tooling does not read: {unread}"


def test_the_thresholds_reach_the_steps_through_the_plan() -> None:
    text = (PROJECT / "statemachine" / "pipeline.asl.yaml").read_text()
    assert text.count("ToleratedFailurePercentagePath: $.plan.thresholds.") == 4
    assert "ToleratedFailurePercentage:" not in text
    assert text.count("thresholds.$: $.plan.thresholds") == 2  # the Redact items and the QA
    assert "Variable: $.plan.timestream_enabled" in text


def test_one_rule_decides_each_threshold() -> None:
    deployed = Settings("l", "k", "s", silent_days=3, map_tolerated_failure_percentage=50)
    unset = Settings("l", "k", "s")
    assert study.thresholds(unset, study.parse("")) == contracts.Thresholds()
    assert study.thresholds(unset, study.parse("")).silent_days == 7
    from_stack = study.thresholds(deployed, study.parse(""))
    assert (from_stack.silent_days, from_stack.map_tolerated_failure_percentage) == (3, 50)
    from_file = study.thresholds(
        deployed, study.parse("thresholds: {silent_days: 10, map_tolerated_failure_percentage: 0}")
    )
    assert (from_file.silent_days, from_file.map_tolerated_failure_percentage) == (10, 0)


def test_stack_parameters_left_empty_are_unset_and_bad_ones_are_named() -> None:
    env = {"LANDING_BUCKET": "l", "LAKE_BUCKET": "k", "SCRATCH_BUCKET": "s"}
    unset = Settings.from_env({**env, "SILENT_DAYS": "", "MAP_TOLERATED_FAILURE_PERCENTAGE": ""})
    assert unset.silent_days is None and unset.map_tolerated_failure_percentage is None
    given = Settings.from_env({**env, "SILENT_DAYS": "2", "MAP_TOLERATED_FAILURE_PERCENTAGE": "5"})
    assert (given.silent_days, given.map_tolerated_failure_percentage) == (2, 5.0)
    with pytest.raises(ConfigurationError, match="MAP_TOLERATED_FAILURE_PERCENTAGE: expected"):
        Settings.from_env({**env, "MAP_TOLERATED_FAILURE_PERCENTAGE": "120"})


def test_the_default_window_is_yesterday_where_the_study_is() -> None:
    started = dt.datetime(2024, 10, 2, 2, 30, tzinfo=dt.UTC)
    assert resolve_window(RunRequest(), started) == (dt.date(2024, 10, 1),) * 2
    # 22:30 on 1 October in Los Angeles: yesterday there is 30 September
    assert (
        resolve_window(RunRequest(), started, "America/Los_Angeles") == (dt.date(2024, 9, 30),) * 2
    )


def test_timestream_loads_follow_the_study_else_the_stack() -> None:
    assert study.parse("").timestream_enabled(deployed=True) is True
    assert study.parse("").timestream_enabled(deployed=False) is False
    assert study.parse("sinks: {timestream: {enabled: false}}").timestream_enabled(True) is False
    with pytest.raises(study.StudyConfigError, match="EnableTimestream=true"):
        study.parse("sinks: {timestream: {enabled: true}}").timestream_enabled(False)
    with pytest.raises(study.StudyConfigError, match="magnetic_retention_days: Extra inputs"):
        study.parse("sinks: {timestream: {magnetic_retention_days: 10}}")


def test_redaction_uses_the_configured_band() -> None:
    from phenolake import redaction

    default = redaction.DetectorConfig()
    assert (default.threshold, default.sure) == contracts.FACE_UNSURE_BAND
    assert RedactEvent(run_id="r").thresholds.face_unsure_band == contracts.FACE_UNSURE_BAND
    event = RedactEvent.model_validate(
        {"run_id": "r", "thresholds": {"face_unsure_band": [0.3, 0.6], "qa_images_per_week": 2}}
    )
    detector = redaction.detector_for(event.thresholds.face_unsure_band)
    assert (detector.config.threshold, detector.config.sure) == (0.3, 0.6)
    assert redaction.default_detector().config.threshold == contracts.FACE_UNSURE_BAND[0]


# ------------------------------------------------------------------------ local days


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket="lake")
        yield client


def _put(s3: Any, key: str, times: list[dt.datetime]) -> None:
    sink = io.BytesIO()
    pq.write_table(pa.table({"time": pa.array(times, pa.timestamp("us", "UTC"))}), sink)
    s3.put_object(Bucket="lake", Key=key, Body=sink.getvalue())


def test_completeness_counts_a_participant_s_own_day(s3: Any) -> None:
    # New York is UTC-4 in October: its 17 October runs 04:00 UTC on the 17th to 04:00 on the 18th
    early = [dt.datetime(2024, 10, 17, 2, tzinfo=dt.UTC)]  # 16 October in New York
    late = [dt.datetime(2024, 10, 18, 3, tzinfo=dt.UTC)]  # 17 October in New York
    _put(s3, "merged/radar/accel/participant=ny/date=2024-10-17/part-0.parquet", early)
    _put(s3, "merged/radar/accel/participant=ny/date=2024-10-18/part-0.parquet", late)
    _put(s3, "merged/radar/accel/participant=utc/date=2024-10-17/part-0.parquet", early)
    config = study.parse("participant_timezones: {ny: America/New_York}")
    settings = Settings("l", "lake", "s", nominal_rates=(("radar", "accel", 0.001),))
    table, days = completeness.day_rows(
        s3, "lake", "radar", "2024-10-17", settings, zone_of=config.zone_of
    )
    rows = {r["participant_id"]: r for r in table.to_pylist()}
    assert rows["ny"]["rows"] == 1 and rows["ny"]["first_time"] == late[0]
    assert rows["utc"]["rows"] == 1 and rows["utc"]["first_time"] == early[0]
    assert {(d["participant_id"], d["rows"]) for d in days.to_pylist()} == {("ny", 1), ("utc", 1)}
    before, _ = completeness.day_rows(
        s3, "lake", "radar", "2024-10-16", settings, zone_of=config.zone_of
    )
    assert [(r["participant_id"], r["rows"]) for r in before.to_pylist()] == [("ny", 1)]


def test_expected_rows_follow_the_length_of_the_local_day() -> None:
    assert completeness.day_seconds("2024-10-17", "UTC") == 86400
    assert completeness.day_seconds("2024-11-03", "America/New_York") == 90000  # clocks back
    assert completeness.day_seconds("2024-03-31", "Europe/London") == 82800  # clocks forward


def test_redact_mode_follows_the_one_rule_and_reaches_redact() -> None:
    unset = Settings("l", "k", "s")
    assert study.redaction(unset, study.parse("")) == contracts.Redaction(mode="box", qa_seed=4)
    stack = Settings("l", "k", "s", redact_mode="pixelate")
    assert study.redaction(stack, study.parse("")).mode == "pixelate"
    assert study.redaction(stack, study.parse("redaction: {mode: box}")).mode == "box"
    with pytest.raises(study.StudyConfigError, match=r"redaction\.mode: Input should be"):
        study.parse("redaction: {mode: blur}")
    event = RedactEvent.model_validate({"run_id": "r", "redaction": {"mode": "pixelate"}})
    assert event.redaction.mode == "pixelate"
    text = (PROJECT / "statemachine" / "pipeline.asl.yaml").read_text()
    assert text.count("redaction.$: $.plan.redaction") == 2
