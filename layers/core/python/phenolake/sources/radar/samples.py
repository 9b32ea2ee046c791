"""Seeded RADAR-base sample exports (dev only: ``phenolake sample`` and the tests; never
deployed to Lambda)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np

from phenolake.sources.radar import schema


def write(out_dir: Path, seed: int) -> list[Path]:
    """The export under ``<out_dir>/output`` (the folder holding the site folders)."""
    return write_sample_export(out_dir / "output", seed)


SAMPLE_SITES = {"connect-kcl": 2, "connect-mssm": 2}
SAMPLE_DAYS = ("2024-10-17", "2024-10-18", "2024-10-19")


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = ",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)
    path.write_bytes(gzip.compress(text.encode(), mtime=0))
    return path


def write_sample_export(root: Path, seed: int) -> list[Path]:
    """Seeded RADAR-base exports: two sites of two participants over three October days.

    Shaped to exercise what real exports do: a retry ``_1`` file for an hour (other rows),
    an hour that runs past midnight, an exact duplicate row, a questionnaire with answers
    flattened as ``value.answers.N.*``, a SensorKit topic whose later files add a column, times
    in scientific notation, and one participant who falls silent after the first day."""
    rng = np.random.default_rng(seed)
    written: list[Path] = []
    key = ["key.projectId", "key.userId", "key.sourceId"]
    for site, count in SAMPLE_SITES.items():
        for n in range(count):
            ppt = f"{site.split('-')[1]}-{n + 1:03d}"
            source_id = f"src-{rng.integers(1 << 32):08x}"
            days = SAMPLE_DAYS[:1] if (site, n) == ("connect-mssm", 1) else SAMPLE_DAYS
            base = [site, ppt, source_id]
            folder = root / site / ppt
            # acceleration at 1 Hz: two hours a day, a retry file, the last hour past midnight
            topic = "sensorkit_acceleration"
            fields = ["value.time", "value.timeReceived", "value.x", "value.y", "value.z",
                      "value.device"]  # fmt: skip
            for day in days:
                stamp = day.replace("-", "")
                start = np.datetime64(day, "s").astype(np.int64)
                for hour, suffix, first, rows in (
                    (0, "", 1800, 600),
                    (0, "_1", 2400, 300),
                    (23, "", 23 * 3600 + 1800, 3000),
                ):
                    times = start + first + np.arange(rows)
                    values = rng.normal(0, 0.3, size=(rows, 3)).round(4)
                    device = "iPhone" if hour == 0 else "Watch"
                    lines = [
                        [*base, f"{t:.3f}", f"{t + 1.5:.3f}", *v, device]
                        for t, v in zip(times, values, strict=True)
                    ]
                    if suffix:
                        lines.append(lines[-1])  # an exact duplicate row
                    name = f"{stamp}_{hour:02d}00{suffix}.csv.gz"
                    written.append(_write(folder / topic / name, key + fields, lines))
            written.append(_schema(folder / topic, topic))
            # ambient light every 5 minutes, times in scientific notation; from the second
            # day the export carries one more column (value.placement)
            topic = "sensorkit_ambient_light"
            for i, day in enumerate(days):
                fields = ["value.time", "value.timeReceived", "value.lux"]
                if i > 0:
                    fields.append("value.placement")
                start = np.datetime64(day, "s").astype(np.int64) + 12 * 3600
                lines = []
                for t in start + 300 * np.arange(12):
                    row = [*base, f"{t:.11E}", f"{t + 2:.11E}", round(float(rng.gamma(2, 80)), 1)]
                    lines.append(row + (["frontTop"] if i > 0 else []))
                name = f"{day.replace('-', '')}_1200.csv.gz"
                written.append(_write(folder / topic / name, key + fields, lines))
            written.append(_schema(folder / topic, topic))
            # one PHQ-2 questionnaire a day, answers flattened
            topic = "questionnaire_response"
            fields = ["value.time", "value.timeCompleted", "value.name", "value.version"]
            for q in range(2):
                answer = f"value.answers.{q}"
                fields += [f"{answer}.{f}" for f in ("questionId", "value", "startTime", "endTime")]
            for day in days:
                t = float(np.datetime64(day, "s").astype(np.int64) + 19 * 3600 + 60 * n)
                answers = []
                for q in range(2):
                    answers += [
                        f"phq2_{q + 1}",
                        int(rng.integers(0, 4)),
                        t + 10 * q,
                        t + 10 * q + 8,
                    ]
                row = [*base, f"{t:.3f}", f"{t + 30:.3f}", "phq2", "1.0", *answers]
                name = f"{day.replace('-', '')}_1900.csv.gz"
                written.append(_write(folder / topic / name, key + fields, [row]))
            written.append(_schema(folder / topic, topic))
    return written


def _schema(folder: Path, topic: str) -> Path:
    """The topic's ``schema-<topic>.json`` as the tool writes it: RADAR-Schemas' key and
    value records combined (the samples' extra columns, ``value.device`` of acceleration,
    are not in it and load as text)."""
    path = folder / f"schema-{topic}.json"
    path.write_text(json.dumps(schema.combined_schema(topic), indent=2) + "\n")
    return path
