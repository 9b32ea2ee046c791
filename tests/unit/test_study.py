"""The study configuration: defaults, and errors that name the field and the problem."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from phenolake import study
from phenolake_local.engine import EmbeddedAWS
from tests.cli import cli

PROJECT = Path(__file__).resolve().parents[2]


def test_the_shipped_file_is_valid_and_an_empty_one_means_the_defaults() -> None:
    shipped = study.parse((PROJECT / "study.yaml").read_text())
    assert shipped.nominal_hz("mhealth", "readings") == 50
    empty = study.parse("")
    assert empty.enabled_sources() == study.sources.names()
    assert empty.thresholds.silent_days == 7 and empty.timezone == "UTC"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources: {nope: {}}", "study.yaml: sources: unknown source 'nope'"),
        ("timezone: Mars/Olympus", "study.yaml: timezone: unknown IANA timezone 'Mars/Olympus'"),
        (
            "sources: {mhealth: {nominal_hz: {readings: -5}}}",
            "study.yaml: sources.mhealth.nominal_hz: readings: a nominal rate must be > 0 Hz",
        ),
        ("thresholds: {silent_days: 0}", "study.yaml: thresholds.silent_days: Input should be"),
        ("sink: {}", "study.yaml: sink: Extra inputs are not permitted"),
        ("sinks: {influx: {}}", "study.yaml: sinks: unknown sink(s) influx"),
        (
            "participant_timezones: {fc096: Nowhere}",
            "study.yaml: participant_timezones: fc096: unknown IANA timezone 'Nowhere'",
        ),
        ("sources: {mhealth: {enabled: false}}", "every source is disabled"),
        ("study: [1, 2", "study.yaml: line 1: not valid YAML"),
        ("- a list", "study.yaml: expected a mapping of settings at the top level"),
    ],
)
def test_errors_name_the_field(text: str, message: str) -> None:
    if "every source" in message and len(study.sources.names()) > 1:
        others = ", ".join(f"{n}: {{enabled: false}}" for n in study.sources.names())
        text = f"sources: {{{others}}}"
    with pytest.raises(study.StudyConfigError) as caught:
        study.parse(text)
    assert message in str(caught.value)


@pytest.mark.local_only
def test_cli_refuses_a_bad_configuration_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "study.yaml"
    bad.write_text("timezone: Mars/Olympus\n")
    for command in (["validate"], ["run", "--dry-run"]):
        done = cli(*command, "--config", str(bad), "--home", str(tmp_path / "h"))
        assert done.returncode == 2
        assert done.stderr.strip() == (
            f"phenolake: error: {bad}: timezone: unknown IANA timezone 'Mars/Olympus'"
        )


def test_plan_validates_the_published_configuration(tmp_path: Path) -> None:
    with EmbeddedAWS(tmp_path / "home") as aws:
        lake = aws.bucket("LakeBucket")
        aws.s3.put_object(Bucket=lake, Key=study.CONFIG_KEY, Body=b"thresholds: {silent_days: x}")
        assert aws.deployment is not None
        response = boto3.client("lambda", region_name="us-east-1").invoke(
            FunctionName=aws.deployment.functions["PlanFunction"].name,
            Payload=json.dumps(
                {
                    "execution_id": "e",
                    "execution_name": "run-bad-config",
                    "start_time": "2024-10-02T02:30:00Z",
                    "input": {},
                }
            ).encode(),
        )
    payload = json.loads(response["Payload"].read())
    assert response.get("FunctionError")
    assert payload["errorType"] == "StudyConfigError"
    assert payload["errorMessage"] == (
        f"s3://{lake}/config/study.yaml: thresholds.silent_days: "
        "Input should be a valid integer, unable to parse string as an integer"
    )


def test_study_values_take_precedence_over_the_deployment_parameters() -> None:
    from phenolake.config import Settings

    deployed = Settings(
        landing_bucket="l",
        lake_bucket="k",
        scratch_bucket="s",
        nominal_rates=(("radar", "sensorkit_acceleration", 50.0), ("embrace", "eda", 4.0)),
        silent_days=3,
    )
    config = study.parse(
        "sources: {radar: {nominal_hz: {sensorkit_acceleration: 100}}}\n"
        "thresholds: {silent_days: 10}\n"
    )
    applied = study.apply(deployed, config)
    assert applied.rate("radar", "sensorkit_acceleration") == 100
    assert applied.rate("embrace", "eda") == 4
    assert applied.silent_days == 10
    assert study.apply(deployed, study.parse("")).silent_days == 3  # not set: the parameter
