"""Read template.yaml and describe what it deploys, with every intrinsic function resolved.

The embedded AWS deploys the real template: parameters take their defaults (or overrides),
conditions are evaluated, ``!Ref``/``!GetAtt``/``!Sub``/``!If``/``!Join``... are resolved
to the names moto will hold, and the state machine definition gets its
``DefinitionSubstitutions`` applied exactly as CloudFormation would.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cfnlint.decode import cfn_yaml

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
STACK_NAME = "phenolake"
NO_VALUE = object()


class TemplateError(ValueError):
    pass


@dataclass
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    timeout: int
    memory: int


@dataclass
class GlueJobSpec:
    logical_id: str
    name: str
    script: Path
    default_arguments: dict[str, str]


PIPELINE = "PipelineStateMachine"
DELETE_PARTICIPANT = "DeleteParticipantStateMachine"
FREEZE = "FreezeStateMachine"
MAINTAIN = "MaintainStateMachine"


@dataclass
class Deployment:
    root: Path
    parameters: dict[str, str]
    conditions: dict[str, bool]
    resources: dict[str, dict[str, Any]]  # logical id -> {"Type", "Properties" (resolved)}
    buckets: dict[str, str] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    glue_jobs: dict[str, GlueJobSpec] = field(default_factory=dict)
    #: logical id -> (name, definition with its substitutions applied)
    state_machines: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    @property
    def state_machine_definition(self) -> dict[str, Any]:
        """The daily pipeline's definition."""
        return self.state_machines[PIPELINE][1]

    def function_by_name(self, name: str) -> FunctionSpec | None:
        return next((f for f in self.functions.values() if f.name == name), None)


def load(root: Path, overrides: dict[str, str] | None = None) -> Deployment:
    template_path = root / "template.yaml"
    template = cfn_yaml.loads(template_path.read_text(), str(template_path))
    template = json.loads(json.dumps(template))
    parameters = _parameters(template, overrides or {})
    resolver = _Resolver(template, parameters)
    resources: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if "Condition" in resource and not resolver.conditions[resource["Condition"]]:
            continue
        resources[logical_id] = {
            "Type": resource["Type"],
            "Properties": resolver.resolve(resource.get("Properties", {})),
        }
    deployment = Deployment(root, parameters, resolver.conditions, resources)
    globals_env = resolver.resolve(
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    globals_fn = template.get("Globals", {}).get("Function", {})
    for logical_id, resource in resources.items():
        props = resource["Properties"]
        kind = resource["Type"]
        if kind == "AWS::S3::Bucket":
            deployment.buckets[logical_id] = props["BucketName"]
        elif kind == "AWS::Serverless::Function":
            env = {**globals_env, **props.get("Environment", {}).get("Variables", {})}
            deployment.functions[logical_id] = FunctionSpec(
                logical_id=logical_id,
                name=resolver.physical_id(logical_id),
                arn=resolver.get_att(logical_id, "Arn"),
                code_dir=(root / props["CodeUri"]).resolve(),
                handler=props.get("Handler", globals_fn.get("Handler", "app.lambda_handler")),
                environment={k: str(v) for k, v in env.items()},
                timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
                memory=int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
            )
        elif kind == "AWS::Glue::Job":
            deployment.glue_jobs[logical_id] = GlueJobSpec(
                logical_id=logical_id,
                name=props["Name"],
                script=(root / props["Command"]["ScriptLocation"]).resolve(),
                default_arguments={k: str(v) for k, v in props.get("DefaultArguments", {}).items()},
            )
        elif kind == "AWS::Serverless::StateMachine":
            deployment.state_machines[logical_id] = (
                props["Name"],
                substitute_definition(
                    (root / props["DefinitionUri"]).read_text(),
                    props.get("DefinitionSubstitutions", {}),
                ),
            )
    return deployment


def substitute_definition(text: str, substitutions: dict[str, Any]) -> dict[str, Any]:
    """Apply DefinitionSubstitutions like CloudFormation: ``${Name}`` is replaced where Name is
    a substitution; other ``${...}`` text is left alone. Then parse the YAML (anchors allowed)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(substitutions[name]) if name in substitutions else match.group(0)

    return yaml.safe_load(re.sub(r"\$\{([A-Za-z0-9_]+)\}", replace, text))


def _parameters(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    declared = template.get("Parameters", {})
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise TemplateError(f"unknown template parameter(s): {', '.join(unknown)}")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in overrides:
            value = overrides[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise TemplateError(f"template parameter {name} has no default; give a value")
        allowed = spec.get("AllowedValues")
        if allowed and str(value) not in [str(a) for a in allowed]:
            raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
        values[name] = str(value) if not isinstance(value, list) else ",".join(map(str, value))
    return values


class _Resolver:
    def __init__(self, template: dict[str, Any], parameters: dict[str, str]) -> None:
        self.template = template
        self.resources = template.get("Resources", {})
        self.parameters = parameters
        self.pseudo = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": REGION,
            "AWS::StackName": STACK_NAME,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/x",
        }
        self.conditions: dict[str, bool] = {}
        for name in template.get("Conditions", {}):
            self.conditions[name] = self._condition(name)

    def _condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self.conditions[name]

    def physical_id(self, logical_id: str) -> str:
        """What ``!Ref`` returns: the name for most resources, the ARN for topics and secrets."""
        resource = self.resources[logical_id]
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::SNS::Topic":
            name = self.resolve(props.get("TopicName", f"{STACK_NAME}-{logical_id}"))
            return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{name}"
        if kind == "AWS::SecretsManager::Secret":
            name = self.resolve(props.get("Name", f"{STACK_NAME}-{logical_id}"))
            return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:{name}"
        for name_prop in (
            "BucketName",
            "FunctionName",
            "TableName",
            "TopicName",
            "Name",
            "DatabaseName",
        ):
            if name_prop in props and kind != "AWS::Glue::Database":
                return str(self.resolve(props[name_prop]))
        if kind == "AWS::Glue::Database":
            return str(self.resolve(props["DatabaseInput"]["Name"]))
        return f"{STACK_NAME}-{logical_id}"

    def get_att(self, logical_id: str, attribute: str) -> str:
        implicit = logical_id.removesuffix("Role")
        if logical_id not in self.resources and (
            self.resources.get(implicit, {}).get("Type") == "AWS::Serverless::Function"
        ):  # the execution role SAM generates for a function (<Function>Role)
            return f"arn:aws:iam::{ACCOUNT_ID}:role/{STACK_NAME}-{logical_id}"
        kind = self.resources[logical_id]["Type"]
        name = self.physical_id(logical_id)
        if attribute == "Arn":
            at = f"{REGION}:{ACCOUNT_ID}"
            return {
                "AWS::Serverless::Function": f"arn:aws:lambda:{at}:function:{name}",
                "AWS::Lambda::Function": f"arn:aws:lambda:{at}:function:{name}",
                "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
                "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{at}:table/{name}",
                "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}",
                "AWS::Serverless::StateMachine": f"arn:aws:states:{at}:stateMachine:{name}",
                "AWS::Timestream::Database": f"arn:aws:timestream:{at}:database/{name}",
                "AWS::Logs::LogGroup": f"arn:aws:logs:{at}:log-group:{name}:*",
                "AWS::Events::Rule": f"arn:aws:events:{at}:rule/{name}",
            }.get(kind, f"arn:aws:local:{REGION}:{ACCOUNT_ID}:{logical_id}/{name}")
        if attribute == "Name":
            return name.rsplit(":", 1)[-1]
        if attribute == "TopicName":
            return name.rsplit(":", 1)[-1]
        return name

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Condition":
                return self._condition(arg)
            if key.startswith("Fn::"):
                return self._function(key, arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            declared = self.template.get("Parameters", {}).get(name, {})
            if declared.get("Type") == "CommaDelimitedList":  # !Ref gives the list
                return self.parameters[name].split(",")
            return self.parameters[name]
        if name in self.resources:
            return self.physical_id(name)
        raise TemplateError(f"!Ref to unknown name {name!r}")

    def _function(self, key: str, arg: Any) -> Any:
        if key == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
            return re.sub(
                r"\$\{([^}!][^}]*)\}", lambda m: str(self._sub_var(m.group(1), extra)), text
            )
        if key == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.get_att(logical_id, attribute)
        if key == "Fn::If":
            name, when_true, when_false = arg
            return self.resolve(when_true if self._condition(name) else when_false)
        if key == "Fn::Equals":
            left, right = (self.resolve(a) for a in arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key == "Fn::And":
            return all(self.resolve(a) for a in arg)
        if key == "Fn::Or":
            return any(self.resolve(a) for a in arg)
        if key == "Fn::Join":
            separator, items = arg
            return separator.join(str(i) for i in self.resolve(items))
        if key == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if key == "Fn::Split":
            separator, text = arg
            return str(self.resolve(text)).split(separator)
        if key == "Fn::FindInMap":
            table, first, second = (self.resolve(a) for a in arg)
            return self.template["Mappings"][table][first][second]
        if key == "Fn::GetAZs":
            return [f"{REGION}a", f"{REGION}b"]
        if key == "Fn::Base64":
            return self.resolve(arg)
        raise TemplateError(f"intrinsic function {key} is not supported by the local loader")

    def _sub_var(self, name: str, extra: dict[str, Any]) -> Any:
        if name in extra:
            return extra[name]
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return self.get_att(logical_id, attribute)
        return self._ref(name)
