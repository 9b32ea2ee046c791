"""Participant deletion (consent withdrawal): remove a participant from every zone of the lake.

What goes: extracted files in ``raw/`` and scratch, ``stage/`` and ``merged/`` files, redacted
images, quarantined copies, the participant's rows in every curated table, and landing
objects that hold only this participant (every version) with their ledger entries.

Curated Apache Iceberg tables are changed by Athena, as the DeleteParticipant machine runs it
(``iceberg_work``): per table ``SELECT count(*)`` (the rows to delete), ``DELETE FROM``
(Athena writes position-delete files), ``OPTIMIZE ... REWRITE DATA USING BIN_PACK`` (the data
files holding the rows are rewritten without them; ``WHERE`` on the participant column when it
is a partition column, as Athena allows only those there, the whole table otherwise), ``ALTER
TABLE SET TBLPROPERTIES ('vacuum_max_snapshot_age_seconds'='1')`` then, after a wait,
``VACUUM`` (every older snapshot expires, with the files only they reached, and orphan files
go), then the table's own retention is set back. Time travel to a snapshot from before the
deletion is no longer possible: that is the point. ``record`` then adds to the audit record,
per table, the rows deleted, the snapshots that held them and were expired, the files removed.
The participant id is data inside these statements, and it is not in what this step returns
(the handler logs a step's result): the statements come back as templates with ``'{}'`` where
the id goes, and the machine fills them in (``States.Format``) from its own input. So the id is
validated instead of escaped (``check_participant``): one with a quote, a backslash, a brace or
a control character is refused before anything is deleted, and every other is a plain Trino
string literal between quotes. Table and column names are checked against Glue's own name rule
(``identifier``). Hive-style tables (no ``table_type=ICEBERG``) are still
handled here: their participant partitions dropped, or their files rewritten without the rows.

What stays, and is reported: a landing zip that held this participant's files is kept (it may
also hold other participants), and a tombstone in the ledger makes Unzip skip this
participant's members on any later run or replay, so the data cannot come back. Timestream
has no record delete: its records expire with the table's magnetic-store retention.

An audit record goes to ``manifests/deletions/``; it names the participant by sha256 only.
It counts only what S3 reports deleted: every key a ``DeleteObjects`` call returns in its
``Errors`` (access denied, a locked object...) is listed under ``failed_objects`` by zone, the
sha256 of its key (keys hold participant ids), its code and message, and the deletion then
fails with ``DeletionIncomplete`` after the record is written, so the execution fails and
can be run again (deleting what is left is idempotent).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import posixpath
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from phenolake import catalog, freezes, lake, sources, storage, study, tables
from phenolake.config import Settings
from phenolake.iceberg import is_iceberg
from phenolake.ledger import Ledger


def participant_digest(participant: str) -> str:
    return hashlib.sha256(participant.encode()).hexdigest()


@dataclass
class ForgetReport:
    participant_sha256: str
    deleted_objects: Counter[str] = field(default_factory=Counter)
    partitions_dropped: Counter[str] = field(default_factory=Counter)
    rows_removed: Counter[str] = field(default_factory=Counter)
    ledger_entries_removed: int = 0
    not_deleted: list[str] = field(default_factory=list)
    #: keys S3 did not delete: zone, bucket, sha256 of the key, version, S3's code and message
    failed_objects: list[dict[str, str]] = field(default_factory=list)
    #: per curated Iceberg table: rows deleted, snapshots expired and kept, files removed
    iceberg_tables: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "participant_sha256": self.participant_sha256,
            "deleted_objects": dict(sorted(self.deleted_objects.items())),
            "partitions_dropped": dict(sorted(self.partitions_dropped.items())),
            "rows_removed": dict(sorted(self.rows_removed.items())),
            "ledger_entries_removed": self.ledger_entries_removed,
            "not_deleted": self.not_deleted,
            "failed_objects": self.failed_objects,
            "iceberg_tables": dict(sorted(self.iceberg_tables.items())),
            "complete": not self.failed_objects,
        }


def participant_of(
    source_name: str, relative: str, options: Mapping[str, Any] | None = None
) -> str | None:
    """Whose data a file is (path below its source's raw folder), when the source can tell
    (read with the source's ``options``, as the study sets them)."""
    try:
        source = sources.configured(source_name, options)
    except sources.UnknownSource:
        return None
    if lake.is_image(relative):
        facts = source.image_facts(relative)
        return facts.participant if facts else None
    member = source.member(relative)
    return member.participant if member else None


def belongs(
    source_name: str, relative: str, participant: str, options: Mapping[str, Any] | None = None
) -> bool:
    return participant_of(source_name, relative, options) == participant


def withdrawn(
    source_name: str,
    relative: str,
    forgotten: frozenset[str],
    options: Mapping[str, Any] | None = None,
) -> bool:
    """Whether a file belongs to a participant who withdrew consent (tombstone in the ledger)."""
    if not forgotten:
        return False
    participant = participant_of(source_name, relative, options)
    return participant is not None and participant_digest(participant) in forgotten


def study_options(s3: Any, bucket: str) -> dict[str, dict[str, Any]]:
    """Each source's options in the published study.yaml, which say where a source files a
    participant (radar's path format); none when it is absent or no longer valid (a
    deletion never stops for want of it)."""
    try:
        config = study.load_from_lake(s3, bucket)[0]
    except study.StudyConfigError:
        return {}
    return {name: config.options(name) for name in config.sources}


class Forgetter:
    def __init__(self, settings: Settings, participant: str) -> None:
        self.settings = settings
        self.participant = participant
        self.s3 = storage.client("s3", settings.region)
        self.glue = storage.client("glue", settings.region)
        self.ledger = Ledger(storage.client("dynamodb", settings.region), settings.ledger_table)
        self.report = ForgetReport(participant_digest(participant))
        self.kept_zips: set[str] = set()  # landing zips this participant's raw files came from
        self.options = study_options(self.s3, settings.lake_bucket)
        self.iceberg: list[dict[str, Any]] = []  # the machine's Athena work, one item a table

    def _delete(self, bucket: str, keys: list[str], zone: str) -> None:
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            failed = self._delete_objects(bucket, [{"Key": k} for k in chunk], zone)
            self.report.deleted_objects[zone] += len(chunk) - failed

    def _delete_objects(self, bucket: str, objects: list[dict[str, str]], zone: str) -> int:
        """One DeleteObjects call (Quiet: S3 answers only the keys it did not delete); each
        failed key goes into the report. Returns how many failed."""
        response = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
        errors = response.get("Errors", [])
        for error in errors:
            self.report.failed_objects.append(
                {
                    "zone": zone,
                    "bucket": bucket,
                    "key_sha256": hashlib.sha256(error.get("Key", "").encode()).hexdigest(),
                    "version_id": error.get("VersionId", ""),
                    "code": error.get("Code", ""),
                    "message": error.get("Message", ""),
                }
            )
        return len(errors)

    def _keys(self, bucket: str, prefix: str) -> list[str]:
        return [o.key for o in storage.list_objects(self.s3, bucket, prefix)]

    def raw_and_scratch(self) -> None:
        lake_bucket = self.settings.lake_bucket
        raw = []
        for key in self._keys(lake_bucket, lake.RAW + "/"):
            _, source, relative = key.split("/", 2)
            if belongs(source, relative, self.participant, self.options.get(source)):
                raw.append(key)
                if zip_key := landing_zip(source, relative):
                    self.kept_zips.add(zip_key)
        self._delete(lake_bucket, raw, "raw")
        scratch = []
        for key in self._keys(self.settings.scratch_bucket, ""):
            parts = key.split("/", 2)  # <run>/<source>/<landing base>/<member>
            if len(parts) == 3 and belongs(
                parts[1], parts[2], self.participant, self.options.get(parts[1])
            ):
                scratch.append(key)
        self._delete(self.settings.scratch_bucket, scratch, "scratch")

    def stage_merged_images(self) -> None:
        marker = f"/participant={lake.safe_part(self.participant)}/"
        for zone in (lake.STAGE, lake.MERGED):
            keys = [k for k in self._keys(self.settings.lake_bucket, zone + "/") if marker in k]
            self._delete(self.settings.lake_bucket, keys, zone)
        images = [
            k
            for k in self._keys(self.settings.lake_bucket, lake.IMAGES + "/")
            if k.split("/")[2:3] == [lake.safe_part(self.participant)]
        ]
        self._delete(self.settings.lake_bucket, images, lake.IMAGES)

    def quarantine(self) -> None:
        """Quarantined copies keep their original key below ``quarantine/<run>/<bucket>/``."""
        doomed = []
        for key in self._keys(self.settings.lake_bucket, lake.QUARANTINE + "/"):
            original = key.removesuffix(".reason.json").removesuffix(".rejected-rows")
            parts = original.split("/")
            # quarantine/<run>/<bucket>/<raw|source>/...
            tail = parts[3:]
            if tail[:1] == [lake.RAW]:
                tail = tail[1:]
            if len(tail) >= 2 and belongs(
                tail[0], "/".join(tail[1:]), self.participant, self.options.get(tail[0])
            ):
                doomed.append(key)
        self._delete(self.settings.lake_bucket, doomed, lake.QUARANTINE)

    def curated_tables(self) -> list[tuple[dict[str, Any], str]]:
        """Each table of the catalog with its declared participant column (``tables``).

        Read before anything is deleted: a table without a declared participant column, or
        whose declared column the catalog does not hold, stops the deletion at once, naming
        the table (``tables.UndeclaredTable``), rather than leave the participant's rows in
        it with nothing said."""
        database = self.settings.glue_database
        try:
            found = catalog.table_entries(self.glue, database)
        except self.glue.exceptions.EntityNotFoundException:
            return []
        declared = []
        for table in found:
            column = tables.participant_column(table["Name"])
            held = [k["Name"] for k in table.get("PartitionKeys", [])] + [
                c["Name"] for c in table["StorageDescriptor"]["Columns"]
            ]
            if column not in held:
                raise tables.UndeclaredTable(
                    f"table {table['Name']!r}: its declared participant column {column!r} is "
                    "neither a partition key nor a column in the catalog"
                )
            declared.append((table, column))
        return declared

    def curated(self, declared: list[tuple[dict[str, Any], str]]) -> None:
        for table, column in declared:
            if is_iceberg(table):
                self.iceberg.append(self._iceberg_item(table, column))
                continue
            keys = [k["Name"] for k in table.get("PartitionKeys", [])]
            if column in keys:
                self._drop_partitions(table, keys, column)
            else:
                self._rewrite_without(table, column)

    def _drop_partitions(self, table: dict[str, Any], keys: list[str], column: str) -> None:
        name = table["Name"]
        index = keys.index(column)
        doomed = []
        for page in self.glue.get_paginator("get_partitions").paginate(
            DatabaseName=self.settings.glue_database, TableName=name
        ):
            for partition in page["Partitions"]:
                if partition["Values"][index] == self.participant:
                    doomed.append(partition)
        for partition in doomed:
            bucket, prefix = lake.split_s3_uri(partition["StorageDescriptor"]["Location"])
            self._delete(bucket, self._keys(bucket, prefix.rstrip("/") + "/"), lake.CURATED)
        if doomed:
            catalog.delete_partitions(
                self.glue, self.settings.glue_database, name, [p["Values"] for p in doomed]
            )
        self.report.partitions_dropped[name] += len(doomed)

    def _rewrite_without(self, table: dict[str, Any], column: str) -> None:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        bucket, prefix = lake.split_s3_uri(table["StorageDescriptor"]["Location"])
        for key in self._keys(bucket, prefix.rstrip("/") + "/"):
            if not key.endswith(".parquet"):
                continue
            data = storage.read_table(self.s3, bucket, key)
            if column not in data.column_names:
                continue
            keep = pc.invert(pc.fill_null(pc.equal(data[column], self.participant), False))
            kept = data.filter(keep)
            removed = data.num_rows - kept.num_rows
            if not removed:
                continue
            sink = io.BytesIO()
            pq.write_table(kept, sink, compression="zstd")
            self.s3.put_object(Bucket=bucket, Key=key, Body=sink.getvalue())
            self.report.rows_removed[table["Name"]] += removed

    def _iceberg_item(self, table: dict[str, Any], column: str) -> dict[str, Any]:
        """What the machine runs on one Iceberg table, and what it held before (the
        snapshot ids and the sha256 of each file's key, kept in the lake for ``record``:
        keys hold participant ids)."""
        metadata = iceberg_metadata(self.s3, table)
        location = metadata["location"].rstrip("/")
        bucket, prefix = lake.split_s3_uri(location + "/")
        files = sorted(
            hashlib.sha256(o.key.encode()).hexdigest()
            for o in storage.list_objects(self.s3, bucket, prefix)
        )
        before_key = posixpath.join(
            lake.MANIFESTS,
            "deletions",
            "iceberg",
            self.report.participant_sha256[:16],
            f"{table['Name']}.before.json",
        )
        storage.put_json(
            self.s3,
            self.settings.lake_bucket,
            before_key,
            {
                "snapshots": sorted(s["snapshot-id"] for s in metadata.get("snapshots", [])),
                "files": files,
            },
        )
        return {
            "table": table["Name"],
            "before": lake.s3_uri(self.settings.lake_bucket, before_key),
            "rewrite_matching": column in identity_partition_columns(metadata),
            "statements": statements(
                self.settings.glue_database,
                table["Name"],
                column,
                partitioned=column in identity_partition_columns(metadata),
                retention=metadata.get("properties", {}).get(SNAPSHOT_AGE),
            ),
        }

    def landing_and_ledger(self) -> None:
        bucket = self.settings.landing_bucket
        for key in self._keys(bucket, ""):
            source, _, relative = key.partition("/")
            if sources.is_archive(source, key) or not belongs(
                source, relative, self.participant, self.options.get(source)
            ):
                continue  # zips are kept: the tombstone covers their members
            versions = self.s3.list_object_versions(Bucket=bucket, Prefix=key)
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in versions.get("Versions", []) + versions.get("DeleteMarkers", [])
                if v["Key"] == key
            ]
            if doomed and self._delete_objects(bucket, doomed, "landing"):
                continue  # a version is left: the object and its ledger entry stay
            self.report.deleted_objects["landing"] += 1
            if self.ledger.delete(source, key):
                self.report.ledger_entries_removed += 1

    def run(self, timestream_retention_days: int | None) -> ForgetReport:
        declared = self.curated_tables()
        self.ledger.forget(self.report.participant_sha256)
        self.raw_and_scratch()
        self.stage_merged_images()
        self.quarantine()
        self.curated(declared)
        self.landing_and_ledger()
        if self.kept_zips:
            self.report.not_deleted.append(
                f"{len(self.kept_zips)} landing zip(s) that held this participant's files are "
                "kept (a zip may hold several participants); the ledger's tombstone makes every "
                "later run and replay skip this participant's members"
            )
        if self.settings.timestream_table:
            retention = (
                f"{timestream_retention_days} days" if timestream_retention_days else "its setting"
            )
            self.report.not_deleted.append(
                "Timestream has no record delete: this participant's records expire with the "
                f"table's magnetic-store retention ({retention}, TimestreamMagneticRetentionDays)"
            )
        return self.report


def landing_zip(source: str, raw_relative: str) -> str | None:
    """The landing key of the zip a raw file was extracted from, None for a file landed alone.

    Unzip keeps the landing key as the member's folder (``lake.raw_key``):
    ``raw/<source>/<folders>/<name>.zip/<member>`` came from ``<source>/<folders>/<name>.zip``."""
    parts = raw_relative.split("/")
    for end, part in enumerate(parts[:-1], start=1):
        if lake.is_zip(part):
            return posixpath.join(source, *parts[:end])
    return None


class DeletionIncomplete(RuntimeError):
    """S3 refused to delete some objects; the audit record lists them."""


def forget(
    settings: Settings, participant: str, requested_by: str, timestream_retention_days: int | None
) -> dict[str, Any]:
    """Delete ``participant`` everywhere it can be deleted; write and return the audit record
    (raise DeletionIncomplete after writing it when S3 did not delete every object)."""
    if not participant.strip():
        raise ValueError("participant: empty")
    check_participant(participant)  # refused before anything is deleted
    forgetter = Forgetter(settings, participant)
    report = forgetter.run(timestream_retention_days)
    at = dt.datetime.now(dt.UTC)
    audit = {
        "requested_by": requested_by,
        "at": at.isoformat(timespec="seconds"),
        **report.as_dict(),
    }
    key = posixpath.join(
        lake.MANIFESTS, "deletions", f"{at:%Y%m%dT%H%M%SZ}-{report.participant_sha256[:16]}.json"
    )
    storage.put_json(storage.client("s3", settings.region), settings.lake_bucket, key, audit)
    uri = lake.s3_uri(settings.lake_bucket, key)
    if report.failed_objects:
        codes = Counter(f["code"] for f in report.failed_objects)
        raise DeletionIncomplete(
            f"{len(report.failed_objects)} object(s) were not deleted "
            f"({', '.join(f'{c}: {n}' for c, n in sorted(codes.items()))}); "
            f"the audit record {uri} lists them"
        )
    return {
        **audit,
        "audit": uri,
        "iceberg": forgetter.iceberg,
        "freezes": frozen(forgetter.s3, settings.lake_bucket),
    }


def frozen(s3: Any, bucket: str) -> list[str]:
    """The data freezes in the lake: the machine rewrites each one's snapshots that hold the
    participant (FreezeJob, action withdraw) before its VACUUM, so no freeze keeps them."""
    return sorted(
        name
        for o in storage.list_objects(s3, bucket, freezes.PREFIX)
        if (name := freezes.name_of_key(o.key))
    )


# ---------------------------------------------------------------------------- Iceberg tables

SNAPSHOT_AGE = "vacuum_max_snapshot_age_seconds"
#: Athena's own default for SNAPSHOT_AGE (VACUUM, Amazon Athena User Guide): 5 days
ATHENA_SNAPSHOT_AGE_DEFAULT = "432000"
#: The age VACUUM is given during a deletion; the machine waits longer than this after the
#: rewrite, so every snapshot but the current one qualifies.
FORGET_SNAPSHOT_AGE = "1"
_IDENTIFIER = re.compile(r"^[a-z0-9_]{1,255}$")


class UnsafeParticipant(ValueError):
    """A participant id that cannot be written into a statement as a plain string."""


#: what a participant id may not hold: it goes between quotes in a statement, filled in by
#: States.Format (whose templates treat braces and backslashes as their own)
_UNSAFE = re.compile(r"['\\{}\x00-\x1f\x7f]")


def check_participant(participant: str) -> str:
    """The id, when it can stand between quotes in an Athena (Trino) statement as it is."""
    found = _UNSAFE.search(participant)
    if found:
        what = repr(found.group()) if found.group().isprintable() else "a control character"
        raise UnsafeParticipant(
            f"participant: holds {what}, which the Athena statements cannot carry; "
            "nothing was deleted"
        )
    return participant


def identifier(name: str) -> str:
    """A Glue database, table or column name, checked against Glue's rule (lower case letters,
    digits, underscore), so it needs no quoting in any of Athena's statement dialects."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a Glue name (lower case letters, digits, _)")
    return name


def statements(
    database: str,
    table: str,
    column: str,
    *,
    partitioned: bool,
    retention: str | None,
) -> dict[str, str]:
    """The Athena statements that delete a participant from one Iceberg table for good, as
    templates: ``{}`` is where the machine puts the (checked) participant id."""
    name = f"{identifier(database)}.{identifier(table)}"
    match = f"{identifier(column)} = '{{}}'"
    restore = retention if retention and retention.isdigit() else ATHENA_SNAPSHOT_AGE_DEFAULT
    expire = FORGET_SNAPSHOT_AGE
    return {
        "count": f"SELECT count(*) FROM {name} WHERE {match}",
        "delete": f"DELETE FROM {name} WHERE {match}",
        "optimize": f"OPTIMIZE {name} REWRITE DATA USING BIN_PACK"
        + (f" WHERE {match}" if partitioned else ""),
        "expire": f"ALTER TABLE {name} SET TBLPROPERTIES ('{SNAPSHOT_AGE}'='{expire}')",
        "vacuum": f"VACUUM {name}",
        "restore": f"ALTER TABLE {name} SET TBLPROPERTIES ('{SNAPSHOT_AGE}'='{restore}')",
    }


def iceberg_metadata(s3: Any, glue_table: dict[str, Any]) -> dict[str, Any]:
    """The table's current Iceberg metadata file (its Glue entry's ``metadata_location``)."""
    bucket, key = lake.split_s3_uri(glue_table["Parameters"]["metadata_location"])
    return storage.get_json(s3, bucket, key)


def identity_partition_columns(metadata: dict[str, Any]) -> set[str]:
    """The columns the table's default spec partitions by identity (OPTIMIZE's WHERE takes
    only partition columns)."""
    schema_id = metadata.get("current-schema-id", 0)
    schema = next(
        (s for s in metadata.get("schemas", []) if s.get("schema-id") == schema_id),
        metadata.get("schema", {}),
    )
    names = {f["id"]: f["name"] for f in schema.get("fields", [])}
    spec_id = metadata.get("default-spec-id", 0)
    spec = next(
        (s for s in metadata.get("partition-specs", []) if s.get("spec-id") == spec_id),
        {"fields": metadata.get("partition-spec", [])},
    )
    return {
        names[f["source-id"]]
        for f in spec.get("fields", [])
        if f.get("transform") == "identity" and f.get("source-id") in names
    }


def record(settings: Settings, audit_uri: str, outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """Add each Iceberg table's outcome (the machine's count, what its snapshots and files
    were before and are now) to the audit record, and return it."""
    s3 = storage.client("s3", settings.region)
    glue = storage.client("glue", settings.region)
    bucket, key = lake.split_s3_uri(audit_uri)
    audit = storage.get_json(s3, bucket, key)
    tables = dict(audit.get("iceberg_tables", {}))
    for outcome in outcomes:
        name = outcome["table"]
        before = storage.get_json(s3, *lake.split_s3_uri(outcome["before"]))
        glue_table = glue.get_table(DatabaseName=settings.glue_database, Name=name)["Table"]
        metadata = iceberg_metadata(s3, glue_table)
        kept = {s["snapshot-id"] for s in metadata.get("snapshots", [])}
        files_bucket, prefix = lake.split_s3_uri(metadata["location"].rstrip("/") + "/")
        now = {
            hashlib.sha256(o.key.encode()).hexdigest()
            for o in storage.list_objects(s3, files_bucket, prefix)
        }
        tables[name] = {
            "rows_deleted": int(outcome["rows"]),
            "snapshots_expired": len(set(before["snapshots"]) - kept),
            "snapshots_kept": len(kept),
            "files_removed": len(set(before["files"]) - now),
        }
        s3.delete_object(Bucket=bucket, Key=lake.split_s3_uri(outcome["before"])[1])
    audit["iceberg_tables"] = dict(sorted(tables.items()))
    storage.put_json(s3, bucket, key, audit)
    return {**audit, "audit": audit_uri}
