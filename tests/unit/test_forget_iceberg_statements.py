"""The Athena statements consent withdrawal sends for an Iceberg table: templates the machine
fills with the participant id (checked: it stands between quotes as it is, never as SQL); the
embedded AWS's Athena reads them back as Athena would and refuses any other statement in one
line."""

from __future__ import annotations

import pytest

from phenolake import forget
from phenolake_local import athena_iceberg


def filled(template: str, participant: str) -> str:
    """What the machine's States.Format makes of a template."""
    return template.replace("{}", forget.check_participant(participant))


def test_the_statements_of_a_table_partitioned_by_participant() -> None:
    found = forget.statements(
        "phenolake", "embrace_acc", "participant_id", partitioned=True, retention=None
    )
    match = "participant_id = '{}'"
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
    for template in found.values():
        statement = athena_iceberg.parse(filled(template, "ppt 7/é"), "other")
        assert (statement.database, statement.table) == ("phenolake", "embrace_acc")
        if statement.column:
            assert (statement.column, statement.value) == ("participant_id", "ppt 7/é")


def test_a_table_not_partitioned_by_participant_is_rewritten_whole() -> None:
    found = forget.statements(
        "phenolake", "participant_stats", "participant_id", partitioned=False, retention="86400"
    )
    assert found["optimize"] == "OPTIMIZE phenolake.participant_stats REWRITE DATA USING BIN_PACK"
    assert found["restore"].endswith("('vacuum_max_snapshot_age_seconds'='86400')")


@pytest.mark.parametrize(
    ("participant", "named"),
    [
        ("x' OR '1'='1", '"\'"'),
        ("p1\\", "'\\\\'"),
        ("p{}", "'{'"),
        ("p1\nDELETE", "a control character"),
    ],
)
def test_an_id_that_could_leave_its_quotes_is_refused(participant: str, named: str) -> None:
    with pytest.raises(forget.UnsafeParticipant) as refused:
        forget.check_participant(participant)
    assert str(refused.value) == (
        f"participant: holds {named}, which the Athena statements cannot carry; nothing was deleted"
    )


def test_a_name_outside_glues_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="is not a Glue name"):
        forget.statements("phenolake", 'x"; --', "c", partitioned=False, retention=None)


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TABLE phenolake.t",
        "SELECT * FROM phenolake.t",
        "DELETE FROM phenolake.t",
        "DELETE FROM phenolake.t WHERE c LIKE 'p%'",
        "DELETE FROM phenolake.t WHERE c = 'a' OR 1 = 1",
        "INSERT INTO phenolake.t VALUES (1)",
        "VACUUM phenolake.t phenolake.u",
        "OPTIMIZE phenolake.t REWRITE MANIFESTS",
    ],
)
def test_any_other_statement_is_refused_in_one_line(sql: str) -> None:
    with pytest.raises(athena_iceberg.StatementRefused) as refused:
        athena_iceberg.parse(sql, "phenolake")
    assert "\n" not in str(refused.value)
