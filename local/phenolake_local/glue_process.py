"""The local Glue 5.1 job process: runs job scripts the way a Glue 5.1 worker does.

Started by ``glue_local.GlueWorker`` as ``.venv-glue/bin/python -I glue_process.py CONFIG``:
``-I`` keeps ``PYTHONPATH``, the user site and this file's folder off ``sys.path``, so a job
sees only the standard library, what ``.venv-glue`` holds (Glue 5.1's preinstalled modules at
Glue 5.1's versions, requirements-glue.txt) and, per run, its script's folder and its
``--extra-py-files``. This file therefore imports only the standard library and PySpark:
never phenolake or phenolake_local.

One process serves successive runs, so the JVM starts once: each run gets a new
SparkSession (``newSession``: its own SQL conf and temporary views) on the shared
SparkContext, a cleared cache, ``sys.path`` = its folder + its extra files + the venv, and
a fresh namespace (the modules it imported from its folder or extra files are dropped when
it ends). Requests and replies are one JSON line each on stdin / the original stdout; the
job's own stdout and stderr (and the JVM's) go to the log file each request names.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import runpy
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import IO, Any

BASE_PATH = list(sys.path)
#: Local mode on the machine's cores; S3 paths are mapped to local folders by the jobs.
SPARK_CONF = {
    "spark.app.name": "phenolake-local-glue",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem",
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    "spark.driver.memory": "2g",
    "spark.sql.warehouse.dir": os.path.join(tempfile.gettempdir(), "phenolake-spark-warehouse"),
}
_MARK = "\x00phenolake-glue-run-done\x00"


class _Tee:
    """Copies what arrives on the job's stdout/stderr pipe to the current run's log."""

    def __init__(self, read_fd: int) -> None:
        self.target: IO[str] | None = None
        self.lock = threading.Lock()
        self.done = threading.Event()
        self._pipe = os.fdopen(read_fd, "r", errors="replace")
        threading.Thread(target=self._copy, daemon=True).start()

    def _copy(self) -> None:
        for line in self._pipe:
            if _MARK in line:
                before = line.replace(_MARK, "").rstrip("\n")
                if before:
                    self._write(before + "\n")
                self.done.set()
                continue
            self._write(line)

    def _write(self, text: str) -> None:
        with self.lock:
            if self.target is not None:
                self.target.write(text)
                self.target.flush()

    def switch(self, target: IO[str] | None) -> None:
        with self.lock:
            self.target = target

    def drain(self) -> None:
        """Wait until everything the run printed has reached its log."""
        self.done.clear()
        sys.stdout.write(_MARK + "\n")
        sys.stdout.flush()
        self.done.wait(timeout=10)


def _start_spark(config: dict[str, Any]) -> Any:
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_SUBMIT_ARGS"] = (
        f"--driver-java-options -Dlog4j2.configurationFile=file:{config['log4j']} pyspark-shell"
    )
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(config.get("master", "local[2]"))
    for key, value in {**SPARK_CONF, **config.get("spark_conf", {})}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _session(config: dict[str, Any]) -> Any:
    """A new session for one run; a new SparkContext if a job stopped the last one."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if SparkContext._active_spark_context is None:
        _start_spark(config)
    session = SparkSession.builder.getOrCreate().newSession()
    SparkSession._instantiatedSession = session
    SparkSession._activeSession = session
    jvm_session = session._jvm.SparkSession
    jvm_session.setDefaultSession(session._jsparkSession)
    jvm_session.setActiveSession(session._jsparkSession)
    return session


def _check_additional_modules(arguments: dict[str, str]) -> None:
    """Glue pip-installs ``--additional-python-modules`` before the script; here they must
    already be in .venv-glue at exactly the pinned version (requirements-glue.txt)."""
    for entry in filter(None, (m.strip() for m in arguments.get("modules", "").split(","))):
        name, sep, version = entry.partition("==")
        if not sep:
            raise RuntimeError(f"--additional-python-modules entry {entry!r} is not pinned (==)")
        try:
            found = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found = "none"
        if found != version:
            raise RuntimeError(
                f"--additional-python-modules asks {entry}; .venv-glue has {name} {found} "
                "(add the pin to requirements-glue.txt)"
            )


def _iceberg_before(session: Any, request: dict[str, Any]) -> None:
    """This run's s3 mounts, its Iceberg catalog settings (the job's ``--conf``, localised by
    the embedded AWS) and every Iceberg table of the Glue catalog registered in it."""
    hadoop = session.sparkContext._jsc.hadoopConfiguration()
    for key, value in request.get("hadoop_conf", {}).items():
        hadoop.set(key, value)
    for key, value in request.get("spark_conf", {}).items():
        session.conf.set(key, value)
    iceberg = request.get("iceberg") or {}
    catalog = iceberg.get("catalog")
    if not catalog:
        return
    for namespace in iceberg.get("namespaces", []):
        session.sql(f"CREATE NAMESPACE IF NOT EXISTS {catalog}.`{namespace}`")
    for identifier, location in iceberg.get("tables", {}).items():
        quoted = identifier.replace("'", "''")
        session.sql(
            f"CALL {catalog}.system.register_table("
            f"table => '{quoted}', metadata_file => '{location}')"
        ).collect()


def _iceberg_after(session: Any, request: dict[str, Any]) -> dict[str, str]:
    """``namespace.table`` -> current metadata file of every table in the run's catalog."""
    iceberg = request.get("iceberg") or {}
    catalog_name = iceberg.get("catalog")
    if not catalog_name or session is None:
        return {}
    jvm = session._jvm
    manager = session._jsparkSession.sessionState().catalogManager()
    catalog = manager.catalog(catalog_name).icebergCatalog()
    found: dict[str, str] = {}
    for namespace in iceberg.get("namespaces", []):
        levels = session.sparkContext._gateway.new_array(jvm.java.lang.String, 1)
        levels[0] = namespace
        for identifier in catalog.listTables(jvm.org.apache.iceberg.catalog.Namespace.of(levels)):
            table = catalog.loadTable(identifier)
            location = table.operations().current().metadataFileLocation()
            found[f"{namespace}.{identifier.name()}"] = location
    return found


def _forget_modules(folders: list[str]) -> None:
    """Drop the modules a run imported from its own folder or extra files."""
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None) or ""
        if any(origin.startswith(folder) for folder in folders):
            del sys.modules[name]
    for key in list(sys.path_importer_cache):
        if any(key.startswith(folder) for folder in folders):
            del sys.path_importer_cache[key]


def _run(request: dict[str, Any], config: dict[str, Any], tee: _Tee) -> dict[str, Any]:
    script = request["script"]
    folder = str(Path(script).parent)
    extra = list(request.get("extra_py_files", []))
    saved_env = dict(os.environ)
    os.environ.update(request.get("env", {}))
    sys.argv = list(request["argv"])
    sys.path[:] = [folder, *extra, *BASE_PATH]
    log = open(request["log"], "a", encoding="utf-8")  # noqa: SIM115 (closed in finally)
    tee.switch(log)
    reply: dict[str, Any] = {"ok": True}
    session = None
    try:
        import boto3

        boto3.DEFAULT_SESSION = None  # a client made now reads this run's credentials
        _check_additional_modules({"modules": request.get("additional_python_modules", "")})
        session = _session(config)
        _iceberg_before(session, request)
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (0, None):
            reply = {"ok": False, "error": f"SystemExit: {exc.code}"}
    except BaseException as exc:  # every failure is the job's, reported
        traceback.print_exc()
        reply = {"ok": False, "error": traceback.format_exception_only(exc)[-1].strip()}
    finally:
        # what the job committed stays committed, as on AWS, where each commit reaches Glue
        try:
            reply["iceberg_tables"] = _iceberg_after(session, request)
        except Exception as exc:  # reported: the embedded AWS then fails the run
            traceback.print_exc()
            reply = {"ok": False, "error": f"reading the Iceberg catalog back: {exc}"}
        try:
            from pyspark.sql import SparkSession

            active = SparkSession.getActiveSession()
            if active is not None:
                active.catalog.clearCache()
        except Exception:  # a stopped context has no cache left to clear
            traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        tee.drain()
        tee.switch(None)
        log.close()
        _forget_modules([folder, *extra])
        sys.path[:] = BASE_PATH
        os.environ.clear()
        os.environ.update(saved_env)
    return reply


def main() -> None:
    config = json.loads(sys.argv[1])
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 1)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    tee = _Tee(read_fd)
    startup = open(config["startup_log"], "a", encoding="utf-8")  # noqa: SIM115
    tee.switch(startup)
    spark = _start_spark(config)
    # The first Spark job of a JVM costs many seconds (class loading, code generation): a
    # tiny one here, while the process is warmed in the background, spares the first run.
    spark.range(8).selectExpr("id % 2 AS k").groupBy("k").count().collect()
    tee.drain()
    tee.switch(None)
    startup.close()
    versions = {
        name: importlib.metadata.version(name)
        for name in ("pyspark", "boto3", "numpy", "pandas", "pyarrow")
    }
    python = ".".join(map(str, sys.version_info[:3]))
    replies.write(json.dumps({"ready": True, "versions": versions, "python": python}) + "\n")
    replies.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        reply = _run(json.loads(line), config, tee)
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
