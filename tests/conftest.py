"""Shared fixtures: one SparkSession and one full pipeline run per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("PYSPARK_PYTHON", "python3")


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    from phenolake_local.engine import spark_session

    session = spark_session()
    yield session
    session.stop()


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory, spark: object):
    """The seeded samples through the whole pipeline once; tests read what it left."""
    from phenolake_local import runner

    home = tmp_path_factory.mktemp("home")
    result = runner.run(runner.RunOptions(home=home, sources=["mhealth"]))
    return home, result
