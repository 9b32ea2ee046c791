"""Every function `sam build` makes loads and fits as Lambda would run it (python3.13, x86_64).

``sam build`` (cached in .aws-sam, the directory ``make build`` and ``sam deploy`` use), then,
for each function of the built template, one isolated python3.13 process (``-I -S``,
``tests/lambda_probe.py``) with ``sys.path`` as Lambda sets it: the function's folder, its
layers in template order (Globals first), then the runtime's boto3/botocore. It imports the
handler and every module the function's code can ever import, lazy imports included (found by
reading the code, not by running it), creates a client for each AWS service the code names,
and checks pyarrow's zstd codec. Then the function's unzipped size with its layers is held
against Lambda's 262,144,000 bytes, and the versions it loaded against requirements.lock.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from phenolake_local import publish, template
from phenolake_local.engine import PROJECT_ROOT

BIN = Path(sys.executable).parent
BUILD = PROJECT_ROOT / ".aws-sam" / "build"
PYTHON313 = os.environ.get("PYTHON313", "/root/.pyenv/versions/3.13.0/bin/python3.13")
PROBE = PROJECT_ROOT / "tests" / "lambda_probe.py"
#: Lambda's limit for a function's code and all its layers, unzipped (Lambda quotas page).
UNZIPPED_LIMIT = 262_144_000
#: The python3.13 runtime's own SDK, which our DepsLayer shadows; a stand-in for the version the
#: "Runtime-included SDK versions" table of the Lambda Python docs lists (README says more).
RUNTIME_SDK = "boto3==1.40.4"
RUNTIME_DIR = PROJECT_ROOT / ".aws-sam" / "lambda-runtime" / RUNTIME_SDK.replace("==", "-")
ENV = {
    **os.environ,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "SAM_CLI_TELEMETRY": "0",
    "PYENV_VERSION": os.environ.get("SAM_PYENV", "3.11.7:3.13.0"),
}
FUNCTIONS = sorted(template.load(PROJECT_ROOT).functions)
#: (module, importing file) pairs a function's code reaches only through library modules it
#: shares with other steps, inside functions it never calls; each entry must still be needed (a
#: stale one fails), and a failure while importing the handler is never excused.
NOT_ON_ITS_PATHS = {
    "FetchFunction": {
        ("pyarrow", "phenolake/storage.py"): "Parquet helpers; Fetch moves objects, not tables",
    },
    "RedactFunction": {
        ("pyarrow", "phenolake/storage.py"): "Parquet helpers; Redact writes its audit as JSON",
    },
    "RecordFunction": {
        ("pyarrow", "phenolake/storage.py"): "Parquet helpers; Record writes ledger items only",
    },
    "CollectFunction": {
        ("cv2", "phenolake/redaction.py"): "steps.redact's detector, for the Redact task only",
        ("phenolake_faces", "phenolake/redaction.py"): "the same detector's model",
    },
}

#: Developer tooling and what only it or the embedded AWS runs: no deployed file (a function's
#: folder, any layer) holds or imports one of them. sqlglot parses SQL for the local query
#: engine only (no step does); pyspark is Glue's, never Lambda's.
NEVER_DEPLOYED = (
    "typer",
    "duckdb",
    "matplotlib",
    "sqlglot",
    "moto",
    "pyspark",
    "phenolake_local",
    "phenolake_tools",
)
#: The Glue jobs' zip is the library for Spark: pyspark is Glue's own, the rest stays out.
NEVER_IN_GLUE = tuple(m for m in NEVER_DEPLOYED if m != "pyspark")
#: What layers/core/Makefile leaves out of CoreLayer: the sample writers (development only)
#: and the Glue-only modules (they import PySpark; Glue gets them in code/phenolake.zip).
LEFT_OUT_OF_CORE = (
    "phenolake/sources/*_samples.py",
    "phenolake/sources/*/samples.py",
    "phenolake/sources/*/curate.py",
    "phenolake/glue.py",
)
LIBRARY = PROJECT_ROOT / "layers" / "core" / "python"

pytestmark = pytest.mark.slow


@dataclass
class Imports:
    """What a function's own code imports: modules -> where, and the AWS services it names."""

    modules: dict[str, str] = field(default_factory=dict)
    services: set[str] = field(default_factory=set)


def _optional(node: ast.Try) -> bool:
    """A ``try: import x / except ImportError`` block: the code runs without x."""
    names = {"ImportError", "ModuleNotFoundError"}
    for handler in node.handlers:
        kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        if any(isinstance(k, ast.Name) and k.id in names for k in kinds):
            return True
    return False


def _statements(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, but not optional or type-checking-only ones."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Try) and _optional(node):
            return
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _source(name: str, roots: list[Path]) -> Path | None:
    parts = name.split(".")
    for root in roots:
        for candidate in (
            root.joinpath(*parts, "__init__.py"),
            root.joinpath(*parts[:-1], f"{parts[-1]}.py"),
        ):
            if candidate.is_file():
                return candidate
    return None


def scan(entry: Path, own_roots: list[Path]) -> Imports:
    """Follow ``entry``'s imports through the code the project deploys (function folder and
    core layer); record every other module with the file and line that imports it."""
    stdlib = set(sys.stdlib_module_names)
    result = Imports()
    todo: list[tuple[str, Path]] = [("app", entry)]
    seen: set[str] = set()
    while todo:
        module, path = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        text = path.read_text(encoding="utf-8")
        result.services |= set(re.findall(r"client\(\s*\"([a-z0-9-]+)\"", text))
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        where = next(str(path.relative_to(r)) for r in own_roots if path.is_relative_to(r))
        for node in _statements(ast.parse(text)):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                stem = f"{base}.{node.module}" if node.module else base
                targets = [stem, *(f"{stem}.{a.name}" for a in node.names)]
            elif node.module == "__future__":
                continue
            else:
                targets = [node.module or "", *(f"{node.module}.{a.name}" for a in node.names)]
            for name in targets:
                parts = name.split(".")
                for depth in range(1, len(parts) + 1):  # parent packages run first
                    prefix = ".".join(parts[:depth])
                    source = _source(prefix, own_roots)
                    if source is not None:
                        todo.append((prefix, source))
                top = parts[0]
                if top in stdlib or _source(top, own_roots) is not None:
                    continue
                if name == targets[0] or isinstance(node, ast.Import):
                    result.modules.setdefault(name, f"{where}:{node.lineno}")
                else:  # from X import Y: Y is an attribute of X or its submodule X.Y
                    result.modules.setdefault(
                        f"{targets[0]}:{name.rsplit('.', 1)[1]}", f"{where}:{node.lineno}"
                    )
    return result


def _missing(error: str) -> tuple[str, str] | None:
    """(the top-level module, the file importing it) of a probe error for a missing module."""
    found = re.search(r"\((\S+?):\d+\): ModuleNotFoundError: No module named '([^'.]+)", error)
    return (found.group(2), found.group(1)) if found else None


def tree_bytes(root: Path) -> int:
    """Bytes Lambda unpacks for ``root``: every regular file (symlinks are zipped as files)."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


@cache
def built() -> dict[str, Any]:
    """sam build, cached: only what changed is rebuilt (the layers' pip installs, mostly)."""
    result = subprocess.run(
        [str(BIN / "sam"), "build", "--cached", "--parallel", "--template", "template.yaml"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=ENV,
        timeout=1800,
    )
    assert result.returncode == 0, (
        "sam build failed:\n" + result.stdout[-3000:] + result.stderr[-3000:]
    )
    if not (RUNTIME_DIR / "boto3").is_dir():
        install = subprocess.run(
            [PYTHON313, "-m", "pip", "install", "-q", RUNTIME_SDK, "--target", str(RUNTIME_DIR)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert install.returncode == 0, install.stderr[-3000:]
    return cfn_yaml.load(str(BUILD / "template.yaml"))


def layers_of(doc: dict[str, Any], logical_id: str) -> list[tuple[str, Path]]:
    """The function's layers in the order Lambda applies them: Globals first, then its own."""
    props = doc["Resources"][logical_id]["Properties"]
    refs = [*doc.get("Globals", {}).get("Function", {}).get("Layers", []), *props.get("Layers", [])]
    out = []
    for ref in refs:
        assert isinstance(ref, dict) and "Ref" in ref, (
            f"{logical_id}: layer {ref!r} is not built by this stack"
        )
        layer = doc["Resources"][ref["Ref"]]
        out.append((ref["Ref"], BUILD / layer["Properties"]["ContentUri"]))
    return out


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in (PROJECT_ROOT / "requirements.lock").read_text().splitlines():
        name, _, version = line.partition("==")
        pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_function_loads_and_fits_as_deployed(logical_id: str, tmp_path: Path) -> None:
    doc = built()
    props = doc["Resources"][logical_id]["Properties"]
    code = BUILD / props["CodeUri"]
    layers = layers_of(doc, logical_id)
    assert (code / "app.py").is_file(), f"{logical_id}: no app.py in {code}"

    seen: dict[str, str] = {}
    for name, root in layers:
        assert (root / "python").is_dir(), f"{logical_id}: layer {name} has no python/ folder"
        for entry in (root / "python").iterdir():
            other = seen.setdefault(entry.name, name)
            assert other == name, (
                f"{logical_id}: {entry.name} is in both {other} and {name}; Lambda unpacks"
                " layers into one /opt, so the later one would silently replace the other"
            )

    sizes = {logical_id: tree_bytes(code), **{name: tree_bytes(root) for name, root in layers}}
    total = sum(sizes.values())
    detail = ", ".join(f"{k} {v:,}" for k, v in sizes.items())
    assert total <= UNZIPPED_LIMIT, (
        f"{logical_id}: {total:,} bytes unzipped with its layers,"
        f" over Lambda's {UNZIPPED_LIMIT:,} ({detail})"
    )

    own = [code, *(root / "python" for name, root in layers if name == "CoreLayer")]
    imports = scan(code / "app.py", own)
    globals_env = doc.get("Globals", {}).get("Function", {}).get("Environment", {})
    environment = {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": logical_id,
        "LAMBDA_TASK_ROOT": str(code),
        **{k: str(v) for k, v in globals_env.get("Variables", {}).items() if isinstance(v, str)},
        **{
            k: str(v)
            for k, v in props.get("Environment", {}).get("Variables", {}).items()
            if isinstance(v, str)
        },
    }
    spec = {
        "path": [str(code), *(str(root / "python") for _, root in layers)],
        "runtime": str(RUNTIME_DIR),
        "modules": imports.modules,
        "services": sorted(imports.services),
        "environment": environment,
    }
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    probe = subprocess.run(
        [PYTHON313, "-I", "-S", "-B", str(PROBE), str(spec_file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        timeout=300,
    )
    assert probe.returncode == 0, f"{logical_id}: the probe crashed:\n{probe.stderr[-3000:]}"
    report = json.loads(probe.stdout.strip().splitlines()[-1])
    excused = NOT_ON_ITS_PATHS.get(logical_id, {})
    errors = [e for e in report["errors"] if _missing(e) not in excused]
    stale = set(excused) - {_missing(e) for e in report["errors"]}
    assert not stale, f"{logical_id}: NOT_ON_ITS_PATHS lists {sorted(stale)}, which now load"
    assert not errors, (
        f"{logical_id} fails to load as deployed:\n"
        + "\n".join(errors)
        + "\n"
        + report.get("traceback", "")
    )

    allowed = [str(code.resolve()), *(str((root / "python").resolve()) for _, root in layers)]
    stdlib = str(Path(PYTHON313).resolve().parents[1] / "lib")
    strays = [
        f
        for f in report["files"]
        if not any(f.startswith(a + os.sep) for a in allowed) and not f.startswith(stdlib)
    ]
    assert not strays, f"{logical_id} loaded files from outside its code and layers: {strays[:5]}"

    pins = lock_pins()
    unlike = {
        dist: (version, pins.get(dist, "not in requirements.lock"))
        for dist, version in report["distributions"].items()
        if pins.get(dist) != version
    }
    assert not unlike, (
        f"{logical_id} deploys other versions than the lock (deployed, lock): {unlike}"
    )
    print(f"{logical_id}: {total:,} bytes unzipped ({detail}); loaded {report['versions']}")


def tooling_in(root: Path, files: dict[str, bytes], banned: tuple[str, ...]) -> list[str]:
    """Each file of ``files`` (path relative to ``root`` -> content) that is, or imports, a
    ``banned`` module, as "<root>/<file>[:line]: what" (any import statement, lazy or not)."""
    found = []
    for name, content in sorted(files.items()):
        parts = Path(name).parts
        top = parts[1] if parts[0] == "python" and len(parts) > 1 else parts[0]
        top = top.removesuffix(".py").split("-")[0]  # a module, a package, a dist-info
        if top in banned:
            found.append(f"{root}/{name}: is {top}")
        if not name.endswith(".py"):
            continue
        for node in ast.walk(ast.parse(content, name)):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                modules = [node.module]
            else:
                continue
            found += [
                f"{root}/{name}:{node.lineno}: imports {m}"
                for m in modules
                if m.split(".")[0] in banned
            ]
    return found


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_no_deployed_file_carries_or_imports_developer_tooling() -> None:
    """Every function's folder and every layer, as built: no CLI, query engine, reports,
    embedded AWS, PySpark or their dependencies (typer, duckdb, matplotlib, sqlglot, moto)."""
    doc = built()
    roots = {BUILD / doc["Resources"][f]["Properties"]["CodeUri"] for f in FUNCTIONS}
    roots |= {root for f in FUNCTIONS for _, root in layers_of(doc, f)}
    found = [
        hit
        for root in sorted(roots)
        for hit in tooling_in(root.relative_to(PROJECT_ROOT), files_of(root), NEVER_DEPLOYED)
    ]
    assert not found, "deployed files carry or import developer tooling:\n" + "\n".join(found)


def test_the_core_layer_is_the_library_without_samples_and_glue_modules() -> None:
    """layers/core/Makefile copies every file of the library but the sample writers and the
    Glue-only modules, so a module a function needs cannot go missing unnoticed."""
    doc = built()
    core = BUILD / doc["Resources"]["CoreLayer"]["Properties"]["ContentUri"] / "python"
    deployed = set(files_of(core))
    source = {
        name
        for name in files_of(LIBRARY)
        if name.startswith("phenolake/") and "__pycache__" not in name and not name.endswith(".pyc")
    }
    left_out = {n for n in source if any(PurePosixPath(n).match(p) for p in LEFT_OUT_OF_CORE)}
    assert "phenolake/glue.py" in left_out
    # radar types columns by the shipped RADAR-Schemas, deployed with their licence
    radar_schemas = "phenolake/sources/radar/schemas/"
    assert {f"{radar_schemas}LICENSE", f"{radar_schemas}topics.json"} <= deployed
    assert f"{radar_schemas}commons/active/questionnaire/questionnaire.avsc" in deployed
    assert deployed == source - left_out, (
        f"CoreLayer differs from the library minus {LEFT_OUT_OF_CORE}: deployed only"
        f" {sorted(deployed - source)}, missing {sorted(source - left_out - deployed)}"
    )


def test_the_glue_zip_is_the_library_with_its_glue_modules_and_no_tooling() -> None:
    """code/phenolake.zip (--extra-py-files) holds what the Glue jobs run, no tooling."""
    with zipfile.ZipFile(io.BytesIO(publish.library_zip())) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    assert "phenolake/glue.py" in files
    assert {n.split("/")[0] for n in files} == {"phenolake"}
    found = tooling_in(Path(publish.KEY), files, NEVER_IN_GLUE)
    assert not found, "the Glue zip carries or imports developer tooling:\n" + "\n".join(found)


def test_the_tooling_check_names_the_file_and_the_import(tmp_path: Path) -> None:
    """The check itself, on a planted folder: a lazy import, a package and a dist-info."""
    files = {
        "app.py": b"def handler(event, context):\n    from phenolake_tools import query\n",
        "python/typer/__init__.py": b"",
        "python/duckdb-1.5.6.dist-info/METADATA": b"",
        "python/lib.py": b"import json\nimport matplotlib.pyplot as plt\n",
    }
    assert tooling_in(tmp_path, files, NEVER_DEPLOYED) == [
        f"{tmp_path}/app.py:2: imports phenolake_tools",
        f"{tmp_path}/python/duckdb-1.5.6.dist-info/METADATA: is duckdb",
        f"{tmp_path}/python/lib.py:2: imports matplotlib.pyplot",
        f"{tmp_path}/python/typer/__init__.py: is typer",
    ]


def test_the_check_names_the_module_a_function_misses_and_where(tmp_path: Path) -> None:
    """The check itself: a lazy import of a module no layer has is found by reading the code,
    and the isolated interpreter does not see the test venv's packages (yaml is in .venv)."""
    code, layer = tmp_path / "task", tmp_path / "layer" / "python"
    (code / "lib").mkdir(parents=True)
    layer.mkdir(parents=True)
    (code / "app.py").write_text("from lib import config\n\nlambda_handler = config.handler\n")
    (code / "lib" / "__init__.py").write_text("")
    (code / "lib" / "config.py").write_text(
        "def handler(event, context):\n    import yaml\n\n    return yaml.safe_load(event)\n"
    )
    imports = scan(code / "app.py", [code])
    assert imports.modules == {"yaml": "lib/config.py:2"}
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "path": [str(code), str(layer)],
                "runtime": str(tmp_path / "none"),
                "modules": imports.modules,
                "services": [],
                "environment": {},
            }
        )
    )
    probe = subprocess.run(
        [PYTHON313, "-I", "-S", "-B", str(PROBE), str(spec)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"]},
        timeout=60,
    )
    report = json.loads(probe.stdout)
    assert report["errors"] == [
        "import yaml (lib/config.py:2): ModuleNotFoundError: No module named 'yaml'"
    ]
