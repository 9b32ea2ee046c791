"""The topic -> schema mapping of RADAR-Schemas' ``specifications/`` (dev only).

``python -m tests.fakes.radar_schemas`` rewrites the shipped
``phenolake/sources/radar/schemas/topics.json`` from the shipped ``specifications/``;
``tests/unit/test_radar_schema.py`` checks the two agree.

The rules are those of RADAR-Schemas' java-sdk (``DataTopic``, ``StreamDataTopic``,
``SchemaUtils.expandClass``): a schema name starting with ``.`` is under ``org.radarcns``; the
key schema is ``org.radarcns.kafka.ObservationKey`` unless given; a stream entry's topics are
its outputs, not its ``input_topic``: windowed, ``<base>_10sec`` ... ``<base>_1week`` keyed by
``AggregateKey``, else its ``topic`` or ``<base>_output``. A topic that specifications of one
producer define differently in its versions (aRMT's ``questionnaire_audio``) takes the newest
version's schema.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from phenolake.sources.radar import schema

GROUP = "org.radarcns"
OBSERVATION_KEY = "org.radarcns.kafka.ObservationKey"
AGGREGATE_KEY = "org.radarcns.kafka.AggregateKey"
WINDOWS = ("_10sec", "_1min", "_10min", "_1hour", "_1day", "_1week")


def expand(name: str | None) -> str | None:
    if not name:
        return None
    return GROUP + name if name.startswith(".") else name


def _version(text: Any) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", str(text)))


def derive_topics(specifications: Path) -> dict[str, dict[str, str]]:
    """topic -> {key_schema, value_schema, specification} over every ``*.yml``."""
    found: dict[str, tuple[tuple[int, ...], dict[str, str]]] = {}
    for path in sorted(specifications.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        version = _version(document.get("version", ""))
        stream = path.relative_to(specifications).parts[0] == "stream"
        for entry in document.get("data") or []:
            value = expand(entry.get("value_schema"))
            if not value:
                continue
            key = expand(entry.get("key_schema"))
            if stream:
                base = entry.get("topic_base") or entry.get("input_topic")
                if entry.get("windowed"):
                    key = key if key and key != OBSERVATION_KEY else AGGREGATE_KEY
                    topics = [f"{base}{w}" for w in WINDOWS]
                else:
                    topics = [entry.get("topic") or f"{base}_output"]
            else:
                topics = [entry["topic"]] if entry.get("topic") else []
            for topic in topics:
                mapped = {
                    "key_schema": key or OBSERVATION_KEY,
                    "value_schema": value,
                    "specification": path.relative_to(specifications).as_posix(),
                }
                if topic not in found or version >= found[topic][0]:
                    found[topic] = (version, mapped)
    return {topic: mapped for topic, (_, mapped) in sorted(found.items())}


def document(specifications: Path) -> dict[str, Any]:
    return {
        "upstream": "RADAR-base/RADAR-Schemas",
        "commit": schema.UPSTREAM_COMMIT,
        "derived_from": "specifications/ (tests/fakes/radar_schemas.py)",
        "topics": derive_topics(specifications),
    }


def main() -> None:
    target = schema.SCHEMAS / "topics.json"
    target.write_text(json.dumps(document(schema.SCHEMAS / "specifications"), indent=1) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
