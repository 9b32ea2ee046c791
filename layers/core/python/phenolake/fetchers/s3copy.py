"""Copy objects of an external S3 bucket into landing: a date range, include/exclude sites.

A site is the first path segment below the prefix (``<prefix>/<site>/<participant>/...``).
An object already landed with the same ETag is skipped, so a rerun copies nothing twice.
The landing key is the source key below the prefix, or the whole source key with
``keep_prefix`` (for sources whose keys carry meaning above the prefix, such as Screenlake's
``.../panelist/<id>/``).
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from phenolake import lake, storage

#: The options that choose sites, in fetch tasks, the execution input and the CLI.
SITE_OPTIONS = ("include_sites", "exclude_sites")


def site_of(key: str, prefix: str) -> str:
    rest = key[len(prefix) :].lstrip("/") if key.startswith(prefix) else key
    return rest.split("/", 1)[0]


def select(
    objects: list[storage.S3Object],
    prefix: str,
    start: dt.date,
    end: dt.date,
    include_sites: list[str],
    exclude_sites: list[str],
) -> list[storage.S3Object]:
    chosen = []
    for obj in objects:
        if obj.key.endswith("/") or not start <= obj.last_modified.date() <= end:
            continue
        site = site_of(obj.key, prefix)
        if include_sites and site not in include_sites:
            continue
        if site in exclude_sites:
            continue
        chosen.append(obj)
    return chosen


def _landed_etag(s3: Any, bucket: str, key: str) -> str | None:
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return head.get("Metadata", {}).get("source-etag") or head["ETag"].strip('"')


def fetch_bucket(
    s3: Any,
    *,
    source: str,
    task: dict[str, Any],
    landing_bucket: str,
    window: tuple[dt.date, dt.date],
    concurrency: int = 16,
) -> list[dict[str, Any]]:
    bucket = task["bucket"]
    prefix = task.get("prefix", "")
    candidates = select(
        list(storage.list_objects(s3, bucket, prefix)),
        prefix,
        window[0],
        window[1],
        task.get("include_sites", []),
        task.get("exclude_sites", []),
    )

    def copy(obj: storage.S3Object) -> dict[str, Any] | None:
        below = obj.key if task.get("keep_prefix") else obj.key[len(prefix) :]
        target = lake.landing_key(source, below.lstrip("/"))
        if _landed_etag(s3, landing_bucket, target) == obj.etag:
            return None
        s3.copy_object(
            Bucket=landing_bucket,
            Key=target,
            CopySource={"Bucket": bucket, "Key": obj.key},
            Metadata={"source-etag": obj.etag, "source-uri": f"s3://{bucket}/{obj.key}"},
            MetadataDirective="REPLACE",
        )
        head = s3.head_object(Bucket=landing_bucket, Key=target)
        return {
            "source": source,
            "bucket": landing_bucket,
            "key": target,
            "size": obj.size,
            "etag": head["ETag"].strip('"'),
            "last_modified": head["LastModified"].isoformat(),
        }

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return [item for item in pool.map(copy, candidates) if item]
