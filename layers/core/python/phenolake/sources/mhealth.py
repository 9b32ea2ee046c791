"""Source ``mhealth``: the UCI MHEALTH dataset (Kaggle ``nirmalsankalana/mhealth-dataset-data-set``).

Each ``mHealth_subjectN.log`` is tab-separated, has no header and 24 columns recorded at
50 Hz: chest acceleration, two ECG leads, left-ankle and right-lower-arm acceleration,
gyroscope and magnetometer, and an activity label 0..12. The recordings carry no clock, so
a row's time is the configured recording start plus ``row_index`` x 20 ms.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

from phenolake.sources.base import (
    DayBatch,
    FetchTask,
    Member,
    Provenance,
    RejectedFile,
    Rejection,
    Source,
)

SENSOR_COLUMNS = [
    "chest_acc_x", "chest_acc_y", "chest_acc_z",
    "ecg_lead_1", "ecg_lead_2",
    "left_ankle_acc_x", "left_ankle_acc_y", "left_ankle_acc_z",
    "left_ankle_gyro_x", "left_ankle_gyro_y", "left_ankle_gyro_z",
    "left_ankle_mag_x", "left_ankle_mag_y", "left_ankle_mag_z",
    "right_lower_arm_acc_x", "right_lower_arm_acc_y", "right_lower_arm_acc_z",
    "right_lower_arm_gyro_x", "right_lower_arm_gyro_y", "right_lower_arm_gyro_z",
    "right_lower_arm_mag_x", "right_lower_arm_mag_y", "right_lower_arm_mag_z",
]  # fmt: skip
COLUMNS = [*SENSOR_COLUMNS, "activity_id"]

ACTIVITIES = {
    0: "Null class",
    1: "Standing still",
    2: "Sitting and relaxing",
    3: "Lying down",
    4: "Walking",
    5: "Climbing stairs",
    6: "Waist bends forward",
    7: "Frontal elevation of arms",
    8: "Knees bending (crouching)",
    9: "Cycling",
    10: "Jogging",
    11: "Running",
    12: "Jump front & back",
}

RATE_HZ = 50.0
DEFAULT_RECORDING_START = dt.datetime(2014, 1, 1, tzinfo=dt.UTC)
KAGGLE_DATASET = "nirmalsankalana/mhealth-dataset-data-set"
_SUBJECT = re.compile(r"mhealth_subject(\d+)\.log$", re.IGNORECASE)

STAGE_SCHEMA = pa.schema(
    [pa.field("user_id", pa.string()), pa.field("row_index", pa.int64())]
    + [pa.field(c, pa.float64()) for c in SENSOR_COLUMNS]
    + [pa.field("activity_id", pa.int16())]
    + [
        pa.field("source_key", pa.string()),
        pa.field("source_sha256", pa.string()),
        pa.field("run_id", pa.string()),
    ]
)


def user_id_of(path: str) -> str | None:
    match = _SUBJECT.search(path)
    return match.group(1) if match else None


def day_of_row(row_index: int, start: dt.datetime = DEFAULT_RECORDING_START) -> str:
    return (start + dt.timedelta(seconds=row_index / RATE_HZ)).date().isoformat()


class MHealth(Source):
    name = "mhealth"
    tables: ClassVar[tuple[str, ...]] = ("mhealth", "mhealth_readings")
    nominal_hz: ClassVar[dict[str, float]] = {"readings": RATE_HZ}

    def __init__(self, recording_start: dt.datetime = DEFAULT_RECORDING_START) -> None:
        self.recording_start = recording_start

    def recognise(self, relative_path: str) -> bool:
        lowered = relative_path.lower()
        return bool(_SUBJECT.search(lowered)) or "mhealth" in Path(lowered).name

    def member(self, raw_path: str) -> Member | None:
        user_id = user_id_of(raw_path)
        if user_id is None:
            return None
        return Member(source=self.name, participant=user_id, metric="readings")

    def convert(
        self, stream: BinaryIO, member: Member, provenance: Provenance, rejections: list[Rejection]
    ) -> Iterator[DayBatch]:
        bad_rows = Rejection(reason="row does not have 24 tab-separated fields")

        def on_invalid(row: Any) -> str:
            bad_rows.rows += 1
            if len(bad_rows.examples) < 5:
                bad_rows.examples.append(f"line {row.number}: {row.text[:120]!r}")
            return "skip"

        try:
            reader = csv.open_csv(
                stream,
                read_options=csv.ReadOptions(column_names=COLUMNS, block_size=8 << 20),
                parse_options=csv.ParseOptions(delimiter="\t", invalid_row_handler=on_invalid),
                convert_options=csv.ConvertOptions(
                    column_types={**{c: pa.float64() for c in SENSOR_COLUMNS}, "activity_id": pa.int16()},
                ),
            )
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                raise RejectedFile("empty file: no rows") from None
            raise RejectedFile(f"not an MHEALTH log: {str(exc).splitlines()[0]}") from None

        row_index = 0
        total = 0
        try:
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                total += batch.num_rows
                yield from self._day_batches(batch, row_index, member, provenance)
                row_index += batch.num_rows
        except pa.ArrowInvalid as exc:
            raise RejectedFile(f"unreadable value: {str(exc).splitlines()[0]}") from None
        if bad_rows.rows:
            rejections.append(bad_rows)
        if total == 0:
            raise RejectedFile("no valid rows")

    def _day_batches(
        self, batch: pa.RecordBatch, first_row: int, member: Member, provenance: Provenance
    ) -> Iterator[DayBatch]:
        rows = batch.num_rows
        labels = batch.column("activity_id")
        unknown = pc.sum(pc.invert(pc.is_in(labels, pa.array(list(ACTIVITIES), pa.int16())))).as_py()
        if unknown:
            raise RejectedFile(f"activity label outside 0..12 in {unknown} row(s)")
        columns: dict[str, pa.Array] = {
            "user_id": pa.array([member.participant] * rows, pa.string()),
            "row_index": pa.array(np.arange(first_row, first_row + rows, dtype=np.int64)),
        }
        for name in COLUMNS:
            columns[name] = batch.column(name)
        columns.update(provenance.columns(rows))
        table = pa.Table.from_pydict(columns, schema=STAGE_SCHEMA)
        first_day = day_of_row(first_row, self.recording_start)
        last_day = day_of_row(first_row + rows - 1, self.recording_start)
        if first_day == last_day:
            yield DayBatch(first_day, table)
            return
        days = np.array(
            [day_of_row(i, self.recording_start) for i in range(first_row, first_row + rows)]
        )
        for day in dict.fromkeys(days.tolist()):
            yield DayBatch(day, table.filter(pa.array(days == day)))

    def fetch_tasks(self, options: dict[str, Any]) -> list[FetchTask]:
        dataset = options.get("kaggle_dataset")
        if not dataset:
            return []
        return [FetchTask(source=self.name, kind="kaggle", spec={"dataset": dataset})]

    def write_samples(self, out_dir: Path, seed: int, rows: int = 1500) -> list[Path]:
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
