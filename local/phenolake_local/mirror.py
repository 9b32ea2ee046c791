"""Keep the embedded AWS's state in a folder a person can open.

Buckets are plain files, ``<home>/<bucket>/<key>``; the Glue Data Catalog and DynamoDB
tables are JSON under ``<home>/.state/``. ``load`` fills moto from the folder when a run
starts, ``save`` writes moto back when it ends (and around each local Glue job, whose Spark
reads and writes the files directly).

The cost of both must not grow with the lake's age more than a walk of its folders does (the
growth bench, ``bench/growth.py``, runs a study for 60 days): objects and items move through
moto's backends, not its API; a loaded object's bytes stay in its file until something reads
them (``_HomeFile``); the md5 of every file is saved with the state (``s3-md5.json``), so an
unchanged file is never read to be loaded or saved.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.s3.models import FakeKey, s3_backends

STATE_DIR = ".state"
CATALOG_FILE = "glue-catalog.json"
SKIP_SUFFIXES = (".crc",)


#: (path, size, mtime_ns) -> md5: the mirror runs around every local Glue job, and hashing
#: every file of a year-old lake each time made the local run grow with the lake's age.
_MD5_CACHE: dict[tuple[str, int, int], str] = {}


MD5_FILE = "s3-md5.json"


class _HomeFile:
    """A moto object's bytes left in the home's file until something reads them.

    Loading a lake read every file of the home into moto at the start of each run: seconds
    at day 60 of the growth bench and, for a real study's year, more memory than a laptop
    has. moto keeps an object's bytes in ``FakeKey._value_buffer``, a file object it only
    seeks, reads, truncates, writes and closes; this one opens the home's file on the first
    of those."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._inner: io.BytesIO | None = None

    def _open(self) -> io.BytesIO:
        if self._inner is None:
            self._inner = io.BytesIO(self._path.read_bytes())
        return self._inner

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._open().seek(offset, whence)

    def tell(self) -> int:
        return self._open().tell()

    def read(self, size: int = -1) -> bytes:
        return self._open().read(size)

    def truncate(self, size: int | None = None) -> int:
        return self._open().truncate(size)

    def write(self, data: bytes) -> int:
        return self._open().write(data)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


def _check_fake_key() -> None:
    """What ``_HomeFile`` relies on in moto's FakeKey; fails loudly after a moto upgrade."""
    from phenolake_local.patches import PatchBroken, _expect_fields

    _expect_fields(FakeKey, ["_value_buffer", "_etag"])
    value = FakeKey.__dict__.get("value")
    setter = getattr(value, "fset", None)
    if setter is None or "contentsize" not in setter.__code__.co_names:
        raise PatchBroken("moto: FakeKey.value no longer sets contentsize; update mirror.py")


def load_md5s(home: Path) -> None:
    """The md5s the last run saved, so a file unchanged since is not read to be loaded."""
    path = home / STATE_DIR / MD5_FILE
    if not path.exists():
        return
    for name, (size, mtime_ns, digest) in json.loads(path.read_text()).items():
        _MD5_CACHE[(str(home / name), size, mtime_ns)] = digest


def save_md5s(home: Path, buckets: list[str]) -> None:
    known: dict[str, list[Any]] = {}
    for bucket in buckets:
        for path in _bucket_files(home / bucket).values():
            stat = path.stat()
            digest = _MD5_CACHE.get((str(path), stat.st_size, stat.st_mtime_ns))
            if digest is not None:
                known[path.relative_to(home).as_posix()] = [stat.st_size, stat.st_mtime_ns, digest]
    target = home / STATE_DIR / MD5_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(known, sort_keys=True))


def _md5(path: Path) -> str:
    stat = path.stat()
    known = (str(path), stat.st_size, stat.st_mtime_ns)
    if known in _MD5_CACHE:
        return _MD5_CACHE[known]
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    _MD5_CACHE[known] = digest.hexdigest()
    return _MD5_CACHE[known]


def _bucket_files(root: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    if not root.exists():
        return files
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith(SKIP_SUFFIXES):
                continue
            path = Path(dirpath) / name
            files[path.relative_to(root).as_posix()] = path
    return files


def _s3() -> Any:
    """moto's S3 backend. The mirror moves a whole lake in and out of moto on every run and
    around every local Glue job; through the S3 API (ListObjectsV2 pages, one PutObject or
    GetObject per file) that cost grew with the lake's age until it was most of a year-old
    study's daily run. The embedded AWS's own bookkeeping is not an AWS call, so it goes to
    moto's backend directly (no request, no event, no IAM check)."""
    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"]


def _moto_objects(bucket: str) -> dict[str, str]:
    keys = _s3().get_bucket(bucket).keys
    return {name: key.etag.strip('"') for name, key in keys.items() if isinstance(key, FakeKey)}


def _put(bucket: str, key: str, path: Path) -> None:
    """The file as the object, its bytes read only when something reads the object."""
    size = path.stat().st_size
    found = _s3().put_object(bucket, key, b"", etag=_md5(path), disable_notification=True)
    found._value_buffer.close()
    found._value_buffer = _HomeFile(path)
    found.contentsize = size


def _get(bucket: str, key: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_s3().get_bucket(bucket).keys[key].value)


def files_to_s3(home: Path, buckets: list[str]) -> int:
    """Make each moto bucket hold exactly the files of its folder; returns objects changed."""
    _check_fake_key()
    changed = 0
    for bucket in buckets:
        files = _bucket_files(home / bucket)
        objects = _moto_objects(bucket)
        for key, path in files.items():
            etag = objects.get(key)
            if etag is None or "-" in etag or etag != _md5(path):
                _put(bucket, key, path)
                changed += 1
        for key in set(objects) - set(files):
            _s3().delete_object(bucket, key)
            changed += 1
    return changed


def s3_to_files(home: Path, buckets: list[str]) -> int:
    """Make each bucket folder hold exactly the moto bucket's objects; returns files changed."""
    changed = 0
    for bucket in buckets:
        root = home / bucket
        files = _bucket_files(root)
        objects = _moto_objects(bucket)
        for key, etag in objects.items():
            if key.endswith("/"):
                continue
            if key in files and "-" not in etag and _md5(files[key]) == etag:
                continue
            _get(bucket, key, root / key)
            changed += 1
        for key in set(files) - set(objects):
            files[key].unlink()
            changed += 1
        _prune_empty_dirs(root)
    return changed


def snapshot(buckets: list[str]) -> dict[str, dict[str, str]]:
    """Each bucket's keys and ETags, for ``changes_to_files`` after a local Glue job."""
    return {bucket: _moto_objects(bucket) for bucket in buckets}


def changes_to_files(home: Path, before: dict[str, dict[str, str]]) -> int:
    """Write to the folders what changed in moto since ``before``: a Glue job writes with
    Spark to the folders but may also call S3 itself, and ``files_to_s3`` after the job
    would otherwise delete what it put. Returns files changed."""
    changed = 0
    for bucket, objects in before.items():
        now = _moto_objects(bucket)
        for key, etag in now.items():
            if objects.get(key) != etag and not key.endswith("/"):
                _get(bucket, key, home / bucket / key)
                changed += 1
        for key in set(objects) - set(now):
            (home / bucket / key).unlink(missing_ok=True)
            changed += 1
    return changed


def _prune_empty_dirs(root: Path) -> None:
    if not root.exists():
        return
    for dirpath, _, _ in sorted(os.walk(root), key=lambda item: -len(item[0])):
        path = Path(dirpath)
        if path != root and not any(path.iterdir()):
            path.rmdir()


def _strip(value: Any) -> Any:
    """JSON-safe copy of a boto3 response: datetimes dropped, as the catalog file keeps them out."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not hasattr(v, "isoformat")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


_TABLE_INPUT_KEYS = (
    "Name",
    "Description",
    "Owner",
    "Retention",
    "StorageDescriptor",
    "PartitionKeys",
    "TableType",
    "Parameters",
    "ViewOriginalText",
    "ViewExpandedText",
)


def dump_catalog(glue: Any, path: Path) -> None:
    catalog: dict[str, Any] = {"databases": {}, "tables": {}, "partitions": {}}
    for page in glue.get_paginator("get_databases").paginate():
        for database in page["DatabaseList"]:
            name = database["Name"]
            catalog["databases"][name] = _strip(database)
            catalog["tables"][name] = {}
            catalog["partitions"][name] = {}
            for tpage in glue.get_paginator("get_tables").paginate(DatabaseName=name):
                for table in tpage["TableList"]:
                    catalog["tables"][name][table["Name"]] = _strip(table)
                    partitions = [
                        _strip(
                            {
                                "Values": p["Values"],
                                "StorageDescriptor": p.get("StorageDescriptor", {}),
                            }
                        )
                        for ppage in glue.get_paginator("get_partitions").paginate(
                            DatabaseName=name, TableName=table["Name"]
                        )
                        for p in ppage["Partitions"]
                    ]
                    catalog["partitions"][name][table["Name"]] = sorted(
                        partitions, key=lambda p: p["Values"]
                    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(catalog, indent=1, sort_keys=True))


def load_catalog(glue: Any, path: Path) -> None:
    if not path.exists():
        return
    catalog = json.loads(path.read_text())
    existing = {
        d["Name"]
        for page in glue.get_paginator("get_databases").paginate()
        for d in page["DatabaseList"]
    }
    for name, database in catalog["databases"].items():
        if name not in existing:
            glue.create_database(
                DatabaseInput={
                    k: v
                    for k, v in database.items()
                    if k in ("Name", "Description", "Parameters", "LocationUri")
                }
            )
        for table_name, table in catalog["tables"].get(name, {}).items():
            glue.create_table(
                DatabaseName=name,
                TableInput={k: v for k, v in table.items() if k in _TABLE_INPUT_KEYS},
            )
            partitions = catalog["partitions"].get(name, {}).get(table_name, [])
            for start in range(0, len(partitions), 100):
                glue.batch_create_partition(
                    DatabaseName=name,
                    TableName=table_name,
                    PartitionInputList=partitions[start : start + 100],
                )


def _plain_number(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; keep them numbers in the JSON file."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _decimal_number(value: Any) -> Any:
    return Decimal(str(value)) if isinstance(value, float) else value


def _dynamodb(dynamodb: Any) -> Any:
    """moto's DynamoDB backend of the client's region: the state files move through it
    directly, as the buckets do (``_s3``); a Scan and a PutItem per item through the API
    grew with the ledger until they were seconds of every run of a study months old."""
    return dynamodb_backends[DEFAULT_ACCOUNT_ID][dynamodb.meta.region_name]


def dump_tables(dynamodb: Any, tables: list[str], state: Path) -> None:
    deserializer = TypeDeserializer()
    backend = _dynamodb(dynamodb)
    for table in tables:
        items = [
            {
                k: _plain_number(deserializer.deserialize(v))
                for k, v in item.to_json()["Attributes"].items()
            }
            for item in backend.get_table(table).all_items()
        ]
        items.sort(key=lambda i: (str(i.get("pk")), str(i.get("sk"))))
        path = state / "dynamodb" / f"{table}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(items, indent=1, sort_keys=True, default=str))


def load_tables(dynamodb: Any, tables: list[str], state: Path) -> None:
    serializer = TypeSerializer()
    backend = _dynamodb(dynamodb)
    for table in tables:
        path = state / "dynamodb" / f"{table}.json"
        if not path.exists():
            continue
        for item in json.loads(path.read_text()):
            backend.put_item(
                table, {k: serializer.serialize(_decimal_number(v)) for k, v in item.items()}
            )
