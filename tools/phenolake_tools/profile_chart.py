"""The timeline chart of a run's profile: one row per step, a bar per invocation over time.

Drawn from the run manifest's ``profile`` (what Notify built from the ledger's records and the
Curate job runs), so the chart of a run on AWS is drawn the same way from its manifest. Each
row is annotated with the step's highest peak memory against its configured memory
(``*``: shared with overlapping invocations, see ``phenolake.memory``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

COLOURS = {"lambda": "#4c72b0", "glue": "#dd8452"}


def write_chart(run_profile: dict[str, Any], path: Path, title: str) -> Path:
    """Write the chart as a PNG to ``path``; returns it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    invocations = run_profile.get("invocations", [])
    if not invocations:
        raise ValueError("the run's profile has no invocations to chart")
    rows = run_profile.get("steps", [])
    order = [r["step"] for r in rows] or sorted({i["step"] for i in invocations})
    origin = min(i["started"] for i in invocations)
    end = max(i["ended"] for i in invocations) - origin
    figure, axes = plt.subplots(figsize=(11, 0.5 * len(order) + 1.6), dpi=110)
    for y, step in enumerate(order):
        bars = [
            (i["started"] - origin, max(i["ended"] - i["started"], end / 250), i["kind"])
            for i in invocations
            if i["step"] == step
        ]
        for kind in COLOURS:
            spans = [(start, width) for start, width, k in bars if k == kind]
            if spans:
                axes.broken_barh(
                    spans, (y - 0.35, 0.7), facecolors=COLOURS[kind], edgecolor="white", lw=0.5
                )
        row = next((r for r in rows if r["step"] == step), None)
        if row and row.get("peak_mb") is not None:
            shared = "*" if row.get("shared") else ""
            label = f"{row['peak_mb']:.0f}{shared} / {row.get('configured_mb') or '?'} MB"
            last = max(start + width for start, width, _ in bars)
            axes.text(last + end * 0.01, y, label, va="center", fontsize=8)
    axes.set_yticks(range(len(order)), order)
    axes.invert_yaxis()
    axes.set_xlim(0, end * 1.15)
    axes.set_xlabel("seconds since the run's first step")
    axes.set_ylabel("step")
    axes.set_title(title, loc="left", fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    axes.legend(
        handles=[
            Patch(
                color=COLOURS["lambda"],
                label="Lambda invocation (peak MB / configured; * overlapping calls)",
            ),
            Patch(color=COLOURS["glue"], label="Glue job run"),
        ],
        loc="upper right",
        fontsize=8,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
