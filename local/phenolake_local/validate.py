"""``phenolake validate``: the template resolves, the state machine parses, every transition
lands on a state, and every Lambda the definition calls is a function of the template.

cfn-lint does not look inside ``AWS::Serverless::StateMachine`` definitions, so the
definition is parsed by moto's ASL parser (the one that executes it) and walked here. moto's
parser accepts definitions AWS refuses (state names repeated across Map processors, for
one), so each rendered definition also goes through AWS's own validators, the npm packages
``asl-validator`` and ``amazon-states-language-service`` (pinned in package.json, installed
by ``make node-tools``), whenever Node.js and those packages are present.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from phenolake_local import patches, template
from phenolake_local.engine import PROJECT_ROOT


def transitions(states: dict[str, Any], where: str = "") -> list[str]:
    """Every Next/Default/StartAt that names a state missing from its scope."""
    problems: list[str] = []
    for name, state in states.items():
        targets = [state.get("Next"), state.get("Default")]
        targets += [c.get("Next") for c in state.get("Choices", [])]
        targets += [c.get("Next") for c in state.get("Catch", [])]
        for target in filter(None, targets):
            if target not in states:
                problems.append(f"{where}{name}: transition to unknown state {target!r}")
        if (
            not state.get("Next")
            and not state.get("End")
            and state["Type"] not in ("Choice", "Succeed", "Fail")
        ):
            problems.append(f"{where}{name}: neither Next nor End")
        for i, branch in enumerate(state.get("Branches", [])):
            problems += _scope(branch, f"{where}{name}.branch[{i}].")
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            problems += _scope(processor, f"{where}{name}.")
    return problems


def _scope(machine: dict[str, Any], where: str) -> list[str]:
    problems = transitions(machine["States"], where)
    if machine.get("StartAt") not in machine["States"]:
        problems.append(f"{where}StartAt names unknown state {machine.get('StartAt')!r}")
    return problems


def _resources(states: dict[str, Any]) -> list[str]:
    found = []
    for state in states.values():
        if "Resource" in state:
            found.append(state["Resource"])
        for branch in state.get("Branches", []):
            found += _resources(branch["States"])
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            found += _resources(processor["States"])
    return found


NODE_SCRIPT = Path(__file__).with_name("asl_validators.js")
NODE_PACKAGES = ("asl-validator", "amazon-states-language-service")


class ValidatorsMissing(RuntimeError):
    """Node.js or the pinned validator packages are not installed (``make node-tools``)."""


def node_validators_missing(root: Path = PROJECT_ROOT) -> str:
    """Why AWS's validators cannot run here, or "" when they can."""
    if shutil.which("node") is None:
        return "node not found"
    for package in NODE_PACKAGES:
        if not (root / "node_modules" / package / "package.json").is_file():
            return f"{package} not installed (make node-tools)"
    return ""


def node_validators(definitions: dict[str, dict[str, Any]], root: Path = PROJECT_ROOT) -> list[str]:
    """Each definition (rendered, substitutions applied) checked by AWS's ASL validators:
    one line per problem, ``<name>: <validator>: <problem>``."""
    missing = node_validators_missing(root)
    if missing:
        raise ValidatorsMissing(missing)
    with tempfile.TemporaryDirectory(prefix="phenolake-asl-") as tmp:
        paths = {}
        for name, definition in definitions.items():
            path = Path(tmp) / f"{name}.asl.json"
            path.write_text(json.dumps(definition, indent=2))
            paths[str(path)] = name
        done = subprocess.run(
            ["node", str(NODE_SCRIPT), *paths],
            capture_output=True,
            text=True,
            env={
                "NODE_PATH": str(root / "node_modules"),
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            },
            timeout=120,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"{NODE_SCRIPT.name} failed: {done.stderr.strip()[-500:]}")
    report: dict[str, dict[str, list[str]]] = json.loads(done.stdout)
    return [
        f"{paths[path]}: {validator}: {problem}"
        for path, found in report.items()
        for validator, problems in found.items()
        for problem in problems
    ]


def validate_all(root: Path = PROJECT_ROOT) -> list[str]:
    try:
        deployment = template.load(root)
    except (template.TemplateError, KeyError, FileNotFoundError) as exc:
        return [f"template.yaml: {exc}"]
    problems: list[str] = []
    patches.apply()  # the parser the embedded AWS executes with
    arns = {f.arn for f in deployment.functions.values()}
    for logical_id, (_, definition) in sorted(deployment.state_machines.items()):
        problems += [f"{logical_id}: {p}" for p in _scope(definition, "")]
        try:
            AmazonStateLanguageParser.parse(json.dumps(definition))
        except Exception as exc:
            problems.append(
                f"{logical_id}: moto's ASL parser rejects it: {str(exc).splitlines()[0][:300]}"
            )
        for resource in _resources(definition["States"]):
            if resource.startswith("arn:aws:lambda:") and resource not in arns:
                problems.append(
                    f"{logical_id}: calls {resource}, which is not a function of the template"
                )
    if not node_validators_missing(root):
        problems += node_validators(
            {
                logical_id: definition
                for logical_id, (_, definition) in deployment.state_machines.items()
            },
            root,
        )
    for job in deployment.glue_jobs.values():
        if not job.script.exists():
            problems.append(f"template.yaml: {job.logical_id} script not found: {job.script}")
    for fn in deployment.functions.values():
        module = fn.handler.rpartition(".")[0]
        if not (fn.code_dir / f"{module}.py").exists():
            problems.append(f"template.yaml: {fn.logical_id} handler not found in {fn.code_dir}")
    return problems
