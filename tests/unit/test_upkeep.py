"""Table upkeep's pure parts: which tables, the procedures' SQL from the parameters, the
report; and the template's wiring of the weekly Maintain machine."""

from __future__ import annotations

import datetime as dt

import pytest

from phenolake import iceberg, upkeep
from phenolake.iceberg import TABLE_PROPERTIES
from phenolake_local import template
from phenolake_local.engine import PROJECT_ROOT

NOW = dt.datetime(2026, 12, 6, 14, 0, 0, tzinfo=dt.UTC)


def test_only_the_iceberg_tables_are_maintained_in_name_order() -> None:
    tables = [
        {"Name": "radar_acc", "Parameters": {"table_type": "ICEBERG"}},
        {"Name": "completeness", "Parameters": {"classification": "parquet"}},
        {"Name": "embrace_eda", "Parameters": {"table_type": "iceberg"}},
        {"Name": "no_parameters"},
    ]
    assert iceberg.iceberg_tables(tables) == ["embrace_eda", "radar_acc"]


def test_the_procedures_in_order_with_the_retention_orphan_age_and_target() -> None:
    chosen = upkeep.settings("7", "72", "64")
    calls = upkeep.procedures("phenolake", "radar_acc", chosen, NOW)
    assert [c.name for c in calls] == [
        "rewrite_data_files",
        "rewrite_manifests",
        "expire_snapshots",
        "remove_orphan_files",
    ]
    table = "table => 'phenolake.radar_acc'"
    assert calls[0].sql == (
        f"CALL glue_catalog.system.rewrite_data_files({table}, strategy => 'binpack', "
        f"options => map('target-file-size-bytes', '{64 * 1024 * 1024}', "
        "'min-input-files', '2', 'partial-progress.enabled', 'true'))"
    )
    assert calls[1].sql == f"CALL glue_catalog.system.rewrite_manifests({table})"
    assert calls[2].sql == (
        f"CALL glue_catalog.system.expire_snapshots({table}, "
        "older_than => TIMESTAMP '2026-11-29 14:00:00.000000', retain_last => 1)"
    )
    assert calls[3].sql == (
        f"CALL glue_catalog.system.remove_orphan_files({table}, "
        "older_than => TIMESTAMP '2026-12-03 14:00:00.000000')"
    )


def test_a_retention_keeps_the_snapshots_younger_than_it() -> None:
    """The expiry's cut-off is now minus the retention: a snapshot of yesterday is younger
    than a week's and stays; with 0 days every snapshot but the current one is older."""
    yesterday = NOW - dt.timedelta(days=1)
    assert upkeep.settings(7, 72, 128).snapshots_older_than(NOW) < yesterday
    assert upkeep.settings(0, 72, 128).snapshots_older_than(NOW) == NOW
    assert upkeep.settings(0.5, 24, 1).snapshots_older_than(NOW) == NOW - dt.timedelta(hours=12)


def test_times_are_utc_literals_whatever_the_zone_given() -> None:
    chosen = upkeep.settings(0, 24, 128)
    local = NOW.astimezone(dt.timezone(dt.timedelta(hours=2)))
    expire = upkeep.procedures("phenolake", "t", chosen, local)[2].sql
    assert "TIMESTAMP '2026-12-06 14:00:00.000000'" in expire


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("-1", "72", "128"), "retention_days: must be 0 or more, not '-1'"),
        (("a week", "72", "128"), "retention_days: not a number: 'a week'"),
        (("7", "12", "128"), "orphan_age_hours: must be at least 24"),
        (("7", "nan", "128"), "orphan_age_hours: not a number: 'nan'"),
        (("7", "72", "0"), "target_mb: must be a whole number of MB, 1 or more, not '0'"),
        (("7", "72", "1.5"), "target_mb: must be a whole number of MB"),
    ],
)
def test_a_bad_parameter_is_named(arguments: tuple[str, str, str], message: str) -> None:
    with pytest.raises(upkeep.UpkeepError, match=message.replace("(", r"\(")):
        upkeep.settings(*arguments)


def test_names_that_are_not_catalog_names_never_reach_the_sql() -> None:
    chosen = upkeep.settings(7, 72, 128)
    with pytest.raises(upkeep.UpkeepError, match='table "x\'; DROP"'):
        upkeep.procedures("phenolake", "x'; DROP", chosen, NOW)


def test_the_default_target_is_the_tables_write_target() -> None:
    assert upkeep.default_target_mb() * 1024 * 1024 == int(
        TABLE_PROPERTIES["write.target-file-size-bytes"]
    )


def test_metadata_properties_are_set_only_where_missing() -> None:
    assert upkeep.missing_properties(dict(upkeep.METADATA_PROPERTIES)) == {}
    missing = upkeep.missing_properties({"write.metadata.previous-versions-max": "100"})
    assert missing == upkeep.METADATA_PROPERTIES
    assert upkeep.properties_sql("glue_catalog.`db`.`t`", missing) == (
        "ALTER TABLE glue_catalog.`db`.`t` SET TBLPROPERTIES "
        "('write.metadata.delete-after-commit.enabled'='true', "
        "'write.metadata.previous-versions-max'='10')"
    )


def test_the_report_round_trips_and_names_what_is_missing() -> None:
    state = upkeep.TableState(6, 32012, 3, 16, 85943)
    report = upkeep.Report(
        run_id="maintain-1",
        database="phenolake",
        started=NOW.isoformat(),
        retention_days=7,
        orphan_age_hours=72,
        target_file_size_bytes=128 * 1024 * 1024,
        tables=[upkeep.TableUpkeep("radar_acc", state, state, {"rewrite_manifests": {"n": 1}})],
    )
    assert upkeep.parse_report(report.to_json()) == report
    assert upkeep.report_key("maintain-1") == "manifests/upkeep/maintain-1.json"
    broken = report.to_json()
    del broken["tables"][0]["after"]
    with pytest.raises(upkeep.UpkeepError, match="upkeep report: missing or malformed 'after'"):
        upkeep.parse_report(broken)
    with pytest.raises(upkeep.UpkeepError, match="not a run name"):
        upkeep.report_key("")


def test_result_counts_keep_the_numbers() -> None:
    row = {"rewritten_data_files_count": 2, "added_data_files_count": 1, "note": "x"}
    assert upkeep.result_counts(row) == {
        "rewritten_data_files_count": 2,
        "added_data_files_count": 1,
    }


def test_the_weekly_upkeep_is_away_from_the_daily_run_and_has_its_own_role() -> None:
    deployment = template.load(PROJECT_ROOT)
    assert deployment.parameters["SnapshotRetentionDays"] == str(upkeep.DEFAULT_RETENTION_DAYS)
    assert deployment.parameters["OrphanFileAgeHours"] == str(upkeep.DEFAULT_ORPHAN_AGE_HOURS)
    assert deployment.parameters["CompactionTargetMB"] == str(upkeep.default_target_mb())
    daily = deployment.parameters["ScheduleExpression"]  # cron(30 2 * * ? *)
    weekly = deployment.parameters["MaintainScheduleExpression"]
    hour = lambda cron: int(cron.removeprefix("cron(").split()[1])  # noqa: E731
    assert abs(hour(weekly) - hour(daily)) >= 6
    job = deployment.resources["MaintainJob"]["Properties"]
    curate = deployment.resources["CurateJob"]["Properties"]
    assert job["Role"] != curate["Role"]
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    for argument in ("--conf", "--datalake-formats", "--extra-py-files", "--database"):
        assert job["DefaultArguments"][argument] == curate["DefaultArguments"][argument]
    _, definition = deployment.state_machines["MaintainStateMachine"]
    assert definition["States"]["Maintain"]["Parameters"]["JobName"] == job["Name"]
    assert definition["States"]["Defaults"]["Parameters"] == {
        "retention_days": "7",
        "orphan_age_hours": "72",
        "target_mb": str(upkeep.default_target_mb()),
    }
