"""The pure parts of data freezes (phenolake.freezes): names, the manifest, --as-of, the
Athena SQL; and `query --freeze`'s pinning of every Iceberg table to the freeze's snapshot."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from phenolake import freezes


def sample() -> freezes.Freeze:
    return freezes.Freeze(
        name="paper_2024",
        created_at="2024-11-07T10:00:00+00:00",
        as_of="",
        code_version="0.1.0",
        study_sha256="a" * 64,
        tables={
            "radar_acc": freezes.FrozenTable(11, "freeze_paper_2024", 40, 2),
            "embrace_eda": freezes.FrozenTable(22, "freeze_paper_2024", 7, 1),
        },
        left_out={"participant_days": "not an Iceberg table: it has no snapshots to freeze"},
    )


@pytest.mark.parametrize("name", ["p", "paper_2024", "a" * 63])
def test_good_names_give_tag_branch_and_key(name: str) -> None:
    assert freezes.tag_name(name) == f"freeze_{name}"
    assert freezes.branch_name(name) == f"freeze_{name}_withdrawal"
    assert freezes.manifest_key(name) == f"manifests/freezes/{name}.json"
    assert freezes.name_of_key(freezes.manifest_key(name)) == name


@pytest.mark.parametrize("name", ["", "Paper", "2024", "a-b", "a b", "a" * 64, "x'y", "é"])
def test_bad_names_are_refused_in_one_line(name: str) -> None:
    with pytest.raises(freezes.FreezeError, match=r"^freeze name .*: use 1-63 lower case") as exc:
        freezes.check_name(name)
    assert "\n" not in str(exc.value)


def test_name_of_key_ignores_other_objects() -> None:
    assert freezes.name_of_key("manifests/freezes/x/y.json") is None
    assert freezes.name_of_key("manifests/runs/HEAD.json") is None
    assert freezes.name_of_key("manifests/freezes/a.txt") is None


def test_as_of_picks_the_snapshot_current_then() -> None:
    log = [(1000, 1), (2000, 2), (3000, 3)]
    assert freezes.snapshot_as_of(log, 999) is None  # the table did not exist yet
    assert freezes.snapshot_as_of(log, 1000) == 1
    assert freezes.snapshot_as_of(log, 2999) == 2
    assert freezes.snapshot_as_of(log, 10**12) == 3
    assert freezes.snapshot_as_of(list(reversed(log)), 2500) == 2  # order does not matter
    assert freezes.snapshot_as_of([], 5000) is None


def test_as_of_text_is_iso_8601_and_utc_without_a_zone() -> None:
    assert freezes.parse_as_of("2024-10-18T12:00:00Z") == dt.datetime(
        2024, 10, 18, 12, tzinfo=dt.UTC
    )
    assert freezes.parse_as_of("2024-10-18") == dt.datetime(2024, 10, 18, tzinfo=dt.UTC)
    at = freezes.parse_as_of("2024-10-18T14:00:00+02:00")
    assert freezes.epoch_ms(at) == freezes.epoch_ms(dt.datetime(2024, 10, 18, 12, tzinfo=dt.UTC))
    with pytest.raises(freezes.FreezeError, match=r"^--as-of 'soon': not an ISO 8601"):
        freezes.parse_as_of("soon")


def test_summary_counts() -> None:
    assert freezes.summary_counts({"total-records": "40", "total-data-files": "2"}) == (40, 2)
    assert freezes.summary_counts({}) == (0, 0)


def test_the_manifest_round_trips_and_a_withdrawal_records_what_changed() -> None:
    freeze = sample()
    audit = "s3://lake/manifests/deletions/20241108T090000Z-0123456789abcdef.json"
    change = freeze.withdrawn(
        audit,
        {"radar_acc": freezes.TableChange(40, 20, 11, 33)},
        dt.datetime(2024, 11, 8, 9, tzinfo=dt.UTC),
    )
    assert change.reason == "consent withdrawal" and change.at == "2024-11-08T09:00:00+00:00"
    assert freeze.versions() == {"radar_acc": 33, "embrace_eda": 22}
    assert freeze.tables["radar_acc"].rows == 20
    document = json.loads(freeze.to_json())
    assert list(document["tables"]) == ["embrace_eda", "radar_acc"]
    assert document["changes"] == [
        {
            "at": "2024-11-08T09:00:00+00:00",
            "reason": "consent withdrawal",
            "audit_id": audit,
            "tables": {
                "radar_acc": {
                    "rows_before": 40,
                    "rows_after": 20,
                    "snapshot_before": 11,
                    "snapshot_after": 33,
                }
            },
        }
    ]
    assert freezes.Freeze.from_json(freeze.to_json()) == freeze


def test_the_athena_sql_reads_each_table_at_its_snapshot() -> None:
    freeze = sample()
    freeze.withdrawn(
        "s3://lake/a.json",
        {"radar_acc": freezes.TableChange(40, 20, 11, 33)},
        (dt.datetime(2024, 11, 8, tzinfo=dt.UTC)),
    )
    sql = freezes.athena_sql(freeze, "phenolake").splitlines()
    assert sql[0].startswith("-- freeze paper_2024: created 2024-11-07T10:00:00+00:00")
    assert "rewritten 1 time(s)" in sql[1]
    assert sql[2:] == [
        'SELECT * FROM "phenolake"."embrace_eda" FOR VERSION AS OF 22;'
        "  -- 7 rows, tag freeze_paper_2024",
        'SELECT * FROM "phenolake"."radar_acc" FOR VERSION AS OF 33;'
        "  -- 20 rows, tag freeze_paper_2024",
    ]


def test_a_freeze_without_a_published_study_configuration_says_so() -> None:
    freeze = sample()
    assert f"study configuration sha256 {'a' * 64}" in freezes.athena_sql(freeze, "phenolake")
    freeze.study_sha256 = ""  # no config/study.yaml in the lake: the run used the defaults
    header = freezes.athena_sql(freeze, "phenolake").splitlines()[0]
    assert header.endswith("no study configuration published (the defaults)")
