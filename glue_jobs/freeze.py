"""Glue job: create, drop or withdraw a participant from data freezes (``--action``).

Every Iceberg write is Iceberg's own Spark DDL and DML through the ``glue_catalog`` catalog
(the same ``--conf`` as the curate job), and each freeze's manifest is JSON in the lake
(``phenolake.freezes``):

* ``create --name N [--as_of T]``: for each Iceberg table of the database, the snapshot current
  now (or the last made current at or before T, from the table's snapshot log; a table with
  none by then is left out and listed) gets the tag ``freeze_N``
  (``ALTER TABLE ... CREATE TAG ... AS OF VERSION``); an existing freeze name is refused.
* ``drop --name N``: ``DROP TAG`` on each frozen table, then the manifest goes.
* ``withdraw --participant P --audit_id A``: for every freeze whose tagged snapshot of a
  table holds P (the table's declared participant column, ``phenolake.tables``): a branch at
  the tagged snapshot, ``DELETE`` of P's rows on it (copy-on-write: the rewritten files hold
  no P, and no delete files are written), the tag replaced onto the branch's head, the branch
  dropped; the manifest records rows and snapshots before and after and the audit record A.
  The DeleteParticipant machine runs this before its VACUUM, which then expires the old
  tagged snapshot (now unreferenced) with the files only it reached.

P is always a bound parameter (``spark.sql(sql, args=...)``), never spliced into SQL text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
from typing import Any

import boto3

from phenolake import __version__, catalog, freezes, tables
from phenolake.glue import start_job
from phenolake.iceberg import iceberg_tables, spark_identifier

ACTIONS = ("create", "drop", "withdraw")
#: study.CONFIG_KEY (phenolake.study needs pydantic, which Glue 5.1 lacks)
STUDY_KEY = "config/study.yaml"


def catalog_tables(database: str) -> tuple[list[str], list[str]]:
    """The database's Iceberg tables, and its other (Hive-style) tables, which a freeze
    cannot hold (it says so): one listing of the catalog."""
    entries = catalog.table_entries(boto3.client("glue"), database)
    frozen = iceberg_tables(entries)
    return frozen, sorted(t["Name"] for t in entries if t["Name"] not in frozen)


def metadata(name: str, kind: str) -> str:
    """One of the table's Iceberg metadata tables (refs, snapshots, history)."""
    return f"{name}.`{kind}`"


def refs(spark: Any, name: str) -> dict[str, int]:
    rows = spark.sql(f"SELECT name, snapshot_id FROM {metadata(name, 'refs')}").collect()
    return {row["name"]: int(row["snapshot_id"]) for row in rows}


def summaries(spark: Any, name: str) -> dict[int, dict[str, str]]:
    query = f"SELECT snapshot_id, summary FROM {metadata(name, 'snapshots')}"
    return {int(r["snapshot_id"]): dict(r["summary"] or {}) for r in spark.sql(query).collect()}


def snapshot_log(spark: Any, name: str) -> list[tuple[int, int]]:
    """(made current at, epoch ms; snapshot id) of each entry of the table's snapshot log."""
    query = (
        f"SELECT unix_millis(made_current_at) AS at, snapshot_id FROM {metadata(name, 'history')}"
    )
    return [(int(r["at"]), int(r["snapshot_id"])) for r in spark.sql(query).collect()]


class Manifests:
    """The freezes' manifests in the lake, read and written with S3 (the job's role)."""

    def __init__(self, bucket: str) -> None:
        self.s3 = boto3.client("s3")
        self.bucket = bucket

    def read(self, name: str) -> freezes.Freeze | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=freezes.manifest_key(name))["Body"]
        except self.s3.exceptions.NoSuchKey:
            return None
        return freezes.Freeze.from_json(body.read())

    def names(self) -> list[str]:
        found = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=freezes.PREFIX
        ):
            for item in page.get("Contents", []):
                name = freezes.name_of_key(item["Key"])
                if name:
                    found.append(name)
        return sorted(found)

    def write(self, freeze: freezes.Freeze) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=freezes.manifest_key(freeze.name),
            Body=freeze.to_json(),
            ContentType="application/json",
        )

    def delete(self, name: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=freezes.manifest_key(name))

    def study_sha256(self) -> str:
        """The published study configuration's sha256; "" when none is published (the run
        then used the model's defaults): a hash of nothing would look like a configuration."""
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=STUDY_KEY)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return ""
        return hashlib.sha256(body).hexdigest()


def create(spark: Any, database: str, manifests: Manifests, name: str, as_of: str) -> None:
    tag = freezes.tag_name(name)
    if manifests.read(name) is not None:
        raise SystemExit(f"freeze {name!r} already exists ({freezes.manifest_key(name)})")
    now = dt.datetime.now(dt.UTC)
    at = freezes.parse_as_of(as_of) if as_of else now
    freeze = freezes.Freeze(
        name=name,
        created_at=now.isoformat(timespec="seconds"),
        as_of=at.isoformat(timespec="milliseconds") if as_of else "",
        code_version=__version__,
        study_sha256=manifests.study_sha256(),
    )
    chosen: dict[str, int] = {}
    frozen, hive = catalog_tables(database)
    for table in frozen:
        ident = spark_identifier(database, table)
        if tag in refs(spark, ident):
            raise SystemExit(f"freeze {name!r}: table {table} already has the tag {tag}")
        snapshot = freezes.snapshot_as_of(snapshot_log(spark, ident), freezes.epoch_ms(at))
        if snapshot is None:
            freeze.left_out[table] = f"no snapshot at or before {at.isoformat(timespec='seconds')}"
            continue
        chosen[table] = snapshot
    for table in hive:
        freeze.left_out[table] = "not an Iceberg table: it has no snapshots to freeze"
    if not chosen:
        raise SystemExit(
            f"--as-of {at.isoformat(timespec='seconds')}: no curated table had a snapshot then"
        )
    for table, snapshot in chosen.items():
        ident = spark_identifier(database, table)
        spark.sql(f"ALTER TABLE {ident} CREATE TAG `{tag}` AS OF VERSION {snapshot}")
        rows, files = freezes.summary_counts(summaries(spark, ident)[snapshot])
        freeze.tables[table] = freezes.FrozenTable(snapshot, tag, rows, files)
        print(f"freeze {name}: {table} snapshot {snapshot} ({rows} rows, {files} data files)")
    manifests.write(freeze)


def drop(spark: Any, database: str, manifests: Manifests, name: str) -> None:
    freeze = manifests.read(name)
    if freeze is None:
        raise SystemExit(f"freeze {name!r}: no such freeze ({freezes.manifest_key(name)})")
    existing = set(catalog_tables(database)[0])
    for table, frozen in freeze.tables.items():
        if table in existing:
            spark.sql(
                f"ALTER TABLE {spark_identifier(database, table)} DROP TAG IF EXISTS `{frozen.tag}`"
            )
    manifests.delete(name)
    print(f"freeze {name}: dropped ({len(freeze.tables)} table tag(s))")


def withdraw(
    spark: Any, database: str, manifests: Manifests, participant: str, audit_id: str
) -> None:
    if not participant.strip():
        raise SystemExit("--participant: empty")
    existing = set(catalog_tables(database)[0])
    for name in manifests.names():
        freeze = manifests.read(name)
        if freeze is None:
            continue
        changed: dict[str, freezes.TableChange] = {}
        for table, frozen in sorted(freeze.tables.items()):
            if table not in existing:
                continue
            ident = spark_identifier(database, table)
            column = tables.participant_column(table)
            held = spark.sql(
                f"SELECT count(*) AS n FROM {ident} VERSION AS OF {frozen.snapshot_id} "
                f"WHERE `{column}` = :participant",
                args={"participant": participant},
            ).collect()[0]["n"]
            if not held:
                continue
            branch = freezes.branch_name(name)
            spark.sql(
                f"ALTER TABLE {ident} CREATE OR REPLACE BRANCH `{branch}` "
                f"AS OF VERSION {frozen.snapshot_id}"
            )
            spark.sql(
                f"DELETE FROM {ident}.`branch_{branch}` WHERE `{column}` = :participant",
                args={"participant": participant},
            )
            head = refs(spark, ident)[branch]
            spark.sql(f"ALTER TABLE {ident} REPLACE TAG `{frozen.tag}` AS OF VERSION {head}")
            spark.sql(f"ALTER TABLE {ident} DROP BRANCH `{branch}`")
            found = summaries(spark, ident)
            before, _ = freezes.summary_counts(found[frozen.snapshot_id])
            after, files = freezes.summary_counts(found[head])
            changed[table] = freezes.TableChange(before, after, frozen.snapshot_id, head)
            frozen.data_files = files
            print(f"freeze {name}: {table} {before} -> {after} rows (snapshot {head})")
        if changed:
            freeze.withdrawn(audit_id, changed, dt.datetime.now(dt.UTC))
            manifests.write(freeze)


def main(argv: list[str]) -> None:
    args, lake, spark = start_job(argv, ["action", "name", "as_of", "participant", "audit_id"])
    action = args.get("action", "")
    if action not in ACTIONS:
        raise SystemExit(f"--action: {action!r} is not one of {', '.join(ACTIONS)}")
    manifests = Manifests(lake.bucket)
    database = args["database"]
    try:
        if action == "withdraw":
            withdraw(
                spark, database, manifests, args.get("participant", ""), args.get("audit_id", "")
            )
            return
        name = freezes.check_name(args.get("name", ""))
        if action == "create":
            create(spark, database, manifests, name, args.get("as_of", ""))
        else:
            drop(spark, database, manifests, name)
    except freezes.FreezeError as exc:
        raise SystemExit(str(exc)) from None


if __name__ == "__main__":
    main(sys.argv)
