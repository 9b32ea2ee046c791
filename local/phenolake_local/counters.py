"""Counts of the AWS calls made in the embedded AWS, by caller, for the growth benchmark.

Every request reaches moto by one of two doors: in this process through botocore's
``before-send`` event (moto's ``BotocoreStubber``), and from the local Glue job process
through moto's HTTP server in this process (``convert_to_flask_response``, one per route).
``install()`` wraps both, so one ``COUNTER`` sees the calls of the Lambda handlers, the state
machine's service integrations and the Glue job alike, each with its response, and files
them under the role that signed it (the IAM enforcer knows every role's keys); calls signed
with no role's key are the embedded AWS's own (deploying, landing inputs, mirroring the
folders) and are kept apart as ``local``. Nothing here changes a request or a response.

Counted per (caller, service, operation): calls, the items each response carries (keys of a
ListObjects page, items of a DynamoDB Query/Scan/GetItem/BatchGetItem, partitions of a
GetPartitions, items a BatchWriteItem writes) and the bytes of the response body.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: The caller of calls signed by no role's key: the embedded AWS itself and the developer.
LOCAL = "local"
#: The caller of the state machines' service calls when no single one runs.
STATES = "states"

_CONTENTS = re.compile(rb"<Contents>")


@dataclass
class Tally:
    calls: int = 0
    items: int = 0
    bytes: int = 0


Key = tuple[str, str, str]  # (caller, service, operation)


class CallCounter:
    """Thread-safe tallies of the calls moto answered, since the last ``reset``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tallies: dict[Key, Tally] = {}

    def reset(self) -> None:
        with self._lock:
            self._tallies = {}

    def add(self, caller: str, service: str, operation: str, items: int, size: int) -> None:
        with self._lock:
            tally = self._tallies.setdefault((caller, service, operation), Tally())
            tally.calls += 1
            tally.items += items
            tally.bytes += size

    def snapshot(self) -> dict[Key, Tally]:
        with self._lock:
            return {key: Tally(t.calls, t.items, t.bytes) for key, t in self._tallies.items()}


COUNTER = CallCounter()


# ------------------------------------------------------------------------- pure parts


def s3_operation(
    method: str, path: str, query: Mapping[str, Any], headers: Mapping[str, str]
) -> str:
    """The S3 API operation of a REST request (path-style ``/bucket/key``), as botocore
    names it; the subresources the pipeline uses are told apart, others are ``<METHOD>``."""
    parts = path.lstrip("/").split("/", 1)
    has_key = len(parts) == 2 and parts[1] != ""
    lowered = {k.lower(): v for k, v in headers.items()}
    if not parts[0]:
        return "ListBuckets"
    if has_key:
        if "uploadId" in query:
            return {"PUT": "UploadPart", "POST": "CompleteMultipartUpload"}.get(
                method, "AbortMultipartUpload" if method == "DELETE" else "ListParts"
            )
        if method == "POST" and "uploads" in query:
            return "CreateMultipartUpload"
        if "tagging" in query:
            return {"GET": "GetObjectTagging", "PUT": "PutObjectTagging"}.get(method, method)
        if method == "PUT":
            return "CopyObject" if "x-amz-copy-source" in lowered else "PutObject"
        return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(
            method, method
        )
    if method == "GET":
        if "versions" in query:
            return "ListObjectVersions"
        if "location" in query:
            return "GetBucketLocation"
        return "ListObjectsV2" if _first(query, "list-type") == "2" else "ListObjects"
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    return {"HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(
        method, method
    )


def _first(query: Mapping[str, Any], name: str) -> str | None:
    value = query.get(name)
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return None if value is None else str(value)


def response_items(service: str, operation: str, request_body: bytes, body: bytes) -> int:
    """How many items a response carries (or a batch write writes): the unit the work is
    counted in. 1 for a call whose response is one thing (GetObject, GetItem found)."""
    if service == "s3":
        if operation in ("ListObjectsV2", "ListObjects", "ListObjectVersions"):
            return len(_CONTENTS.findall(body))
        return 1 if operation == "GetObject" else 0
    if service == "dynamodb":
        if operation == "BatchWriteItem":
            found = _json(request_body)
            return sum(len(v) for v in found.get("RequestItems", {}).values())
        found = _json(body)
        if operation in ("Query", "Scan"):
            return int(found.get("Count", 0))
        if operation == "GetItem":
            return 1 if "Item" in found else 0
        if operation == "BatchGetItem":
            return sum(len(v) for v in found.get("Responses", {}).values())
        return 1 if operation in ("PutItem", "UpdateItem", "DeleteItem") else 0
    if service == "glue" and operation == "GetPartitions":
        return len(_json(body).get("Partitions", []))
    return 0


def _json(body: bytes) -> dict[str, Any]:
    try:
        found = json.loads(body or b"{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    return b""


def caller_of(headers: Mapping[str, str], query: Mapping[str, Any]) -> str:
    """The role that signed a request (``local`` for no role's key)."""
    from phenolake_local import iam

    if not iam.ENFORCER.active:
        return LOCAL
    try:
        role = iam.ENFORCER.role_of_key(iam.access_key_of(headers, query))
    except iam.UnmappedCall:
        return STATES
    return role.name if role is not None else LOCAL


def _record(
    service: str,
    operation: str,
    headers: Mapping[str, str],
    query: Mapping[str, Any],
    request_body: Any,
    body: Any,
) -> None:
    headers = {str(k): v.decode() if isinstance(v, bytes) else str(v) for k, v in headers.items()}
    data = _bytes(body)
    items = response_items(service, operation, _bytes(request_body), data)
    COUNTER.add(caller_of(headers, query), service, operation, items, len(data))


# ------------------------------------------------------------------------- the two doors


def _server_operation(service: str, method: str, path: str, args: Mapping[str, Any],
                      headers: Mapping[str, str], form: Mapping[str, Any]) -> str:  # fmt: skip
    if service == "s3":
        return s3_operation(method, path, args, headers)
    target = headers.get("X-Amz-Target") or headers.get("x-amz-target") or ""
    if target:
        return target.rsplit(".", 1)[-1]
    return str(args.get("Action") or form.get("Action") or f"{method} {path}")


_ORIGINALS: list[tuple[type, str, Any]] = []


def _patch_stubber() -> None:
    from moto.core.botocore_stubber import BotocoreStubber

    from phenolake_local.patches import _expect

    original = _expect(BotocoreStubber, "__call__", ["self", "event_name", "request"])
    if getattr(original, "_phenolake_counted", False):
        return

    def call(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        response = original(self, event_name, request, **kwargs)
        if response is not None:
            _, service, operation = [*event_name.split("."), "", ""][:3]
            query = parse_qs(urlsplit(request.url).query, keep_blank_values=True)
            raw = response.raw  # MockRawResponse, a BytesIO: read without moving its position
            body = raw.getvalue() if hasattr(raw, "getvalue") else b""
            _record(service, operation, request.headers, query, request.body, body)
        return response

    call._phenolake_counted = True  # type: ignore[attr-defined]
    _ORIGINALS.append((BotocoreStubber, "__call__", original))
    BotocoreStubber.__call__ = call  # type: ignore[method-assign]


def _patch_server() -> None:
    from moto.core.utils import convert_to_flask_response

    from phenolake_local.patches import _expect

    original = _expect(convert_to_flask_response, "__call__", ["self", "args"])
    if getattr(original, "_phenolake_counted", False):
        return

    def call(self: Any, args: Any = None, **kwargs: Any) -> Any:
        from flask import current_app
        from flask import request as flask_request

        response = original(self, args, **kwargs)
        service = str(getattr(current_app, "service", ""))
        headers = dict(flask_request.headers)
        query = {k: flask_request.args.getlist(k) for k in flask_request.args}
        operation = _server_operation(
            service, flask_request.method, flask_request.path, query, headers, flask_request.form
        )
        body = b"" if response.is_streamed else response.get_data()
        _record(service, operation, headers, query, flask_request.get_data(), body)
        return response

    call._phenolake_counted = True  # type: ignore[attr-defined]
    _ORIGINALS.append((convert_to_flask_response, "__call__", original))
    convert_to_flask_response.__call__ = call  # type: ignore[method-assign]


def install() -> None:
    """Count every call from now on (idempotent); raises ``PatchBroken`` when moto no longer
    has either door as this module wraps it."""
    _patch_stubber()
    _patch_server()


def uninstall() -> None:
    """Stop counting: moto as it was before ``install``."""
    while _ORIGINALS:
        owner, name, original = _ORIGINALS.pop()
        setattr(owner, name, original)
