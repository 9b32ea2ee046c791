"""Fetch a Kaggle dataset into landing with Kaggle's own API client, ``kagglesdk``.

Which client
    ``kagglesdk`` is the library the ``kaggle`` command (PyPI ``kaggle`` 2.x) is built on; the
    two calls made here are the ones ``kaggle datasets status --format
    'json(current_version_number)'`` and ``kaggle datasets download`` make
    (``DatasetApiService/GetDataset`` and ``/DownloadDataset``). The ``kaggle`` package itself
    is not used because importing it is unsafe in a Lambda: ``import kaggle`` creates
    ``~/.kaggle`` (or ``~/.config/kaggle``) in a class body, which fails on Lambda's read-only
    home (Kaggle/kaggle-cli#288, still open), then runs ``KaggleApi.authenticate()``, which
    reads ``kaggle.json`` and every ``KAGGLE_*`` environment variable into a process-wide
    object and prints its login help to stdout; 2.2.4 and 2.2.5 also ``import six`` without
    declaring it, and it brings jupytext, nbformat, jsonschema and bleach for its command line.

Credentials
    The secret ``settings.kaggle_secret_id`` holds the content of ``kaggle.json``,
    ``{"username": ..., "key": ...}`` (a legacy API key, sent as HTTP basic auth), or
    ``{"token": ...}`` (a Kaggle API token, sent as a bearer token). They are given to the
    client object in memory for one fetch and dropped: no environment variable is set, nothing
    is read from or written to ``~/.kaggle``. kagglesdk's own credential search
    (``KAGGLE_API_TOKEN``, ``~/.kaggle/access_token``, ``~/.kaggle/kaggle.json``), which would
    otherwise let a token lying on the machine stand in for the secret, is switched off. The
    client's verbose mode, which prints request headers, is never on, nothing here logs the
    key, and botocore's DEBUG log of the GetSecretValue reply (which holds it) is blanked.
    The storage host a download redirects to never sees it (requests drops the Authorization
    header on a redirect to another host).

Endpoint
    The client's own switch, ``KAGGLE_API_ENVIRONMENT``: unset or ``PROD`` is
    https://api.kaggle.com; ``TEST`` is http://localhost:7777, where the tests' fake Kaggle
    (``tests/fakes/kaggle_server.py``) listens.

Once per version
    The zip lands, unopened, at ``<source>/kaggle/<owner>/<slug>/v<version>/<slug>.zip`` with
    metadata ``kaggle-dataset``, ``kaggle-version`` and ``sha256``; when that key exists the
    dataset is not downloaded again. A download that is not a zip is refused before it lands,
    so a bad response cannot take the version's key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from phenolake import storage
from phenolake.config import Settings

log = logging.getLogger(__name__)


CHUNK = 1 << 20
_REFUSALS = {401: "credentials refused", 403: "access refused", 404: "no such dataset"}


class KaggleFetchError(RuntimeError):
    """One line: which dataset and what went wrong."""


class _RedactSecretBodies(logging.Filter):
    """botocore logs every response body at DEBUG, GetSecretValue's (the key) included.

    Installed on the ``botocore.parsers`` logger, it blanks a body holding a secret value, so
    a Lambda run with debug logging does not write the Kaggle key to CloudWatch.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if any(_holds_secret(arg) for arg in args):
            record.args = ("<a Secrets Manager secret value, not logged>",)
        return True


def _holds_secret(value: object) -> bool:
    if isinstance(value, bytes):
        return b'"SecretString"' in value or b'"SecretBinary"' in value
    return isinstance(value, str) and ('"SecretString"' in value or '"SecretBinary"' in value)


def _redact_secret_bodies() -> None:
    parsers = logging.getLogger("botocore.parsers")
    if not any(isinstance(f, _RedactSecretBodies) for f in parsers.filters):
        parsers.addFilter(_RedactSecretBodies())


@dataclass(frozen=True)
class Credentials:
    """Kaggle credentials as held in the secret; ``repr`` never shows the key or token."""

    username: str = ""
    key: str = field(default="", repr=False)
    token: str = field(default="", repr=False)

    def auth(self) -> Any:
        """What ``requests`` sends: a bearer token if there is one, else basic auth."""
        if self.token:
            from kagglesdk.kaggle_http_client import KaggleHttpClient

            return KaggleHttpClient.BearerAuth(self.token)
        return (self.username, self.key)


def split_dataset(dataset: str) -> tuple[str, str]:
    owner, _, slug = (dataset or "").partition("/")
    if not owner or not slug or "/" in slug:
        raise KaggleFetchError(f"kaggle dataset {dataset!r}: expected owner/slug")
    return owner, slug


def dataset_key(source: str, dataset: str, version: int) -> str:
    owner, slug = split_dataset(dataset)
    return f"{source}/kaggle/{owner}/{slug}/v{version}/{slug}.zip"


def credentials(settings: Settings) -> Credentials:
    """The Kaggle credentials in Secrets Manager; the error names the secret, never its value."""
    secret_id = settings.kaggle_secret_id
    if not secret_id:
        raise KaggleFetchError("Kaggle credentials: KAGGLE_SECRET_ID is not set")
    _redact_secret_bodies()
    secrets = storage.client("secretsmanager", settings.region)
    try:
        value = json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"])
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise KaggleFetchError(f"Kaggle credentials: secret {secret_id!r}: {code}") from None
    except (KeyError, ValueError, TypeError):
        value = None
    if not isinstance(value, dict):
        value = {}
    found = Credentials(
        username=str(value.get("username") or ""),
        key=str(value.get("key") or ""),
        token=str(value.get("token") or ""),
    )
    if not found.token and not (found.username and found.key):
        raise KaggleFetchError(
            f"Kaggle credentials: secret {secret_id!r} is empty or not "
            '{"username": ..., "key": ...} (or {"token": ...})'
        )
    return found


@contextmanager
def kaggle_client(creds: Credentials, dataset: str = "") -> Iterator[Any]:
    """A ``kagglesdk.KaggleClient`` that authenticates with ``creds`` and nothing else.

    kagglesdk has no public way to stop it searching the environment and ``~/.kaggle`` for a
    token that would override the credentials given to it, so this marks its HTTP client as
    already signed in (``_signed_in``) before its session opens, then sets the session's auth.
    ``tests/unit/test_kaggle_fetch.py`` plants such a token and fails if this stops holding.
    """
    from kagglesdk import KaggleClient

    try:
        client = KaggleClient(verbose=False)
    except Exception as exc:  # kagglesdk raises a bare Exception for a bad environment name
        raise KaggleFetchError(f"kaggle dataset {dataset}: client: {exc}") from None
    http = client.http_client()
    if not hasattr(http, "_signed_in"):
        raise RuntimeError("kagglesdk changed: KaggleHttpClient._signed_in is gone")
    http._signed_in = True
    with client:
        http._session.auth = creds.auth()
        yield client


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def _reason(exc: Exception) -> str:
    """A one-line reason for a failed Kaggle call (requests' messages hold URLs, not auth)."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status in _REFUSALS:
        return f"{_REFUSALS[status]} (HTTP {status})"
    if status:
        return f"HTTP {status}"
    first = (str(exc).splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def fetch_dataset(task: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Land the current version of ``task["dataset"]`` unless it has landed already.

    Returns the landed object (``source``, ``bucket``, ``key``, ``size``, ``etag``,
    ``last_modified``), or ``[]`` when this version is already in landing. Raises
    ``KaggleFetchError`` with a one-line message naming the dataset.
    """
    from kagglesdk.datasets.types.dataset_api_service import (
        ApiDownloadDatasetRequest,
        ApiGetDatasetRequest,
    )
    from requests import RequestException

    dataset = task.get("dataset", "")
    source = task["source"]
    owner, slug = split_dataset(dataset)
    try:
        creds = credentials(settings)
    except KaggleFetchError as exc:
        raise KaggleFetchError(f"kaggle dataset {dataset}: {exc}") from None
    s3 = storage.client("s3", settings.region)
    bucket = settings.landing_bucket
    try:
        with kaggle_client(creds, dataset) as kaggle:
            api = kaggle.datasets.dataset_api_client
            lookup = ApiGetDatasetRequest()
            lookup.owner_slug, lookup.dataset_slug = owner, slug
            version = api.get_dataset(lookup).current_version_number
            if not version:
                raise KaggleFetchError(f"kaggle dataset {dataset}: Kaggle reports no version")
            target = dataset_key(source, dataset, version)
            if _exists(s3, bucket, target):
                log.info("kaggle dataset %s v%s already landed at %s", dataset, version, target)
                return []
            request = ApiDownloadDatasetRequest()
            request.owner_slug, request.dataset_slug = owner, slug
            request.dataset_version_number = version
            with tempfile.TemporaryDirectory(prefix="phenolake-kaggle-") as tmp:
                local = Path(tmp) / f"{slug}.zip"
                digest = hashlib.sha256()
                with closing(api.download_dataset(request)) as response, local.open("wb") as out:
                    for chunk in response.iter_content(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                if not zipfile.is_zipfile(local):
                    raise KaggleFetchError(
                        f"kaggle dataset {dataset}: v{version} download is not a zip "
                        f"({local.stat().st_size} bytes)"
                    )
                s3.upload_file(
                    str(local),
                    bucket,
                    target,
                    ExtraArgs={
                        "ContentType": "application/zip",
                        "Metadata": {
                            "kaggle-dataset": dataset,
                            "kaggle-version": str(version),
                            "sha256": digest.hexdigest(),
                        },
                    },
                )
    except (RequestException, OSError, ValueError) as exc:
        # RequestException: refusals and connection errors; OSError: the temp disk;
        # ValueError: a reply the client cannot parse.
        raise KaggleFetchError(f"kaggle dataset {dataset}: {_reason(exc)}") from None
    head = s3.head_object(Bucket=bucket, Key=target)
    log.info("kaggle dataset %s v%s landed at s3://%s/%s", dataset, version, bucket, target)
    return [
        {
            "source": source,
            "bucket": bucket,
            "key": target,
            "size": int(head["ContentLength"]),
            "etag": head["ETag"].strip('"'),
            "last_modified": head["LastModified"].astimezone(dt.UTC).isoformat(),
        }
    ]
