"""Column types of a RADAR-base topic from its Avro schema, never from one hour's values.

radar-output-restructure (``CsvAvroDataConverter``) writes each record flattened: a record's
fields as ``prefix.field``, an array's items as ``prefix.<index>``, a map's entries as
``prefix.<key>``, a union as the branch the value has, and every leaf as text (numbers as
Java's ``toString``, booleans ``true``/``false``, an enum its symbol, bytes in base64, null
empty). Beside the data it writes the record's schema, ``schema-<topic>.json`` (the combined
``{key, value}`` record). So a column's type is what the schema gives at its header path:

- the ``schema-<topic>.json`` beside the file when there is one, else the topic's definition
  in RADAR-Schemas (shipped in ``schemas/``, commit ``UPSTREAM_COMMIT``; topic -> key and
  value schema in ``schemas/topics.json``, derived from its ``specifications/``);
- ``int``/``long`` -> ``long`` (bigint) and ``float``/``double`` -> ``double``: Avro's own
  promotions (int -> long, float -> double) never change a column's type, so Curate never
  refuses a file for them (``phenolake/drift.py``); ``boolean`` -> boolean; ``string``,
  ``enum``, ``bytes``, ``fixed`` -> text; a field that is only ``null`` -> text;
- a union is its branches' types together (``null`` only makes it nullable): numbers only ->
  the widest number; a number and text (a questionnaire answer's ``int | string | double``)
  -> the text, kept whole, plus a parsed double ``<column>_numeric`` (null where the text is
  not a number), in every hour whatever its values;
- a header column the schema does not have, or every column of a topic with no schema at all,
  is text (lossless; logged), so no hour can change a column's type.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SCHEMAS = Path(__file__).with_name("schemas")
#: The RADAR-Schemas commit whose ``commons/`` and ``specifications/`` are shipped.
UPSTREAM_COMMIT = "c8b46946fa820fd930cded89d637b01461bce264"

PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "string", "bytes"}
TEXT_KINDS = {"string", "bytes", "fixed", "enum"}
INTEGER_KINDS = {"int", "long"}
NUMBER_KINDS = {"int", "long", "float", "double"}

#: The column types a schema gives (and the Arrow type each is staged as).
STRING, BOOLEAN, LONG, DOUBLE = "string", "boolean", "long", "double"
#: The suffix of the parsed column of a union of number and text.
NUMERIC_SUFFIX = "_numeric"


class SchemaError(ValueError):
    """A schema that is not an Avro schema this module can read."""


@dataclass(frozen=True)
class ColumnType:
    """A header column's type: ``kind`` (STRING, BOOLEAN, LONG, DOUBLE); ``numeric``: text
    that may hold a number, staged with a parsed ``<column>_numeric`` double beside it;
    ``kinds``: the Avro types the schema allows there (empty: not in the schema)."""

    kind: str
    numeric: bool = False
    kinds: frozenset[str] = frozenset()

    @property
    def in_schema(self) -> bool:
        return bool(self.kinds)

    def describe(self) -> str:
        return " | ".join(sorted(self.kinds)) or "not in the schema"


TEXT = ColumnType(STRING)


def column_type(kinds: set[str] | frozenset[str]) -> ColumnType:
    """The column type of a header path whose value may be any of ``kinds``."""
    values = set(kinds) - {"null"}
    frozen = frozenset(kinds)
    if not values:
        return ColumnType(STRING, kinds=frozen)
    if values <= INTEGER_KINDS:
        return ColumnType(LONG, kinds=frozen)
    if values <= NUMBER_KINDS:
        return ColumnType(DOUBLE, kinds=frozen)
    if values == {"boolean"}:
        return ColumnType(BOOLEAN, kinds=frozen)
    return ColumnType(STRING, numeric=bool(values & NUMBER_KINDS), kinds=frozen)


# --- parsing Avro JSON -------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One Avro type: ``kind`` (a primitive, ``record``, ``enum``, ``fixed``, ``array``,
    ``map``, ``union`` or ``ref``, a named type used by name), ``fields`` of a record,
    ``items`` of an array or map, ``branches`` of a union, ``name`` of a reference."""

    kind: str
    fields: tuple[tuple[str, Node], ...] = ()
    items: Node | None = None
    branches: tuple[Node, ...] = ()
    name: str = ""


def _full_name(name: str, namespace: str) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


def parse(schema: Any, names: dict[str, Node], namespace: str = "") -> Node:
    """A JSON Avro schema -> its Node; named types it defines are added to ``names`` (a named
    type used by name, even before its definition or by itself, is a ``ref``)."""
    if isinstance(schema, str):
        if schema in PRIMITIVES:
            return Node(schema)
        return Node("ref", name=_full_name(schema, namespace))
    if isinstance(schema, list):
        return Node("union", branches=tuple(parse(s, names, namespace) for s in schema))
    if not isinstance(schema, dict) or "type" not in schema:
        raise SchemaError(f"not an Avro type: {str(schema)[:80]}")
    kind = schema["type"]
    if kind in ("record", "error", "enum", "fixed"):
        full = _full_name(str(schema.get("name", "")), str(schema.get("namespace", namespace)))
        inner = full.rpartition(".")[0]
        if kind == "enum" or kind == "fixed":
            node = Node(kind, name=full)
        else:
            names[full] = Node("ref", name=full)  # a field may use the record itself
            fields = []
            for f in schema.get("fields", []):
                if not isinstance(f, dict) or "name" not in f or "type" not in f:
                    raise SchemaError(f"record {full}: a field without name or type")
                fields.append((str(f["name"]), parse(f["type"], names, inner)))
            node = Node("record", fields=tuple(fields), name=full)
        names[full] = node
        return node
    if kind == "array":
        return Node("array", items=parse(schema.get("items"), names, namespace))
    if kind == "map":
        return Node("map", items=parse(schema.get("values"), names, namespace))
    if isinstance(kind, (dict, list)) or kind in PRIMITIVES:
        return parse(kind, names, namespace)  # {"type": "string", "avro.java.string": ...}
    return Node("ref", name=_full_name(str(kind), namespace))


@dataclass(frozen=True)
class TopicSchema:
    """The combined ``{key, value}`` record of a topic, where its types were found
    (``origin``), and the named types it can use."""

    root: Node
    names: dict[str, Node]
    origin: str

    def leaf_kinds(self, header: str) -> frozenset[str]:
        """The Avro types a header column (``value.answers.0.value``) can have; empty when
        the schema has no such path."""
        return frozenset(self._walk(self.root, header.split("."), 0))

    def column_type(self, header: str) -> ColumnType:
        kinds = self.leaf_kinds(header)
        return column_type(kinds) if kinds else TEXT

    def _walk(self, node: Node, path: list[str], depth: int) -> set[str]:
        if depth > 64:
            return set()
        if node.kind == "ref":
            target = self.names.get(node.name)
            return set() if target is None else self._walk(target, path, depth + 1)
        if node.kind == "union":
            found: set[str] = set()
            for branch in node.branches:
                found |= self._walk(branch, path, depth + 1)
            return found
        if node.kind == "record":
            if not path:
                return set()
            field = dict(node.fields).get(path[0])
            return set() if field is None else self._walk(field, path[1:], depth + 1)
        if node.kind == "array":
            if not path or not path[0].isdigit() or node.items is None:
                return set()
            return self._walk(node.items, path[1:], depth + 1)
        if node.kind == "map":
            if not path or node.items is None:
                return set()
            # a map key may itself hold dots: try every split, the whole rest for a leaf
            found = set()
            for cut in range(1, len(path) + 1):
                found |= self._walk(node.items, path[cut:], depth + 1)
            return found
        return {node.kind} if not path else set()


def from_json(text: bytes | str, origin: str) -> TopicSchema:
    """A ``schema-<topic>.json`` as the tool writes it (``Schema.toString(true)``)."""
    try:
        document = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaError(f"{origin} is not JSON: {exc}") from None
    names: dict[str, Node] = {}
    root = parse(document, names)
    if root.kind != "record":
        raise SchemaError(f"{origin} is not an Avro record schema")
    return TopicSchema(root, names, origin)


# --- the shipped RADAR-Schemas ---------------------------------------------------------------


@cache
def shipped_names() -> dict[str, Node]:
    """Every named type of the shipped ``commons/**/*.avsc``, by full name."""
    names: dict[str, Node] = {}
    for path in sorted((SCHEMAS / "commons").rglob("*.avsc")):
        parse(json.loads(path.read_text(encoding="utf-8")), names)
    return names


@cache
def shipped_topics() -> dict[str, dict[str, str]]:
    """topic -> {"key_schema", "value_schema"} (full names), from ``topics.json``."""
    document = json.loads((SCHEMAS / "topics.json").read_text(encoding="utf-8"))
    return dict(document["topics"])


def shipped(topic: str) -> TopicSchema | None:
    """The topic's combined record as the tool would write it, from the shipped
    RADAR-Schemas; None when RADAR-Schemas does not define the topic."""
    entry = shipped_topics().get(topic)
    if entry is None:
        return None
    names = shipped_names()
    key, value = entry["key_schema"], entry["value_schema"]
    if key not in names or value not in names:
        return None
    root = Node(
        "record", fields=(("key", Node("ref", name=key)), ("value", Node("ref", name=value)))
    )
    return TopicSchema(root, names, f"RADAR-Schemas {value} ({UPSTREAM_COMMIT[:12]})")


def for_topic(topic: str, sibling: bytes | None, sibling_name: str) -> TopicSchema | None:
    """The schema a topic's file is typed by: the ``schema-<topic>.json`` beside it when
    given (``sibling``), else RADAR-Schemas' definition; None when there is neither.

    A sibling that is not an Avro record schema raises SchemaError (the file is refused
    with the reason rather than typed by another schema than the one written with it)."""
    if sibling is not None:
        return from_json(sibling, sibling_name)
    return shipped(topic)


def combined_schema(topic: str) -> dict[str, Any]:
    """The topic's ``{key, value}`` record as JSON, as the tool writes ``schema-<topic>.json``
    (the definitions inlined once each), from the shipped RADAR-Schemas."""
    entry = shipped_topics()[topic]
    definitions = _definitions()
    seen: set[str] = set()

    def inline(schema: Any, namespace: str) -> Any:
        if isinstance(schema, str):
            if schema in PRIMITIVES:
                return schema
            full = _full_name(schema, namespace)
            if full in seen or full not in definitions:
                return full
            seen.add(full)
            return inline(definitions[full], full.rpartition(".")[0])
        if isinstance(schema, list):
            return [inline(s, namespace) for s in schema]
        if not isinstance(schema, dict):
            return schema
        out = dict(schema)
        if schema.get("type") in ("record", "enum", "fixed"):
            full = _full_name(str(schema["name"]), str(schema.get("namespace", namespace)))
            seen.add(full)
            out["name"], namespace = full, full.rpartition(".")[0]
            out.pop("namespace", None)
        if "fields" in schema:
            out["fields"] = [{**f, "type": inline(f["type"], namespace)} for f in schema["fields"]]
        for part in ("items", "values"):
            if part in schema:
                out[part] = inline(schema[part], namespace)
        if isinstance(schema.get("type"), (dict, list)):
            out["type"] = inline(schema["type"], namespace)
        return out

    key, value = entry["key_schema"], entry["value_schema"]
    return {
        "type": "record",
        "name": f"{key}_{value}",
        "doc": "combined key-value record",
        "fields": [
            {"name": "key", "type": inline(key, ""), "doc": "Key of a Kafka SinkRecord"},
            {"name": "value", "type": inline(value, ""), "doc": "Value of a Kafka SinkRecord"},
        ],
    }


@cache
def _definitions() -> dict[str, dict[str, Any]]:
    """Every named definition of the shipped schemas as JSON, by full name."""
    found: dict[str, dict[str, Any]] = {}

    def collect(schema: Any, namespace: str) -> None:
        if isinstance(schema, list):
            for s in schema:
                collect(s, namespace)
        elif isinstance(schema, dict):
            if schema.get("type") in ("record", "enum", "fixed"):
                full = _full_name(str(schema["name"]), str(schema.get("namespace", namespace)))
                found[full] = schema
                namespace = full.rpartition(".")[0]
            for f in schema.get("fields", []):
                collect(f.get("type"), namespace)
            for part in ("items", "values", "type"):
                if isinstance(schema.get(part), (dict, list)):
                    collect(schema[part], namespace)

    for path in sorted((SCHEMAS / "commons").rglob("*.avsc")):
        collect(json.loads(path.read_text(encoding="utf-8")), "")
    return found
