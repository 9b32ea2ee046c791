"""Local Glue job runs behave as on Glue 5.1: the job's own process, Glue 5.1's module
versions, the library only from ``--extra-py-files``, the job role's credentials, and the
embedded AWS reached over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phenolake_local import glue_local, publish
from phenolake_local.engine import ARTIFACTS_BUCKET, EmbeddedAWS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import boto3, numpy, pandas, pyarrow, pyspark
import phenolake
from phenolake.glue import resolve_options

args = resolve_options(sys.argv, ["out_bucket"])
identity = boto3.client("sts").get_caller_identity()
found = {
    "python": sys.version.split()[0],
    "phenolake": phenolake.__file__,
    "versions": {m.__name__: m.__version__ for m in (boto3, numpy, pandas, pyarrow, pyspark)},
    "caller": identity["Arn"],
    "main_venv_on_path": [p for p in sys.path if "/.venv/" in p],
}
boto3.client("s3").put_object(Bucket=args["out_bucket"], Key="probe.json", Body=json.dumps(found))
"""


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory, spark: object) -> Iterator[EmbeddedAWS]:
    with EmbeddedAWS(tmp_path_factory.mktemp("glue-home"), persist=False) as embedded:
        yield embedded


def library(aws: EmbeddedAWS) -> str:
    return f"s3://{aws.bucket('LakeBucket')}/{publish.KEY}"


def glue_role(aws: EmbeddedAWS) -> str:
    assert aws.deployment is not None
    return aws.deployment.resources["CurateJob"]["Properties"]["Role"]


def run_job(aws: EmbeddedAWS, name: str, script: str, arguments: dict[str, str]) -> dict[str, Any]:
    key = f"glue/{name}.py"
    aws.s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=script.encode())
    aws.glue.create_job(
        Name=name,
        Role=glue_role(aws),
        Command={
            "Name": "glueetl",
            "PythonVersion": "3",
            "ScriptLocation": f"s3://{ARTIFACTS_BUCKET}/{key}",
        },
        DefaultArguments=arguments,
        GlueVersion="5.1",
    )
    run_id = aws.glue.start_job_run(JobName=name)["JobRunId"]
    return aws.glue.get_job_run(JobName=name, RunId=run_id)["JobRun"]


def test_a_job_importing_a_module_glue_lacks_fails_naming_it(aws: EmbeddedAWS) -> None:
    run = run_job(aws, "needs-yaml", "import yaml\n", {"--extra-py-files": library(aws)})
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == "ModuleNotFoundError: No module named 'yaml'"


def test_the_library_is_only_the_jobs_extra_py_files(aws: EmbeddedAWS) -> None:
    run = run_job(aws, "no-library", "import phenolake\n", {})
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == "ModuleNotFoundError: No module named 'phenolake'"


def test_a_job_runs_with_glue_51_versions_and_its_roles_credentials(aws: EmbeddedAWS) -> None:
    bucket = aws.bucket("LakeBucket")
    arguments = {"--extra-py-files": library(aws), "--out_bucket": bucket}
    run = run_job(aws, "probe", PROBE, arguments)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    found = json.loads(aws.s3.get_object(Bucket=bucket, Key="probe.json")["Body"].read())
    pins = glue_local.pinned_versions()
    assert found["python"].startswith("3.11.")
    assert found["versions"] == {name: pins[name] for name in found["versions"]}
    assert pins["boto3"] == "1.40.61" and pins["pyspark"] == "3.5.6"
    assert found["phenolake"].endswith("/phenolake.zip/phenolake/__init__.py")
    role_name = glue_role(aws).rsplit("/", 1)[-1]
    assert f":assumed-role/{role_name}/GlueJobRunnerSession" in found["caller"]
    assert found["main_venv_on_path"] == []


def test_additional_python_modules_must_be_in_the_glue_venv_at_their_pin(
    aws: EmbeddedAWS,
) -> None:
    arguments = {"--extra-py-files": library(aws), "--additional-python-modules": "PyYAML==6.0.3"}
    run = run_job(aws, "adds-yaml", "import yaml\n", arguments)
    assert run["JobRunState"] == "FAILED"
    assert "PyYAML==6.0.3" in run["ErrorMessage"]
    assert "requirements-glue.txt" in run["ErrorMessage"]


@pytest.mark.parametrize("source", ["embrace", "mhealth", "radar", "screenlake"])
def test_each_curate_job_imports_with_only_glue_51_and_the_library(
    aws: EmbeddedAWS, source: str
) -> None:
    """Without its arguments a job stops at ``resolve_options``: every import before it
    succeeded in the Glue 5.1 process."""
    script = (ROOT / "glue_jobs" / "curate.py").read_text()
    arguments = {"--extra-py-files": library(aws), "--source": source}
    run = run_job(aws, f"imports-{source}", script, arguments)
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"].startswith("SystemExit: missing job argument(s): --lake_bucket")
