"""Load one built function the way the python3.13 Lambda runtime does; print what happened as JSON.

Run as ``python3.13 -I -S -B tests/lambda_probe.py SPEC.json`` (never imported by the tests):
``-I`` ignores PYTHON* variables and the user's site, ``-S`` leaves out site-packages (``-B``:
no bytecode written into the build, as on Lambda's read-only disk), so nothing but
the standard library is importable until ``sys.path`` is set to what Lambda gives a function:
the function's folder (``/var/task``), its layers' ``python/`` folders (``/opt/python``), then
the runtime's own boto3/botocore. Standard library only, on purpose.

SPEC: {"path": [...], "runtime": "...", "modules": {"name": "where it is imported"},
"services": [...], "environment": {...}}; a module ``"x:y"`` stands for ``from x import y``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import sys
import traceback


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    os.environ.update(spec["environment"])
    sys.path[:0] = [*spec["path"], spec["runtime"]]
    report: dict[str, object] = {"errors": []}
    errors: list[str] = report["errors"]  # type: ignore[assignment]
    try:
        handler = importlib.import_module("app").lambda_handler
        if not callable(handler):
            errors.append("app.lambda_handler is not callable")
    except BaseException as exc:  # every failure is the report
        errors.append(f"import app: {type(exc).__name__}: {exc}")
        report["traceback"] = traceback.format_exc()
    for name, where in sorted(spec["modules"].items()):
        module, _, attribute = name.partition(":")
        try:
            loaded = importlib.import_module(module)
            if attribute and not hasattr(loaded, attribute):
                importlib.import_module(f"{module}.{attribute}")
        except BaseException as exc:
            what = f"from {module} import {attribute}" if attribute else f"import {module}"
            errors.append(f"{what} ({where}): {type(exc).__name__}: {exc}")
    if "boto3" in sys.modules:
        import boto3

        for service in spec["services"]:
            try:
                boto3.client(service, region_name="us-east-1")
            except BaseException as exc:
                errors.append(f"boto3.client({service!r}): {type(exc).__name__}: {exc}")
    if "pyarrow" in sys.modules:
        import pyarrow as pa

        if not pa.Codec.is_available("zstd"):
            errors.append("pyarrow has no zstd codec (every Parquet write uses it)")
    report["versions"] = {
        name: getattr(sys.modules[name], "__version__", None)
        for name in ("boto3", "botocore", "pyarrow", "numpy", "pydantic", "yaml", "cv2")
        if name in sys.modules
    }
    report["distributions"] = {
        dist.metadata["Name"].lower().replace("_", "-"): dist.version
        for dist in importlib.metadata.distributions(path=spec["path"])
    }
    report["files"] = sorted(
        {
            os.path.realpath(path)
            for module in list(sys.modules.values())
            if module is not sys.modules["__main__"]  # this file (also as __mp_main__)
            and isinstance(path := getattr(module, "__file__", None), str)
        }
    )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
