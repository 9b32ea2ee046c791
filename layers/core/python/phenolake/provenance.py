"""Run manifests as a hash chain, so tampering with a past run's record, or a gap, shows.

Each run's manifest (``manifests/runs/<run>.json``) records its inputs with their sha256,
its outputs and row counts, the code version and a hash of the configuration, and the
sha256 of the previous run's manifest. ``manifests/runs/HEAD.json`` names the newest one.
``verify`` walks the chain back from HEAD: a manifest whose bytes no longer hash to what
its successor recorded was changed; a recorded predecessor that is missing is a gap; a
manifest the walk never reaches was inserted or cut off.

Runs that end at the same moment could both read the same HEAD; the daily schedule runs
one at a time, and a fork shows up in ``verify`` as a manifest outside the chain.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from phenolake import lake

RUNS_PREFIX = posixpath.join(lake.MANIFESTS, "runs") + "/"
HEAD_KEY = RUNS_PREFIX + "HEAD.json"


class ManifestStore(Protocol):
    """Where run manifests live: the lake bucket in S3, or its folder locally."""

    def keys(self, prefix: str) -> list[str]: ...

    def read(self, key: str) -> bytes | None: ...

    def write(self, key: str, body: bytes) -> None: ...


@dataclass
class S3Store:
    s3: Any
    bucket: str

    def keys(self, prefix: str) -> list[str]:
        from phenolake import storage

        return [o.key for o in storage.list_objects(self.s3, self.bucket, prefix)]

    def read(self, key: str) -> bytes | None:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None

    def write(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")


@dataclass
class FolderStore:
    """A lake bucket as the embedded AWS keeps it on disk (``<home>/<bucket>/<key>``)."""

    root: Path

    def keys(self, prefix: str) -> list[str]:
        base = self.root / prefix
        if not base.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*") if p.is_file())

    def read(self, key: str) -> bytes | None:
        path = self.root / key
        return path.read_bytes() if path.is_file() else None

    def write(self, key: str, body: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical(document: Any) -> bytes:
    return json.dumps(document, indent=1, sort_keys=True, default=str).encode()


def configuration_hash(settings: Any, study_sha256: str) -> str:
    """sha256 of what a run was configured with: the deployment's settings (bucket, table and
    sink names; no secrets) and the study configuration file's own sha256."""
    fields = {k: v for k, v in vars(settings).items() if not k.endswith("secret_id")}
    return sha256(canonical({"settings": fields, "study_sha256": study_sha256}))


def seal(store: ManifestStore, run_id: str, manifest: dict[str, Any]) -> dict[str, str]:
    """Write the run's manifest linked to the current HEAD, then move HEAD to it."""
    head_body = store.read(HEAD_KEY)
    head = json.loads(head_body) if head_body else None
    previous = (
        {"run_id": head["run_id"], "sha256": head["sha256"]}
        if head and head["run_id"] != run_id
        else (head.get("previous") if head else None)
    )
    body = canonical({**manifest, "previous": previous})
    key = lake.run_manifest_key(run_id)
    store.write(key, body)
    sealed = {"run_id": run_id, "key": key, "sha256": sha256(body), "previous": previous}
    store.write(HEAD_KEY, canonical(sealed))
    return sealed


@dataclass
class ChainReport:
    runs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(store: ManifestStore) -> ChainReport:
    report = ChainReport()
    manifests = {
        posixpath.basename(k)[: -len(".json")]: k
        for k in store.keys(RUNS_PREFIX)
        if k.endswith(".json") and k != HEAD_KEY
    }
    head_body = store.read(HEAD_KEY)
    if head_body is None:
        if manifests:
            report.problems.append(f"{HEAD_KEY} is missing but {len(manifests)} manifests exist")
        return report
    head = json.loads(head_body)
    expected = {"run_id": head["run_id"], "sha256": head["sha256"]}
    reached: set[str] = set()
    while expected:
        run_id = expected["run_id"]
        body = store.read(manifests.get(run_id, lake.run_manifest_key(run_id)))
        if body is None:
            report.problems.append(f"gap: the manifest of run {run_id} is missing")
            break
        if run_id in reached:
            report.problems.append(f"loop: run {run_id} appears twice in the chain")
            break
        reached.add(run_id)
        report.runs.append(run_id)
        if sha256(body) != expected["sha256"]:
            report.problems.append(
                f"changed: manifest of run {run_id} has sha256 {sha256(body)[:12]}…, "
                f"its successor recorded {expected['sha256'][:12]}…"
            )
        expected = json.loads(body).get("previous")
    for run_id in sorted(set(manifests) - reached):
        report.problems.append(f"outside the chain: manifest of run {run_id} is not linked")
    return report
