"""Schema drift: which column types a table may take on, and which files must be refused.

The rule, for a table built from files whose columns come from the data (RADAR topics):

- a column a file has and the table does not is added (older partitions read it as null);
- a column a file lacks reads as null in that file's rows;
- a file's column may have the table's type or a narrower one that widens to it without loss
  (``int < bigint < double``, ``float < double``); a column that is new in this batch of files
  takes the widest type its files agree on;
- any other difference (a ``double`` column arriving as ``string``, or a column the table
  already holds as ``bigint`` arriving as ``double``, which would change the type older
  partitions are read with) refuses the whole file, with the reason; it is never written.

Types are Glue (Hive DDL) names, so the same rule serves the Daily merge (pyarrow schemas)
and the Glue jobs (Spark schemas and the catalog).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyarrow as pa

#: Each type and the types it widens to without loss.
_WIDENS_TO: dict[str, tuple[str, ...]] = {
    "tinyint": ("smallint", "int", "bigint", "double"),
    "smallint": ("int", "bigint", "double"),
    "int": ("bigint", "double"),
    "bigint": ("double",),
    "float": ("double",),
}


def glue_type_of(arrow_type: pa.DataType) -> str:
    """The Glue type a Parquet column of this Arrow type is cataloged with."""
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    names = {
        pa.int8(): "tinyint",
        pa.int16(): "smallint",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.float32(): "float",
        pa.float64(): "double",
        pa.bool_(): "boolean",
        pa.date32(): "date",
        pa.null(): "void",
    }
    return names.get(arrow_type, str(arrow_type))


def widens(narrow: str, wide: str) -> bool:
    return narrow == wide or narrow == "void" or wide in _WIDENS_TO.get(narrow, ())


@dataclass
class Unified:
    """The table's columns after a batch of files, and the files refused, with reasons."""

    columns: dict[str, str]
    accepted: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def unify(table: Mapping[str, str], files: Iterable[tuple[str, Mapping[str, str]]]) -> Unified:
    """Apply the rule to ``files`` (id, {column: type}) in order, against the table's columns.

    Columns of ``table`` keep their type; a file that would change one is refused. A new
    column's type may still widen while later files of the batch arrive."""
    fixed = dict(table)
    columns = dict(table)
    result = Unified(columns)
    for file_id, schema in files:
        proposal = dict(columns)
        problems = []
        for name, kind in schema.items():
            current = proposal.get(name)
            if current is None or current == "void":
                proposal[name] = kind
            elif widens(kind, current):
                continue
            elif name not in fixed and widens(current, kind):
                proposal[name] = kind
            else:
                problems.append(f"column {name!r} is {kind}, the table has {current}")
        if problems:
            result.refused[file_id] = "type change that cannot be widened: " + "; ".join(problems)
            continue
        columns.update(proposal)
        result.accepted.append(file_id)
    return result
