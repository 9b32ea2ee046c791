"""The Lambda layers' pins are requirements.lock's, and the python3.13 Lambda venv holds them.

The layers install their requirements files ``--no-deps``, so these pins are the whole of what
Lambda gets besides the runtime; ``tests/integration/test_deployable.py`` checks the build.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER_REQUIREMENTS = [
    ROOT / "layers" / "deps" / "requirements-base.txt",
    ROOT / "layers" / "deps" / "requirements-arrow.txt",
    ROOT / "layers" / "deps" / "requirements-kaggle.txt",
    ROOT / "layers" / "opencv" / "requirements.txt",
]


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"{path.name}: {line!r} is not pinned exactly"
            found[normal(name)] = version.strip()
    return found


def lambda_set() -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in LAYER_REQUIREMENTS:
        for name, version in pins(path).items():
            assert merged.setdefault(name, version) == version, f"{name}: two pins"
    return merged


def test_every_layer_pin_is_the_lock_pin() -> None:
    lock = pins(ROOT / "requirements.lock")
    unlike = {n: (v, lock.get(n)) for n, v in lambda_set().items() if lock.get(n) != v}
    assert not unlike, f"layer pins that differ from requirements.lock (layer, lock): {unlike}"


def test_layers_hold_no_package_twice_except_numpy_for_opencv() -> None:
    """Lambda unpacks a function's layers into one /opt: a package in two layers of one
    function would be one copy overwriting the other. numpy is in ArrowLayer and OpenCVLayer,
    which no function has together (Redact has OpenCV alone)."""
    seen: dict[str, str] = {}
    for path in LAYER_REQUIREMENTS:
        for name in pins(path):
            if name in seen and name != "numpy":
                pytest.fail(f"{name} is in {seen[name]} and {path.name}")
            seen[name] = path.name


def test_functions_install_nothing_of_their_own() -> None:
    """sam build pip-installs a function's requirements.txt unpinned beneath: all must come
    from the layers (Fetch's kagglesdk used to pull certifi and charset-normalizer unpinned)."""
    for req in sorted((ROOT / "functions").glob("*/requirements.txt")):
        assert not pins(req), f"{req.relative_to(ROOT)} installs packages; put them in a layer"


@pytest.mark.skipif(
    os.environ.get("PHENOLAKE_LAMBDA_VENV") != "1", reason="only in the python3.13 Lambda venv"
)
def test_the_lambda_venv_has_exactly_the_layer_versions() -> None:
    installed = {normal(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    unlike = {n: (installed.get(n), v) for n, v in lambda_set().items() if installed.get(n) != v}
    assert not unlike, f"the Lambda venv differs from the layers (venv, layer): {unlike}"
    assert "numba" not in installed and "pandas" not in installed and "awscrt" not in installed
