"""Glue job: curate one source's merged day files, ``--source <name>``.

The one curate job of the stack (``CurateJob`` in template.yaml): the state machine's Curate
state starts it once per source the run touched, with ``--source`` in its arguments, and
each source's curate logic is its package's ``curate.py`` (``phenolake.sources.<name>.curate``,
``main(argv)``), which reaches the job in the library zip (``--extra-py-files``). So adding a
source adds no job: its package brings its curate module.
"""

from __future__ import annotations

import importlib
import sys

from phenolake import sources
from phenolake.glue import resolve_options


def main(argv: list[str]) -> None:
    source = resolve_options(argv, ["source"])["source"]
    if source not in sources.REGISTRY:
        known = ", ".join(sources.names())
        raise SystemExit(f"--source: unknown source {source!r} (known: {known})")
    importlib.import_module(f"phenolake.sources.{source}.curate").main(argv)


if __name__ == "__main__":
    main(sys.argv)
