"""Fetch a Kaggle dataset into landing with Kaggle's own API client (``kagglesdk``).

``kagglesdk`` is the client library the ``kaggle`` command is built on; it is used directly
because the ``kaggle`` package authenticates when imported, reading and creating
``~/.kaggle`` (read-only in Lambda) and pulling in command-line dependencies. Credentials
(``{"username", "key"}``, the content of kaggle.json) come from Secrets Manager and are passed
to the client in memory: nothing is read from or written to disk, nothing is logged.

A dataset version already landed is not downloaded again: the zip lands at
``<source>/kaggle/<owner>/<slug>/v<version>/<slug>.zip`` and an existing key means done.
The API endpoint is the client's own choice (``KAGGLE_API_ENVIRONMENT``; production unless set).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from phenolake import storage
from phenolake.config import Settings


class KaggleFetchError(RuntimeError):
    """One line: which dataset and what went wrong."""


def dataset_key(source: str, dataset: str, version: int) -> str:
    owner, slug = split_dataset(dataset)
    return f"{source}/kaggle/{owner}/{slug}/v{version}/{slug}.zip"


def split_dataset(dataset: str) -> tuple[str, str]:
    owner, _, slug = dataset.partition("/")
    if not owner or not slug or "/" in slug:
        raise KaggleFetchError(f"kaggle dataset {dataset!r}: expected owner/slug")
    return owner, slug


def credentials(settings: Settings) -> tuple[str, str]:
    secrets = storage.client("secretsmanager", settings.region)
    try:
        value = json.loads(
            secrets.get_secret_value(SecretId=settings.kaggle_secret_id)["SecretString"]
        )
        username, key = value["username"], value["key"]
    except (ClientError, KeyError, ValueError, TypeError):
        raise KaggleFetchError(
            f"Kaggle credentials: secret {settings.kaggle_secret_id!r} must hold "
            '{"username": ..., "key": ...}'
        ) from None
    if not username or not key:
        raise KaggleFetchError(f"Kaggle credentials: secret {settings.kaggle_secret_id!r} is empty")
    return username, key


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def fetch_dataset(task: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    from kagglesdk import KaggleClient
    from kagglesdk.datasets.types.dataset_api_service import (
        ApiDownloadDatasetRequest,
        ApiGetDatasetRequest,
    )
    from requests import RequestException

    dataset = task["dataset"]
    source = task["source"]
    owner, slug = split_dataset(dataset)
    username, key = credentials(settings)
    s3 = storage.client("s3", settings.region)
    try:
        with KaggleClient(username=username, password=key) as kaggle:
            api = kaggle.datasets.dataset_api_client
            lookup = ApiGetDatasetRequest()
            lookup.owner_slug, lookup.dataset_slug = owner, slug
            version = api.get_dataset(lookup).current_version_number
            target = dataset_key(source, dataset, version)
            if _exists(s3, settings.landing_bucket, target):
                return []
            request = ApiDownloadDatasetRequest()
            request.owner_slug, request.dataset_slug = owner, slug
            request.dataset_version_number = version
            response = api.download_dataset(request)
            with tempfile.TemporaryDirectory(prefix="phenolake-kaggle-") as tmp:
                local = Path(tmp) / f"{slug}.zip"
                digest = hashlib.sha256()
                with local.open("wb") as out:
                    for chunk in response.iter_content(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
                s3.upload_file(
                    str(local),
                    settings.landing_bucket,
                    target,
                    ExtraArgs={
                        "Metadata": {
                            "kaggle-dataset": dataset,
                            "kaggle-version": str(version),
                            "sha256": digest.hexdigest(),
                        }
                    },
                )
    except RequestException as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        reason = {401: "credentials refused", 403: "access refused", 404: "no such dataset"}.get(
            status or 0, str(exc).splitlines()[0][:200]
        )
        raise KaggleFetchError(f"kaggle dataset {dataset}: {reason}") from None
    head = s3.head_object(Bucket=settings.landing_bucket, Key=target)
    return [
        {
            "source": source,
            "bucket": settings.landing_bucket,
            "key": target,
            "size": int(head["ContentLength"]),
            "etag": head["ETag"].strip('"'),
            "last_modified": head["LastModified"].isoformat(),
        }
    ]
