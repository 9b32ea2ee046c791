"""Small S3 helpers shared by the steps: JSON documents, listings, quarantine with a reason."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from phenolake import lake


@lru_cache(maxsize=8)
def _client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, config=Config(retries={"mode": "standard"}))


def client(service: str, region: str = "us-east-1") -> Any:
    """A cached boto3 client: Lambdas reuse it across warm invocations."""
    return _client(service, region)


def reset_clients() -> None:
    """Forget cached clients (the embedded AWS starts a fresh mock per run)."""
    _client.cache_clear()


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    size: int
    etag: str
    last_modified: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "size": self.size,
            "etag": self.etag,
            "last_modified": self.last_modified.isoformat(),
        }


def list_objects(s3: Any, bucket: str, prefix: str = "") -> Iterator[S3Object]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield S3Object(
                bucket=bucket,
                key=item["Key"],
                size=int(item["Size"]),
                etag=item["ETag"].strip('"'),
                last_modified=item["LastModified"].astimezone(dt.UTC),
            )


def get_json(s3: Any, bucket: str, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def put_json(s3: Any, bucket: str, key: str, document: Any) -> None:
    body = json.dumps(document, indent=1, sort_keys=True, default=str).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def parquet_metadata(s3: Any, bucket: str, key: str) -> Any:
    """A Parquet object's footer (pyarrow FileMetaData: schema, row count, statistics) from
    two ranged reads, no data."""
    import pyarrow as pa  # here, not at the top: Redact's deployment has no pyarrow
    import pyarrow.parquet as pq

    tail = s3.get_object(Bucket=bucket, Key=key, Range="bytes=-8")["Body"].read()
    if len(tail) != 8 or tail[4:] != b"PAR1":
        raise ValueError(f"s3://{bucket}/{key} is not a Parquet file")
    length = int.from_bytes(tail[:4], "little")
    footer = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=-{length + 8}")["Body"].read()
    return pq.read_metadata(pa.BufferReader(b"PAR1" + footer))


def parquet_rows(s3: Any, bucket: str, key: str) -> int:
    """Row count of a Parquet object from its footer alone (two ranged reads, no data)."""
    return parquet_metadata(s3, bucket, key).num_rows


def read_table(s3: Any, bucket: str, key: str) -> Any:
    """A whole Parquet object as a pyarrow Table (the files read whole are a day or a table's
    partition: small)."""
    import pyarrow.parquet as pq  # here, not at the top: Redact's deployment has no pyarrow

    return pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def sha256_of_object(s3: Any, bucket: str, key: str) -> str:
    digest = hashlib.sha256()
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    for chunk in iter(lambda: body.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def quarantine(
    s3: Any,
    *,
    lake_bucket: str,
    run_id: str,
    source_bucket: str,
    source_key: str,
    reason: str,
    detail: dict[str, Any] | None = None,
    body: bytes | None = None,
) -> str:
    """Copy a rejected object (or the given bytes) to quarantine/ with a reason file beside it.

    Nothing rejected is lost: the reason says what was wrong and where it came from.
    """
    target = lake.quarantine_key(run_id, f"{source_bucket}/{source_key}")
    if body is not None:
        s3.put_object(Bucket=lake_bucket, Key=target, Body=body)
    else:
        s3.copy_object(
            Bucket=lake_bucket, Key=target, CopySource={"Bucket": source_bucket, "Key": source_key}
        )
    put_json(
        s3,
        lake_bucket,
        lake.reason_key(target),
        {
            "reason": reason,
            "source": f"s3://{source_bucket}/{source_key}",
            "run_id": run_id,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **(detail or {}),
        },
    )
    return target


class RangeReader(io.RawIOBase):
    """A seekable read-only view of an S3 object through ranged GETs, so a zip's central
    directory and the first bytes of a member can be read without downloading the object."""

    def __init__(self, s3: Any, bucket: str, key: str, size: int) -> None:
        self.s3, self.bucket, self.key, self.size = s3, bucket, key, size
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: Any) -> int:
        if self.position >= self.size or len(buffer) == 0:
            return 0
        last = min(self.position + len(buffer), self.size) - 1
        body = self.s3.get_object(
            Bucket=self.bucket, Key=self.key, Range=f"bytes={self.position}-{last}"
        )["Body"].read()
        buffer[: len(body)] = body
        self.position += len(body)
        return len(body)


def open_ranged(s3: Any, bucket: str, key: str, size: int) -> io.BufferedReader:
    # 256 KiB a GET: a dry run reads 64 KiB of each member, not megabytes
    return io.BufferedReader(RangeReader(s3, bucket, key, size), buffer_size=256 << 10)
