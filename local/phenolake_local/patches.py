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
   the run ends SUCCEEDED or FAILED with the error message, as ``GetJobRun`` reports, with
   its ``StartedOn``, ``CompletedOn`` and ``ExecutionTime`` (seconds) as measured.
3. ``timestream-batch-load``: moto has no ``CreateBatchLoadTask``/``DescribeBatchLoadTask``.
   Here Create checks what AWS refuses at once (``ValidationException``,
   ``ResourceNotFoundException``) and returns a CREATED task; a thread then takes it
   IN_PROGRESS, reads the CSV files from S3, applies the data-model mapping, writes
   multi-measure records into moto's Timestream table and ends it SUCCEEDED or FAILED, with
   the documented error report (taskId, taskErrors, fileErrors). The same ``ClientToken``
   returns the same task without loading twice.
4. ``aws-sdk-service-names``: Step Functions calls Timestream as ``aws-sdk:timestreamwrite``
   while boto3 calls it ``timestream-write``; its errors are named ``TimestreamWrite.<error>``
   (moto: ``timestreamwrite.<error>``, which the definition's Retry would never match).
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
   result is its ``{"Error", "Cause"}``. moto's ``_map_run`` itself runs, on a JobPool
   subclass that moto's own ``close_job`` serves (no copy of moto's code).
8. ``inline-map-states-errors``: when an iteration of an inline Map fails with a ``States.*``
   error (``States.TaskFailed`` from a failed Glue job run, ``States.Timeout``), moto
   re-raises it as a ``CustomErrorName``, which refuses the ``States.`` prefix, so the
   run fails with ``States.Runtime`` and the real error and cause are lost. Here a
   ``States.*`` name becomes the ``StatesErrorName`` it is.
9. ``iam-enforcement``: every call a role signs is decided by the template's policies
   (``iam.py``): moto's request authorisation hook, DeleteObjects per key, boto3 clients
   signing as the role the calling code runs under, executor threads in their submitter's
   context. A Lambda invocation runs its handler as the function's role.
5. ``asl-number-literals``: moto's ASL grammar takes ``ToleratedFailurePercentage`` only as a
   decimal (``10.0``); AWS also accepts an integer (``10``, which is what a template
   substitution yields). The definition is normalised before moto parses it.

9. ``lambda-limits``: Lambda's 6 MB request and response, the function's ``Timeout``
   (``Sandbox.Timedout``) and ``MemorySize`` (``Runtime.OutOfMemory``, from the peak memory
   the handler measured (``phenolake.memory``: its module's footprint plus its growth above
   the invocation's start) while the invocation runs alone), a ``REPORT`` line per
   invocation with that figure, and ``CreateFunction``'s ranges for both; moto checks none of
   them. The ``AWS_LAMBDA_*`` variables the runtime sets are in the handler's environment.
10. ``map-result-writer``: moto's ResultWriter writes an empty manifest and evaluates its
    ``Parameters`` against the results; here it exports every item as AWS does
    (``SUCCEEDED_0.json``, ``FAILED_0.json``, ``manifest.json``), paths from the Map's input.
11. ``state-data-limits``: Step Functions' 256 KiB on state inputs (after ``Parameters``
    too), outputs, task results and Map/Parallel results before ``ResultSelector``, counted
    as compact UTF-8 JSON (moto: outputs only, with spaces, ``<``), and
    ``States.DataLimitExceeded`` out of ``States.ALL``'s reach, as on AWS.
12. ``s3-eventbridge``: moto sends a bucket's EventBridge notifications to every rule of
    every bus (S3 sends to the default bus only), with ``time`` as epoch seconds, ``eTag``
    (AWS: ``etag``), one fixed ``sequencer``, ``reason`` ``ObjectCreated`` and no
    ``deletion-type``; and moto's rules have no Lambda target. Here the event has AWS's shape
    (time of the object's LastModified, increasing sequencers, AWS's reasons; no ``Object
    Tags Added`` for a PutObject without tags, which moto sends), goes to the
    default bus's enabled rules whose pattern matches, and a Lambda target is invoked
    in-process (``lambda-invoke``: its handler, under its role) when the function's resource
    policy lets ``events.amazonaws.com`` invoke it from that rule; without that permission
    the delivery is refused as an AccessDenied of the run. Delivery is synchronous (AWS's is
    asynchronous, at least once): when a PutObject returns, its event has been recorded.

13. ``athena-iceberg``: moto's Athena records a query execution, runs nothing and reports it
    SUCCEEDED, and moto's Step Functions has no Athena integration (``athena`` is one of its
    unsupported services: ``.waitForTaskToken`` only). Here ``StartQueryExecution`` runs the
    statement with the caller's role (``athena_iceberg.py``: the DeleteParticipant machine's
    statements on Iceberg tables, anything else refused), and the execution ends SUCCEEDED
    or FAILED with the reason in ``Status.StateChangeReason`` (GetQueryExecution), its result
    rows in GetQueryResults; the Step Functions integration does
    ``athena:startQueryExecution.sync`` (start, then GetQueryExecution until it ends; a
    failed query fails the task with ``States.TaskFailed``, the QueryExecution as the cause)
    and the request-response ``getQueryResults``/``getQueryExecution``/``stopQueryExecution``.
14. ``dynamodb-threads``: moto's DynamoDB tables are plain dicts, so a Query iterating a
    table while another Map item's thread writes to it fails with "dictionary changed size
    during iteration" (seen: Unzip items querying the ledger while others clear pending
    items). DynamoDB itself serves concurrent calls; here each call of the backend holds one
    lock.

15. ``dynamodb-key-query``: moto's Query on a table's partition key sorts every item of the
    table and then keeps the partition's (``Table.all_items``), so each ledger Query grew with
    the study's age and, under ``dynamodb-threads``' lock, held up every other call (at day 33
    of the growth bench they were a fifth of the run). DynamoDB reads only the partition; here
    a Query without an index sees only the items of its partition key. Index queries are
    unchanged.

16. ``s3-prefix-listing``: moto's ListObjects with a prefix visits every key of the bucket
    (it copies the key store and looks up each key's latest version), so each listing a Lambda
    made grew with the lake's age (Convert lists once per object). S3 reads only the prefix's
    keys; here only the keys under the prefix are looked up. The answer is moto's own: the
    same function runs on the bucket seen through those keys.

Failing loudly: ``apply()`` refuses any moto but the release the patches were written for
(``MOTO_CHECKED``, the one requirements.lock pins), in one line saying which was found. Each
patch checks that what it replaces still exists with the parameters it passes, and that
every moto attribute it reads or updates (private ones included: ``_SERVICE_ERROR_NAMES``,
``JobPool``'s ``close_job`` and ``__init__``, the fields of ``FakeJobRun``...) is there and
of the type it uses, raising ``PatchBroken`` naming the moto symbol otherwise. Each patch has
a behaviour test on moto (``BEHAVIOUR_TESTS`` in tests/unit/test_patches.py names them), so
a moto upgrade that changes what a patch relies on fails that test by name.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import hashlib
import importlib.util
import inspect
import io
import json
import logging
import os
import subprocess
import sys
import threading
import time
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
from moto.athena.models import AthenaBackend, Execution, QueryResults
from moto.athena.responses import AthenaResponse
from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.exceptions import ValidationException as LambdaValidationException
from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.core.exceptions import JsonRESTError
from moto.core.utils import utcnow
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table as DynamoTable
from moto.glue.models import FakeJob, FakeJobRun
from moto.s3 import notifications as s3_notifications
from moto.s3.models import FakeKey, FakeTableStorageBucket, S3Backend
from moto.s3.utils import _VersionedKeyStore
from moto.stepfunctions.parser.api import (
    ExecutionFailedEventDetails,
    HistoryEventType,
    TaskFailedEventDetails,
)
from moto.stepfunctions.parser.asl.component import eval_component
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import (
    ErrorEqualsDecl,
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
from moto.stepfunctions.parser.asl.component.state import state as state_module
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    distributed_iteration_component as distributed,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    iteration_worker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
    distributed_item_processor_worker as distributed_worker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.map_run_record import (  # noqa: E501
    MapRunRecord,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job import (
    Job,
    JobPool,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (  # noqa: E501
    resource_eval_s3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.result_writer_decl import (  # noqa: E501
    ResultWriter,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap
from moto.stepfunctions.parser.asl.component.state.exec.state_parallel.state_parallel import (
    StateParallel,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
    state_task_factory,
    state_task_lambda,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service,
    state_task_service_callback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as aws_sdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
    ResourceCondition,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackOutcomeTimedOut,
    CallbackTimeoutError,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded, ProgramError
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.timestreamwrite.exceptions import ResourceNotFound
from moto.timestreamwrite.models import TimestreamTable, TimestreamWriteBackend
from moto.timestreamwrite.responses import TimestreamWriteResponse

from phenolake import memory
from phenolake.config import using_environment
from phenolake_local import iam

StateTaskService = state_task_service.StateTaskService
StateTaskLambda = state_task_lambda.StateTaskLambda
ResourceEvalS3 = resource_eval_s3.ResourceEvalS3
CommonStateField = state_module.CommonStateField
StateTaskServiceCallback = state_task_service_callback.StateTaskServiceCallback
MOTO_VERSION = moto.__version__
MOTO_CHECKED = "5.2.5"
"""The moto release these patches were written for and read against, line by line; the one
requirements.lock and pyproject.toml pin (tests/unit/test_patches.py keeps the three equal)."""


class PatchBroken(RuntimeError):
    """moto changed under a patch; the message names the symbol and what to update."""


def _check_moto_version() -> None:
    """Another moto may keep every symbol and still change what a patch relies on (the
    copied moto logic, a private field's meaning), so the patches run only on the release
    they were checked against."""
    if MOTO_VERSION != MOTO_CHECKED:
        raise PatchBroken(
            f"moto {MOTO_VERSION} is installed but phenolake_local/patches.py was written for "
            f"moto {MOTO_CHECKED} (requirements.lock): re-check each patch against the moto "
            "code its docstring names, run tests/unit/test_patches.py, then set MOTO_CHECKED"
        )


def _label(owner: Any) -> str:
    return str(getattr(owner, "__name__", type(owner).__name__))


def _expect_attribute(owner: Any, name: str, kind: Any) -> Any:
    """A data attribute a patch reads or updates (a class's table, a module's function, a
    property): present and of the type the patch uses it as."""
    if not hasattr(owner, name):
        raise PatchBroken(
            f"moto {MOTO_VERSION}: {_label(owner)}.{name} is gone; "
            "update phenolake_local/patches.py"
        )
    value = getattr(owner, name)
    if not isinstance(value, kind):
        raise PatchBroken(
            f"moto {MOTO_VERSION}: {_label(owner)}.{name} is a {type(value).__name__}, not "
            f"{getattr(kind, '__name__', kind)}; update phenolake_local/patches.py"
        )
    return value


def _expect_fields(cls: type, names: list[str]) -> None:
    """Instance attributes a patch reads, as an ``__init__`` of the class (or a base) assigns
    them, or as class attributes: a renamed one would otherwise surface as an AttributeError
    in the middle of an execution."""
    assigned: set[str] = set()
    for klass in cls.__mro__:
        code = getattr(klass.__dict__.get("__init__"), "__code__", None)
        if code is not None:
            assigned.update(code.co_names)
    missing = [n for n in names if n not in assigned and not hasattr(cls, n)]
    if missing:
        raise PatchBroken(
            f"moto {MOTO_VERSION}: {cls.__name__} no longer sets {', '.join(missing)}; "
            "update phenolake_local/patches.py"
        )


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


_FOOTPRINT_PROBE = """
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
with open("/proc/self/statm") as statm:
    print(int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
"""
_FOOTPRINT_CACHE_LOCK = threading.Lock()


def _footprint_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "phenolake" / "footprints.json"


def init_footprint(function: LocalFunction) -> int | None:
    """What a Lambda sandbox of this function holds after its init phase: the resident size
    of a fresh interpreter (this one, with this ``sys.path``) once it has loaded the
    function's module. Here every handler shares one process whose modules are long
    loaded, so loading one here measures next to nothing. Measured once per module text and
    interpreter (a second or more), kept in ``~/.cache/phenolake/footprints.json``; None
    when the probe fails."""
    module = function.handler.rpartition(".")[0]
    path = function.code_dir / (module.replace(".", "/") + ".py")
    try:
        text = path.read_bytes()
    except OSError:
        return None
    key = hashlib.sha256(json.dumps([sys.executable, function.handler]).encode() + text).hexdigest()
    cache = _footprint_cache()
    with _FOOTPRINT_CACHE_LOCK:
        try:
            known = json.loads(cache.read_text())
        except (OSError, ValueError):
            known = {}
        if key in known:
            return int(known[key])
        environment = {
            **os.environ,
            **FunctionRegistry.lambda_environment(function),
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        }
        try:
            probe = subprocess.run(
                [sys.executable, "-c", _FOOTPRINT_PROBE, str(path)],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=function.code_dir,
                env=environment,
                check=True,
            )
            found = int(probe.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            return None
        known[key] = found
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(known, indent=0, sort_keys=True))
        os.replace(partial, cache)
        return found


#: Where an event delivery outside an execution logs (``FunctionRegistry.event_log_dir``).
_DELIVERY_LOG_DIR: ContextVar[Path | None] = ContextVar("phenolake_delivery_logs", default=None)


class FunctionRegistry:
    """The functions of the deployed template, by name, with their handlers loaded once."""

    def __init__(self) -> None:
        self.functions: dict[str, LocalFunction] = {}
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._lock = threading.Lock()
        self.log_dir: Path | None = None
        #: The logs of functions an event invokes while no execution runs (objects landed
        #: before a run starts): the embedded AWS sets ``<home>/logs/events``.
        self.event_log_dir: Path | None = None
        self.invocations: list[tuple[str, bool]] = []
        #: Resident growth of loading each function's module here, bytes.
        self.footprints: dict[str, int] = {}
        #: A fresh interpreter's resident bytes once it loaded the function's module (None:
        #: it could not be measured), the sandbox's share ``phenolake.memory`` counts in.
        self.init_footprints: dict[str, int | None] = {}
        self._footprint_lock = threading.Lock()

    def register(self, function: LocalFunction) -> None:
        """Deploy (or redeploy) a function: a name registered again loads its new handler."""
        with self._lock:
            self.functions[function.name] = function
            self._handlers.pop(function.name, None)

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
                before = memory.resident_bytes()
                spec.loader.exec_module(module)
                self.footprints[function.name] = max(memory.resident_bytes() - before, 0)
                self._handlers[function.name] = getattr(module, attribute)
            return self._handlers[function.name]

    def footprint(self, function: LocalFunction) -> int:
        """The function's module loaded here (its init phase), and what a sandbox holds once
        it is: a fresh interpreter's resident size after loading it (``init_footprint``), else
        what loading it here took; 0 when it does not load (the invocation then fails as
        Lambda's would)."""
        ROUTER.install()  # before the module loads: its loggers bind the stdout they find
        try:
            self.handler(function)
        except Exception:
            return 0
        with self._footprint_lock:
            if function.name not in self.init_footprints:
                self.init_footprints[function.name] = init_footprint(function)
        found = self.init_footprints[function.name]
        return found if found is not None else self.footprints.get(function.name, 0)

    @staticmethod
    def lambda_environment(function: LocalFunction) -> dict[str, str]:
        """The function's variables and those the Lambda runtime sets that a handler reads."""
        return {
            **function.environment,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        }

    @contextmanager
    def log_to(self, function: LocalFunction) -> Iterator[None]:
        log_dir = self.log_dir or _DELIVERY_LOG_DIR.get()
        if log_dir is None:
            yield
            return
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / f"{function.name}.log").open("a") as log_file:
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
            with (
                self.log_to(function),
                using_environment(self.lambda_environment(function)),
                iam.acting_as(iam.function_role(function.name)),
            ):
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
    _expect_fields(LambdaFunction, ["function_name"])
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
    _expect_attribute(FakeJobRun, "status", property)
    _expect_fields(FakeJob, ["job_runs", "command", "name"])
    _expect_fields(FakeJobRun, ["job_run_id", "arguments"])
    if getattr(original, "_phenolake", False):
        return

    def start_job_run(self: FakeJob, **kwargs: Any) -> str:
        run_id = original(self, **kwargs)
        job_run = next(r for r in self.job_runs if r.job_run_id == run_id)
        if not _GLUE_RUNNER:
            return run_id
        script = self.command["ScriptLocation"]
        with _GLUE_LOCK:  # one local Spark job at a time: the machine has two cores
            # the run's times as Glue gives them (moto: its creation, ExecutionTime 123)
            job_run.started_on = utcnow()
            began = time.monotonic()
            try:
                _GLUE_RUNNER[0](self.name, script, dict(job_run.arguments or {}))
                job_run.phenolake_state = ("SUCCEEDED", "")
            except Exception as exc:
                # a job's own failure reads as Glue reports it ("ModuleNotFoundError: ...")
                message = getattr(exc, "error_message", None) or (
                    f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                )
                job_run.phenolake_state = ("FAILED", message)
            job_run.phenolake_seconds = round(time.monotonic() - began)
            job_run.completed_on = job_run.modified_on = utcnow()
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
            described["ExecutionTime"] = getattr(self, "phenolake_seconds", 0)
            if state[1]:
                described["ErrorMessage"] = state[1]
        return described

    start_job_run._phenolake = True  # type: ignore[attr-defined]
    FakeJob.start_job_run = start_job_run  # type: ignore[method-assign]
    FakeJobRun.status = property(status)  # type: ignore[assignment,method-assign]
    FakeJobRun.as_dict = as_dict  # type: ignore[method-assign]


# ---------------------------------------------------------------------------- timestream-batch-load


class TimestreamValidation(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("com.amazonaws.timestream.v20181101#ValidationException", message)


@dataclass
class BatchLoadPace:
    """How long a task stays CREATED, then at least IN_PROGRESS: long enough that the state
    machine's Wait -> Describe loop goes round before the load ends, as it does on AWS."""

    queued: float = 0.3
    in_progress: float = 1.2


PACE = BatchLoadPace()
TIME_UNITS = ("MILLISECONDS", "SECONDS", "MICROSECONDS", "NANOSECONDS")


@dataclass
class BatchLoadTask:
    task_id: str
    request: dict[str, Any]
    status: str = "CREATED"
    report: dict[str, int] = field(
        default_factory=lambda: {
            "RecordsProcessed": 0,
            "RecordsIngested": 0,
            "ParseFailures": 0,
            "RecordIngestionFailures": 0,
            "FileFailures": 0,
            "BytesMetered": 0,
        }
    )
    error: str = ""
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    done: threading.Event = field(default_factory=threading.Event)

    def describe(self) -> dict[str, Any]:
        described = {
            "TaskId": self.task_id,
            "TaskStatus": self.status,
            "DataSourceConfiguration": self.request["DataSourceConfiguration"],
            "ProgressReport": dict(self.report),
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


def _records_from_csv(
    text: str, model: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, list[int]]]:
    """The records of one CSV file, and the line numbers (the header is line 1) of the rows
    that could not be read, by reason."""
    mapping = model["MultiMeasureMappings"]
    records: list[dict[str, Any]] = []
    failed: dict[str, list[int]] = {}
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        try:
            time_value = row[model["TimeColumn"]]
            if time_value in ("", None):
                raise KeyError(model["TimeColumn"])
            stamp = str(int(float(time_value)))
        except (KeyError, ValueError):
            failed.setdefault(
                f"The time column '{model['TimeColumn']}' is missing or not a number.", []
            ).append(line)
            continue
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
            dimensions = [
                {"Name": d["DestinationColumn"], "Value": row[d["SourceColumn"]]}
                for d in model.get("DimensionMappings", [])
            ]
        except (KeyError, ValueError, TypeError):
            failed.setdefault("A measure value or dimension could not be read.", []).append(line)
            continue
        records.append(
            {
                "Dimensions": dimensions,
                "MeasureName": mapping["TargetMultiMeasureName"],
                "MeasureValueType": "MULTI",
                "MeasureValues": measures,
                "Time": stamp,
                "TimeUnit": model.get("TimeUnit", "MILLISECONDS"),
            }
        )
    return records, failed


def line_ranges(lines: list[int]) -> list[list[int]]:
    """``[2, 3, 4, 7]`` -> ``[[2, 4], [7, 7]]``, the error report's ``lineRanges``."""
    ranges: list[list[int]] = []
    for line in sorted(lines):
        if ranges and line == ranges[-1][1] + 1:
            ranges[-1][1] = line
        else:
            ranges.append([line, line])
    return ranges


def error_report(task_id: str, task_errors: list[str], files: dict[str, dict]) -> dict[str, Any]:
    """The batch load error report in the documented layout."""
    return {
        "taskId": task_id,
        "taskErrors": [{"reason": reason} for reason in task_errors],
        "fileErrors": [
            {
                "fileName": name,
                "errors": [
                    {"reason": reason, "lineRanges": line_ranges(lines)}
                    for reason, lines in sorted(failed.items())
                ],
            }
            for name, failed in files.items()
            if failed
        ],
    }


def _check_batch_load(request: dict[str, Any], backend: TimestreamWriteBackend) -> None:
    """What CreateBatchLoadTask itself refuses, raised as AWS raises it (no task is made)."""
    source = request.get("DataSourceConfiguration", {})
    s3_source = source.get("DataSourceS3Configuration", {})
    if source.get("DataFormat") != "CSV":
        raise TimestreamValidation(f"DataFormat must be CSV, got {source.get('DataFormat')!r}")
    model = request.get("DataModelConfiguration", {}).get("DataModel")
    if not model or not model.get("TimeColumn"):
        raise TimestreamValidation("DataModelConfiguration.DataModel.TimeColumn is required")
    if model.get("TimeUnit", "MILLISECONDS") not in TIME_UNITS:
        raise TimestreamValidation(f"TimeUnit must be one of {', '.join(TIME_UNITS)}")
    if not model.get("MultiMeasureMappings") and not model.get("MixedMeasureMappings"):
        raise TimestreamValidation(
            "the data model needs MultiMeasureMappings or MixedMeasureMappings"
        )
    report = request.get("ReportConfiguration", {}).get("ReportS3Configuration")
    if not report:
        raise TimestreamValidation("ReportConfiguration.ReportS3Configuration is required")
    if report.get("EncryptionOption") == "SSE_KMS" and not report.get("KmsKeyId"):
        raise TimestreamValidation("EncryptionOption SSE_KMS needs a KmsKeyId")
    backend.describe_table(request["TargetDatabaseName"], request["TargetTableName"])
    s3 = boto3.client("s3", region_name=backend.region_name)
    for role, bucket in (
        ("DataSourceS3Configuration", s3_source.get("BucketName", "")),
        ("ReportS3Configuration", report.get("BucketName", "")),
    ):
        try:
            s3.head_bucket(Bucket=bucket)
        except Exception:
            raise ResourceNotFound(f"{role}: the bucket {bucket} does not exist.") from None


def _run_batch_load(task: BatchLoadTask, backend: TimestreamWriteBackend) -> None:
    """The load, off the request thread: CREATED -> IN_PROGRESS -> SUCCEEDED or FAILED."""
    time.sleep(PACE.queued)
    task.status, task.updated = "IN_PROGRESS", time.time()
    began = time.monotonic()
    request = task.request
    s3 = boto3.client("s3", region_name=backend.region_name)
    source = request["DataSourceConfiguration"]["DataSourceS3Configuration"]
    model = request["DataModelConfiguration"]["DataModel"]
    task_errors: list[str] = []
    files: dict[str, dict[str, list[int]]] = {}
    try:
        table = backend.describe_table(request["TargetDatabaseName"], request["TargetTableName"])
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=source["BucketName"], Prefix=source.get("ObjectKeyPrefix", "")
        )
        for page in pages:
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=source["BucketName"], Key=obj["Key"])["Body"].read()
                try:
                    records, failed = _records_from_csv(body.decode("utf-8"), model)
                except UnicodeDecodeError:
                    files[obj["Key"]] = {"The file is not UTF-8 text.": [1]}
                    task.report["FileFailures"] += 1
                    continue
                table.write_records(records)
                files[obj["Key"]] = failed
                parse_failures = sum(len(lines) for lines in failed.values())
                task.report["RecordsIngested"] += len(records)
                task.report["ParseFailures"] += parse_failures
                task.report["RecordsProcessed"] += len(records) + parse_failures
                task.report["BytesMetered"] += len(body)
                task.updated = time.time()
        if not files:
            task_errors.append(
                f"No files were found under s3://{source['BucketName']}/"
                f"{source.get('ObjectKeyPrefix', '')}."
            )
    except Exception as exc:
        task_errors.append(f"{type(exc).__name__}: {exc}")
    failed_lines = task.report["ParseFailures"] + task.report["FileFailures"]
    if task_errors or failed_lines:
        task.error = (
            task_errors[0]
            if task_errors
            else f"{task.report['ParseFailures']} record(s) could not be parsed, "
            f"{task.report['FileFailures']} file(s) could not be read; see the error report"
        )
        report = request["ReportConfiguration"]["ReportS3Configuration"]
        try:
            s3.put_object(
                Bucket=report["BucketName"],
                Key=f"{report.get('ObjectKeyPrefix', '').rstrip('/')}/{task.task_id}/errors.json",
                Body=json.dumps(error_report(task.task_id, task_errors, files), indent=1).encode(),
            )
        except Exception as exc:
            task.error += f" (the error report could not be written: {type(exc).__name__})"
    time.sleep(max(0.0, PACE.in_progress - (time.monotonic() - began)))
    task.status = "FAILED" if task_errors or failed_lines else "SUCCEEDED"
    task.updated = time.time()
    task.done.set()


def _patch_timestream_batch_load() -> None:
    _expect(TimestreamWriteBackend, "describe_table", ["self", "database_name", "table_name"])
    _expect(TimestreamTable, "write_records", ["self", "records"])
    _expect_fields(TimestreamWriteBackend, ["region_name"])
    _expect_attribute(TimestreamWriteResponse, "timestreamwrite_backend", property)
    if getattr(TimestreamWriteResponse, "_phenolake", False):
        return

    def create(self: TimestreamWriteResponse) -> str:
        request = json.loads(self.body)
        backend = self.timestreamwrite_backend
        tasks = _batch_loads(backend)
        token = request.get("ClientToken") or str(uuid.uuid4())
        existing = next((t for t in tasks.values() if t.request.get("ClientToken") == token), None)
        if existing is None:
            _check_batch_load(request, backend)
            existing = BatchLoadTask(task_id=uuid.uuid4().hex.upper(), request=request)
            tasks[existing.task_id] = existing
            threading.Thread(
                target=_run_batch_load,
                args=(existing, backend),
                name=f"batch-load-{existing.task_id}",
                daemon=True,
            ).start()
        return json.dumps({"TaskId": existing.task_id})

    def describe(self: TimestreamWriteResponse) -> str:
        task_id = json.loads(self.body)["TaskId"]
        task = _batch_loads(self.timestreamwrite_backend).get(task_id)
        if task is None:
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
#: The service part of an aws-sdk task's error name (``TimestreamWrite.ThrottlingException``);
#: moto knows only DynamoDb and Sfn and uses the lower-case resource name for the rest.
SDK_ERROR_NAMES = {"timestreamwrite": "TimestreamWrite"}


def _patch_sdk_service_names() -> None:
    _expect_attribute(StateTaskService, "_SERVICE_NAME_SFN_TO_BOTO_OVERRIDES", dict).update(
        SDK_SERVICE_NAMES
    )
    _expect_attribute(aws_sdk, "_SERVICE_ERROR_NAMES", dict).update(SDK_ERROR_NAMES)


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
        StateTaskServiceCallback,
        "_eval_sync",
        [
            "self",
            "env",
            "sync_resolver",
            "timeout_seconds",
            "callback_endpoint",
            "heartbeat_endpoint",
        ],
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
        """The ``.sync`` path of moto's own method, copied (moto 5.2.5,
        stepfunctions/parser/asl/component/state/exec/state_task/service/
        state_task_service_callback.py lines 157-242: the timeout, the sync resolver,
        ``_eval_sync``, the outcome's exception or result) without what fails it there: the
        callback endpoint (``None`` for a task with no ``.waitForTaskToken``, then
        ``interrupt_all()`` on it in ``finally``) and the heartbeat that hangs off it. It
        cannot wrap the original: the error is raised in the original's own ``finally``."""
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


@dataclass(frozen=True)
class ItemRecord:
    """One Distributed Map item as its child execution ended, for the ResultWriter."""

    index: int
    input: Any
    output: Any
    failure: ItemFailure | None
    started: str
    stopped: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_MAP_RUN = threading.local()
"""The Distributed Map run whose pool moto's ``_map_run`` builds next on this thread: its
``eval_input`` (set by the patch's ``map_run``) and then its ``pool`` (set by the pool)."""


class TolerantJobPool(JobPool):
    """A JobPool that lets failed items close as results until a threshold is exceeded.

    moto's ``DistributedIterationComponent._map_run`` builds it in place of ``JobPool`` (it
    takes the thresholds from the run being evaluated on this thread). Its ``close_job``
    only changes a failed item's outcome before moto's own: moto's ``JobPool.close_job``
    takes an Exception for the end of the run and anything else for a result, so a
    tolerated failure closes as its ``{"Error", "Cause"}`` and the one past the threshold
    as an Exception; moto's bookkeeping (its lock, its closed set, the termination event)
    is left to it."""

    def __init__(self, job_program: Any, job_inputs: list[Any]) -> None:
        super().__init__(job_program=job_program, job_inputs=job_inputs)
        eval_input = getattr(_MAP_RUN, "eval_input", None)
        _MAP_RUN.eval_input = None
        _MAP_RUN.pool = self
        self.items = len(job_inputs)
        self.tolerated_count = int(getattr(eval_input, "tolerated_failure_count", 0) or 0)
        self.tolerated_percentage = float(
            getattr(eval_input, "tolerated_failure_percentage", 0.0) or 0.0
        )
        self.failures = 0
        self.exceeded = False
        self.records: list[ItemRecord] = []
        self._count_lock = threading.Lock()

    def _over(self) -> bool:
        if self.tolerated_count <= 0 and self.tolerated_percentage <= 0:
            return True
        share = 100.0 * self.failures / max(self.items, 1)
        return (0 < self.tolerated_count < self.failures) or (0 < self.tolerated_percentage < share)

    def close_job(self, job: Any) -> None:
        failure = job.job_output
        if not isinstance(failure, Exception):
            self.records.append(
                ItemRecord(
                    job.job_index,
                    getattr(job, "phenolake_input", job.job_input),
                    None if isinstance(failure, ItemFailure) else failure,
                    failure if isinstance(failure, ItemFailure) else None,
                    *getattr(job, "phenolake_times", (_now(), _now())),
                )
            )
        if isinstance(failure, ItemFailure):
            with self._count_lock:
                if not self.exceeded:
                    self.failures += 1
                    self.exceeded = self._over()
                exceeded = self.exceeded
            job.job_output = (
                RuntimeError(failure.cause)
                if exceeded
                else {"Error": failure.error, "Cause": failure.cause}
            )
        super().close_job(job)


def _threshold_exceeded(env: Any, pool: TolerantJobPool) -> FailureEventException:
    error = StatesErrorNameType.StatesExceedToleratedFailureThreshold
    cause = (
        f"{pool.failures} of {pool.items} items failed, more than the Map tolerates "
        f"(ToleratedFailurePercentage {pool.tolerated_percentage:g}, "
        f"ToleratedFailureCount {pool.tolerated_count})"
    )
    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=error),
            event_type=HistoryEventType.ExecutionFailed,
            event_details=EventDetails(
                executionFailedEventDetails=ExecutionFailedEventDetails(
                    error=error.to_name(), cause=cause
                )
            ),
        )
    )


def _patch_map_tolerated_failures() -> None:
    worker = distributed_worker.DistributedItemProcessorWorker
    original_eval_job = _expect(worker, "_eval_job", ["self", "env", "job"])
    original_eval_input = _expect(worker, "_eval_input", ["self", "env_frame"])
    _expect(JobPool, "__init__", ["self", "job_program", "job_inputs"])
    _expect(JobPool, "close_job", ["self", "job"])
    _expect_fields(Job, ["job_index", "job_input", "job_output"])
    _expect(Environment, "program_state", ["self"])
    _expect_fields(ProgramError, ["error"])
    _expect_attribute(
        StatesErrorNameType, "StatesExceedToleratedFailureThreshold", StatesErrorNameType
    )
    component = distributed.DistributedIterationComponent
    original = _expect(component, "_map_run", ["self", "env", "eval_input"])
    _expect_fields(
        distributed.DistributedIterationComponentEvalInput,
        ["tolerated_failure_count", "tolerated_failure_percentage", "map_run_record"],
    )
    _expect_fields(MapRunRecord, ["map_run_arn", "map_state_machine_arn"])
    pool_class = _expect_attribute(distributed, "JobPool", type)
    if (
        pool_class not in (JobPool, TolerantJobPool)
        or "JobPool" not in getattr(original, "__wrapped__", original).__code__.co_names
    ):
        raise PatchBroken(
            f"moto {MOTO_VERSION}: {component.__name__}._map_run no longer builds its pool "
            f"from {distributed.__name__}.JobPool; update phenolake_local/patches.py"
        )
    if not getattr(original_eval_job, "_phenolake", False):

        def eval_job(self: Any, env: Any, job: Any) -> None:
            started = _now()
            original_eval_job(self, env, job)
            job.phenolake_times = (started, _now())
            job.phenolake_input = getattr(env, "phenolake_item_input", job.job_input)
            state = env.program_state()
            if job.job_output is None and not isinstance(state, ProgramEnded):
                details = (state.error or {}) if isinstance(state, ProgramError) else {}
                job.job_output = ItemFailure(
                    details.get("error", "States.TaskFailed"),
                    details.get("cause", f"item {job.job_index} did not complete"),
                )

        def eval_input(self: Any, env_frame: Any) -> None:
            """Keeps the child execution's input (the item after ItemSelector) for its record."""
            original_eval_input(self, env_frame)
            env_frame.phenolake_item_input = copy.deepcopy(env_frame.states.get_input())

        eval_job._phenolake = True  # type: ignore[attr-defined]
        worker._eval_job = eval_job  # type: ignore[method-assign]
        worker._eval_input = eval_input  # type: ignore[method-assign]
    if getattr(original, "_phenolake", False):
        return

    def map_run(self: Any, env: Any, eval_input: Any) -> None:
        """moto's own ``_map_run`` (moto 5.2.5, .../state_map/iteration/
        distributed_iteration_component.py lines 101-128: pops the items, builds the pool,
        starts the workers, awaits them, raises the first worker exception, pushes the
        outputs) on a TolerantJobPool, where this patch used to run a modified copy of it;
        then the threshold's error in place of the bare exception moto raises, and the
        records for the ResultWriter."""
        _MAP_RUN.eval_input, _MAP_RUN.pool = eval_input, None
        try:
            original(self, env, eval_input)
        except Exception:
            pool = _MAP_RUN.pool
            if isinstance(pool, TolerantJobPool) and pool.exceeded:
                raise _threshold_exceeded(env, pool) from None
            raise
        pool = _MAP_RUN.pool
        if not isinstance(pool, TolerantJobPool):
            raise PatchBroken(
                f"moto {MOTO_VERSION}: {component.__name__}._map_run ran without a "
                "TolerantJobPool; update phenolake_local/patches.py"
            )
        env.phenolake_map_run = MapRunResults(
            eval_input.map_run_record.map_run_arn,
            eval_input.map_run_record.map_state_machine_arn,
            sorted(pool.records, key=lambda r: r.index),
        )

    map_run._phenolake = True  # type: ignore[attr-defined]
    map_run.__wrapped__ = original  # type: ignore[attr-defined]
    distributed.JobPool = TolerantJobPool  # type: ignore[misc]
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


# ------------------------------------------------------------------------- state-data-limits

MAX_STATE_BYTES = 262_144
"""Step Functions' quota on a state's input and output, a task's result and a Map's or
Parallel's result: 256 KiB of data as a UTF-8 encoded string."""

_QUOTA_MODULES = (state_module, state_task_lambda, state_task_service)


def state_size(value: Any) -> int:
    """Bytes of ``value`` as Step Functions carries it: compact JSON, UTF-8."""
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    )
    return len(text.encode("utf-8"))


def _within_state_quota(value: Any) -> bool:
    return state_size(value) <= MAX_STATE_BYTES


def _data_limit_exceeded(env: Any, what: str, size: int) -> FailureEventException:
    error = StatesErrorNameType.StatesStatesDataLimitExceeded
    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=error),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(
                executionFailedEventDetails=ExecutionFailedEventDetails(
                    error=error.to_name(),
                    cause=f"{what} has a size ({size} bytes) exceeding the maximum number of "
                    f"bytes service limit ({MAX_STATE_BYTES}).",
                )
            ),
        )
    )


def _check_state_size(env: Any, what: str, value: Any) -> None:
    size = state_size(value)
    if size > MAX_STATE_BYTES:
        raise _data_limit_exceeded(env, what, size)


def _patch_state_data_limits() -> None:
    for module in _QUOTA_MODULES:
        _expect_attribute(module, "is_within_size_quota", Callable)
        module.is_within_size_quota = _within_state_quota  # type: ignore[attr-defined]
    state_input = _expect(CommonStateField, "_eval_state_input", ["self", "env"])
    map_execution = _expect(StateMap, "_eval_execution", ["self", "env"])
    parallel_execution = _expect(StateParallel, "_eval_execution", ["self", "env"])
    task_parameters = _expect(StateTask, "_eval_parameters", ["self", "env"])
    lambda_parameters = _expect(StateTaskLambda, "_eval_parameters", ["self", "env"])
    error_equals = _expect(ErrorEqualsDecl, "_eval_body", ["self", "env"])
    _expect_fields(ErrorEqualsDecl, ["error_names"])
    _expect_attribute(StatesErrorNameType, "StatesStatesDataLimitExceeded", StatesErrorNameType)
    if getattr(state_input, "_phenolake", False):
        return

    def eval_state_input(self: Any, env: Any) -> None:
        state_input(self, env)
        _check_state_size(env, f"The input of state '{self.name}'", env.stack[-1])

    def with_result_check(original: Callable[..., None]) -> Callable[..., None]:
        """A Map's or Parallel's result is checked before its ResultSelector shrinks it."""

        def eval_execution(self: Any, env: Any) -> None:
            original(self, env)
            _check_state_size(env, f"The result of state '{self.name}'", env.stack[-1])

        eval_execution._phenolake = True  # type: ignore[attr-defined]
        return eval_execution

    def with_parameters_check(original: Callable[..., dict]) -> Callable[..., dict]:
        def eval_parameters(self: Any, env: Any) -> dict:
            parameters = original(self, env)
            lambda_task = isinstance(self, StateTaskLambda)
            value = parameters.get("Payload", parameters) if lambda_task else parameters
            _check_state_size(env, f"The input of task '{self.name}' after Parameters", value)
            return parameters

        eval_parameters._phenolake = True  # type: ignore[attr-defined]
        return eval_parameters

    def eval_error_equals(self: ErrorEqualsDecl, env: Any) -> None:
        """``States.ALL`` does not catch or retry ``States.DataLimitExceeded`` (a terminal
        error on AWS); naming it in ``ErrorEquals`` does."""
        error_name = env.stack[-1]
        limit = StatesErrorName(typ=StatesErrorNameType.StatesStatesDataLimitExceeded)
        if error_name == limit and limit not in self.error_names:
            env.stack.pop()
            env.stack.append(False)
            return None
        return error_equals(self, env)

    eval_state_input._phenolake = True  # type: ignore[attr-defined]
    eval_error_equals._phenolake = True  # type: ignore[attr-defined]
    CommonStateField._eval_state_input = eval_state_input  # type: ignore[method-assign]
    StateMap._eval_execution = with_result_check(map_execution)  # type: ignore[method-assign]
    StateParallel._eval_execution = with_result_check(parallel_execution)  # type: ignore[method-assign]
    StateTask._eval_parameters = with_parameters_check(task_parameters)  # type: ignore[method-assign]
    StateTaskLambda._eval_parameters = with_parameters_check(lambda_parameters)  # type: ignore[method-assign]
    ErrorEqualsDecl._eval_body = eval_error_equals  # type: ignore[method-assign]


# ------------------------------------------------------------------------------ lambda-limits

MAX_LAMBDA_PAYLOAD = 6_291_456
"""Lambda's quota on a synchronous invocation's request and response: 6 MB each."""
LAMBDA_TIMEOUT_RANGE = (1, 900)
LAMBDA_MEMORY_RANGE = (128, 10_240)


class RequestTooLarge(LambdaClientError):
    code = 413

    def __init__(self, size: int) -> None:
        super().__init__(
            "RequestEntityTooLargeException",
            f"{size} byte payload is too large for the RequestResponse invocation type "
            f"(limit {MAX_LAMBDA_PAYLOAD} bytes)",
        )


@dataclass
class InvocationReport:
    """What Lambda's REPORT log line says of an invocation, and the limit it broke."""

    function: str
    request_id: str
    duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int
    shared: int
    error: str = ""

    def line(self) -> str:
        shared = f" (shared with {self.shared - 1} other invocation(s))" if self.shared > 1 else ""
        return (
            f"REPORT RequestId: {self.request_id}\tDuration: {self.duration_ms:.2f} ms\t"
            f"Memory Size: {self.memory_size_mb} MB\t"
            f"Max Memory Used: {self.max_memory_used_mb} MB{shared}"
            + (f"\tError: {self.error}" if self.error else "")
        )


REPORTS: list[InvocationReport] = []


def _lambda_error(error_type: str, message: str, response_headers: Any) -> bytes:
    response_headers["x-amz-function-error"] = "Unhandled"
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def _log_report(function_name: str, report: InvocationReport) -> None:
    REPORTS.append(report)
    function = REGISTRY.functions.get(function_name)
    if function is None:
        return
    with REGISTRY.log_to(function):
        print(report.line())


def _patch_lambda_limits() -> None:
    original = _expect(
        LambdaFunction, "invoke", ["self", "body", "request_headers", "response_headers"]
    )
    create = _expect(LambdaBackend, "create_function", ["self", "spec"])
    _expect_fields(LambdaFunction, ["function_name", "memory_size", "timeout"])
    if getattr(create, "_phenolake", False):
        return

    def create_function(self: LambdaBackend, spec: dict[str, Any]) -> Any:
        for field_name, key, (low, high) in (
            ("timeout", "Timeout", LAMBDA_TIMEOUT_RANGE),
            ("memorySize", "MemorySize", LAMBDA_MEMORY_RANGE),
        ):
            value = spec.get(key)
            if value is not None and not low <= int(value) <= high:
                bound = (
                    f"greater than or equal to {low}"
                    if int(value) < low
                    else f"less than or equal to {high}"
                )
                raise LambdaValidationException(
                    str(value), field_name, f"Member must have value {bound}"
                )
        return create(self, spec)

    def invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> Any:
        request = body if isinstance(body, bytes) else (body or "").encode()
        if len(request) > MAX_LAMBDA_PAYLOAD:
            raise RequestTooLarge(len(request))
        request_id = str(uuid.uuid4())
        # The handler's own measurement (phenolake.memory) is the REPORT's: the window opened
        # here, after the function's module is loaded (Lambda's init), goes to the handler in
        # SANDBOX with the module's footprint; a handler that reads none leaves it to this.
        local = REGISTRY.functions.get(self.function_name)
        window = memory.METER.open(REGISTRY.footprint(local) if local else 0)
        token = memory.SANDBOX.set(window)
        began = time.monotonic()
        try:
            response = original(self, body, request_headers, response_headers)
        finally:
            seconds = time.monotonic() - began
            memory.SANDBOX.reset(token)
            closed = window.close()
        measured = window.reported or closed
        payload = response if isinstance(response, bytes) else (response or "").encode()
        report = InvocationReport(
            self.function_name,
            request_id,
            seconds * 1000,
            int(self.memory_size),
            measured.peak_bytes // memory.MB,
            measured.shared,
        )
        if seconds > float(self.timeout):
            report.error = "Sandbox.Timedout"
            payload = _lambda_error(
                "Sandbox.Timedout",
                f"RequestId: {request_id} Error: Task timed out after {float(self.timeout):.2f} "
                "seconds",
                response_headers,
            )
        elif report.max_memory_used_mb > report.memory_size_mb and measured.shared == 1:
            report.error = "Runtime.OutOfMemory"
            payload = _lambda_error(
                "Runtime.OutOfMemory",
                f"RequestId: {request_id} Error: Runtime exited with error: signal: killed "
                f"(used {report.max_memory_used_mb} MB of {report.memory_size_mb} MB)",
                response_headers,
            )
        elif len(payload) > MAX_LAMBDA_PAYLOAD:
            report.error = "Function.ResponseSizeTooLarge"
            payload = _lambda_error(
                "Function.ResponseSizeTooLarge",
                f"Response payload size ({len(payload)} bytes) exceeded maximum allowed payload "
                f"size ({MAX_LAMBDA_PAYLOAD} bytes).",
                response_headers,
            )
        _log_report(self.function_name, report)
        return payload

    create_function._phenolake = True  # type: ignore[attr-defined]
    invoke._phenolake = True  # type: ignore[attr-defined]
    LambdaBackend.create_function = create_function  # type: ignore[method-assign]
    LambdaFunction.invoke = invoke  # type: ignore[method-assign]


# ------------------------------------------------------------------------ map-result-writer


@dataclass(frozen=True)
class MapRunResults:
    map_run_arn: str
    map_state_machine_arn: str
    records: list[ItemRecord]


def result_entry(run: MapRunResults, record: ItemRecord) -> dict[str, Any]:
    """A child execution as ResultWriter exports it (``Transformation: NONE``, the default
    when writing to S3): the execution's metadata with its input and output as JSON text."""
    name = str(uuid.UUID(int=record.index + 1))
    entry: dict[str, Any] = {
        "ExecutionArn": f"{run.map_state_machine_arn.replace(':stateMachine:', ':execution:')}"
        f":{name}",
        "Input": json.dumps(record.input, separators=(",", ":")),
        "InputDetails": {"Included": True},
        "Name": name,
        "RedriveCount": 0,
        "RedriveStatus": "NOT_REDRIVABLE",
        "StartDate": record.started,
        "StateMachineArn": run.map_state_machine_arn,
        "Status": "FAILED" if record.failure else "SUCCEEDED",
        "StopDate": record.stopped,
    }
    if record.failure:
        entry["Error"] = record.failure.error
        entry["Cause"] = record.failure.cause
        entry["RedriveStatus"] = "REDRIVABLE"
    else:
        entry["Output"] = json.dumps(record.output, separators=(",", ":"))
        entry["OutputDetails"] = {"Included": True}
        entry["RedriveStatusReason"] = "Execution is SUCCEEDED and cannot be redriven"
    return entry


def write_results(s3: Any, bucket: str, prefix: str, run: MapRunResults) -> str:
    """``<prefix>/<map run id>/SUCCEEDED_0.json``, ``FAILED_0.json`` (each written only when
    it has entries) and ``manifest.json`` naming them; returns the manifest's key."""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    folder = f"{prefix}{run.map_run_arn.rsplit(':', 1)[-1]}/"
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for status in ("SUCCEEDED", "FAILED"):
        entries = [
            result_entry(run, r)
            for r in run.records
            if (r.failure is not None) == (status == "FAILED")
        ]
        if not entries:
            continue
        key = f"{folder}{status}_0.json"
        body = json.dumps(entries).encode()
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        files[status].append({"Key": key, "Size": len(body)})
    manifest = {"DestinationBucket": bucket, "MapRunArn": run.map_run_arn, "ResultFiles": files}
    key = f"{folder}manifest.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest, indent=2).encode())
    return key


def export_results(
    s3: Any, bucket: str, prefix: str, items: list[tuple[Any, Any]], label: str = "Map"
) -> dict[str, str]:
    """A ResultWriter export of ``(input, output)`` pairs, all succeeded, as a Map run leaves
    it: for driving a step that reads one without running the Map. Returns the
    ``ResultWriterDetails``."""
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:local"
    run = MapRunResults(
        f"{machine.replace(':stateMachine:', ':mapRun:')}/{label}:{uuid.uuid4()}",
        f"{machine}/{label}",
        [ItemRecord(i, inp, out, None, _now(), _now()) for i, (inp, out) in enumerate(items)],
    )
    return {"Bucket": bucket, "Key": write_results(s3, bucket, prefix, run)}


def _patch_map_result_writer() -> None:
    original = _expect(
        ResourceEvalS3, "_handle_put_object", ["env", "resource_runtime_part", "state_credentials"]
    )
    _expect(ResultWriter, "_eval_body", ["self", "env"])
    _expect(ResourceEvalS3, "_get_s3_client", ["resource_runtime_part", "state_credentials"])
    _expect_fields(ResultWriter, ["parargs", "resource_eval"])
    if getattr(original, "_phenolake", False):
        return

    def handle_put_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        """Replaces moto's (moto 5.2.5, .../result_writer/resource_eval/resource_eval_s3.py
        lines 38-70, which writes only an empty manifest); what it keeps of it is the stack
        it is called with (the parameters over the results) and moto's S3 client."""
        run: MapRunResults | None = getattr(env, "phenolake_map_run", None)
        if run is None:
            raise PatchBroken(
                f"moto {MOTO_VERSION}: a ResultWriter ran without the map-tolerated-failures "
                "patch's records; update phenolake_local/patches.py"
            )
        parameters = env.stack.pop()
        env.stack.pop()  # the items' outputs: the records hold them with their inputs
        s3 = ResourceEvalS3._get_s3_client(
            resource_runtime_part=resource_runtime_part, state_credentials=state_credentials
        )
        key = write_results(s3, parameters["Bucket"], parameters.get("Prefix", ""), run)
        env.stack.append(
            {
                "MapRunArn": run.map_run_arn,
                "ResultWriterDetails": {"Bucket": parameters["Bucket"], "Key": key},
            }
        )

    def eval_result_writer(self: ResultWriter, env: Any) -> None:
        """Its ``Parameters`` paths select from the Map state's input, as on AWS (moto
        evaluated them against the items' results). moto's ``ResultWriter._eval_body``
        (moto 5.2.5, result_writer_decl.py lines 43-45) is these same two calls on the
        results; here the Map's input is on the stack for the first."""
        results = env.stack.pop()
        env.stack.append(env.states.get_input())
        self.parargs.eval(env=env)
        parameters = env.stack.pop()
        env.stack.pop()
        env.stack.extend([results, parameters])
        self.resource_eval.eval_resource(env=env)

    handle_put_object._phenolake = True  # type: ignore[attr-defined]
    ResourceEvalS3._handle_put_object = staticmethod(handle_put_object)  # type: ignore[method-assign,assignment]
    ResultWriter._eval_body = eval_result_writer  # type: ignore[method-assign]


# --------------------------------------------------------------------------- s3-eventbridge

#: S3's ``reason`` (and ``deletion-type``) of each notification event it sends to EventBridge.
S3_REASONS: dict[str, tuple[str, str | None]] = {
    "s3:ObjectCreated:Put": ("PutObject", None),
    "s3:ObjectCreated:Post": ("POST Object", None),
    "s3:ObjectCreated:Copy": ("CopyObject", None),
    "s3:ObjectCreated:CompleteMultipartUpload": ("CompleteMultipartUpload", None),
    "s3:ObjectRemoved:Delete": ("DeleteObject", "Permanently Deleted"),
    "s3:ObjectRemoved:DeleteMarkerCreated": ("DeleteObject", "Delete Marker Created"),
}
EVENTS_PRINCIPAL = "events.amazonaws.com"


class _Sequencer:
    """S3's per-key event order: hex strings that grow with each event (here across runs
    too, from the clock)."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns())
            return f"{self._last:018X}"


SEQUENCER = _Sequencer()


def _iso(value: dt.datetime) -> str:
    stamp = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return stamp.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def s3_eventbridge_event(account_id: str, bucket: Any, event_name: str, key: Any) -> dict:
    """The event S3 sends EventBridge (docs: AmazonS3/latest/userguide/ev-events.html)."""
    detail_type = s3_notifications._detail_type(event_name)
    reason, deletion = S3_REASONS.get(event_name, (event_name.split(":")[1], None))
    created = detail_type == "Object Created"
    obj: dict[str, Any] = {"key": key.name}
    if created:
        obj.update(size=key.size, etag=key.etag.replace('"', ""))
    if key.version_id:
        obj["version-id"] = key.version_id
    obj["sequencer"] = SEQUENCER.next()
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket.name},
        "object": obj,
        "request-id": uuid.uuid4().hex[:16].upper(),
        "requester": account_id,
        "source-ip-address": "127.0.0.1",
        "reason": reason,
    }
    if deletion:
        detail["deletion-type"] = deletion
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": account_id,
        "time": _iso(key.last_modified if created else dt.datetime.now(dt.UTC)),
        "region": bucket.region_name,
        "resources": [bucket.arn],
        "detail": detail,
    }


def _may_invoke(function: LambdaFunction, rule_arn: str) -> bool:
    """Whether the function's resource policy lets EventBridge invoke it for this rule."""
    try:
        policy = function.policy.get_policy()["Policy"]
    except Exception:  # no policy at all: nothing may invoke it but its account's callers
        return False
    for statement in policy.get("Statement", []):
        statement = json.loads(statement) if isinstance(statement, str) else statement
        principal = statement.get("Principal", {})
        service = principal.get("Service") if isinstance(principal, dict) else principal
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        source = statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn", rule_arn)
        if (
            statement.get("Effect") == "Allow"
            and service == EVENTS_PRINCIPAL
            and any(a in ("lambda:InvokeFunction", "lambda:*") for a in actions)
            and iam.wildcard_match(source, rule_arn)
        ):
            return True
    return False


def _invoke_target(account_id: str, region: str, rule: Any, arn: str, event: dict) -> None:
    from moto.awslambda.utils import get_backend

    backend = get_backend(account_id, region)
    function = backend.get_function(arn)
    if not _may_invoke(function, rule.arn):
        message = (
            f"{EVENTS_PRINCIPAL} is not authorized to perform: lambda:InvokeFunction on "
            f'resource: "{arn}" for rule {rule.arn}: no resource-based policy allows it '
            "(an AWS::Lambda::Permission with that SourceArn)"
        )
        logging.getLogger(__name__).error(message)
        iam.ENFORCER.denials.append(
            iam.Denial(EVENTS_PRINCIPAL, "lambda:InvokeFunction", arn, message)
        )
        return
    headers: dict[str, str] = {}
    token = _DELIVERY_LOG_DIR.set(REGISTRY.event_log_dir)
    try:
        function.invoke(json.dumps(event), {}, headers)
    finally:
        _DELIVERY_LOG_DIR.reset(token)
    if headers.get("x-amz-function-error"):
        logging.getLogger(__name__).error(
            "EventBridge target %s failed on %s %s (its log has the error)",
            function.function_name,
            event["detail-type"],
            event["detail"]["object"]["key"],
        )


TAGS_ADDED = "s3:ObjectTagging:Put"


def _tags_of(account_id: str, key: Any) -> list[Any]:
    from moto.s3.models import s3_backends

    backend = s3_backends[account_id]["aws"]
    return list(backend.tagger.list_tags_for_resource(key.arn).get("Tags", []))


def _patch_s3_eventbridge() -> None:
    original = _expect(
        s3_notifications,
        "_send_event_bridge_message",
        ["account_id", "bucket", "event_name", "key"],
    )
    _expect(s3_notifications, "_detail_type", ["event_name"])
    _expect_fields(FakeKey, ["name", "size", "etag", "version_id", "last_modified"])
    _expect_fields(LambdaFunction, ["function_name", "policy"])
    if getattr(original, "_phenolake", False):
        return
    from moto.events.models import Rule, events_backends

    _expect(Rule, "send_to_targets", ["self", "original_event", "transform_input"])
    _expect_fields(Rule, ["event_pattern", "targets", "state", "arn"])

    def send(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
        if event_name == TAGS_ADDED and not _tags_of(account_id, key):
            return  # moto's PutObject sets the (no) tags, with an event S3 never sends
        event = s3_eventbridge_event(account_id, bucket, event_name, key)
        region = bucket.region_name
        bus = events_backends[account_id][region].event_buses.get("default")
        for rule in list(bus.rules.values()) if bus else []:
            if rule.state != "ENABLED" or not rule.event_pattern.matches_event(event):
                continue
            for target in rule.targets:
                if ":lambda:" in target["Arn"]:
                    _invoke_target(account_id, region, rule, target["Arn"], event)
            if any(":lambda:" not in target["Arn"] for target in rule.targets):
                rule.send_to_targets(event, transform_input=False)  # moto's other targets

    send._phenolake = True  # type: ignore[attr-defined]
    s3_notifications._send_event_bridge_message = send  # type: ignore[assignment]


# ---------------------------------------------------------------------------- athena-iceberg

AthenaRunner = Callable[[str, str, str, str], Any]
"""(statement, database, output location, role name) -> an ``athena_iceberg.Outcome``;
raises on failure (the message is the execution's StateChangeReason)."""

_ATHENA_RUNNER: list[AthenaRunner] = []
_ATHENA_PARAMETERS = {
    "startqueryexecution": {
        "QueryString",
        "ClientRequestToken",
        "QueryExecutionContext",
        "ResultConfiguration",
        "WorkGroup",
        "ExecutionParameters",
        "ResultReuseConfiguration",
    },
    "getqueryexecution": {"QueryExecutionId"},
    "getqueryresults": {"QueryExecutionId", "NextToken", "MaxResults"},
    "stopqueryexecution": {"QueryExecutionId"},
}
ATHENA_RUNNING = ("QUEUED", "RUNNING")


def set_athena_runner(runner: AthenaRunner) -> None:
    _ATHENA_RUNNER[:] = [runner]


def _caller_role(response: AthenaResponse) -> str:
    """The role that signed the request ("" when the enforcer is off or it is the engine's)."""
    if not iam.ENFORCER.active:
        return ""
    role = iam.ENFORCER.role_of_key(iam.access_key_of(response.headers, response.querystring))
    return role.name if role is not None else ""


def _finish(execution: Execution, state: str, reason: str = "") -> None:
    execution._transitions = [(state, state)]  # type: ignore[attr-defined]
    execution.status = state
    execution.end_time = time.time()
    execution.phenolake_reason = reason  # type: ignore[attr-defined]


def _run_query(backend: AthenaBackend, execution: Execution, role: str) -> None:
    context = execution.context if isinstance(execution.context, dict) else {}
    workgroup = execution.workgroup
    output = (execution.config or {}).get("OutputLocation", "")
    if workgroup is not None:
        configured = workgroup.configuration.get("ResultConfiguration", {}) or {}
        if configured.get("OutputLocation") and (
            workgroup.configuration.get("EnforceWorkGroupConfiguration") or not output
        ):
            output = configured["OutputLocation"].rstrip("/") + f"/{execution.id}.csv"
            execution.config = {**(execution.config or {}), "OutputLocation": output}
    try:
        outcome = _ATHENA_RUNNER[0](execution.query, context.get("Database", ""), output, role)
    except Exception as exc:  # the statement's own failure: Athena reports it, the call succeeds
        _finish(execution, "FAILED", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return
    if outcome.columns:
        header = {"Data": [{"VarCharValue": c} for c in outcome.columns]}
        rows = [{"Data": [{"VarCharValue": v} for v in row]} for row in outcome.rows]
        info = [
            {
                "CatalogName": "hive",
                "SchemaName": "",
                "TableName": "",
                "Name": c,
                "Label": c,
                "Type": "bigint",
                "Precision": 19,
                "Scale": 0,
                "Nullable": "UNKNOWN",
                "CaseSensitive": False,
            }
            for c in outcome.columns
        ]
        backend.query_results[execution.id] = QueryResults([header, *rows], info)
    _finish(execution, "SUCCEEDED")


def _patch_athena_queries() -> None:
    start = _expect(AthenaResponse, "start_query_execution", ["self"])
    describe = _expect(AthenaResponse, "get_query_execution", ["self"])
    _expect_attribute(AthenaResponse, "athena_backend", property)
    _expect_attribute(AthenaBackend, "get_query_results", Callable)
    _expect_fields(AthenaBackend, ["executions", "query_results"])
    _expect_fields(Execution, ["id", "query", "context", "config", "workgroup", "end_time"])
    _expect_fields(Execution, ["_transitions"])
    _expect_attribute(Execution, "status", property)
    if getattr(start, "_phenolake", False):
        return

    def start_query_execution(self: AthenaResponse) -> Any:
        role = _caller_role(self)
        found = start(self)
        if not _ATHENA_RUNNER or not isinstance(found, str):
            return found
        execution = self.athena_backend.executions[json.loads(found)["QueryExecutionId"]]
        _run_query(self.athena_backend, execution, role)
        return found

    def get_query_execution(self: AthenaResponse) -> str:
        described = json.loads(describe(self))
        execution = self.athena_backend.executions[described["QueryExecution"]["QueryExecutionId"]]
        status = described["QueryExecution"]["Status"]
        reason = getattr(execution, "phenolake_reason", "")
        if reason:
            status["StateChangeReason"] = reason
            status["AthenaError"] = {"ErrorCategory": 2, "ErrorType": 1005, "Retryable": False}
        head = execution.query.lstrip().split(None, 1)[0].upper() if execution.query.strip() else ""
        if head in ("OPTIMIZE", "VACUUM"):  # Athena reports Iceberg maintenance as DML
            described["QueryExecution"]["StatementType"] = "DML"
        return json.dumps(described)

    start_query_execution._phenolake = True  # type: ignore[attr-defined]
    AthenaResponse.start_query_execution = start_query_execution  # type: ignore[method-assign]
    AthenaResponse.get_query_execution = get_query_execution  # type: ignore[method-assign]


class StateTaskServiceAthena(StateTaskServiceCallback):
    """Step Functions' optimised Athena integration: request-response for the four actions,
    ``.sync`` for StartQueryExecution (GetQueryExecution until the query ends, its response
    as the task's result)."""

    def __init__(self) -> None:
        super().__init__(supported_integration_patterns={ResourceCondition.Sync})

    def _get_supported_parameters(self) -> set[str] | None:
        return _ATHENA_PARAMETERS.get(self.resource.api_action.lower())

    def _from_error(self, env: Any, ex: Exception) -> FailureEvent:
        from botocore.exceptions import ClientError

        if isinstance(ex, ClientError):
            name = f"Athena.{ex.response['Error']['Code']}"
            return FailureEvent(
                env=env,
                error_name=CustomErrorName(name),
                event_type=HistoryEventType.TaskFailed,
                event_details=EventDetails(
                    taskFailedEventDetails=TaskFailedEventDetails(
                        error=name,
                        cause=ex.response["Error"]["Message"],
                        resource=self._get_sfn_resource(),
                        resourceType=self._get_sfn_resource_type(),
                    )
                ),
            )
        return super()._from_error(env=env, ex=ex)

    def _client(self, resource_runtime_part: Any, state_credentials: Any) -> Any:
        return boto_client_for(
            service="athena",
            region=resource_runtime_part.region,
            state_credentials=state_credentials,
        )

    def _eval_service_task(
        self,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict,
        state_credentials: Any,
    ) -> None:
        client = self._client(resource_runtime_part, state_credentials)
        response = getattr(client, self._get_boto_service_action())(**normalised_parameters)
        response.pop("ResponseMetadata", None)
        env.stack.append(_epoch_millis(response))

    def _build_sync_resolver(
        self,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict,
        state_credentials: Any,
    ) -> Callable[[], Any]:
        if self._get_boto_service_action() != "start_query_execution":
            raise RuntimeError(f"no .sync for {self.resource.resource_arn}")
        started: dict = env.stack.pop()
        client = self._client(resource_runtime_part, state_credentials)

        def resolve() -> Any:
            described = client.get_query_execution(QueryExecutionId=started["QueryExecutionId"])
            described.pop("ResponseMetadata", None)
            state = described["QueryExecution"]["Status"]["State"]
            if state in ATHENA_RUNNING:
                return None
            if state == "SUCCEEDED":
                return described
            raise FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(
                        taskFailedEventDetails=TaskFailedEventDetails(
                            resource=self._get_sfn_resource(),
                            resourceType=self._get_sfn_resource_type(),
                            error=StatesErrorNameType.StatesTaskFailed.to_name(),
                            cause=to_json_str(_epoch_millis(described)),
                        )
                    ),
                )
            )

        return resolve


def _patch_athena_integration() -> None:
    original = _expect_attribute(state_task_factory, "state_task_service_for", Callable)
    if getattr(original, "_phenolake", False):
        return
    _expect(StateTaskServiceCallback, "_build_sync_resolver", ["self", "env"])
    _expect(StateTaskService, "_eval_service_task", ["self", "env"])

    def state_task_service_for(service_name: str) -> Any:
        if service_name == "athena":
            return StateTaskServiceAthena()
        return original(service_name)

    state_task_service_for._phenolake = True  # type: ignore[attr-defined]
    state_task_factory.state_task_service_for = state_task_service_for  # type: ignore[assignment]


def _patch_athena_iceberg() -> None:
    _patch_athena_queries()
    _patch_athena_integration()


# --------------------------------------------------------------------------- dynamodb-threads

_DYNAMODB_LOCK = threading.RLock()
_DYNAMODB_CALLS = (
    "put_item",
    "get_item",
    "query",
    "scan",
    "update_item",
    "delete_item",
    "transact_write_items",
)


def _patch_dynamodb_threads() -> None:
    for name in _DYNAMODB_CALLS:
        original = _expect(DynamoDBBackend, name, ["self"])
        if getattr(original, "_phenolake", False):
            continue

        def locked(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            with _DYNAMODB_LOCK:
                return _original(*args, **kwargs)

        locked._phenolake = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, locked)


class _Seen:
    """A moto model seen through a narrower view: what the view defines, else the model's."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


class _OnePartition(_Seen):
    """A moto table seen through one partition key (``dynamodb-key-query``)."""

    def __init__(self, table: Any, hash_key: Any) -> None:
        super().__init__(table)
        self._hash_key = hash_key

    def all_items(self) -> list[Any]:
        found = self._model.items.get(self._hash_key)
        if found is None:
            return []
        return list(found.values()) if self._model.range_key_attr else [found]


def _patch_dynamodb_key_query() -> None:
    original = _expect(
        DynamoTable,
        "query",
        ["self", "hash_key", "range_comparison", "range_objs", "limit", "exclusive_start_key",
         "scan_index_forward", "projection_expressions", "index_name"],
    )  # fmt: skip
    _expect(DynamoTable, "all_items", ["self"])
    _expect_fields(DynamoTable, ["items", "range_key_attr"])
    if getattr(original, "_phenolake", False):
        return
    signature = inspect.signature(original)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        hash_key = bound.arguments.get("hash_key")
        if bound.arguments.get("index_name") or hash_key is None:
            return original(self, *args, **kwargs)
        return original(_OnePartition(self, hash_key), *args, **kwargs)

    query._phenolake = True  # type: ignore[attr-defined]
    DynamoTable.query = query  # type: ignore[method-assign]


class _PrefixKeys:
    """A bucket's key store seen through the names under one prefix (``s3-prefix-listing``)."""

    def __init__(self, store: Any, names: list[str]) -> None:
        self._store = store
        self._names = names

    def items(self) -> Iterator[tuple[str, Any]]:
        for name in self._names:
            found = self._store.get(name)
            if found is not None:
                yield name, found


class _PrefixBucket(_Seen):
    def __init__(self, bucket: Any, keys: _PrefixKeys) -> None:
        super().__init__(bucket)
        self.keys = keys


def _patch_s3_prefix_listing() -> None:
    original = _expect(S3Backend, "list_objects", ["self", "bucket", "prefix", "delimiter"])
    _expect(_VersionedKeyStore, "get", ["self", "key"])
    if getattr(original, "_phenolake", False):
        return

    def list_objects(self: Any, bucket: Any, prefix: Any, *args: Any, **kwargs: Any) -> Any:
        store = getattr(bucket, "keys", None)
        if (
            not prefix
            or isinstance(bucket, FakeTableStorageBucket)
            or not isinstance(store, _VersionedKeyStore)
        ):
            return original(self, bucket, prefix, *args, **kwargs)
        # list() of a dict's keys is one C call: no other thread's write can interleave
        names = [n for n in list(dict.keys(store)) if n.startswith(prefix)]
        seen = _PrefixBucket(bucket, _PrefixKeys(store, names))
        return original(self, seen, prefix, *args, **kwargs)

    list_objects._phenolake = True  # type: ignore[attr-defined]
    S3Backend.list_objects = list_objects  # type: ignore[method-assign]


PATCHES: dict[str, Callable[[], None]] = {
    "lambda-invoke": _patch_lambda_invoke,
    "lambda-limits": _patch_lambda_limits,
    "glue-job-run": _patch_glue_job_run,
    "timestream-batch-load": _patch_timestream_batch_load,
    "aws-sdk-service-names": _patch_sdk_service_names,
    "asl-number-literals": _patch_asl_number_literals,
    "sync-integration": _patch_sync_integration,
    "map-tolerated-failures": _patch_map_tolerated_failures,
    "map-result-writer": _patch_map_result_writer,
    "inline-map-states-errors": _patch_inline_map_states_errors,
    "state-data-limits": _patch_state_data_limits,
    "athena-iceberg": _patch_athena_iceberg,
    "dynamodb-threads": _patch_dynamodb_threads,
    "dynamodb-key-query": _patch_dynamodb_key_query,
    "s3-prefix-listing": _patch_s3_prefix_listing,
    "iam-enforcement": iam.install,
    "s3-eventbridge": _patch_s3_eventbridge,
}


class _AbsentPathFilter(logging.Filter):
    """moto logs an error for every path it cannot find, also where the machine asks whether
    it is there (a Choice's ``IsPresent``, which then goes on): noise on the user's terminal.
    An absent path that does fail an execution is in its history (``States.Runtime``), which
    the runner reports, so nothing is lost."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg % record.args if record.args else record.msg).startswith(
            "Exception=NoSuchJsonPathError"
        )


def apply() -> list[str]:
    """Apply every patch (idempotent); returns their names. Raises ``PatchBroken`` on a moto
    other than ``MOTO_CHECKED`` or when moto no longer has what a patch relies on."""
    # moto warns per Map that it does not evaluate ToleratedFailurePercentage; the
    # map-tolerated-failures patch does, so the warning no longer holds.
    parser_log = logging.getLogger("moto.stepfunctions.parser")
    parser_log.setLevel(logging.ERROR)
    # a logger's filter sees only its own records: the one the components log with
    component_log = logging.getLogger(eval_component.__name__)
    if not any(isinstance(f, _AbsentPathFilter) for f in component_log.filters):
        component_log.addFilter(_AbsentPathFilter())
    # Handlers running at once on threads share Powertools' metric set in-process (in Lambda
    # each invocation has the process to itself): one flushes, the other finds it empty.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    _check_moto_version()
    for patch in PATCHES.values():
        patch()
    return list(PATCHES)
