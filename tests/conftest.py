"""Shared fixtures: one local Glue job process and one full pipeline run per test session."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

# tests/glue runs in .venv-glue, the Glue 5.1 versions (`make test` runs it there); this venv
# has no PySpark.
collect_ignore = [] if importlib.util.find_spec("pyspark") else ["glue"]


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """The local Glue 5.1 job process every Glue job run of the session goes to, started
    here so its JVM start-up is paid once, before the first pipeline run needs it."""
    from phenolake_local.glue_local import WORKER

    WORKER.warm()
    yield WORKER
    WORKER.stop()


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory, spark: object):
    """The seeded MHEALTH samples through the whole pipeline once; tests read what it left.

    Each other source has its own end-to-end run (``tests/integration/test_<source>_*``)."""
    from phenolake_local import runner

    home = tmp_path_factory.mktemp("home")
    result = runner.run(runner.RunOptions(home=home, sources=["mhealth"]))
    return home, result
