"""A curated Iceberg table as a reader sees it: its current snapshot, read with PyIceberg from
the metadata file the Glue entry names (in <home>/.state/glue-catalog.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from phenolake_local import iceberg

DATABASE = "phenolake"


def table(home: Path, name: str, database: str = DATABASE) -> Any:
    catalog = json.loads((home / ".state" / "glue-catalog.json").read_text())
    location = catalog["tables"][database][name]["Parameters"]["metadata_location"]
    return iceberg.static_table(home, location)


def rows(home: Path, name: str, database: str = DATABASE) -> list[dict[str, Any]]:
    return table(home, name, database).scan().to_arrow().to_pylist()


def data_files(home: Path, name: str, database: str = DATABASE) -> dict[str, set[str]]:
    """The current snapshot's data files per partition folder (``user_id=2/date=...``):
    a partition whose files are the same after a run was not rewritten by it."""
    found: dict[str, set[str]] = {}
    for task in table(home, name, database).scan().plan_files():
        path = task.file.file_path
        folder = path.split("/data/", 1)[1].rsplit("/", 1)[0]
        found.setdefault(folder, set()).add(path)
    return found
