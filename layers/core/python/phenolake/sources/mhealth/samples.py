"""Seeded MHEALTH sample logs (dev only: ``phenolake sample`` and the tests; never deployed to
Lambda)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from phenolake.sources.mhealth.convert import SENSOR_COLUMNS


def write(out_dir: Path, seed: int, rows: int = 1500) -> list[Path]:
    """Three subjects' logs of ``rows`` rows each, activities in runs like the real set."""
    rng = np.random.default_rng(seed)
    folder = out_dir / "MHEALTHDATASET"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for subject in (1, 2, 3):
        labels = np.repeat(rng.integers(0, 13, size=rows // 250 + 1), 250)[:rows]
        values = rng.normal(0.0, 3.0, size=(rows, len(SENSOR_COLUMNS)))
        values[:, 0] += -9.8
        path = folder / f"mHealth_subject{subject}.log"
        with path.open("w") as fh:
            for row, label in zip(values, labels, strict=True):
                fh.write("\t".join(f"{v:.5g}" for v in row) + f"\t{label}\n")
        written.append(path)
    return written
