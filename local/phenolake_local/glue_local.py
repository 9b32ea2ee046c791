"""Glue job runs in the embedded AWS: each script in a Glue 5.1 process of its own.

On AWS a Glue 5.1 job runs on Python 3.11 with Spark 3.5.6 and the modules AWS documents as
preinstalled (boto3 1.40.61, numpy 2.3.4, pandas 2.3.3, pyarrow 22.0.0, ...), plus its
``--additional-python-modules``, with its ``--extra-py-files`` on the path. Locally the same:
``.venv-glue`` (``make glue-venv``, from requirements-glue.txt) holds exactly those versions,
and ``glue_process.py`` runs there in isolated mode (``python -I``), so a job sees its script,
its ``--extra-py-files`` (read from the embedded S3, as Glue reads them) and .venv-glue, and
nothing of the main venv: a job importing what Glue 5.1 lacks fails here as it would there,
with the module named in the job run's ``ErrorMessage``.

The job's AWS calls go to the same embedded AWS: moto's ``ThreadedMotoServer`` on 127.0.0.1
(a free port) shares the in-memory backends of the in-process mock, and the job process gets
``AWS_ENDPOINT_URL`` and the credentials of an STS session of the job's role.

Spark cannot reach moto's S3, so the buckets are written to ``home`` before the run, the job
is told to map ``s3://bucket/key`` to ``home/bucket/key`` (``--local_s3_root``), and what it
wrote is read back into moto after (with what it wrote through the S3 API itself).

One job process serves every run of a Python process (JVM start-up costs seconds: it is paid
once, by the first run, or earlier with ``warm()``); each run gets a fresh SparkSession and a
fresh module namespace (see glue_process.py). Its output, the JVM's included, goes to
``<home>/logs/<run>/<job>.log``.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from phenolake_local import mirror, template

if TYPE_CHECKING:
    from phenolake_local.engine import EmbeddedAWS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = PROJECT_ROOT / "requirements-glue.txt"
GLUE_VENV = PROJECT_ROOT / ".venv-glue"
PROCESS_SCRIPT = Path(__file__).with_name("glue_process.py")
START_TIMEOUT_SECONDS = 300


class GlueJobFailed(RuntimeError):
    """A failed job run; ``error_message`` is what GetJobRun reports as its ErrorMessage."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.error_message = message


def pinned_versions(path: Path = REQUIREMENTS) -> dict[str, str]:
    """``name==version`` lines of requirements-glue.txt, names lower-cased."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def glue_python() -> Path:
    """.venv-glue's interpreter, if it was built from the current requirements-glue.txt."""
    stamp = GLUE_VENV / f".installed-{hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]}"
    python = GLUE_VENV / "bin" / "python"
    if not python.exists() or not stamp.exists():
        raise GlueJobFailed(
            f"{GLUE_VENV.name} is missing or not built from {REQUIREMENTS.name}: "
            "run `make glue-venv`"
        )
    return python


class GlueWorker:
    """The long-lived job process (glue_process.py in .venv-glue) and its request channel."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._startup_log = Path(tempfile.gettempdir()) / f"phenolake-glue-{os.getpid()}.log"
        self.versions: dict[str, str] = {}

    def _start(self) -> subprocess.Popen[str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k in ("PATH", "HOME", "JAVA_HOME", "LANG", "LC_ALL", "TMPDIR", "SPARK_LOCAL_IP")
        }
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        from phenolake_local import iceberg  # PyIceberg: not in the Lambda venv

        try:
            static = iceberg.spark_static_conf(GLUE_VENV)
        except FileNotFoundError as exc:
            raise GlueJobFailed(str(exc)) from None
        config = {
            "log4j": str(Path(__file__).with_name("log4j2.properties")),
            "startup_log": str(self._startup_log),
            "spark_conf": static,
        }
        process = subprocess.Popen(
            [str(glue_python()), "-I", str(PROCESS_SCRIPT), json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tempfile.gettempdir(),
        )
        ready = self._read(process, START_TIMEOUT_SECONDS)
        try:
            if not ready.get("ready"):
                raise GlueJobFailed(f"the local Glue job process did not start: {ready}")
            self._check_versions(ready)
        except GlueJobFailed:
            process.kill()
            raise
        return process

    def _check_versions(self, ready: dict[str, Any]) -> None:
        pins = pinned_versions()
        self.versions = {"python": ready["python"], **ready["versions"]}
        wrong = {
            name: found for name, found in ready["versions"].items() if pins.get(name) != found
        }
        if wrong:
            raise GlueJobFailed(f"{GLUE_VENV.name} differs from {REQUIREMENTS.name}: {wrong}")

    def _read(self, process: subprocess.Popen[str], timeout: float | None) -> dict[str, Any]:
        assert process.stdout is not None
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(process.stdout.readline()))  # type: ignore[union-attr]
        reader.daemon = True
        reader.start()
        reader.join(timeout)
        line = result[0] if result else ""
        if not line:
            process.kill()
            tail = self._startup_tail()
            raise GlueJobFailed(f"the local Glue job process exited (code {process.poll()}){tail}")
        return json.loads(line)

    def _startup_tail(self) -> str:
        if not self._startup_log.exists():
            return ""
        lines = self._startup_log.read_text(errors="replace").strip().splitlines()
        return f": {lines[-1]}" if lines else ""

    def warm(self, background: bool = False) -> None:
        """Start the process (and its JVM) now, so the first job run does not wait for it;
        in the background, while a run's first steps work (a failure to start is then
        reported by the first job run, which tries again)."""
        if background:
            threading.Thread(target=self._warm_quietly, daemon=True).start()
            return
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = self._start()

    def _warm_quietly(self) -> None:
        with contextlib.suppress(GlueJobFailed):
            self.warm()

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = self._start()
            process = self._process
            assert process.stdin is not None
            try:
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
                return self._read(process, None)
            except (BrokenPipeError, GlueJobFailed):
                self._process = None  # the next run starts a new process
                raise GlueJobFailed(
                    f"the local Glue job process died during the run (see {request['log']})"
                ) from None

    def stop(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class MotoEndpoint:
    """moto's HTTP server in this process, for the job process's AWS calls."""

    def __init__(self) -> None:
        self._server: Any = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        with self._lock:
            if self._server is None:
                from moto.server import ThreadedMotoServer

                logging.getLogger("werkzeug").setLevel(logging.WARNING)
                server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
                server.start()
                self._server = server
            host, port = self._server.get_host_and_port()
            return f"http://{host}:{port}"

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()


WORKER = GlueWorker()
ENDPOINT = MotoEndpoint()
atexit.register(ENDPOINT.stop)
atexit.register(WORKER.stop)


def _s3_uris(value: str) -> list[tuple[str, str]]:
    uris = []
    for entry in filter(None, (e.strip() for e in value.split(","))):
        if not entry.startswith("s3://") or "/" not in entry[5:]:
            raise GlueJobFailed(f"--extra-py-files entry {entry!r} is not an s3://bucket/key URI")
        bucket, key = entry[5:].split("/", 1)
        uris.append((bucket, key))
    return uris


class GlueLocalRunner:
    """The ``glue-job-run`` patch's runner: one job run, in the Glue 5.1 job process."""

    def __init__(self, aws: EmbeddedAWS) -> None:
        self.aws = aws

    def role_credentials(self, job_name: str) -> dict[str, str]:
        """Credentials of the job's role, as Glue's job run session has them: the keys the
        IAM enforcer knows for that role, so every call the job process makes is decided by
        the role's policies (a fresh STS session of moto's only when nothing is enforced)."""
        from phenolake_local import iam

        role_name = iam.glue_job_role(job_name)
        if iam.ENFORCER.active and role_name:
            return iam.role_environment(role_name)
        role = self.aws.glue.get_job(JobName=job_name)["Job"]["Role"]
        sts = boto3.client("sts", region_name=template.REGION)
        found = sts.assume_role(RoleArn=role, RoleSessionName="GlueJobRunnerSession")
        credentials = found["Credentials"]
        return {
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
        }

    def log_file(self, job_name: str) -> Path:
        from phenolake_local import patches

        folder = patches.REGISTRY.log_dir or self.aws.home / "logs" / "glue"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{job_name}.log"

    def iceberg_request(
        self, arguments: dict[str, str], folder: Path
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """What the job process needs for ``--datalake-formats iceberg`` (the module docstring
        of phenolake_local.iceberg says why each part differs from AWS), and the Glue
        catalog's Iceberg tables as they are before the run."""
        from phenolake_local import iceberg

        buckets = list(self.aws.buckets.values())
        request: dict[str, Any] = {
            "hadoop_conf": iceberg.spark_hadoop_conf(self.aws.home, buckets),
        }
        formats = {f.strip() for f in arguments.get("--datalake-formats", "").split(",")}
        if "iceberg" not in formats:
            return request, {}
        database = arguments.get("--database", "")
        try:
            conf = iceberg.parse_conf_argument(arguments.get("--conf", ""))
        except ValueError as exc:
            raise GlueJobFailed(f"--conf: {exc}") from None
        lake = arguments.get("--lake_bucket", "")
        request["spark_conf"] = iceberg.local_catalog_conf(
            conf, f"s3://{lake}/curated/", folder / "iceberg-catalog.db"
        )
        # the embedded AWS's own listing (the job itself only gets the tables it names)
        tables = iceberg.glue_iceberg_tables(self.aws.glue, database) if database else {}
        request["iceberg"] = {
            "catalog": iceberg.SPARK_CATALOG,
            "namespaces": [database] if database else [],
            "tables": tables,
        }
        return request, tables

    def __call__(self, job_name: str, script_uri: str, arguments: dict[str, str]) -> None:
        credentials = self.role_credentials(job_name)
        keys = {
            "region_name": template.REGION,
            "aws_access_key_id": credentials["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": credentials["AWS_SECRET_ACCESS_KEY"],
            "aws_session_token": credentials["AWS_SESSION_TOKEN"],
        }
        s3 = boto3.client("s3", **keys)
        glue = boto3.client("glue", **keys)
        with tempfile.TemporaryDirectory(prefix="phenolake-glue-") as tmp:
            folder = Path(tmp).resolve()
            lakehouse, tables_before = self.iceberg_request(arguments, folder)
            [(bucket, key)] = _s3_uris(script_uri)
            script = folder / key.rsplit("/", 1)[-1]
            script.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            extra = []
            for bucket, key in _s3_uris(arguments.get("--extra-py-files", "")):
                path = folder / key.rsplit("/", 1)[-1]
                path.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
                extra.append(str(path))
            argv = [str(script), "--JOB_NAME", job_name]
            for name, value in {**arguments, "--local_s3_root": str(self.aws.home)}.items():
                argv += [name, value]
            request = {
                "script": str(script),
                "argv": argv,
                "extra_py_files": extra,
                "additional_python_modules": arguments.get("--additional-python-modules", ""),
                "env": {
                    **credentials,
                    "AWS_ENDPOINT_URL": ENDPOINT.url,
                    "AWS_REGION": template.REGION,
                    "AWS_DEFAULT_REGION": template.REGION,
                },
                "log": str(self.log_file(job_name)),
                **lakehouse,
            }
            self.aws.save_buckets()
            buckets = list(self.aws.buckets.values())
            before = mirror.snapshot(buckets)
            reply: dict[str, Any] = {}
            try:
                reply = WORKER.run(request)
            finally:
                mirror.changes_to_files(self.aws.home, before)
                self.aws.load_buckets()
                if reply.get("iceberg_tables"):
                    from phenolake_local import iceberg

                    try:
                        iceberg.commit_to_glue(
                            glue, self.aws.home, tables_before, reply["iceberg_tables"]
                        )
                    except iceberg.CommitConflict as exc:
                        raise GlueJobFailed(str(exc)) from None
        if not reply.get("ok"):
            raise GlueJobFailed(reply.get("error") or "the job failed")
