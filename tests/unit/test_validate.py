"""The state machine definition is checked where cfn-lint does not look."""

from __future__ import annotations

import json

from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from phenolake_local import patches, template, validate


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


def test_every_template_function_is_called_by_a_state_machine_or_a_rule() -> None:
    """Each function has a caller: a state machine's task, or an EventBridge rule's target
    (Record, which S3's Object Created events reach through LandedRule)."""
    deployment = template.load(validate.PROJECT_ROOT)
    arns = {f.arn for f in deployment.functions.values()}
    called = {
        resource
        for _, definition in deployment.state_machines.values()
        for resource in validate._resources(definition["States"])
    }
    targeted = {
        target["Arn"]
        for resource in deployment.resources.values()
        if resource.get("Type") == "AWS::Events::Rule"
        for target in resource["Properties"].get("Targets", [])
    }
    assert (called | targeted) & arns == arns
    assert targeted & arns == {deployment.functions["RecordFunction"].arn}


def _rendered() -> dict[str, dict]:
    """Both definitions as CloudFormation would deploy them (template defaults substituted)."""
    deployment = template.load(validate.PROJECT_ROOT)
    return {logical_id: d for logical_id, (_, d) in deployment.state_machines.items()}


def _as_before_unique_names(definition: dict) -> dict:
    """The pipeline as it was: every Distributed Map processor with its own
    RecordItemFailure and ItemFailed states."""
    text = json.dumps(definition)
    for step in ("Unzip", "Redact", "Convert", "Merge"):
        text = text.replace(f'"Record{step}Failure"', '"RecordItemFailure"')
        text = text.replace(f'"{step}Failed"', '"ItemFailed"')
    return json.loads(text)


def test_aws_validators_accept_every_rendered_definition() -> None:
    missing = validate.node_validators_missing()
    assert not missing, f"AWS's ASL validators cannot run: {missing}; run `make node-tools`"
    definitions = _rendered()
    assert set(definitions) == {
        template.PIPELINE,
        template.DELETE_PARTICIPANT,
        template.FREEZE,
        template.MAINTAIN,
    }
    assert validate.node_validators(definitions) == []


def test_state_names_repeated_across_map_processors_fail_aws_validation() -> None:
    before = _as_before_unique_names(_rendered()[template.PIPELINE])
    patches.apply()
    AmazonStateLanguageParser.parse(json.dumps(before))  # moto's parser accepts it ...
    problems = validate.node_validators({"Pipeline": before})
    assert problems == [  # ... AWS does not
        "Pipeline: asl-validator: DUPLICATE_STATE_NAMES: "
        "A state with this name already exists: RecordItemFailure",
        "Pipeline: asl-validator: DUPLICATE_STATE_NAMES: "
        "A state with this name already exists: ItemFailed",
    ]


def test_the_language_service_reports_what_it_finds_by_line() -> None:
    broken = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Succeed"}},
    }
    problems = validate.node_validators({"Broken": broken})
    service = [p for p in problems if ": amazon-states-language-service: " in p]
    assert any('"Next" property must be the name of an existing state' in p for p in service)
    assert any("The state cannot be reached" in p for p in service)
