"""Glue job: table upkeep of every curated Iceberg table of the catalog (``MaintainJob``).

The maintain state machine starts it weekly with ``--retention_days``, ``--orphan_age_hours``
and ``--target_mb``; the procedures and their order are in ``phenolake.upkeep``. Each table is
measured before and after (its current snapshot's data files through Iceberg's ``data_files``
metadata table, its snapshots, every object under its folder through the job's Hadoop file
system) and the report goes to ``s3://<lake>/manifests/upkeep/<run>.json``.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

import boto3

from phenolake import catalog, storage, upkeep
from phenolake.glue import start_job
from phenolake.iceberg import iceberg_tables, spark_identifier


def _tables(glue: Any, database: str) -> list[tuple[str, str]]:
    """(name, location) of every Iceberg table of the database."""
    found = catalog.table_entries(glue, database)
    by_name = {t["Name"]: t.get("StorageDescriptor", {}).get("Location", "") for t in found}
    return [(name, by_name[name]) for name in iceberg_tables(found)]


def _storage(spark: Any, location: str) -> tuple[int, int]:
    """Objects and bytes under the table's folder, in one call of the job's file system."""
    path = spark._jvm.org.apache.hadoop.fs.Path(location.rstrip("/") + "/")
    fs = path.getFileSystem(spark._jsc.hadoopConfiguration())
    if not fs.exists(path):
        return 0, 0
    summary = fs.getContentSummary(path)
    return int(summary.getFileCount()), int(summary.getLength())


def _state(spark: Any, name: str, location: str) -> upkeep.TableState:
    files = spark.sql(
        f"SELECT count(*) AS n, coalesce(sum(file_size_in_bytes), 0) AS b FROM {name}.data_files"
    ).collect()[0]
    snapshots = spark.sql(f"SELECT count(*) AS n FROM {name}.snapshots").collect()[0]
    objects, size = _storage(spark, location)
    return upkeep.TableState(int(files.n), int(files.b), int(snapshots.n), objects, size)


def _properties(spark: Any, name: str) -> dict[str, str]:
    return {row.key: row.value for row in spark.sql(f"SHOW TBLPROPERTIES {name}").collect()}


def maintain_table(
    spark: Any, database: str, table: str, location: str, chosen: upkeep.Settings, now: Any
) -> upkeep.TableUpkeep:
    name = spark_identifier(database, table)
    before = _state(spark, name, location)
    wanted = upkeep.missing_properties(_properties(spark, name))
    if wanted:
        spark.sql(upkeep.properties_sql(name, wanted))
    results: dict[str, dict[str, int]] = {}
    if before.snapshots:
        for procedure in upkeep.procedures(database, table, chosen, now):
            rows = spark.sql(procedure.sql).collect()
            if procedure.name == "remove_orphan_files":  # one row per file removed
                results[procedure.name] = {"orphan_files_removed": len(rows)}
            else:
                results[procedure.name] = upkeep.result_counts(rows[0].asDict() if rows else {})
            print(f"{table}: {procedure.name} {results[procedure.name]}")
    after = _state(spark, name, location)
    print(f"{table}: before {before}, after {after}")
    return upkeep.TableUpkeep(table, before, after, results, wanted)


def main(argv: list[str]) -> None:
    args, lake, spark = start_job(argv, ["retention_days", "orphan_age_hours", "target_mb"])
    try:
        chosen = upkeep.settings(
            args.get("retention_days", str(upkeep.DEFAULT_RETENTION_DAYS)),
            args.get("orphan_age_hours", str(upkeep.DEFAULT_ORPHAN_AGE_HOURS)),
            args.get("target_mb", str(upkeep.default_target_mb())),
        )
        key = upkeep.report_key(args.get("run_id", ""))
    except upkeep.UpkeepError as exc:
        raise SystemExit(str(exc)) from None
    now = dt.datetime.now(dt.UTC)
    database = args["database"]
    done = [
        maintain_table(spark, database, table, location, chosen, now)
        for table, location in _tables(boto3.client("glue"), database)
    ]
    report = upkeep.Report(
        run_id=args["run_id"],
        database=database,
        started=now.isoformat(),
        retention_days=chosen.retention_days,
        orphan_age_hours=chosen.orphan_age_hours,
        target_file_size_bytes=chosen.target_file_size_bytes,
        tables=done,
    )
    storage.put_json(boto3.client("s3"), lake.bucket, key, report.to_json())
    print(f"upkeep of {len(done)} table(s): {lake.uri(key)}")


if __name__ == "__main__":
    main(sys.argv)
