"""Where things live in the buckets: one function per zone, so no step builds a key by hand,
and one parse function for each key a step reads back, the builder's inverse
(``parse_merged_key(merged_key(d))`` gives ``d`` again, participant names with any character
included).

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
from urllib.parse import unquote

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

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
#: Hive's (and Spark's) name for an empty partition value.
EMPTY_PART = "__HIVE_DEFAULT_PARTITION__"


def is_image(key: str) -> bool:
    return key.lower().endswith(IMAGE_SUFFIXES)


def is_zip(key: str) -> bool:
    return key.lower().endswith(".zip")


def key_digest(text: str, length: int = 16) -> str:
    """A short stable name for a key, for manifests that must not collide."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def safe_part(value: str) -> str:
    """A partition value safe in a Hive-style path segment: every character but
    ``[A-Za-z0-9._-]`` percent-encoded (its UTF-8 bytes), as Hive and Spark escape partition
    paths, so the value can be recovered (``part_value``) and Spark's partition discovery
    reads the real value. Names made of those characters only are unchanged."""
    if not value:
        return EMPTY_PART
    if value == EMPTY_PART:  # the name itself, told apart from an empty value
        return "%5F" + value[1:]
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), value)


class NotAPartValue(ValueError):
    """A path segment that ``safe_part`` does not write (so not one of ours)."""


def part_value(segment: str) -> str:
    """The value ``safe_part`` encoded (its inverse); NotAPartValue for a segment it could
    not have written (``%ZZ``, a bare ``=``, lower-case escapes...)."""
    try:
        value = "" if segment == EMPTY_PART else unquote(segment, errors="strict")
    except UnicodeDecodeError:
        value = None
    if value is None or safe_part(value) != segment:
        raise NotAPartValue(f"not an encoded partition value: {segment!r}")
    return value


def partition_folder(name: str, value: str) -> str:
    """``name=<value>``, the Hive-style folder of one partition value."""
    return f"{name}={safe_part(value)}"


def parse_partitions(key: str) -> dict[str, str]:
    """The ``name=value`` folders of a key, values decoded (the inverse of
    ``partition_folder``; the file name is not a folder)."""
    folders = key.split("/")[:-1]
    return {
        name: part_value(value)
        for name, sep, value in (f.partition("=") for f in folders)
        if sep and name
    }


def landing_key(source: str, relative: str) -> str:
    return posixpath.join(source, relative.lstrip("/"))


def raw_key(source: str, landing: str, member: str | None = None) -> str:
    """Extracted non-image files keep the landing key as their folder, so reruns overwrite."""
    base = landing[len(source) + 1 :] if landing.startswith(source + "/") else landing
    return (
        posixpath.join(RAW, source, base, member) if member else posixpath.join(RAW, source, base)
    )


def raw_prefix(source: str) -> str:
    return posixpath.join(RAW, source) + "/"


def raw_relative(source: str, key: str) -> str:
    """The path of a raw file below its source's folder (what ``Source.member`` reads):
    ``raw_key(source, landing, member)`` without ``raw/<source>/``."""
    prefix = raw_prefix(source)
    return key[len(prefix) :] if key.startswith(prefix) else key


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
        parts = [self.source, self.metric, partition_folder("participant", self.participant)]
        if self.device:
            parts.append(partition_folder("device", self.device))
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


def side_prefix(source: str, name: str) -> str:
    """Where a converter's side tables of one name live (the source's Glue job reads them)."""
    return posixpath.join(STAGE, source, name) + "/"


def side_key(source: str, name: str, participant: str, origin: str) -> str:
    """A converter's side table of one raw file (``SideTable``); a rerun overwrites it."""
    folder = partition_folder("participant", participant)
    return posixpath.join(side_prefix(source, name), folder, key_digest(origin) + ".parquet")


MERGED_FILE = "part-0.parquet"


def merged_key(day: DayKey) -> str:
    return posixpath.join(MERGED, day.partition_path(), MERGED_FILE)


def merged_day(key: str) -> DayKey | None:
    """The day of a merged key (the inverse of ``merged_key``), None for any other key:
    merged/<source>/<metric>/participant=<p>/[device=<d>/]date=<d>/part-0.parquet"""
    parts = key.split("/")
    if len(parts) not in (6, 7) or parts[0] != MERGED or parts[-1] != MERGED_FILE:
        return None
    names = ["participant", "device", "date"] if len(parts) == 7 else ["participant", "date"]
    found: dict[str, str] = {}
    for name, part in zip(names, parts[3:-1], strict=True):
        folder, sep, value = part.partition("=")
        if folder != name or not sep:
            return None
        try:
            found[name] = value if name == "date" else part_value(value)
        except NotAPartValue:
            return None
    return DayKey(parts[1], parts[2], found["participant"], found["date"], found.get("device", ""))


def parse_merged_key(key: str) -> dict[str, str] | None:
    """The parts of a merged key as a dict (``source, metric, participant, device, date``,
    names decoded), None for any other key."""
    day = merged_day(key)
    if day is None:
        return None
    return {
        "source": day.source,
        "metric": day.metric,
        "participant": day.participant,
        "device": day.device,
        "date": day.day,
    }


def parse_merged_path(path: str) -> DayKey | None:
    """The day of a merged file named by a URI (``s3://<bucket>/merged/...``,
    ``file:///.../merged/...``, URI-escaped as Spark's ``inputFiles`` gives them:
    ``participant=a%2520b``) or by a local path, None for any other file."""
    if "://" in path:
        path = unquote(path)
    parts = path.split("/")
    for start in (len(parts) - 7, len(parts) - 6):
        if start >= 0 and parts[start] == MERGED:
            day = merged_day("/".join(parts[start:]))
            if day is not None:
                return day
    return None


def merged_source_prefix(source: str) -> str:
    """Every merged day file of a source."""
    return posixpath.join(MERGED, source) + "/"


def merged_prefix(source: str, metric: str) -> str:
    return posixpath.join(MERGED, source, metric) + "/"


def participant_prefix(source: str, metric: str, participant: str) -> str:
    """The merged days of one participant's metric (a Spark read of it prunes the others)."""
    return merged_prefix(source, metric) + partition_folder("participant", participant) + "/"


def curated_prefix(table: str) -> str:
    return posixpath.join(CURATED, table) + "/"


def curated_partition_key(
    table: str, partitions: list[tuple[str, str]], name: str = MERGED_FILE
) -> str:
    """A file of one partition of a curated table the Lambda steps write (completeness):
    ``curated/<table>/<k>=<v>/.../<name>``."""
    folders = [partition_folder(k, v) for k, v in partitions]
    return posixpath.join(CURATED, table, *folders, name)


def image_key(source: str, participant: str, day: str, name: str) -> str:
    """A redacted image: ``images/<source>/<participant>/<day>/<file name>``."""
    return posixpath.join(IMAGES, source, safe_part(participant), day, name)


def qa_prefix(run_id: str) -> str:
    return posixpath.join(REPORTS, "qa", run_id) + "/"


def qa_image_key(run_id: str, week: str, participant: str, name: str) -> str:
    """A QA copy of a redacted image, boxes drawn, under the ISO week of its capture."""
    return posixpath.join(qa_prefix(run_id), week, f"{safe_part(participant)}_{name}")


def qa_index_key(run_id: str) -> str:
    return qa_prefix(run_id) + "index.json"


def quarantine_key(run_id: str, original_key: str) -> str:
    return posixpath.join(QUARANTINE, run_id, original_key.lstrip("/"))


REASON_SUFFIX = ".reason.json"


def parse_reason_key(key: str) -> tuple[str, str] | None:
    """``(run id, original key)`` of a quarantine reason file (the inverse of
    ``reason_key(quarantine_key(run_id, original))``), None for any other key."""
    parts = key.split("/", 2)
    if len(parts) < 3 or parts[0] != QUARANTINE or not key.endswith(REASON_SUFFIX):
        return None
    return parts[1], parts[2][: -len(REASON_SUFFIX)]


def reason_key(quarantined_key: str) -> str:
    return quarantined_key + REASON_SUFFIX


def manifest_key(run_id: str, *parts: str) -> str:
    return posixpath.join(MANIFESTS, run_id, *parts)


def work_key(run_id: str, stage: str) -> str:
    return manifest_key(run_id, "work", f"{stage}.json")


def plan_key(run_id: str) -> str:
    return manifest_key(run_id, "plan.json")


def item_manifest_prefix(run_id: str, stage: str) -> str:
    """Where a Map's items write their manifests (``extracted``, ``converted``,
    ``redacted``): ``manifests/<run>/<stage>/``."""
    return manifest_key(run_id, stage) + "/"


def item_manifest_key(run_id: str, stage: str, name: str) -> str:
    """One item's manifest, named after its input (a retry overwrites it)."""
    return item_manifest_prefix(run_id, stage) + key_digest(name) + ".json"


def failures_prefix(run_id: str) -> str:
    """Where the state machine records failed Map items (``States.Format`` in the ASL builds
    ``manifests/<run>/failures/<state>-<uuid>.json``)."""
    return manifest_key(run_id, "failures") + "/"


def parse_failure_key(key: str) -> tuple[str, str] | None:
    """``(run id, state name)`` of a failure record, None for any other key."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != MANIFESTS or parts[2] != "failures":
        return None
    return parts[1], parts[3].split("-", 1)[0]


def timestream_load_prefix(run_id: str, source: str, measure: str) -> str:
    """The batch-load CSVs of one source's stream in a run (one CreateBatchLoadTask each)."""
    return manifest_key(run_id, "timestream", "load", source, measure) + "/"


def timestream_csv_key(prefix: str, merged: str) -> str:
    """One batch-load CSV per merged day file, named after it."""
    return prefix + key_digest(merged) + ".csv"


def run_manifest_key(run_id: str) -> str:
    return posixpath.join(MANIFESTS, "runs", f"{run_id}.json")


def s3_uri(bucket: str, key: str = "") -> str:
    return f"s3://{bucket}/{key}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key
