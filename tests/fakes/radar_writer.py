"""Avro records -> CSV as radar-output-restructure writes them (dev only, for fixtures).

The rules of its CSV converter (v3.0.6: ``format/CsvAvroDataConverter.kt``,
``RecordConverterFactory.headerFor``, ``format/CsvAvroConverter.kt``), ported to records as
fastavro reads them (dicts, lists, Python scalars):

- the header is the record flattened: ``prefix.field`` for a record's fields in schema
  order, ``prefix.<index>`` for an array's items, ``prefix.<key>`` for a map's entries in the
  map's order, a union as the branch its value has (``GenericData.resolveUnion``);
- every leaf is ``toString()``: ints and longs in decimal, doubles as Java's
  ``Double.toString`` and floats as ``Float.toString`` (``1.21322421E-15``, ``0.1213231``,
  ``1.58021982003E9``, ``132101.0``), booleans ``true``/``false``, an enum its symbol, bytes and
  fixed in base64 without padding, null the empty string;
- opencsv's ``CSVWriter.writeNext(line, false)``: a field is quoted only when it holds a quote,
  a comma, ``\\n`` or ``\\r``, a quote inside doubled; lines end with ``\\n``;
- a file holds records of one header; a record whose header differs goes to the hour's next
  attempt file (``RestructureWorker.writeRecord``: ``_1``, ``_2``, ...), and
  ``FileCacheStore.writeSchema`` writes ``schema-<topic>.json`` beside the first file.

Java 17's ``Double.toString`` (the tool's image runs ``eclipse-temurin:17-jre``) is not always
the shortest form (JDK-4511638, fixed in 19); this port prints the shortest, which is the same
for all but rare doubles (none in the fixtures).
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

Schema = Any


def java_number(value: float, single: bool = False) -> str:
    """Java's ``Double.toString`` (``Float.toString`` with ``single``) of ``value``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    shortest = (
        np.format_float_scientific(np.float32(value), unique=True, trim="-")
        if single
        else repr(value)
    )
    sign, digits, exponent = Decimal(shortest).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    power = len(text) + exponent - 1  # value = d.ddd x 10^power
    minus = "-" if sign else ""
    if -3 <= power < 7:
        if power >= 0:
            whole, fraction = text[: power + 1].ljust(power + 1, "0"), text[power + 1 :]
        else:
            whole, fraction = "0", "0" * (-power - 1) + text
        return f"{minus}{whole}.{fraction or '0'}"
    return f"{minus}{text[0]}.{text[1:] or '0'}E{power}"


class Names:
    """Named types of a schema, by full name, so a type used by name resolves."""

    def __init__(self, schema: Schema) -> None:
        self.types: dict[str, Schema] = {}
        self._collect(schema, "")

    def _collect(self, schema: Schema, namespace: str) -> None:
        if isinstance(schema, list):
            for s in schema:
                self._collect(s, namespace)
        elif isinstance(schema, dict):
            kind = schema.get("type")
            if kind in ("record", "enum", "fixed"):
                name = schema["name"]
                full = name if "." in name else f"{schema.get('namespace', namespace)}.{name}"
                full = full.lstrip(".")
                self.types[full] = self.types[name.rsplit(".", 1)[-1]] = schema
                namespace = full.rpartition(".")[0]
            for f in schema.get("fields", []):
                self._collect(f["type"], namespace)
            for part in ("items", "values", "type"):
                if isinstance(schema.get(part), (dict, list)):
                    self._collect(schema[part], namespace)

    def resolve(self, schema: Schema) -> Schema:
        while isinstance(schema, str) and schema in self.types:
            schema = self.types[schema]
        if isinstance(schema, dict) and isinstance(schema.get("type"), (dict, list)):
            return self.resolve(schema["type"])
        if isinstance(schema, dict) and schema.get("type") in self.types:
            return self.resolve(schema["type"])
        return schema


def _kind(schema: Schema) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        return str(schema["type"])
    return str(schema)


def _matches(names: Names, schema: Schema, datum: Any) -> bool:
    """Whether ``datum`` is of ``schema`` (Avro's ``GenericData.resolveUnion``)."""
    schema = names.resolve(schema)
    kind = _kind(schema)
    checks = {
        "null": lambda: datum is None,
        "boolean": lambda: isinstance(datum, bool),
        "int": lambda: isinstance(datum, int) and not isinstance(datum, bool),
        "long": lambda: isinstance(datum, int) and not isinstance(datum, bool),
        "float": lambda: isinstance(datum, float),
        "double": lambda: isinstance(datum, float),
        "string": lambda: isinstance(datum, str),
        "bytes": lambda: isinstance(datum, bytes),
        "fixed": lambda: isinstance(datum, bytes) and len(datum) == schema["size"],
        "enum": lambda: isinstance(datum, str) and datum in schema["symbols"],
        "array": lambda: isinstance(datum, list),
        "map": lambda: isinstance(datum, dict),
        "record": lambda: (
            isinstance(datum, dict) and {f["name"] for f in schema["fields"]} >= set(datum)
        ),
    }
    return checks[kind]()


def _branch(names: Names, union: list[Schema], datum: Any) -> Schema:
    # a record before a map: fastavro gives both as dicts
    order = sorted(union, key=lambda s: _kind(names.resolve(s)) != "record")
    for branch in order:
        if _matches(names, branch, datum):
            return branch
    raise ValueError(f"{datum!r} is of no branch of {union}")


def flatten(names: Names, schema: Schema, datum: Any, prefix: str) -> list[tuple[str, str]]:
    """(header, cell) of one value, as ``convertAvro`` and ``createHeader`` walk it."""
    schema = names.resolve(schema)
    kind = _kind(schema)
    if kind == "record":
        return [
            cell
            for f in schema["fields"]
            for cell in flatten(names, f["type"], datum.get(f["name"]), f"{prefix}.{f['name']}")
        ]
    if kind == "map":
        return [
            cell
            for key, value in datum.items()
            for cell in flatten(names, schema["values"], value, f"{prefix}.{key}")
        ]
    if kind == "array":
        return [
            cell
            for i, item in enumerate(datum)
            for cell in flatten(names, schema["items"], item, f"{prefix}.{i}")
        ]
    if kind == "union":
        return flatten(names, _branch(names, schema, datum), datum, prefix)
    if kind in ("bytes", "fixed"):
        return [(prefix, base64.b64encode(datum).decode().rstrip("="))]
    if kind == "null":
        return [(prefix, "")]
    if kind in ("float", "double"):
        return [(prefix, java_number(float(datum), single=kind == "float"))]
    if kind == "boolean":
        return [(prefix, "true" if datum else "false")]
    return [(prefix, str(datum))]


def record_cells(schema: Schema, record: dict[str, Any]) -> list[tuple[str, str]]:
    """(header, cell) of a top-level record (its fields without a prefix)."""
    names = Names(schema)
    return [
        cell
        for f in names.resolve(schema)["fields"]
        for cell in flatten(names, f["type"], record.get(f["name"]), f["name"])
    ]


def csv_field(cell: str) -> str:
    """opencsv's ``writeNext(line, applyQuotesToAll = false)``."""
    if any(c in cell for c in '",\n\r'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def csv_line(cells: list[str]) -> str:
    return ",".join(csv_field(c) for c in cells) + "\n"


def hour_of(record: dict[str, Any]) -> str:
    """``yyyyMMdd_HH00`` of the record's ``value.time`` (the hourly bin the tool files it in)."""
    moment = dt.datetime.fromtimestamp(record["value"]["time"], dt.UTC)
    return moment.strftime("%Y%m%d_%H00")


def write_topic(
    folder: Path,
    topic: str,
    schema: Schema,
    records: list[dict[str, Any]],
    compress: bool = True,
) -> list[Path]:
    """The topic's hourly files and ``schema-<topic>.json`` in ``folder``, as the tool writes
    them for one participant: records in order, each in its hour's first file whose header
    is its own (else the next attempt file)."""
    files: dict[str, tuple[list[str], list[str]]] = {}
    for record in records:
        cells = record_cells(schema, record)
        header = [h for h, _ in cells]
        attempt = 0
        while True:
            name = hour_of(record) + (f"_{attempt}" if attempt else "") + ".csv"
            if name not in files:
                files[name] = (header, [csv_line(header)])
            if files[name][0] == header:
                files[name][1].append(csv_line([c for _, c in cells]))
                break
            attempt += 1
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (_, lines) in files.items():
        data = "".join(lines).encode()
        path = folder / (name + ".gz" if compress else name)
        path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
        written.append(path)
    schema_path = folder / f"schema-{topic}.json"
    schema_path.write_text(json.dumps(schema, indent=2))
    written.append(schema_path)
    return written


def from_avro_json(schema: Schema, datum: Any) -> Any:
    """A record in Avro's JSON encoding (as ``full.json`` is, read by Avro's ``jsonDecoder``)
    -> the values fastavro would give: bytes from their ISO-8859-1 text, a union's value
    unwrapped from ``{"<branch>": value}``."""
    names = Names(schema)

    def decode(s: Schema, value: Any) -> Any:
        s = names.resolve(s)
        kind = _kind(s)
        if kind == "union":
            if value is None:
                return None
            ((branch, inner),) = value.items()
            chosen = next(b for b in s if _branch_name(names, b) == branch)
            return decode(chosen, inner)
        if kind == "record":
            return {f["name"]: decode(f["type"], value.get(f["name"])) for f in s["fields"]}
        if kind == "array":
            return [decode(s["items"], v) for v in value]
        if kind == "map":
            return {k: decode(s["values"], v) for k, v in value.items()}
        if kind in ("bytes", "fixed"):
            return value.encode("latin-1")
        if kind in ("float", "double"):
            return float(value)
        return value

    return decode(schema, datum)


def _branch_name(names: Names, schema: Schema) -> str:
    resolved = names.resolve(schema)
    if isinstance(resolved, dict) and resolved.get("type") in ("record", "enum", "fixed"):
        return str(resolved["name"])
    return _kind(resolved)


def questionnaire(
    site: str,
    participant: str,
    source_id: str,
    name: str,
    time: float,
    answers: list[tuple[str, Any]],
) -> dict[str, Any]:
    """One aRMT response as RADAR-Schemas' ``Questionnaire`` record (``value`` of ``int |
    string | double``: an int, a str or a float here), answered 8 s per question."""
    return {
        "key": {"projectId": site, "userId": participant, "sourceId": source_id},
        "value": {
            "time": time,
            "timeCompleted": time + 8.0 * len(answers) + 2.5,
            "timeNotification": None,
            "name": name,
            "version": "1.0.0",
            "answers": [
                {
                    "questionId": question,
                    "value": value,
                    "startTime": time + 8.0 * i,
                    "endTime": time + 8.0 * i + 6.25,
                }
                for i, (question, value) in enumerate(answers)
            ],
        },
    }
