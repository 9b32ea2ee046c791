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


ICEBERG_JOB = """
import sys
from pyspark.sql import SparkSession
from phenolake.glue import replace_partitions, resolve_options

args = resolve_options(sys.argv, ["lake_bucket", "database", "value"])
spark = SparkSession.builder.getOrCreate()
rows = spark.createDataFrame(
    [("p1", "2024-10-01", float(args["value"])), ("p1", "2024-10-02", 9.0)],
    "participant_id string, date string, value double",
)
if args["value"] == "2":
    rows = rows.where("date = '2024-10-01'")
replace_partitions(
    spark,
    rows,
    database=args["database"],
    table="wiring_probe",
    location=f"s3://{args['lake_bucket']}/curated/wiring_probe/",
    partition_by=["participant_id", "date"],
)
"""


def test_an_iceberg_job_commits_through_glue_and_replaces_only_its_partitions(
    aws: EmbeddedAWS,
) -> None:
    """The job's Iceberg commits reach the Glue catalog (the job role's own calls), the data
    and metadata are under the lake's curated/ prefix as s3:// paths, and a second run that
    re-states one day replaces that day alone."""
    from phenolake_local import iceberg

    job = aws.deployment.resources["CurateJob"]["Properties"]["DefaultArguments"]
    arguments = {
        "--extra-py-files": library(aws),
        "--lake_bucket": aws.bucket("LakeBucket"),
        "--database": job["--database"],
        "--datalake-formats": job["--datalake-formats"],
        "--conf": job["--conf"],
    }
    first = run_job(aws, "iceberg-1", ICEBERG_JOB, {**arguments, "--value": "1"})
    assert first["JobRunState"] == "SUCCEEDED", first.get("ErrorMessage")
    second = run_job(aws, "iceberg-2", ICEBERG_JOB, {**arguments, "--value": "2"})
    assert second["JobRunState"] == "SUCCEEDED", second.get("ErrorMessage")
    entry = aws.glue.get_table(DatabaseName=job["--database"], Name="wiring_probe")["Table"]
    assert entry["Parameters"]["table_type"] == "ICEBERG"
    table = iceberg.catalog(aws.home, aws.glue).load_table(f"{job['--database']}.wiring_probe")
    rows = sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["date"])
    assert rows == [
        {"participant_id": "p1", "date": "2024-10-01", "value": 2.0},
        {"participant_id": "p1", "date": "2024-10-02", "value": 9.0},
    ]
    assert [s.summary.operation.value for s in table.snapshots()] == ["overwrite", "overwrite"]
    paths = [t.file.file_path for t in table.scan().plan_files()]
    assert all(
        p.startswith(f"s3://{aws.bucket('LakeBucket')}/curated/wiring_probe/") for p in paths
    )
    key = paths[0].split("/", 3)[3]
    assert aws.s3.head_object(Bucket=aws.bucket("LakeBucket"), Key=key)["ContentLength"] > 0


LISTING_JOB = """
import json, sys
import boto3
from pyspark.sql import SparkSession
from phenolake.glue import resolve_options

args = resolve_options(sys.argv, ["lake_bucket"])
spark = SparkSession.builder.getOrCreate()
Path = spark._jvm.org.apache.hadoop.fs.Path
root = Path(f"s3://{args['lake_bucket']}/curated/listing_probe/")
fs = root.getFileSystem(spark._jsc.hadoopConfiguration())
found, folders = [], [root]
while folders:  # as Iceberg's FileSystemWalker lists: each child folder by its own path
    for status in fs.listStatus(folders.pop()):
        (folders if status.isDirectory() else found).append(status.getPath())
summary = fs.getContentSummary(root)
listed = {"files": sorted(p.toString() for p in found), "count": summary.getFileCount()}
boto3.client("s3").put_object(
    Bucket=args["lake_bucket"], Key="quarantine/listing-probe.json", Body=json.dumps(listed)
)
"""


def test_a_job_lists_a_mounted_folder_recursively_as_s3_paths(aws: EmbeddedAWS) -> None:
    """Spark's file system lists ``s3://`` folders (through the embedded AWS's mounts) with
    children that are ``s3://`` paths of their own, level after level, as Glue's does: upkeep's
    remove_orphan_files walks a table's folder so."""
    lake = aws.bucket("LakeBucket")
    keys = ["curated/listing_probe/data/d=1/a.parquet", "curated/listing_probe/metadata/m.json"]
    for key in keys:
        aws.s3.put_object(Bucket=lake, Key=key, Body=b"x")
    done = run_job(
        aws, "listing", LISTING_JOB, {"--extra-py-files": library(aws), "--lake_bucket": lake}
    )
    assert done["JobRunState"] == "SUCCEEDED", done.get("ErrorMessage")
    listed = json.loads(
        aws.s3.get_object(Bucket=lake, Key="quarantine/listing-probe.json")["Body"].read()
    )
    assert listed == {"files": [f"s3://{lake}/{key}" for key in keys], "count": 2}
