"""The run-manifest hash chain: sealing links runs; verify names a change, a gap, an orphan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phenolake import lake, provenance
from tests.cli import cli


def chain(root: Path, runs: int) -> provenance.FolderStore:
    store = provenance.FolderStore(root)
    for n in range(runs):
        provenance.seal(store, f"run-{n}", {"run_id": f"run-{n}", "rows": n})
    return store


def test_sealed_runs_link_to_their_predecessor(tmp_path: Path) -> None:
    store = chain(tmp_path, 3)
    second = json.loads((tmp_path / lake.run_manifest_key("run-1")).read_text())
    first_body = (tmp_path / lake.run_manifest_key("run-0")).read_bytes()
    assert second["previous"] == {"run_id": "run-0", "sha256": provenance.sha256(first_body)}
    assert json.loads((tmp_path / lake.run_manifest_key("run-0")).read_text())["previous"] is None
    report = provenance.verify(store)
    assert report.ok and report.runs == ["run-2", "run-1", "run-0"]


def test_sealing_the_same_run_again_keeps_its_predecessor(tmp_path: Path) -> None:
    store = chain(tmp_path, 2)
    provenance.seal(store, "run-1", {"run_id": "run-1", "rows": 1, "retried": True})
    assert provenance.verify(store).runs == ["run-1", "run-0"]


def test_a_changed_manifest_is_named(tmp_path: Path) -> None:
    store = chain(tmp_path, 3)
    path = tmp_path / lake.run_manifest_key("run-1")
    path.write_text(path.read_text().replace('"rows": 1', '"rows": 100'))
    report = provenance.verify(store)
    assert [p.split(":")[0] for p in report.problems] == ["changed"]
    assert "run-1" in report.problems[0]


def test_a_missing_manifest_is_a_gap(tmp_path: Path) -> None:
    store = chain(tmp_path, 3)
    (tmp_path / lake.run_manifest_key("run-1")).unlink()
    report = provenance.verify(store)
    assert report.problems[0] == "gap: the manifest of run run-1 is missing"
    assert "outside the chain: manifest of run run-0 is not linked" in report.problems


@pytest.mark.local_only
def test_cli_verify_exit_codes(tmp_path: Path) -> None:
    lake_dir = tmp_path / "phenolake-123456789012-lake"
    chain(lake_dir, 2)
    ok = cli("verify", "--home", str(tmp_path), timeout=60)
    assert (ok.returncode, ok.stdout.strip()) == (
        0,
        "manifest chain intact: 2 run(s), newest run-1",
    )
    (lake_dir / lake.run_manifest_key("run-0")).write_text("{}")
    bad = cli("verify", "--home", str(tmp_path), timeout=60)
    assert bad.returncode == 1 and bad.stderr.startswith("verify: changed: manifest of run run-0")
    empty = cli("verify", "--home", str(tmp_path / "nothing"), timeout=60)
    assert empty.returncode == 2 and "no local lake under" in empty.stderr
