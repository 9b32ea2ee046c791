"""The MHEALTH conversion benchmark's pieces: the input generator and the two approaches.

Each approach runs in its own process (``python -m bench.mhealth_convert APPROACH SRC OUT``)
so its peak RSS is its own; it prints one JSON line with what it measured about itself.

- ``pandas``: the seed pipeline's way, ``pandas.read_csv(sep=r'\\s+')`` of the whole file,
  then ``DataFrame.to_parquet``.
- ``phenolake``: ``phenolake.steps.convert.convert_file``, exactly as the Convert step runs
  it on the downloaded file (streaming, one zstd Parquet file per day).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Per column: (centre, amplitude of the movement, noise), in the units of the real set
# (m/s^2 for acceleration, mV for ECG, deg/s-ish for gyroscopes, local units for magnetometers).
_PROFILE = [
    (-9.6, 1.2, 0.15), (0.0, 0.8, 0.12), (0.3, 0.9, 0.12),  # chest acc
    (0.0, 0.4, 0.08), (0.0, 0.4, 0.08),  # ECG leads
    (2.0, 2.5, 0.3), (-9.5, 2.0, 0.3), (0.6, 1.5, 0.25),  # left ankle acc
    (-0.4, 0.3, 0.03), (-0.6, 0.3, 0.03), (-0.4, 0.3, 0.03),  # left ankle gyro
    (0.7, 0.5, 0.05), (-0.5, 0.5, 0.05), (-0.4, 0.5, 0.05),  # left ankle mag
    (-2.5, 2.5, 0.3), (-9.5, 2.0, 0.3), (0.0, 1.5, 0.25),  # right lower arm acc
    (0.4, 0.4, 0.03), (-0.9, 0.4, 0.03), (-0.1, 0.4, 0.03),  # right lower arm gyro
    (-0.9, 0.6, 0.05), (-0.9, 0.6, 0.05), (-0.2, 0.6, 0.05),  # right lower arm mag
]  # fmt: skip
SEGMENT_ROWS = 3072  # about a minute at 50 Hz, as the real set's activity runs are
CHUNK_ROWS = 1 << 18
ADC_LEVELS = 4096


def _five_significant(x: np.ndarray) -> np.ndarray:
    """Round to 5 significant digits so that Arrow prints values like ``-9.8184``, ``0.009971``."""
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log10(np.abs(x)))
    exponent = np.where(np.isfinite(exponent), exponent, 0).astype(np.int64)
    scale = 4 - exponent  # digits after the point
    mantissa = np.round(x * 10.0**scale)
    # integer / power of ten is the double nearest the decimal, so it prints as that decimal
    down = mantissa / 10.0 ** np.maximum(scale, 0)
    up = mantissa * 10.0 ** np.maximum(-scale, 0)
    return np.where(scale >= 0, down, up)


def _chunk(rng: np.random.Generator, seed: int, first_row: int, rows: int) -> bytes:
    t = (first_row + np.arange(rows)) / 50.0
    segment = (first_row + np.arange(rows)) // SEGMENT_ROWS
    seg_ids = np.unique(segment)
    seg_rng = [np.random.default_rng([seed, int(s)]) for s in seg_ids]
    labels_by_seg = np.array([r.integers(0, 13) for r in seg_rng])
    freq_by_seg = np.array([r.uniform(0.3, 3.0) for r in seg_rng])
    where = np.searchsorted(seg_ids, segment)
    labels = labels_by_seg[where]
    motion = np.sin(2 * np.pi * freq_by_seg[where] * t)
    still = np.where(labels == 0, 0.1, np.where(labels <= 3, 0.05, 1.0))
    columns = []
    for centre, amplitude, noise in _PROFILE:
        phase = rng.uniform(0, np.pi)
        values = centre + amplitude * still * np.sin(np.arcsin(motion) + phase)
        values += rng.normal(0.0, noise, rows)
        # a 12-bit ADC reading scaled to units, as the Shimmer sensors of the real set report
        lsb = 2 * (abs(centre) + 2 * amplitude + 4 * noise) / ADC_LEVELS
        values = np.round(values / lsb) * lsb
        columns.append(pc.cast(pa.array(_five_significant(values)), pa.string()))
    columns.append(pc.binary_join_element_wise(pc.cast(pa.array(labels), pa.string()), "", "\n"))
    lines = pc.binary_join_element_wise(*columns, "\t")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    offsets = offsets[lines.offset : lines.offset + rows + 1]
    return lines.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]


def generate(path: Path, target_bytes: int, seed: int) -> dict[str, int]:
    """Write a seeded MHEALTH-format log of at least ``target_bytes``; return its size and lines."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    written = 0
    rows = 0
    with partial.open("wb") as out:
        while written < target_bytes:
            data = _chunk(rng, seed, rows, CHUNK_ROWS)
            out.write(data)
            written += len(data)
            rows += CHUNK_ROWS
    partial.replace(path)
    return {"bytes": written, "lines": rows}


def _peak_rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_pandas(src: Path, out: Path) -> dict[str, int]:
    import pandas as pd

    from phenolake.sources.mhealth.convert import COLUMNS

    _start_clock()
    df = pd.read_csv(src, sep=r"\s+", header=None, names=COLUMNS)
    target = out / "mhealth.parquet"
    df.to_parquet(target)
    _stop_clock()
    return {"rows": len(df), "output_bytes": target.stat().st_size}


def run_phenolake(src: Path, out: Path) -> dict[str, int]:
    import pyarrow.parquet as pq

    from phenolake import sources
    from phenolake.sources.base import Provenance
    from phenolake.steps.convert import convert_file

    sources.get("mhealth")  # imported as pandas is above: convert_file loads it on first use
    _start_clock()
    provenance = Provenance(
        source_key="raw/mhealth/MHEALTHDATASET/mHealth_subject1.log",
        source_sha256="0" * 64,
        run_id="bench",
    )
    outputs, report, _ = convert_file(
        src, "mhealth", "MHEALTHDATASET/mHealth_subject1.log", provenance, out
    )
    _stop_clock()
    rows = sum(pq.ParquetFile(path).metadata.num_rows for path, _ in outputs.values())
    return {
        "rows": rows,
        "rows_reported": sum(n for _, n in outputs.values()),
        "rejected_rows": report.bad,
        "days": len(outputs),
        "output_bytes": sum(path.stat().st_size for path, _ in outputs.values()),
    }


APPROACHES = {"pandas": run_pandas, "phenolake": run_phenolake}
_CLOCK: list[tuple[float, float]] = []


def _start_clock() -> None:
    """Start timing once the approach's modules are imported (a Lambda imports at init).

    Wall time and the process's CPU time (all threads, user + system): on a shared machine
    the CPU time is the steadier measure of the work done."""
    _CLOCK[:] = [(time.perf_counter(), time.process_time())]


def _stop_clock() -> None:
    _CLOCK.append((time.perf_counter(), time.process_time()))


def main(argv: list[str]) -> None:
    if argv[0] == "generate":
        path, target_bytes, seed = Path(argv[1]), int(argv[2]), int(argv[3])
        print(json.dumps(generate(path, target_bytes, seed)))
        return
    approach, src, out = argv[0], Path(argv[1]), Path(argv[2])
    out.mkdir(parents=True, exist_ok=True)
    result = APPROACHES[approach](src, out)
    (wall_start, cpu_start), (wall_end, cpu_end) = _CLOCK
    peak = _peak_rss_bytes()
    timing = {"seconds": wall_end - wall_start, "cpu_seconds": cpu_end - cpu_start}
    print(json.dumps({"approach": approach, **timing, "vm_hwm": peak, **result}))


if __name__ == "__main__":
    main(sys.argv[1:])
