"""Exports of curated tables in the file formats the systems phenolake replaces produced.

``screenlake``: the old Screenlake scripts left, per panelist,
``combined/panelists/<panelist>/metadata/<prefix>-consolidated.csv`` (``screenshot_data``,
``app_accessibility_data``, ``app_segment_data``, ``session_data``, ``log_data``): every
upload's CSV of that kind concatenated under one header, with pandas (``read_csv`` then
``to_csv``), so ``null`` / ``NA`` became empty cells and fields are quoted only where needed.
``consolidate_screenlake`` writes the same files from the curated tables, through the same
local Athena-SQL path as ``phenolake query``: the CSV's own column names and order, rows in
time order (then upload and row in the upload, as the old concatenation had them).
"""

from __future__ import annotations

import csv
from pathlib import Path

from phenolake.sources.screenlake import KINDS
from phenolake_tools import query


class ExportError(ValueError):
    """Bad export input (unknown panelist, an unusable output folder): one line."""


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def consolidated_dir(out_dir: Path, panelist: str) -> Path:
    return out_dir / "panelists" / panelist / "metadata"


def consolidate_screenlake(
    panelist: str, out_dir: Path, home: Path, database: str = "phenolake"
) -> list[tuple[Path, int]]:
    """Write ``<prefix>-consolidated.csv`` per CSV kind the panelist has rows of.

    Returns (file, rows) per file. Raises ExportError when the lake has no Screenlake table
    or no row of the panelist, or when the output folder cannot be written."""
    try:
        tables = {
            r["tab_name"] for r in query.query_local("SHOW TABLES", home, database).to_pylist()
        }
    except query.QueryError as exc:
        raise ExportError(str(exc)) from None
    present = [kind for kind in KINDS.values() if kind.table in tables]
    if not present:
        raise ExportError(f"no screenlake tables in the lake at {home} (run the pipeline first)")
    results = []
    for kind in present:
        columns = ", ".join(f'"{c.column}"' for c in kind.columns)
        sql = (
            f"SELECT {columns} FROM {kind.table} WHERE panelist = {_sql_string(panelist)} "
            "ORDER BY timestamp, source_key, row_index"
        )
        try:
            rows = query.query_local(sql, home, database)
        except query.QueryError as exc:
            raise ExportError(str(exc)) from None
        results.append((kind, rows))
    if not any(rows.num_rows for _, rows in results):
        known = sorted(
            {
                r["panelist"]
                for kind in present
                for r in query.query_local(
                    f"SELECT DISTINCT panelist FROM {kind.table}", home, database
                ).to_pylist()
            }
        )
        raise ExportError(
            f"no screenlake data for panelist {panelist!r} (panelists: {', '.join(known)})"
        )
    folder = consolidated_dir(out_dir, panelist)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"--out: cannot create {folder}: {exc.strerror or exc}") from None
    written = []
    for kind, rows in results:
        if not rows.num_rows:
            continue
        path = folder / f"{kind.prefix}-consolidated.csv"
        try:
            with path.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow([c.csv for c in kind.columns])
                for row in zip(
                    *(rows.column(i).to_pylist() for i in range(rows.num_columns)), strict=True
                ):
                    writer.writerow(["" if v is None else v for v in row])
        except OSError as exc:
            raise ExportError(f"--out: cannot write {path}: {exc.strerror or exc}") from None
        written.append((path, rows.num_rows))
    return written
