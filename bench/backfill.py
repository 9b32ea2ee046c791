"""``make bench``: a backfill of 3,000 small MHEALTH files through the whole pipeline in the
embedded AWS, under Step Functions' and Lambda's limits (not part of ``make test``: about a
quarter of an hour on two shared cores).

Every file is its own landed object, so Unzip and Convert are Distributed Maps of 3,000
items whose results (about 300 bytes each) could not be carried in a state (256 KiB): the
run succeeds only because the Maps write them with ResultWriter and the next steps read them
from S3. Checks, and exits 1 when one fails: the run SUCCEEDED with every file taken in and
every row kept; each of those two Maps exported 3,000 SUCCEEDED results in more than 256 KiB;
no state of the execution carried more than 256 KiB; no Lambda invocation broke its timeout,
memory size or payload limits. Prints the seconds and the largest state and invocation.

    .venv/bin/python -m bench.backfill [--files N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from phenolake_local import engine, patches, runner

ROW = "\t".join(["-9.8"] + ["0.5"] * 22 + ["1"]) + "\n"
ROWS_PER_FILE = 2
PARTICIPANTS = 30


def write_inputs(root: Path, files: int) -> Path:
    """``files`` two-row logs, in a folder each (their names repeat across participants)."""
    for i in range(files):
        path = root / "backfill" / f"batch{i:04d}" / f"mHealth_subject{i % PARTICIPANTS + 1}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(ROW * ROWS_PER_FILE)
    return root / "backfill"


def largest_state(events: list[dict[str, Any]]) -> tuple[int, str]:
    """(bytes, state name) of the largest input or output any state of the run carried."""
    largest = (0, "")
    for event in events:
        for key in ("stateEnteredEventDetails", "stateExitedEventDetails"):
            details = event.get(key)
            if details:
                text = details.get("input", details.get("output", ""))
                largest = max(largest, (patches.state_size(text), details["name"]))
    return largest


def map_exports(home: Path, run_id: str, label: str) -> tuple[int, int]:
    """(SUCCEEDED results, bytes of their files) the Map ``label`` exported with ResultWriter."""
    lake = home / f"{engine.template.STACK_NAME}-{engine.template.ACCOUNT_ID}-lake"
    [manifest] = (lake / "manifests" / run_id / "map-results" / label).glob("*/manifest.json")
    files = json.loads(manifest.read_text())["ResultFiles"]["SUCCEEDED"]
    entries = sum(len(json.loads((lake / f["Key"]).read_text())) for f in files)
    return entries, sum(f["Size"] for f in files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=3_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="phenolake-backfill-") as tmp:
        home = Path(tmp) / "home"
        inputs = write_inputs(Path(tmp), args.files)
        events: list[dict[str, Any]] = []
        began = time.monotonic()
        result = runner.run(
            runner.RunOptions(home=home, inputs=[inputs], sources=["mhealth"]), events.append
        )
        seconds = time.monotonic() - began
        notify = result.output.get("notify", {})
        checks = {
            f"run SUCCEEDED ({result.status} {result.error})": result.status == "SUCCEEDED",
            f"{args.files} objects taken in ({notify.get('objects')})": notify.get("objects")
            == args.files,
            f"every row kept ({notify.get('rows')} of {args.files * ROWS_PER_FILE})": notify.get(
                "rows"
            )
            == args.files * ROWS_PER_FILE,
            "no failed items": notify.get("failed_items") == 0,
        }
        for label in ("Unzip", "Convert"):
            if result.status != "SUCCEEDED":
                break
            entries, size = map_exports(home, result.execution_name, label)
            checks[f"{label}: {entries} results in {size:,} bytes, beyond a state's limit"] = (
                entries == args.files and size > patches.MAX_STATE_BYTES
            )
        size, state = largest_state(events)
        checks[f"largest state {size:,} bytes ({state}) within {patches.MAX_STATE_BYTES:,}"] = (
            0 < size <= patches.MAX_STATE_BYTES
        )
        broken = [r for r in patches.REPORTS if r.error]
        checks[f"no invocation over its limits ({len(broken)} over)"] = not broken
    slowest = max(patches.REPORTS, key=lambda r: r.duration_ms)
    print(f"backfill of {args.files} files: {seconds:.0f} s, {len(patches.REPORTS)} invocations")
    print(f"slowest invocation: {slowest.function}: {slowest.line()}")
    for check, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'} {check}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
