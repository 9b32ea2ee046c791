"""``make bench``: the MHEALTH conversion benchmark (not part of ``make test``).

Generates (once, seeded) a 2.4 GB MHEALTH-format log in ``bench/out/``, then converts it to
Parquet twice, each in a fresh process so that each peak RSS is that approach's own:

- ``pandas``: the seed pipeline's approach, ``read_csv(sep=r'\\s+')`` + ``to_parquet``;
- ``phenolake``: ``phenolake.steps.convert.convert_file``, as the Convert step runs it.

Each approach runs ``--repeat`` times (default 3), alternating, because a shared 2-vCPU
machine's speed drifts by tens of percent from minute to minute; the median time counts.
Prints seconds, peak RSS, rows/s and output size of each, the speed ratio, and PASS/FAIL
against the target: ours at least 2.5x faster than pandas, at most 512 MiB peak RSS, and every
line of the input a row of the output. Exits 1 on FAIL.

    .venv/bin/python -m bench.run [--repeat N] [--only phenolake] [--target-bytes N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
LOG = OUT / "mhealth_bench.log"
META = OUT / "mhealth_bench.json"
SEED = 20141
TARGET_BYTES = 2_400_000_000
GENERATOR_VERSION = 2  # bump when bench/mhealth_convert.py writes different bytes
SPEEDUP_TARGET = 2.5
RSS_TARGET = 512 << 20
APPROACHES = ("pandas", "phenolake")


def ensure_input(log: Path, target_bytes: int) -> dict[str, Any]:
    """The generated log, reused when it exists with the same parameters and size."""
    meta_path = log.with_suffix(".json")
    wanted = {"seed": SEED, "target_bytes": target_bytes, "generator": GENERATOR_VERSION}
    if meta_path.exists() and log.exists():
        meta = json.loads(meta_path.read_text())
        if {k: meta.get(k) for k in wanted} == wanted and log.stat().st_size == meta["bytes"]:
            print(f"input: {log} ({meta['bytes'] / 1e9:.2f} GB, {meta['lines']:,} lines, reused)")
            return meta
    print(f"input: generating {log} ({target_bytes / 1e9:.2f} GB, seed {SEED}) ...", flush=True)
    started = time.perf_counter()
    made = _child(["generate", str(log), str(target_bytes), str(SEED)])[0]
    meta = {**wanted, "bytes": made["bytes"], "lines": made["lines"]}
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(
        f"input: {meta['bytes'] / 1e9:.2f} GB, {meta['lines']:,} lines "
        f"in {time.perf_counter() - started:.0f} s"
    )
    return meta


def _child(args: list[str]) -> tuple[dict[str, Any], int]:
    """Run ``bench.mhealth_convert`` in a fresh interpreter; its JSON line and its peak RSS."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.mhealth_convert", *args],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.stdout is not None
    output = proc.stdout.read().decode()
    # wait4 gives this child's own rusage (RUSAGE_CHILDREN would be the max over all children)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"bench.mhealth_convert {' '.join(args)} failed ({proc.returncode})")
    return json.loads(output.strip().splitlines()[-1]), usage.ru_maxrss * 1024


def warm_cache(log: Path) -> None:
    """Read the input once so that neither approach pays for a cold page cache."""
    with log.open("rb") as fh:
        while fh.read(16 << 20):
            pass


def measure(approach: str, log: Path, attempt: int) -> dict[str, Any]:
    out = OUT / f"{approach}-parquet"
    shutil.rmtree(out, ignore_errors=True)
    result, ru_maxrss = _child([approach, str(log), str(out)])
    result["peak_rss"] = max(result["vm_hwm"], ru_maxrss)
    shutil.rmtree(out, ignore_errors=True)
    print(
        f"  run {attempt} {approach:<10} {result['seconds']:6.1f} s "
        f"({result['cpu_seconds']:5.1f} CPU-s) {result['peak_rss'] / (1 << 20):6.0f} MiB peak RSS",
        flush=True,
    )
    return result


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median run's figures, the worst peak RSS and the fewest rows of all runs."""
    median = sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]
    return {
        **median,
        "seconds": statistics.median(r["seconds"] for r in runs),
        "cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
        "peak_rss": max(r["peak_rss"] for r in runs),
        "rows": min(r["rows"] for r in runs),
        "all_seconds": [round(r["seconds"], 1) for r in runs],
    }


def report(results: dict[str, dict[str, Any]], lines: int) -> bool:
    mib = 1 << 20
    print()
    for name, r in results.items():
        print(f"{name}: runs {r['all_seconds']} s")
    print(
        f"{'approach':<10} {'median s':>8} {'CPU-s':>6} {'peak RSS':>10} {'rows/s':>12} "
        f"{'output':>10}  rows"
    )
    for name, r in results.items():
        rows_ok = "ok" if r["rows"] == lines else f"MISMATCH ({r['rows']:,} of {lines:,})"
        print(
            f"{name:<10} {r['seconds']:>8.1f} {r['cpu_seconds']:>6.1f} "
            f"{r['peak_rss'] / mib:>6.0f} MiB "
            f"{r['rows'] / r['seconds']:>12,.0f} {r['output_bytes'] / mib:>6.0f} MiB  {rows_ok}"
        )
    ours = results.get("phenolake")
    if ours is None:
        return True
    checks = [
        (f"peak RSS <= {RSS_TARGET // mib} MiB", ours["peak_rss"] <= RSS_TARGET),
        ("every line is a row", ours["rows"] == lines and ours["rejected_rows"] == 0),
    ]
    if "pandas" in results:
        ratio = results["pandas"]["seconds"] / ours["seconds"]
        memory = results["pandas"]["peak_rss"] / ours["peak_rss"]
        work = results["pandas"]["cpu_seconds"] / ours["cpu_seconds"]
        print(f"\nspeed-up: {ratio:.2f}x faster than pandas; {memory:.1f}x less memory")
        print(
            f"CPU time: pandas uses {work:.2f}x ours (the speed-up on a machine with no idle core)"
        )
        checks.insert(0, (f">= {SPEEDUP_TARGET}x faster than pandas", ratio >= SPEEDUP_TARGET))
    for text, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    passed = all(ok for _, ok in checks)
    print("PASS" if passed else "FAIL")
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=APPROACHES, action="append")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--target-bytes", type=int, default=TARGET_BYTES)
    args = parser.parse_args(argv)
    log = LOG
    if args.target_bytes != TARGET_BYTES:
        log = OUT / f"mhealth_bench_{args.target_bytes}.log"
    meta = ensure_input(log, args.target_bytes)
    warm_cache(log)
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}", flush=True)
    names = args.only or list(APPROACHES)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for attempt in range(1, args.repeat + 1):
        for name in names:
            result = measure(name, log, attempt)
            runs[name].append(result)
    results = {name: summarise(runs[name]) for name in names}
    return 0 if report(results, meta["lines"]) else 1


if __name__ == "__main__":
    sys.exit(main())
