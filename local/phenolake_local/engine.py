"""The embedded AWS: moto in-process, the template deployed into it, state kept in a folder.

``EmbeddedAWS(home)`` starts moto with Step Functions execution on, applies the patches in
``patches.py``, creates every resource of template.yaml (parameters resolved), uploads the
Glue scripts where ``sam package`` would, loads the state a previous run left in ``home``
and publishes the Glue jobs' library zip where ``make deploy`` would (Glue job runs:
``glue_local.py``). ``close()`` writes the state back. Nothing here is deployed to AWS.
"""

from __future__ import annotations

import io
import json
import os
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from phenolake import storage
from phenolake_local import iam, mirror, patches, publish, template
from phenolake_local.glue_local import GlueLocalRunner

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: Where ``sam deploy`` (resolve_s3) uploads each Glue ScriptLocation: the Glue role reads it there.
ARTIFACTS_BUCKET = "aws-sam-cli-managed-default-samclisourcebucket-local"
LOCAL_PARAMETERS = {"BatchLoadPollSeconds": "1", "RetryIntervalSeconds": "1"}

_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": template.REGION,
    "AWS_REGION": template.REGION,
}


class _LazyAthena:
    """The Athena runner, imported at its first statement: it needs sqlglot and PyIceberg,
    which the python3.13 Lambda venv (the handlers' tests) does not hold."""

    def __init__(self, aws: EmbeddedAWS) -> None:
        self.aws = aws
        self.runner: Any = None

    def __call__(self, *args: Any) -> Any:
        if self.runner is None:
            from phenolake_local.athena_iceberg import AthenaLocalRunner

            self.runner = AthenaLocalRunner(self.aws)
        return self.runner(*args)


class EmbeddedAWS:
    def __init__(
        self,
        home: Path,
        *,
        root: Path = PROJECT_ROOT,
        parameters: dict[str, str] | None = None,
        persist: bool = True,
    ) -> None:
        self.home = home.resolve()
        self.persist = persist
        self.root = root
        self.parameters = {**LOCAL_PARAMETERS, **(parameters or {})}
        self._saved_env: dict[str, str | None] = {}
        self._mock: Any = None
        self.deployment: template.Deployment | None = None

    # -------------------------------------------------------------- lifecycle
    def __enter__(self) -> EmbeddedAWS:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        for name, value in _FAKE_CREDENTIALS.items():
            self._saved_env[name] = os.environ.get(name)
            os.environ[name] = value
        # Lambda keeps moto's default (Docker) backend: patches.py replaces its invoke, while
        # "use_docker": False would route invocations to moto's canned-response backend.
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        storage.reset_clients()
        patches.apply()
        patches.set_glue_runner(GlueLocalRunner(self))
        patches.REGISTRY.event_log_dir = self.home / "logs" / "events"
        patches.set_athena_runner(_LazyAthena(self))
        self.s3 = boto3.client("s3", region_name=template.REGION)
        self.sfn = boto3.client("stepfunctions", region_name=template.REGION)
        self.glue = boto3.client("glue", region_name=template.REGION)
        self.dynamodb = boto3.client("dynamodb", region_name=template.REGION)
        self.deploy()
        self.load_state()
        self.deploy_event_delivery()
        self.publish_glue_library()

    def close(self) -> None:
        if self._mock is None:
            return
        try:
            if self.persist:
                self.save_state()
        finally:
            patches.REGISTRY.functions.clear()
            iam.ENFORCER.stop()
            patches.REGISTRY.log_dir = None
            patches.REGISTRY.event_log_dir = None
            self._mock.stop()
            self._mock = None
            storage.reset_clients()
            for name, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    # -------------------------------------------------------------- deploy
    def deploy(self) -> None:
        """Create the template's resources in moto, as CloudFormation would."""
        d = template.load(self.root, self.parameters)
        self.deployment = d
        secrets = boto3.client("secretsmanager", region_name=template.REGION)
        secret_arns = {
            logical_id: secrets.create_secret(
                Name=props.get("Name", f"{template.STACK_NAME}-{logical_id}"),
                SecretString=props.get("SecretString", "{}"),
            )["ARN"]
            for logical_id, props in self._of_type("AWS::SecretsManager::Secret")
        }
        self.roles = self._deploy_roles(d, secret_arns)
        for name in [*d.buckets.values(), ARTIFACTS_BUCKET]:
            self.s3.create_bucket(Bucket=name)
        for _, props in self._of_type("AWS::S3::Bucket"):
            if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
                self.s3.put_bucket_versioning(
                    Bucket=props["BucketName"], VersioningConfiguration={"Status": "Enabled"}
                )
        lam = boto3.client("lambda", region_name=template.REGION)
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w") as zf:
            zf.writestr(
                "app.py", "# the embedded AWS runs the handler from its CodeUri in-process\n"
            )
        for fn in d.functions.values():
            lam.create_function(
                FunctionName=fn.name,
                Runtime="python3.13",
                Role=self.roles.role(self.roles.function_roles[fn.name]).arn,
                Handler=fn.handler,
                Code={"ZipFile": package.getvalue()},
                Timeout=fn.timeout,
                MemorySize=fn.memory,
                Environment={"Variables": fn.environment},
            )
            patches.REGISTRY.register(
                patches.LocalFunction(
                    fn.name, fn.arn, fn.code_dir, fn.handler, fn.environment, fn.timeout, fn.memory
                )
            )
        for _, props in self._of_type("AWS::Glue::Database"):
            self.glue.create_database(DatabaseInput=props["DatabaseInput"])
        for job in d.glue_jobs.values():
            key = f"{template.STACK_NAME}/glue/{job.script.name}"
            self.s3.upload_file(str(job.script), ARTIFACTS_BUCKET, key)
            props = d.resources[job.logical_id]["Properties"]
            self.glue.create_job(
                Name=job.name,
                Role=self.roles.role(self.roles.glue_job_roles[job.name]).arn,
                Command={**props["Command"], "ScriptLocation": f"s3://{ARTIFACTS_BUCKET}/{key}"},
                DefaultArguments=job.default_arguments,
                GlueVersion=props.get("GlueVersion", "5.1"),
                ExecutionProperty={"MaxConcurrentRuns": 4},
            )
        for _, props in self._of_type("AWS::DynamoDB::Table"):
            self.dynamodb.create_table(
                TableName=props["TableName"],
                KeySchema=props["KeySchema"],
                AttributeDefinitions=props["AttributeDefinitions"],
                BillingMode="PAY_PER_REQUEST",
                **(
                    {"GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"]}
                    if props.get("GlobalSecondaryIndexes")
                    else {}
                ),
            )
        athena = boto3.client("athena", region_name=template.REGION)
        for _, props in self._of_type("AWS::Athena::WorkGroup"):
            configuration = dict(props.get("WorkGroupConfiguration", {}))
            if "BytesScannedCutoffPerQuery" in configuration:  # a template parameter: text
                cutoff = int(configuration["BytesScannedCutoffPerQuery"])
                configuration["BytesScannedCutoffPerQuery"] = cutoff
            athena.create_work_group(
                Name=props["Name"],
                Configuration=configuration,
                Description=props.get("Description", ""),
            )
        sns = boto3.client("sns", region_name=template.REGION)
        for logical_id, props in self._of_type("AWS::SNS::Topic"):
            sns.create_topic(Name=props.get("TopicName", f"{template.STACK_NAME}-{logical_id}"))
        ts = boto3.client("timestream-write", region_name=template.REGION)
        for _, props in self._of_type("AWS::Timestream::Database"):
            ts.create_database(DatabaseName=props["DatabaseName"])
        for _, props in self._of_type("AWS::Timestream::Table"):
            ts.create_table(DatabaseName=props["DatabaseName"], TableName=props["TableName"])
        self.state_machine_arns = {
            logical_id: self.sfn.create_state_machine(
                name=name,
                definition=json.dumps(definition),
                roleArn=self.roles.role(self.roles.state_machine_roles[name]).arn,
            )["stateMachineArn"]
            for logical_id, (name, definition) in d.state_machines.items()
        }

    def deploy_event_delivery(self) -> None:
        """The template's S3 -> EventBridge -> rule -> Lambda wiring: each bucket's
        EventBridge notifications, the rules and their targets, and the Lambda permissions
        that let a rule invoke its target (patches.py ``s3-eventbridge`` delivers). Done
        after the saved state is loaded: restoring the folder is no new landing."""
        events = boto3.client("events", region_name=template.REGION)
        lam = boto3.client("lambda", region_name=template.REGION)
        for _, props in self._of_type("AWS::S3::Bucket"):
            notification = props.get("NotificationConfiguration", {})
            if notification.get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
                self.s3.put_bucket_notification_configuration(
                    Bucket=props["BucketName"],
                    NotificationConfiguration={"EventBridgeConfiguration": {}},
                )
        for _, props in self._of_type("AWS::Events::Rule"):
            if "EventPattern" not in props:
                continue  # a schedule: the embedded AWS starts executions itself
            events.put_rule(
                Name=props["Name"],
                EventPattern=json.dumps(props["EventPattern"]),
                State=props.get("State", "ENABLED"),
                Description=props.get("Description", ""),
            )
            events.put_targets(
                Rule=props["Name"],
                Targets=[
                    {k: v for k, v in target.items() if k in ("Id", "Arn", "RetryPolicy")}
                    for target in props.get("Targets", [])
                ],
            )
        for logical_id, props in self._of_type("AWS::Lambda::Permission"):
            lam.add_permission(
                FunctionName=props["FunctionName"],
                StatementId=logical_id,
                Action=props["Action"],
                Principal=props["Principal"],
                **({"SourceArn": props["SourceArn"]} if "SourceArn" in props else {}),
            )

    def _deploy_roles(self, d: template.Deployment, physical: dict[str, str]) -> iam.RoleSet:
        """The roles sam deploy would create (SAM translator), in moto's IAM, each with
        session credentials from moto's STS; the enforcer decides every call they sign."""
        roles = iam.RoleSet.from_template(self.root, d.parameters, physical)
        client = boto3.client("iam", region_name=template.REGION)
        sts = boto3.client("sts", region_name=template.REGION)
        credentials = {}
        for role in roles.roles.values():
            client.create_role(RoleName=role.name, AssumeRolePolicyDocument=json.dumps(role.trust))
            issued = sts.assume_role(RoleArn=role.arn, RoleSessionName=role.name)["Credentials"]
            credentials[role.name] = iam.RoleCredentials(
                role.name,
                issued["AccessKeyId"],
                issued["SecretAccessKey"],
                issued["SessionToken"],
            )
        iam.ENFORCER.configure(roles, credentials)
        return roles

    def publish_glue_library(self) -> None:
        """What ``make deploy`` publishes for the Glue jobs' ``--extra-py-files``: the
        library zip, at the key the template names (after the saved state is loaded, which
        would otherwise replace it with the last run's copy)."""
        self.s3.put_object(
            Bucket=self.bucket("LakeBucket"), Key=publish.KEY, Body=publish.library_zip()
        )

    def _of_type(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        assert self.deployment is not None
        return [
            (lid, r["Properties"])
            for lid, r in self.deployment.resources.items()
            if r["Type"] == kind
        ]

    # -------------------------------------------------------------- state
    @property
    def buckets(self) -> dict[str, str]:
        assert self.deployment is not None
        return self.deployment.buckets

    def bucket(self, logical_id: str) -> str:
        return self.buckets[logical_id]

    def env(self) -> dict[str, str]:
        """The environment every function gets (the template's Globals)."""
        assert self.deployment is not None
        return next(iter(self.deployment.functions.values())).environment

    @property
    def state_dir(self) -> Path:
        return self.home / mirror.STATE_DIR

    def _tables(self) -> list[str]:
        return [p["TableName"] for _, p in self._of_type("AWS::DynamoDB::Table")]

    def save_buckets(self) -> None:
        mirror.s3_to_files(self.home, list(self.buckets.values()))

    def load_buckets(self) -> None:
        mirror.files_to_s3(self.home, list(self.buckets.values()))

    def load_state(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        # the md5s once a run, not around each Glue job (load_buckets and save_buckets)
        mirror.load_md5s(self.home)
        self.load_buckets()
        mirror.load_catalog(self.glue, self.state_dir / mirror.CATALOG_FILE)
        mirror.load_tables(self.dynamodb, self._tables(), self.state_dir)

    def save_state(self) -> None:
        self.save_buckets()
        mirror.save_md5s(self.home, list(self.buckets.values()))
        mirror.dump_catalog(self.glue, self.state_dir / mirror.CATALOG_FILE)
        mirror.dump_tables(self.dynamodb, self._tables(), self.state_dir)

    # -------------------------------------------------------------- executions
    def start_execution(
        self,
        name: str,
        execution_input: dict[str, Any],
        state_machine: str = template.PIPELINE,
    ) -> str:
        patches.REGISTRY.log_dir = self.home / "logs" / name
        return self.sfn.start_execution(
            stateMachineArn=self.state_machine_arns[state_machine],
            name=name,
            input=json.dumps(execution_input),
        )["executionArn"]

    def wait(
        self,
        execution_arn: str,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        timeout: float = 3600,
    ) -> dict[str, Any]:
        seen = 0
        deadline = time.monotonic() + timeout
        while True:
            described = self.sfn.describe_execution(executionArn=execution_arn)
            if on_event is not None:
                events = self.history(execution_arn)
                for event in events[seen:]:
                    on_event(event)
                seen = len(events)
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution still running after {timeout} s: {execution_arn}")
            time.sleep(0.2)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = self.sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]
