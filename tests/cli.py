"""The installed ``phenolake`` command, run as a user runs it: its exit code and output."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

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


def in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The ``phenolake`` command in-process (as its console script runs it), for a test that
    needs its in-process lake: exit code, stdout, stderr."""
    from phenolake_tools import cli as cli_module

    capsys.readouterr()
    argv = sys.argv
    sys.argv = ["phenolake", *args]
    try:
        cli_module.main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def redirected(*args: str) -> tuple[int, str, str]:
    """``phenolake ARGS`` in-process, its output caught by redirecting stdout and stderr: for
    a module fixture (which has no capsys) that needs the session's warm Glue job process."""
    from phenolake_tools import cli as cli_module

    stdout, stderr = io.StringIO(), io.StringIO()
    argv, sys.argv = sys.argv, ["phenolake", *args]
    code = 0
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            cli_module.main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
    return code, stdout.getvalue(), stderr.getvalue()
