"""Every curated table's declaration: the sources' (``sources/<name>/spec.py``) and the
steps' own (completeness, participant days and stats, the image audit).

Forget deletes a participant by the declared participant column of each table in the catalog,
and a table nobody declares is an error naming it, never a guess among likely column names.
"""

from __future__ import annotations

from phenolake import sources
from phenolake.sources.base import TableSpec

#: The tables the steps write themselves (not a source's): Completeness and the Redact audit
#: (``steps/completeness.py``, ``image_audit.py``; a unit test checks the names).
STEP_TABLES = (
    TableSpec("completeness", ("source", "date"), participant="participant_id"),
    TableSpec("participant_days", ("source", "date"), participant="participant_id"),
    TableSpec("participant_stats", (), participant="participant_id"),
    TableSpec("image_redactions", ("source", "date"), participant="participant", time="taken_at"),
)


class UndeclaredTable(ValueError):
    """A table in the catalog that no source or step declares, or that declares no
    participant column: Forget cannot tell whose its rows are."""


def declared() -> list[TableSpec]:
    """Every declaration: each source's tables, then the steps'."""
    return [t for name in sources.names() for t in sources.get(name).spec.tables] + list(
        STEP_TABLES
    )


def spec_of(table: str) -> TableSpec | None:
    return next((t for t in declared() if t.matches(table)), None)


def participant_column(table: str) -> str:
    """The declared participant column of a curated table (UndeclaredTable when none)."""
    spec = spec_of(table)
    if spec is None:
        raise UndeclaredTable(
            f"table {table!r} is declared by no source or step (sources/<name>/spec.py), "
            "so its participant column is unknown"
        )
    if not spec.participant:
        raise UndeclaredTable(f"table {table!r} declares no participant column ({spec.name})")
    return spec.participant
