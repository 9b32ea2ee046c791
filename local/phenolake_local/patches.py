"""Every change the embedded AWS makes to moto, in this one module.

moto (pinned in pyproject.toml) executes the real state machine definition with its Step
Functions interpreter, but some things it cannot do here:

1. ``lambda-invoke``: moto runs Lambda code in Docker. Here a Lambda invocation imports the
   real handler from the function's CodeUri and calls it in-process, with the function's
   environment given through ``phenolake.config.using_environment`` (a context variable,
   so concurrent Map iterations on threads never see each other's environment), and its
   stdout (Powertools JSON logs, EMF metrics) routed to ``<home>/logs/<run>/<function>.log``.
2. ``glue-job-run``: moto records a job run and reports it SUCCEEDED without running
   anything. Here ``StartJobRun`` runs the job's real script, read back from the
   ``ScriptLocation`` in S3, in a Glue 5.1 process of its own (see ``glue_local.py``);
   the run ends SUCCEEDED or FAILED with the error message, as ``GetJobRun`` reports.
3. ``timestream-batch-load``: moto has no ``CreateBatchLoadTask``/``DescribeBatchLoadTask``.
   Here they read the CSV files from S3, apply the data-model mapping, write multi-measure
   records into moto's Timestream table, and write an error report on failure. The same
   ``ClientToken`` returns the same task without loading twice.
4. ``aws-sdk-service-names``: Step Functions calls Timestream as ``aws-sdk:timestreamwrite``
   while boto3 calls it ``timestream-write``.
6. ``sync-integration``: for ``.sync`` tasks (``glue:startJobRun.sync``) moto's
   ``StateTaskServiceCallback._eval_integration_pattern`` ends with
   ``callback_endpoint.interrupt_all()`` on an endpoint that only ``.waitForTaskToken`` tasks
   have, so every ``.sync`` task fails with a States.Runtime error. The ``.sync`` path is
   evaluated here without the callback endpoint; other patterns go to moto unchanged.
7. ``map-tolerated-failures``: moto reads ``ToleratedFailurePercentage``/``Count`` of a
   Distributed Map but does not apply them, and a failed item silently becomes a ``null``
   result, so the Map succeeds whatever fails. Here failed items are counted and the Map
   fails with ``States.ExceedToleratedFailureThreshold`` when a threshold the definition sets
   (> 0) is exceeded (with none set, any failure fails it, as on AWS); a failed item's
   result is its ``{"Error", "Cause"}``.
8. ``inline-map-states-errors``: when an iteration of an inline Map fails with a ``States.*``
   error (``States.TaskFailed`` from a failed Glue job run, ``States.Timeout``), moto
   re-raises it as a ``CustomErrorName``, which refuses the ``States.`` prefix, so the
   run fails with ``States.Runtime`` and the real error and cause are lost. Here a
   ``States.*`` name becomes the ``StatesErrorName`` it is.
5. ``asl-number-literals``: moto's ASL grammar takes ``ToleratedFailurePercentage`` only as a
   decimal (``10.0``); AWS also accepts an integer (``10``, which is what a template
   substitution yields). The definition is normalised before moto parses it.

Each patch checks that what it replaces still exists with the signature it expects and
raises ``PatchBroken`` naming the moto symbol otherwise; tests/unit/test_patches.py exercises
each one, so a moto upgrade that breaks one fails loudly.
"""

from __future__ import annotations

import csv
import importlib.util
import inspect
import io
import json
import logging
import sys
import threading
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import IO, Any

import boto3
import moto
from moto.awslambda.models import LambdaFunction
from moto.glue.models import FakeJob, FakeJobRun
from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    distributed_iteration_component as distributed,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    iteration_worker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
    distributed_item_processor_worker as distributed_worker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job import (
    JobClosed,
    JobPool,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service,
    state_task_service_callback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
    ResourceCondition,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackOutcomeTimedOut,
    CallbackTimeoutError,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded, ProgramError
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.timestreamwrite.models import TimestreamWriteBackend
from moto.timestreamwrite.responses import TimestreamWriteResponse

from phenolake.config import using_environment

StateTaskService = state_task_service.StateTaskService
StateTaskServiceCallback = state_task_service_callback.StateTaskServiceCallback
MOTO_VERSION = moto.__version__


class PatchBroken(RuntimeError):
    """moto changed under a patch; the message names the symbol and what to update."""


def _expect(owner: Any, name: str, parameters: list[str]) -> Callable[..., Any]:
    target = getattr(owner, name, None)
    if target is None:
        raise PatchBroken(
            f"moto {MOTO_VERSION}: {owner.__name__}.{name} is gone; "
            "update phenolake_local/patches.py"
        )
    if isinstance(target, property) or getattr(target, "_phenolake", False):
        return target
    found = list(inspect.signature(target).parameters)
    if found[: len(parameters)] != parameters:
        raise PatchBroken(
            f"moto {MOTO_VERSION}: {owner.__name__}.{name}{tuple(found)} no longer takes "
            f"{tuple(parameters)}; update phenolake_local/patches.py"
        )
    return target


# ---------------------------------------------------------------------------- log routing


class _StdoutRouter(io.TextIOBase):
    """Sends what a handler prints to its log file; everything else to the real stdout."""

    def __init__(self) -> None:
        self.target: ContextVar[IO[str] | None] = ContextVar("phenolake_log_target", default=None)
        self.fallback: IO[str] = sys.__stdout__ or sys.stdout

    def write(self, text: str) -> int:
        target = self.target.get()
        if target is not None:
            return target.write(text)
        return self.fallback.write(text)

    def flush(self) -> None:
        target = self.target.get()
        (target or self.fallback).flush()

    def install(self) -> None:
        if sys.stdout is not self:
            self.fallback = sys.stdout
            sys.stdout = self


ROUTER = _StdoutRouter()


# ---------------------------------------------------------------------------- lambda-invoke


@dataclass
class LocalFunction:
    name: str
    arn: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    timeout: int = 300
    memory: int = 1024


@dataclass
class LocalContext:
    """The parts of the Lambda context object Powertools and handlers read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout * 1000


class FunctionRegistry:
    """The functions of the deployed template, by name, with their handlers loaded once."""

    def __init__(self) -> None:
        self.functions: dict[str, LocalFunction] = {}
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._lock = threading.Lock()
        self.log_dir: Path | None = None
        self.invocations: list[tuple[str, bool]] = []

    def register(self, function: LocalFunction) -> None:
        self.functions[function.name] = function

    def handler(self, function: LocalFunction) -> Callable[..., Any]:
        with self._lock:
            if function.name not in self._handlers:
                module_name, _, attribute = function.handler.rpartition(".")
                path = function.code_dir / (module_name.replace(".", "/") + ".py")
                spec = importlib.util.spec_from_file_location(
                    f"phenolake_fn_{function.name.replace('-', '_')}", path
                )
                if spec is None or spec.loader is None:
                    raise FileNotFoundError(f"handler module not found: {path}")
                module: ModuleType = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                self._handlers[function.name] = getattr(module, attribute)
            return self._handlers[function.name]

    @contextmanager
    def log_to(self, function: LocalFunction) -> Iterator[None]:
        if self.log_dir is None:
            yield
            return
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{function.name}.log").open("a") as log_file:
            token = ROUTER.target.set(log_file)
            try:
                yield
            finally:
                ROUTER.target.reset(token)

    def invoke(self, function: LocalFunction, payload: bytes) -> tuple[bytes, bool]:
        event = json.loads(payload or b"{}")
        context = LocalContext(function.name, function.arn, function.memory, function.timeout)
        ROUTER.install()
        try:
            handler = self.handler(function)
            with self.log_to(function), using_environment(function.environment):
                result = handler(event, context)
            self.invocations.append((function.name, True))
            return json.dumps(result, default=str).encode(), False
        except Exception as exc:  # the Lambda runtime turns any exception into a function error
            self.invocations.append((function.name, False))
            with self.log_to(function):
                print(
                    json.dumps(
                        {"level": "ERROR", "message": "unhandled", "error": traceback.format_exc()}
                    )
                )
            error = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": traceback.format_exception(exc)[-3:],
            }
            return json.dumps(error).encode(), True


REGISTRY = FunctionRegistry()


def _patch_lambda_invoke() -> None:
    original = _expect(
        LambdaFunction, "invoke", ["self", "body", "request_headers", "response_headers"]
    )
    if getattr(original, "_phenolake", False):
        return

    def invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> Any:
        function = REGISTRY.functions.get(self.function_name)
        if function is None:
            return original(self, body, request_headers, response_headers)
        payload, failed = REGISTRY.invoke(
            function, body if isinstance(body, bytes) else (body or "").encode()
        )
        if failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload

    invoke._phenolake = True  # type: ignore[attr-defined]
    LambdaFunction.invoke = invoke  # type: ignore[method-assign]


# ---------------------------------------------------------------------------- glue-job-run

GlueRunner = Callable[[str, str, dict[str, str]], None]
"""(job name, script S3 URI, run arguments) -> None; raises on failure."""

_GLUE_RUNNER: list[GlueRunner] = []
_GLUE_LOCK = threading.Lock()


def set_glue_runner(runner: GlueRunner) -> None:
    _GLUE_RUNNER[:] = [runner]


def _patch_glue_job_run() -> None:
    original = _expect(FakeJob, "start_job_run", ["self", "allocated_capacity", "max_capacity"])
    _expect(FakeJobRun, "as_dict", ["self"])
    _expect(FakeJobRun, "status", [])
    if getattr(original, "_phenolake", False):
        return

    def start_job_run(self: FakeJob, **kwargs: Any) -> str:
        run_id = original(self, **kwargs)
        job_run = next(r for r in self.job_runs if r.job_run_id == run_id)
        if not _GLUE_RUNNER:
            return run_id
        script = self.command["ScriptLocation"]
        with _GLUE_LOCK:  # one local Spark job at a time: the machine has two cores
            try:
                _GLUE_RUNNER[0](self.name, script, dict(job_run.arguments or {}))
                job_run.phenolake_state = ("SUCCEEDED", "")
            except Exception as exc:
                # a job's own failure reads as Glue reports it ("ModuleNotFoundError: ...")
                message = getattr(exc, "error_message", None) or (
                    f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                )
                job_run.phenolake_state = ("FAILED", message)
        return run_id

    original_status = FakeJobRun.status
    original_as_dict = FakeJobRun.as_dict

    def status(self: FakeJobRun) -> str | None:
        state = getattr(self, "phenolake_state", None)
        return state[0] if state else original_status.fget(self)  # type: ignore[union-attr]

    def as_dict(self: FakeJobRun) -> dict[str, Any]:
        described = original_as_dict(self)
        state = getattr(self, "phenolake_state", None)
        if state:
            described["JobRunState"] = state[0]
            described["GlueVersion"] = "5.1"
            if state[1]:
                described["ErrorMessage"] = state[1]
        return described

    start_job_run._phenolake = True  # type: ignore[attr-defined]
    FakeJob.start_job_run = start_job_run  # type: ignore[method-assign]
    FakeJobRun.status = property(status)  # type: ignore[assignment,method-assign]
    FakeJobRun.as_dict = as_dict  # type: ignore[method-assign]


# ---------------------------------------------------------------------------- timestream-batch-load


@dataclass
class BatchLoadTask:
    task_id: str
    request: dict[str, Any]
    status: str = "CREATED"
    report: dict[str, int] = field(default_factory=dict)
    error: str = ""

    def describe(self) -> dict[str, Any]:
        described = {
            "TaskId": self.task_id,
            "TaskStatus": self.status,
            "DataSourceConfiguration": self.request["DataSourceConfiguration"],
            "ProgressReport": self.report,
            "ReportConfiguration": self.request.get("ReportConfiguration", {}),
            "DataModelConfiguration": self.request.get("DataModelConfiguration", {}),
            "TargetDatabaseName": self.request["TargetDatabaseName"],
            "TargetTableName": self.request["TargetTableName"],
        }
        if self.error:
            described["ErrorMessage"] = self.error
        return described


def _batch_loads(backend: TimestreamWriteBackend) -> dict[str, BatchLoadTask]:
    if not hasattr(backend, "phenolake_batch_loads"):
        backend.phenolake_batch_loads = {}  # type: ignore[attr-defined]
    return backend.phenolake_batch_loads  # type: ignore[attr-defined]


def _records_from_csv(text: str, model: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    mapping = model["MultiMeasureMappings"]
    records, failures = [], 0
    for row in csv.DictReader(io.StringIO(text)):
        try:
            measures = [
                {
                    "Name": m.get("TargetMultiMeasureAttributeName", m["SourceColumn"]),
                    "Value": str(float(row[m["SourceColumn"]])),
                    "Type": m.get("MeasureValueType", "DOUBLE"),
                }
                for m in mapping["MultiMeasureAttributeMappings"]
                if row.get(m["SourceColumn"], "") != ""
            ]
            records.append(
                {
                    "Dimensions": [
                        {"Name": d["DestinationColumn"], "Value": row[d["SourceColumn"]]}
                        for d in model.get("DimensionMappings", [])
                    ],
                    "MeasureName": mapping["TargetMultiMeasureName"],
                    "MeasureValueType": "MULTI",
                    "MeasureValues": measures,
                    "Time": str(int(float(row[model["TimeColumn"]]))),
                    "TimeUnit": model.get("TimeUnit", "MILLISECONDS"),
                }
            )
        except (KeyError, ValueError):
            failures += 1
    return records, failures


def _run_batch_load(task: BatchLoadTask, backend: TimestreamWriteBackend) -> None:
    request = task.request
    s3 = boto3.client("s3", region_name=backend.region_name)
    source = request["DataSourceConfiguration"]["DataSourceS3Configuration"]
    model = request["DataModelConfiguration"]["DataModel"]
    ingested = parse_failures = files = size = 0
    try:
        table = backend.describe_table(request["TargetDatabaseName"], request["TargetTableName"])
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=source["BucketName"], Prefix=source.get("ObjectKeyPrefix", "")
        )
        for page in pages:
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=source["BucketName"], Key=obj["Key"])["Body"].read()
                records, failures = _records_from_csv(body.decode("utf-8"), model)
                table.write_records(records)
                ingested += len(records)
                parse_failures += failures
                files += 1
                size += len(body)
        task.status = "SUCCEEDED" if parse_failures == 0 else "FAILED"
        if parse_failures:
            task.error = f"{parse_failures} row(s) could not be parsed"
    except Exception as exc:
        task.status = "FAILED"
        task.error = f"{type(exc).__name__}: {exc}"
    task.report = {
        "RecordsProcessed": ingested + parse_failures,
        "RecordsIngested": ingested,
        "ParseFailures": parse_failures,
        "RecordIngestionFailures": 0,
        "FileFailures": 0,
        "BytesMetered": size,
    }
    report = request.get("ReportConfiguration", {}).get("ReportS3Configuration")
    if report and task.status == "FAILED":
        s3.put_object(
            Bucket=report["BucketName"],
            Key=f"{report.get('ObjectKeyPrefix', '').rstrip('/')}/{task.task_id}/errors.json",
            Body=json.dumps({"TaskId": task.task_id, "error": task.error, **task.report}).encode(),
        )


def _patch_timestream_batch_load() -> None:
    _expect(TimestreamWriteBackend, "describe_table", ["self", "database_name", "table_name"])
    if getattr(TimestreamWriteResponse, "_phenolake", False):
        return

    def create(self: TimestreamWriteResponse) -> str:
        request = json.loads(self.body)
        backend = self.timestreamwrite_backend
        tasks = _batch_loads(backend)
        token = request.get("ClientToken") or str(uuid.uuid4())
        existing = next((t for t in tasks.values() if t.request.get("ClientToken") == token), None)
        if existing is None:
            existing = BatchLoadTask(task_id=uuid.uuid4().hex[:26].upper(), request=request)
            tasks[existing.task_id] = existing
            _run_batch_load(existing, backend)
        return json.dumps({"TaskId": existing.task_id})

    def describe(self: TimestreamWriteResponse) -> str:
        task_id = json.loads(self.body)["TaskId"]
        task = _batch_loads(self.timestreamwrite_backend).get(task_id)
        if task is None:
            from moto.timestreamwrite.exceptions import ResourceNotFound

            raise ResourceNotFound(f"batch load task {task_id} not found")
        return json.dumps({"BatchLoadTaskDescription": task.describe()})

    def list_tasks(self: TimestreamWriteResponse) -> str:
        tasks = _batch_loads(self.timestreamwrite_backend).values()
        return json.dumps(
            {
                "BatchLoadTasks": [
                    {
                        "TaskId": t.task_id,
                        "TaskStatus": t.status,
                        "DatabaseName": t.request["TargetDatabaseName"],
                        "TableName": t.request["TargetTableName"],
                    }
                    for t in tasks
                ]
            }
        )

    TimestreamWriteResponse.create_batch_load_task = create  # type: ignore[attr-defined]
    TimestreamWriteResponse.describe_batch_load_task = describe  # type: ignore[attr-defined]
    TimestreamWriteResponse.list_batch_load_tasks = list_tasks  # type: ignore[attr-defined]
    TimestreamWriteResponse._phenolake = True  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- aws-sdk-service-names

SDK_SERVICE_NAMES = {"timestreamwrite": "timestream-write", "timestreamquery": "timestream-query"}


def _patch_sdk_service_names() -> None:
    overrides = getattr(StateTaskService, "_SERVICE_NAME_SFN_TO_BOTO_OVERRIDES", None)
    if not isinstance(overrides, dict):
        raise PatchBroken(
            f"moto {MOTO_VERSION}: StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES is gone; "
            "update phenolake_local/patches.py"
        )
    overrides.update(SDK_SERVICE_NAMES)


# ---------------------------------------------------------------------------- asl-number-literals

DECIMAL_ONLY_FIELDS = ("ToleratedFailurePercentage",)


def normalise_numbers(definition: str) -> str:
    """Integers in decimal-only fields become decimals (``10`` -> ``10.0``)."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: float(v) if k in DECIMAL_ONLY_FIELDS and isinstance(v, int) else walk(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    try:
        return json.dumps(walk(json.loads(definition)))
    except ValueError:
        return definition


def _patch_asl_number_literals() -> None:
    original = _expect(AmazonStateLanguageParser, "parse", ["definition"])
    if getattr(original, "_phenolake", False):
        return

    def parse(definition: str) -> Any:
        return original(normalise_numbers(definition))

    parse._phenolake = True  # type: ignore[attr-defined]
    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign,assignment]


# ---------------------------------------------------------------------------- sync-integration


def _epoch_millis(value: Any) -> Any:
    """Step Functions outputs timestamps of service responses as epoch milliseconds; moto
    would keep boto3's datetime objects, which its execution output cannot serialise."""
    if isinstance(value, dict):
        return {k: _epoch_millis(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_epoch_millis(v) for v in value]
    if hasattr(value, "timestamp") and hasattr(value, "isoformat"):
        return int(value.timestamp() * 1000)
    return value


def _patch_sync_integration() -> None:
    original = _expect(
        StateTaskServiceCallback,
        "_eval_integration_pattern",
        ["self", "env", "resource_runtime_part", "normalised_parameters", "state_credentials"],
    )
    _expect(
        StateTaskServiceCallback, "_eval_sync", ["self", "env", "sync_resolver", "timeout_seconds"]
    )
    _expect(
        StateTaskServiceCallback, "_build_sync_resolver", ["self", "env", "resource_runtime_part"]
    )
    if getattr(original, "_phenolake", False):
        return

    def eval_integration_pattern(
        self: StateTaskServiceCallback,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict,
        state_credentials: Any,
    ) -> None:
        if self.resource.condition != ResourceCondition.Sync:
            return original(
                self, env, resource_runtime_part, normalised_parameters, state_credentials
            )
        task_output = env.stack.pop()
        self.timeout.eval(env=env)
        timeout_seconds = env.stack.pop()
        env.stack.append(task_output)
        resolver = self._build_sync_resolver(
            env=env,
            resource_runtime_part=resource_runtime_part,
            normalised_parameters=normalised_parameters,
            state_credentials=state_credentials,
        )
        outcome = self._eval_sync(
            env=env,
            sync_resolver=resolver,
            timeout_seconds=timeout_seconds,
            callback_endpoint=None,
            heartbeat_endpoint=None,
        )
        if isinstance(outcome, CallbackOutcomeTimedOut):
            raise CallbackTimeoutError()
        if isinstance(outcome, Exception):
            raise outcome
        env.stack.append(_epoch_millis(outcome))
        return None

    eval_integration_pattern._phenolake = True  # type: ignore[attr-defined]
    StateTaskServiceCallback._eval_integration_pattern = eval_integration_pattern  # type: ignore[method-assign]


# ------------------------------------------------------------------- map-tolerated-failures


@dataclass(frozen=True)
class ItemFailure:
    """A failed Distributed Map item (not an Exception, so moto's worker takes the next item)."""

    error: str
    cause: str


class TolerantJobPool(JobPool):
    """A JobPool that lets failed items close as results until a threshold is exceeded."""

    def __init__(self, job_program: Any, job_inputs: list[Any], count: int, percentage: float):
        super().__init__(job_program=job_program, job_inputs=job_inputs)
        self.tolerated_count = count
        self.tolerated_percentage = percentage
        self.failures = 0
        self.exceeded = False

    def _over(self) -> bool:
        if self.tolerated_count <= 0 and self.tolerated_percentage <= 0:
            return True
        share = 100.0 * self.failures / max(self._jobs_number, 1)
        return (0 < self.tolerated_count < self.failures) or (0 < self.tolerated_percentage < share)

    def close_job(self, job: Any) -> None:
        failure = job.job_output
        if not isinstance(failure, ItemFailure):
            return super().close_job(job)
        with self._mutex:
            if self._is_terminated():
                return None
            self.failures += 1
            if self._over():
                self.exceeded = True
                self._worker_exception = RuntimeError(failure.cause)
            else:
                result = {"Error": failure.error, "Cause": failure.cause}
                self._closed_jobs.add(JobClosed(job_index=job.job_index, job_output=result))
            self._notify_on_termination()
        return None


def _patch_map_tolerated_failures() -> None:
    worker = distributed_worker.DistributedItemProcessorWorker
    original_eval_job = _expect(worker, "_eval_job", ["self", "env", "job"])
    if not getattr(original_eval_job, "_phenolake", False):

        def eval_job(self: Any, env: Any, job: Any) -> None:
            original_eval_job(self, env, job)
            state = env.program_state()
            if job.job_output is None and not isinstance(state, ProgramEnded):
                details = (state.error or {}) if isinstance(state, ProgramError) else {}
                job.job_output = ItemFailure(
                    details.get("error", "States.TaskFailed"),
                    details.get("cause", f"item {job.job_index} did not complete"),
                )

        eval_job._phenolake = True  # type: ignore[attr-defined]
        worker._eval_job = eval_job  # type: ignore[method-assign]
    component = distributed.DistributedIterationComponent
    original = _expect(component, "_map_run", ["self", "env", "eval_input"])
    _expect(component, "_launch_worker", ["self", "env", "eval_input", "job_pool"])
    if getattr(original, "_phenolake", False):
        return

    def map_run(self: Any, env: Any, eval_input: Any) -> None:
        items: list[Any] = env.stack.pop()
        pool = TolerantJobPool(
            self._get_iteration_program(),
            items,
            int(eval_input.tolerated_failure_count or 0),
            float(eval_input.tolerated_failure_percentage or 0.0),
        )
        concurrency = eval_input.map_run_record.max_concurrency
        workers = (
            len(items) if concurrency == distributed.DEFAULT_MAX_CONCURRENCY_VALUE else concurrency
        )
        for _ in range(min(workers, max(len(items), 1))):
            self._launch_worker(env=env, eval_input=eval_input, job_pool=pool)
        pool.await_jobs()
        if pool.exceeded:
            cause = (
                f"{pool.failures} of {len(items)} items failed, more than the Map tolerates "
                f"(ToleratedFailurePercentage {pool.tolerated_percentage:g}, "
                f"ToleratedFailureCount {pool.tolerated_count})"
            )
            raise FailureEventException(
                failure_event=FailureEvent(
                    env=env,
                    error_name=StatesErrorName(
                        typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold
                    ),
                    event_type=HistoryEventType.ExecutionFailed,
                    event_details=EventDetails(
                        executionFailedEventDetails=ExecutionFailedEventDetails(
                            error=StatesErrorNameType.StatesExceedToleratedFailureThreshold.to_name(),
                            cause=cause,
                        )
                    ),
                )
            )
        if pool.get_worker_exception() is not None:
            raise pool.get_worker_exception()
        env.stack.append([closed.job_output for closed in pool.get_closed_jobs()])

    map_run._phenolake = True  # type: ignore[attr-defined]
    component._map_run = map_run  # type: ignore[method-assign]


# ------------------------------------------------------------------ inline-map-states-errors


def _error_name(error_name: str) -> Any:
    """A failed iteration's error as moto's error-name object, ``States.*`` included."""
    if error_name.startswith("States."):
        return StatesErrorName(typ=StatesErrorNameType.from_name(error_name))
    return CustomErrorName(error_name=error_name)


def _patch_inline_map_states_errors() -> None:
    module = iteration_worker
    found = getattr(module, "CustomErrorName", None)
    if found is _error_name:
        return
    if found is not CustomErrorName:
        raise PatchBroken(
            f"moto {MOTO_VERSION}: {module.__name__} no longer builds CustomErrorName; "
            "update phenolake_local/patches.py"
        )
    _expect(module.IterationWorker, "_eval_job", ["self", "env", "job"])
    module.CustomErrorName = _error_name  # type: ignore[attr-defined]


PATCHES: dict[str, Callable[[], None]] = {
    "lambda-invoke": _patch_lambda_invoke,
    "glue-job-run": _patch_glue_job_run,
    "timestream-batch-load": _patch_timestream_batch_load,
    "aws-sdk-service-names": _patch_sdk_service_names,
    "asl-number-literals": _patch_asl_number_literals,
    "sync-integration": _patch_sync_integration,
    "map-tolerated-failures": _patch_map_tolerated_failures,
    "inline-map-states-errors": _patch_inline_map_states_errors,
}


def apply() -> list[str]:
    """Apply every patch (idempotent); returns their names."""
    # moto warns per Map that it does not evaluate ToleratedFailurePercentage; the
    # map-tolerated-failures patch does, so the warning no longer holds.
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.ERROR)
    # Handlers running at once on threads share Powertools' metric set in-process (in Lambda
    # each invocation has the process to itself): one flushes, the other finds it empty.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    for patch in PATCHES.values():
        patch()
    return list(PATCHES)
