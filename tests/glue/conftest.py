"""Tests of Glue job code, run in .venv-glue (Glue 5.1's Python and module versions) by
``make test``: the library is imported from the zip ``make deploy`` publishes for the jobs'
``--extra-py-files``, as on Glue, and Spark is the local job process's configuration."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "local" / "phenolake_local"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session", autouse=True)
def library_zip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The library on sys.path only as the published zip (never the source folder)."""
    assert not any(p.endswith("layers/core/python") for p in sys.path)
    path = tmp_path_factory.mktemp("extra-py-files") / "phenolake.zip"
    path.write_bytes(_load("phenolake_publish", LOCAL / "publish.py").library_zip())
    sys.path.insert(0, str(path))
    yield path
    sys.path.remove(str(path))


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    process = _load("phenolake_glue_process", LOCAL / "glue_process.py")
    session = process._start_spark({"log4j": str(LOCAL / "log4j2.properties")})
    yield session
    session.stop()
