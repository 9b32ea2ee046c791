"""The growth chart: daily-run time against study day, one line per saved series.

Plots every ``bench/results/growth-<name>.json`` (``old``: the design before issue 15; others
as saved with ``python -m bench.growth --save NAME``), and with ``--last-run`` (as an unsaved
``python -m bench.growth`` does) the last unsaved run (``bench/out/growth.json``, as ``this
run``), side by side into ``docs/growth.png``: the
pipeline time (the execution less the embedded AWS's own mirroring) solid, the whole wall
time dashed, the CPU seconds (this process and the Glue job process) dotted, and on a second
panel the files the Curate job opened.

    .venv/bin/python -m bench.growth_chart [--out docs/growth.png] [--last-run]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
UNSAVED = ROOT / "bench" / "out" / "growth.json"
CHART = ROOT / "docs" / "growth.png"


def series_files(last_run: bool = False) -> list[tuple[str, Path]]:
    """(label, file) of every series to plot: the saved ones by name, then (``last_run``)
    the last unsaved run."""
    found = [(p.stem.removeprefix("growth-"), p) for p in sorted(RESULTS.glob("growth-*.json"))]
    if last_run and UNSAVED.exists():
        found.append(("this run", UNSAVED))
    return found


def points(document: dict[str, Any]) -> dict[str, list[float]]:
    """Day, pipeline seconds, wall seconds and files the job opened, per run of a series."""
    runs = [r for r in document["series"] if str(r["status"]).startswith("SUCCEEDED")]
    return {
        "day": [r["day"] for r in runs],
        "pipeline": [r["pipeline_seconds"] for r in runs],
        "wall": [r["wall_seconds"] for r in runs],
        "cpu": [r.get("cpu_seconds", 0) + r.get("job_cpu_seconds", 0) for r in runs],
        "opened": [sum(v[0] for v in r["opened"].values()) for r in runs],
    }


def plot(out: Path = CHART, last_run: bool = False) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (times, files) = plt.subplots(1, 2, figsize=(11, 4.2))
    for index, (label, path) in enumerate(series_files(last_run)):
        document = json.loads(path.read_text())
        found = points(document)
        study = document["study"]
        name = f"{label} ({study['participants']}x{study['topics']})"
        color = f"C{index}"
        times.plot(found["day"], found["pipeline"], "o-", color=color, label=f"{name} pipeline")
        times.plot(found["day"], found["wall"], "--", color=color, alpha=0.6, label=f"{name} wall")
        if any(found["cpu"]):
            times.plot(found["day"], found["cpu"], ":", color=color, label=f"{name} CPU")
        files.plot(found["day"], found["opened"], "o-", color=color, label=name)
    times.set(xlabel="study day", ylabel="daily run (s)", title="Daily-run time")
    files.set(xlabel="study day", ylabel="files", title="Files the Curate job opened")
    for axes in (times, files):
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    fig.suptitle("phenolake growth: RADAR-base study run day by day (python -m bench.growth)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=CHART)
    parser.add_argument("--last-run", action="store_true", help="with bench/out/growth.json")
    args = parser.parse_args(argv)
    print(plot(args.out, args.last_run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
