"""What a user sees from the CLI on bad input: one line on stderr, exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--input", "/no/such/path"], "phenolake: error: input not found: /no/such/path"),
        (
            ["run", "--date", "2024-13-01"],
            "phenolake: error: --date: not a date (YYYY-MM-DD): '2024-13-01'",
        ),
        (
            ["run", "--start", "2024-10-05", "--end", "2024-10-01"],
            "phenolake: error: --start 2024-10-05 is after --end 2024-10-01",
        ),
        (
            ["run", "--source", "nope"],
            "phenolake: error: --source: unknown source 'nope' "
            "(known: embrace, mhealth, radar, screenlake)",
        ),
        (
            ["run", "--parameter", "novalue"],
            "phenolake: error: --parameter: expected NAME=VALUE, got 'novalue'",
        ),
        (
            ["query", "--format", "xml", "SELECT 1"],
            "phenolake: error: --format: expected table, csv or json, got 'xml'",
        ),
        (["run", "--bogus"], "phenolake: error: No such option: --bogus"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = (
        cli(*args, "--home", str(tmp_path / "home"))
        if args[0] == "run" and "--bogus" not in args
        else cli(*args)
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == message
    assert "Traceback" not in result.stderr + result.stdout


def test_an_input_of_no_known_source(tmp_path: Path) -> None:
    stray = tmp_path / "notes.txt"
    stray.write_text("hello")
    result = cli("run", "--input", str(stray), "--home", str(tmp_path / "home"))
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "phenolake: error: cannot tell which source notes.txt belongs to; pass --source"
    )


def test_sample_writes_seeded_inputs(tmp_path: Path) -> None:
    result = cli("sample", str(tmp_path / "s"))
    assert result.returncode == 0, result.stderr
    assert "mhealth: 3 file(s)" in result.stdout
    assert "screenlake: 3 file(s)" in result.stdout
    assert "embrace: 2 file(s)" in result.stdout
    assert (tmp_path / "s/mhealth/MHEALTHDATASET/mHealth_subject1.log").stat().st_size > 0


def test_validate_passes_on_the_project() -> None:
    result = cli("validate")
    assert result.returncode == 0, result.stderr
    assert (
        "are valid (checked by moto's parser, asl-validator and the ASL language service)"
        in result.stdout
    )


def test_no_arguments_shows_help() -> None:
    result = cli()
    assert result.returncode == 0
    assert "run" in result.stdout and "query" in result.stdout


def test_the_progress_hides_the_states_of_map_iterations_read_from_the_definition() -> None:
    from phenolake_local import engine, template
    from phenolake_tools import cli as cli_module

    definition = {
        "StartAt": "Plan",
        "States": {
            "Plan": {"Type": "Task", "Next": "Both"},
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "Files",
                        "States": {
                            "Files": {
                                "Type": "Map",
                                "ItemProcessor": {
                                    "StartAt": "OneFile",
                                    "States": {"OneFile": {"Type": "Task", "End": True}},
                                },
                                "Next": "Check",
                            },
                            "Check": {"Type": "Task", "End": True},
                        },
                    }
                ],
                "Next": "Old",
            },
            "Old": {
                "Type": "Map",
                "Iterator": {"StartAt": "Renamed", "States": {"Renamed": {"Type": "Pass"}}},
                "End": True,
            },
        },
    }
    assert cli_module._item_states(definition) == {"OneFile", "Renamed"}
    entered = {"previousEventId": 7, "stateEnteredEventDetails": {"name": "OneFile"}}
    assert cli_module._inner_state(entered, frozenset({"OneFile"}))
    assert not cli_module._inner_state({**entered, "previousEventId": 0}, frozenset({"OneFile"}))

    pipeline = template.load(engine.PROJECT_ROOT).state_machine_definition
    item_states = cli_module._item_states(pipeline)
    assert pipeline["States"]["Unzip"]["ItemProcessor"]["StartAt"] in item_states
    assert not item_states & set(pipeline["States"])  # every top-level state is shown
    assert "RedactQA" not in item_states  # a Parallel branch's own state is shown too
