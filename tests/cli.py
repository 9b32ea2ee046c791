"""The installed ``phenolake`` command, run as a user runs it: its exit code and output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PHENOLAKE = str(Path(sys.executable).parent / "phenolake")


def cli(
    *args: str, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``phenolake ARGS``; stdin is empty, as in CI, so a command that would ask refuses."""
    return subprocess.run(
        [PHENOLAKE, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )
