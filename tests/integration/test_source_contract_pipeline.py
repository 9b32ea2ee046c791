"""The contract over the registry, end to end: every source's seeded samples go through the
real pipeline (convert, daily merge, curate in the Glue 5.1 job process), then one sample
participant of each source is forgotten; every table in the catalog declares its
participant column, and each forgotten participant is gone from every table."""

from __future__ import annotations

from pathlib import Path

import pytest

from phenolake import sources, tables
from phenolake_local import runner
from phenolake_tools import query

pytestmark = pytest.mark.slow


def _sql(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def catalog_tables(home: Path) -> list[str]:
    return sorted(query.table_row_counts(home))


def rows_of(home: Path, table: str, participant: str) -> int:
    column = tables.participant_column(table)
    sql = f'SELECT count(*) AS n FROM "{table}" WHERE "{column}" = {_sql(participant)}'
    return query.query_local(sql, home).to_pylist()[0]["n"]


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory, spark: object):
    home = tmp_path_factory.mktemp("contract")
    run = runner.run(runner.RunOptions(home=home))  # every source's samples
    assert run.status == "SUCCEEDED", run.cause
    chosen = {
        r["source"]: r["participant"]
        for r in query.query_local(
            "SELECT source, min(participant_id) AS participant FROM completeness GROUP BY source",
            home,
        ).to_pylist()
    }
    names = catalog_tables(home)
    before = {(t, p): rows_of(home, t, p) for t in names for p in chosen.values()}
    for participant in chosen.values():
        done = runner.forget(home, participant)
        assert done.status == "SUCCEEDED", done.cause
    return home, chosen, names, before


def test_every_source_went_through_and_every_table_is_declared(contract) -> None:
    _, chosen, names, _ = contract
    assert sorted(chosen) == sources.names()
    for name in sources.names():
        spec = sources.get(name).spec
        assert any(spec.table(t) for t in names), f"{name}: no curated table"
    for table in names:
        assert tables.spec_of(table) is not None, table
        assert tables.participant_column(table), table


def test_each_forgotten_participant_had_rows_and_is_gone_from_every_table(contract) -> None:
    home, chosen, names, before = contract
    for source, participant in chosen.items():
        own = [t for t in names if sources.get(source).spec.table(t)]
        assert sum(before[(t, participant)] for t in own) > 0, (source, participant)
        left = {t: n for t in names if (n := rows_of(home, t, participant))}
        assert left == {}, (participant, left)
