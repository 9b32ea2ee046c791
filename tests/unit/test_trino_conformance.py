"""The Trino documentation's own examples, run by the local engine: each one gives the
documented result (Athena's, where its UTC session differs) or is refused in one line; no
example gives a different answer. ``python tests/unit/test_trino_conformance.py`` prints the
counts and what is refused, by construct (the figures in the README)."""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from phenolake_tools import query
from phenolake_tools.query import QueryError, Unsupported

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "trino_doc_examples.json"


def load() -> list[dict[str, Any]]:
    return json.loads(EXAMPLES.read_text())["examples"]


def _map_entries(text: str) -> str:
    """``{b=2, a=1}`` -> ``{a=1, b=2}`` (map entry order is not part of a map's value)."""

    def sort(match: re.Match[str]) -> str:
        inner = match.group(1)
        if "=" not in inner:
            return match.group(0)
        parts = [p.strip() for p in inner.split(", ")]
        return "{" + ", ".join(sorted(parts)) + "}"

    return re.sub(r"\{([^{}\[\]]*)\}", sort, text)


def normal(text: str) -> str:
    """Even out how the documentation spells a result and how the engine's is rendered."""
    text = text.strip()
    text = re.sub(r"'([^']*)'", r"\1", text)
    text = text.replace(" -> ", "=")
    text = re.sub(r"\bnull\b", "NULL", text)
    text = re.sub(r"(\d\d:\d\d:\d\d)\.0+(?!\d)", r"\1", text)
    return _map_entries(text)


def rendered(table: Any) -> list[str]:
    kinds = [(f.metadata or {}).get(b"trino_type", b"").decode() for f in table.schema]
    return [
        " | ".join(
            query.trino_text(row[name], kind)
            for name, kind in zip(table.column_names, kinds, strict=True)
        )
        for row in (
            {n: v for n, v in zip(table.column_names, values, strict=True)}
            for values in zip(*(c.to_pylist() for c in table.columns), strict=True)
        )
    ]


def outcome(example: dict[str, Any], home: Path) -> tuple[str, str]:
    """('pass' | 'refused' | 'wrong', detail)."""
    expected = example.get("expected", example["documented"])
    rows = expected if isinstance(expected, list) else [expected]
    try:
        table = query.query_local(example["sql"], home)
    except Unsupported as exc:
        return "refused", str(exc)
    except QueryError as exc:
        return "wrong", f"error: {exc}"
    got = rendered(table)
    if [normal(r) for r in got] == [normal(r) for r in rows]:
        return "pass", ""
    return "wrong", f"got {got}, documented {rows}"


@pytest.fixture(scope="module")
def empty_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("conformance")


EXAMPLE_LIST = load()
OUTCOMES: dict[int, tuple[str, str]] = {}


def cached(index: int, home: Path) -> tuple[str, str]:
    if index not in OUTCOMES:
        OUTCOMES[index] = outcome(EXAMPLE_LIST[index], home)
    return OUTCOMES[index]


@pytest.mark.parametrize(
    "index", range(len(EXAMPLE_LIST)), ids=[f"{e['file']}:{e['sql'][:50]}" for e in EXAMPLE_LIST]
)
def test_a_documented_example_is_answered_as_documented_or_refused(
    index: int, empty_home: Path
) -> None:
    result, detail = cached(index, empty_home)
    assert result != "wrong", detail
    if result == "refused":
        assert "\n" not in detail and detail.startswith("not supported by the local engine")


def test_most_documented_examples_of_the_functions_pass(empty_home: Path) -> None:
    counts = Counter(cached(i, empty_home)[0] for i in range(len(EXAMPLE_LIST)))
    assert counts["wrong"] == 0
    assert counts["pass"] >= 0.6 * len(EXAMPLE_LIST), counts


def _construct(detail: str) -> str:
    return detail.split(": ", 1)[-1]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        results = [(e, *outcome(e, home)) for e in EXAMPLE_LIST]
    counts = Counter(r for _, r, _ in results)
    total = len(results)
    print(
        f"{total} documented examples: {counts['pass']} pass "
        f"({100 * counts['pass'] / total:.0f}%), {counts['refused']} refused, "
        f"{counts['wrong']} wrong"
    )
    refused = Counter(_construct(d) for _, r, d in results if r == "refused")
    for construct, count in sorted(refused.items(), key=lambda item: (-item[1], item[0])):
        print(f"  refused x{count}: {construct}")
    for example, result, detail in results:
        if result == "wrong":
            print(f"  WRONG {example['sql']}: {detail}")
    sys.exit(1 if counts["wrong"] else 0)


if __name__ == "__main__":
    main()
