"""Embrace converter benchmark: days of 32 Hz acc through the converter (dedupe included).

``.venv/bin/python -m bench.embrace_convert [DAYS]`` generates (once, seeded) an ``acc.csv`` of
DAYS days in ``bench/out/`` and prints its size, the rows kept, seconds, MB/s and the peak RSS
of this process. Memory is bounded by one day of the stream, whatever the file's length.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np

from phenolake.sources.base import Member, Provenance, SideTable
from phenolake.sources.embrace.convert import TIME_HEADER, Embrace
from phenolake.sources.toolkit import RejectionReport

OUT = Path(__file__).with_name("out")
START_MS = 1564617600000  # 2019-08-01T00:00:00Z


def generate(path: Path, days: int) -> None:
    rng = np.random.default_rng(1)
    rows = 86_400 * 32
    with path.open("w") as out:
        out.write(f"{TIME_HEADER},x (g),y (g),z (g)\n")
        for day in range(days):
            times = START_MS + day * 86_400_000 + np.round(np.arange(rows) * 31.25)
            values = rng.normal(0.0, 0.3, size=(rows, 3))
            np.savetxt(
                out,
                np.column_stack([times, values]),
                fmt=["%d", "%.6f", "%.6f", "%.6f"],
                delimiter=",",
            )


def main(days: int) -> None:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"embrace_acc_{days}d.csv"
    if not path.exists():
        generate(path, days)
    size = path.stat().st_size
    member = Member(source="embrace", participant="fc096", metric="acc", device="D1")
    started = time.perf_counter()
    rows = 0
    with path.open("rb") as stream:
        provenance = Provenance(path.name, "", "bench")
        for batch in Embrace().convert(stream, member, provenance, RejectionReport()):
            if not isinstance(batch, SideTable):
                rows += batch.table.num_rows
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{size / 1e6:.0f} MB, {rows} rows kept, {seconds:.1f} s, "
        f"{size / 1e6 / seconds:.1f} MB/s, peak RSS {peak:.0f} MiB"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
