"""Where things live in the buckets: one function per zone, so no step builds a key by hand.

landing   what arrived, immutable and versioned (may hold identifiable images)
scratch   unredacted extracted images, private, expiring after a day
lake      raw/ stage/ merged/ curated/ images/ quarantine/ manifests/ reports/
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass
from typing import Any

RAW = "raw"
STAGE = "stage"
MERGED = "merged"
CURATED = "curated"
IMAGES = "images"
QUARANTINE = "quarantine"
MANIFESTS = "manifests"
REPORTS = "reports"

IMAGE_SUFFIXES = (
    ".jpg",
    ".jpeg",
    ".png",
    ".heic",
    ".heif",
    ".webp",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
)

_SAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def is_image(key: str) -> bool:
    return key.lower().endswith(IMAGE_SUFFIXES)


def is_zip(key: str) -> bool:
    return key.lower().endswith(".zip")


def key_digest(text: str, length: int = 16) -> str:
    """A short stable name for a key, for manifests that must not collide."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def safe_part(value: str) -> str:
    """A partition value safe in a Hive-style path segment."""
    return _SAFE.sub("_", value) or "_"


def landing_key(source: str, relative: str) -> str:
    return posixpath.join(source, relative.lstrip("/"))


def raw_key(source: str, landing: str, member: str | None = None) -> str:
    """Extracted non-image files keep the landing key as their folder, so reruns overwrite."""
    base = landing[len(source) + 1 :] if landing.startswith(source + "/") else landing
    return (
        posixpath.join(RAW, source, base, member) if member else posixpath.join(RAW, source, base)
    )


def scratch_key(run_id: str, source: str, landing: str, member: str | None = None) -> str:
    base = landing[len(source) + 1 :] if landing.startswith(source + "/") else landing
    parts = [run_id, source, base] + ([member] if member else [])
    return posixpath.join(*parts)


@dataclass(frozen=True)
class DayKey:
    """One participant x metric x day of one source: the unit of the daily merge."""

    source: str
    metric: str
    participant: str
    day: str
    device: str = ""

    def partition_path(self) -> str:
        parts = [self.source, self.metric, f"participant={safe_part(self.participant)}"]
        if self.device:
            parts.append(f"device={safe_part(self.device)}")
        parts.append(f"date={self.day}")
        return posixpath.join(*parts)

    def as_dict(self) -> dict[str, str]:
        return {
            "source": self.source,
            "metric": self.metric,
            "participant": self.participant,
            "day": self.day,
            "device": self.device,
        }

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> DayKey:
        """The key of a day as ``as_dict`` wrote it (a manifest's day entry; other fields such
        as ``rows`` are ignored)."""
        return cls(
            fields["source"],
            fields["metric"],
            fields["participant"],
            fields["day"],
            fields.get("device", ""),
        )


def stage_prefix(day: DayKey) -> str:
    return posixpath.join(STAGE, day.partition_path()) + "/"


def stage_key(day: DayKey, origin: str) -> str:
    """One staged file per raw file and day; named after the raw key so a rerun overwrites it."""
    return stage_prefix(day) + key_digest(origin) + ".parquet"


def side_key(source: str, name: str, participant: str, origin: str) -> str:
    """A converter's side table of one raw file (``SideTable``); a rerun overwrites it."""
    folder = f"participant={safe_part(participant)}"
    return posixpath.join(STAGE, source, name, folder, key_digest(origin) + ".parquet")


def merged_key(day: DayKey) -> str:
    return posixpath.join(MERGED, day.partition_path(), "part-0.parquet")


def parse_merged_key(key: str) -> dict[str, str] | None:
    """The parts of a merged key (the inverse of ``merged_key``), None for any other key:
    merged/<source>/<metric>/participant=<p>/[device=<d>/]date=<d>/part-0.parquet"""
    parts = key.split("/")
    if len(parts) < 6 or parts[0] != MERGED:
        return None
    found = {"source": parts[1], "metric": parts[2], "device": ""}
    for part in parts[3:-1]:
        name, _, value = part.partition("=")
        found[name] = value
    return found if "participant" in found and "date" in found else None


def merged_prefix(source: str, metric: str) -> str:
    return posixpath.join(MERGED, source, metric) + "/"


def curated_prefix(table: str) -> str:
    return posixpath.join(CURATED, table) + "/"


def quarantine_key(run_id: str, original_key: str) -> str:
    return posixpath.join(QUARANTINE, run_id, original_key.lstrip("/"))


def reason_key(quarantined_key: str) -> str:
    return quarantined_key + ".reason.json"


def manifest_key(run_id: str, *parts: str) -> str:
    return posixpath.join(MANIFESTS, run_id, *parts)


def work_key(run_id: str, stage: str) -> str:
    return manifest_key(run_id, "work", f"{stage}.json")


def run_manifest_key(run_id: str) -> str:
    return posixpath.join(MANIFESTS, "runs", f"{run_id}.json")


def s3_uri(bucket: str, key: str = "") -> str:
    return f"s3://{bucket}/{key}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key
