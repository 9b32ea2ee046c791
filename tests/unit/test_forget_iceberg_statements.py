"""The Athena statements consent withdrawal sends for an Iceberg table: the participant id is
a string literal with its quotes doubled, never SQL; the embedded AWS's Athena reads them
back as Athena would and refuses any other statement in one line."""

from __future__ import annotations

import pytest

from phenolake import forget
from phenolake_local import athena_iceberg


def test_the_statements_of_a_table_partitioned_by_participant() -> None:
    found = forget.statements(
        "phenolake", "embrace_acc", "participant_id", "o'brien", partitioned=True, retention=None
    )
    match = "participant_id = 'o''brien'"
    assert found == {
        "count": f"SELECT count(*) FROM phenolake.embrace_acc WHERE {match}",
        "delete": f"DELETE FROM phenolake.embrace_acc WHERE {match}",
        "optimize": f"OPTIMIZE phenolake.embrace_acc REWRITE DATA USING BIN_PACK WHERE {match}",
        "expire": "ALTER TABLE phenolake.embrace_acc SET TBLPROPERTIES "
        "('vacuum_max_snapshot_age_seconds'='1')",
        "vacuum": "VACUUM phenolake.embrace_acc",
        "restore": "ALTER TABLE phenolake.embrace_acc SET TBLPROPERTIES "
        "('vacuum_max_snapshot_age_seconds'='432000')",
    }
    for sql in found.values():
        statement = athena_iceberg.parse(sql, "other")
        assert (statement.database, statement.table) == ("phenolake", "embrace_acc")
        if statement.column:
            assert (statement.column, statement.value) == ("participant_id", "o'brien")


def test_a_table_not_partitioned_by_participant_is_rewritten_whole() -> None:
    found = forget.statements(
        "phenolake",
        "participant_stats",
        "participant_id",
        "p1",
        partitioned=False,
        retention="86400",
    )
    assert found["optimize"] == "OPTIMIZE phenolake.participant_stats REWRITE DATA USING BIN_PACK"
    assert found["restore"].endswith("('vacuum_max_snapshot_age_seconds'='86400')")


@pytest.mark.parametrize(
    "participant",
    ["x' OR '1'='1", "'; DROP TABLE t; --", "a''b", "back\\slash'"],
)
def test_an_id_with_quotes_stays_one_string(participant: str) -> None:
    sql = forget.statements(
        "phenolake", "t", "participant_id", participant, partitioned=True, retention=None
    )["delete"]
    statement = athena_iceberg.parse(sql, "phenolake")
    assert (statement.kind, statement.column, statement.value) == (
        "delete",
        "participant_id",
        participant,
    )


def test_an_id_with_a_control_character_is_refused_before_anything_is_deleted() -> None:
    with pytest.raises(forget.UnsafeParticipant, match="control character; nothing was deleted"):
        forget.sql_string("p1\nDELETE")


def test_a_name_outside_glues_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="is not a Glue name"):
        forget.statements("phenolake", 'x"; --', "c", "p", partitioned=False, retention=None)


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TABLE phenolake.t",
        "SELECT * FROM phenolake.t",
        "DELETE FROM phenolake.t",
        "DELETE FROM phenolake.t WHERE c LIKE 'p%'",
        "INSERT INTO phenolake.t VALUES (1)",
        "VACUUM phenolake.t phenolake.u",
        "OPTIMIZE phenolake.t REWRITE MANIFESTS",
    ],
)
def test_any_other_statement_is_refused_in_one_line(sql: str) -> None:
    with pytest.raises(athena_iceberg.StatementRefused) as refused:
        athena_iceberg.parse(sql, "phenolake")
    assert "\n" not in str(refused.value)
