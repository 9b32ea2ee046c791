"""Exports of curated tables in the file formats the systems phenolake replaces produced.

A source declares its export (``SourceSpec.export``, in ``sources/<name>/spec.py``): per
participant, one CSV per table, the table's columns under the file's own headers, in order.
``consolidate`` writes them from the curated tables, through the same local Athena-SQL path as
``phenolake query``, rows in the declared order; each file is written as pandas wrote the old
tools' files (quoted only where needed, NULL as an empty cell). screenlake's is the
``combined/panelists/<panelist>/metadata/<prefix>-consolidated.csv`` the old Screenlake scripts
left: every upload's CSV of a kind under one header, in time order (then upload and row in the
upload, as the old concatenation had them).
"""

from __future__ import annotations

import csv
from pathlib import Path

from phenolake import sources
from phenolake.sources.base import ExportSpec
from phenolake_tools import query


class ExportError(ValueError):
    """Bad export input (unknown participant, an unusable output folder): one line."""


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def consolidated_dir(spec: ExportSpec, out_dir: Path, participant: str) -> Path:
    return out_dir / spec.folder / participant / spec.subfolder


def consolidate(
    source: str, participant: str, out_dir: Path, home: Path, database: str = "phenolake"
) -> list[tuple[Path, int]]:
    """Write the source's export files of the participant: one per table they have rows in.

    Returns (file, rows) per file. Raises ExportError when the lake has none of the source's
    tables or no row of the participant, or when the output folder cannot be written."""
    spec = sources.get(source).spec.export
    if spec is None:
        raise ExportError(f"export: no export for source {source!r}")
    who = spec.participant_column
    try:
        tables = {
            r["tab_name"] for r in query.query_local("SHOW TABLES", home, database).to_pylist()
        }
    except query.QueryError as exc:
        raise ExportError(str(exc)) from None
    present = [file for file in spec.files if file.table in tables]
    if not present:
        raise ExportError(f"no {source} tables in the lake at {home} (run the pipeline first)")
    results = []
    for file in present:
        columns = ", ".join(f'"{column}"' for column, _ in file.columns)
        sql = (
            f"SELECT {columns} FROM {file.table} WHERE {who} = {_sql_string(participant)} "
            f"ORDER BY {', '.join(spec.order_by)}"
        )
        try:
            rows = query.query_local(sql, home, database)
        except query.QueryError as exc:
            raise ExportError(str(exc)) from None
        results.append((file, rows))
    if not any(rows.num_rows for _, rows in results):
        known = sorted(
            {
                r[who]
                for file in present
                for r in query.query_local(
                    f"SELECT DISTINCT {who} FROM {file.table}", home, database
                ).to_pylist()
            }
        )
        word = spec.participant_word
        raise ExportError(
            f"no {source} data for {word} {participant!r} ({word}s: {', '.join(known)})"
        )
    folder = consolidated_dir(spec, out_dir, participant)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"--out: cannot create {folder}: {exc.strerror or exc}") from None
    written = []
    for file, rows in results:
        if not rows.num_rows:
            continue
        path = folder / file.file_name
        try:
            with path.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow([header for _, header in file.columns])
                for row in zip(
                    *(rows.column(i).to_pylist() for i in range(rows.num_columns)), strict=True
                ):
                    writer.writerow(["" if v is None else v for v in row])
        except OSError as exc:
            raise ExportError(f"--out: cannot write {path}: {exc.strerror or exc}") from None
        written.append((path, rows.num_rows))
    return written
