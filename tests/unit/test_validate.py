"""The state machine definition is checked where cfn-lint does not look."""

from __future__ import annotations

from phenolake_local import template, validate


def test_the_project_is_valid() -> None:
    assert validate.validate_all() == []


def test_every_state_is_reachable_by_name_only() -> None:
    broken = {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Task",
                "Resource": "x",
                "Next": "B",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}],
            },
            "B": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "C"}],
                "Default": "Nowhere",
            },
            "C": {"Type": "Pass"},
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Missing",
                    "States": {"I": {"Type": "Pass", "Next": "Out"}},
                },
                "End": True,
            },
        },
    }
    problems = validate._scope(broken, "")
    assert "A: transition to unknown state 'Gone'" in problems
    assert "B: transition to unknown state 'Nowhere'" in problems
    assert "C: neither Next nor End" in problems
    assert "M.I: transition to unknown state 'Out'" in problems
    assert "M.StartAt names unknown state 'Missing'" in problems


def test_definition_substitutions_are_applied_like_cloudformation() -> None:
    text = "A: ${Known}\nB: ${Unknown}\nC: x${Known}y\n"
    assert template.substitute_definition(text, {"Known": "arn:1"}) == {
        "A": "arn:1",
        "B": "${Unknown}",
        "C": "xarn:1y",
    }


def test_every_template_function_is_called_by_a_state_machine() -> None:
    deployment = template.load(validate.PROJECT_ROOT)
    arns = {f.arn for f in deployment.functions.values()}
    called = {
        resource
        for _, definition in deployment.state_machines.values()
        for resource in validate._resources(definition["States"])
    }
    assert called & arns == arns
