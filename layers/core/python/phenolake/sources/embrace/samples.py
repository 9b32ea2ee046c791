"""Seeded Embrace sample exports (dev only: ``phenolake sample`` and the tests; never deployed
to Lambda)."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import numpy as np

from phenolake.sources.embrace.convert import METADATA_HEADER, RATE_HZ, STREAMS, TIME_HEADER


def write(out_dir: Path, seed: int) -> list[Path]:
    """Two exports of August 2019 (sites FC and MG); see ``_sample_exports``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, members in _sample_exports(seed).items():
        path = out_dir / name
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for member, body in members:
                info = zipfile.ZipInfo(member, date_time=(2019, 9, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, body)
        written.append(path)
    return written


SAMPLE_START_MS = int(dt.datetime(2019, 8, 1, 23, 55, tzinfo=dt.UTC).timestamp() * 1000)
SAMPLE_MINUTES = 10
#: site, participant folder, device serials, timezone (minutes east of UTC), wrap in a folder
SAMPLE_PARTICIPANTS = (
    ("FC", "096", ("3YK3J151VJ", "3YK3K152ZP"), -240, True),
    ("MG", "012", ("3YK3M153QX",), 120, False),
)
SAMPLE_MONTH = "20190801_20190831"


def _fmt(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.6f}"


def _stream_csv(stream: str, rng: np.random.Generator, serial_index: int) -> str:
    """One stream of ``SAMPLE_MINUTES`` minutes with duplicates of every kind, a NaN and (EDA)
    a ``-0.0``; an off-wrist stretch (EDA under 0.03 µS) on the first device."""
    hz = RATE_HZ[stream]
    rows = int(SAMPLE_MINUTES * 60 * hz)
    step = 1000 / hz
    times = SAMPLE_START_MS + np.round(np.arange(rows) * step).astype(np.int64)
    header, _ = STREAMS[stream]
    if stream == "eda":
        values = rng.uniform(0.2, 4.0, size=(rows, 1))
        if serial_index == 0:
            values[int(rows * 0.25) : int(rows * 0.5), 0] = rng.uniform(0.0, 0.02, int(rows * 0.25))
    elif stream == "temp":
        values = rng.normal(33.0, 0.5, size=(rows, 1))
    else:
        values = rng.normal(0.0, 0.3, size=(rows, 3))

    def row(index: int, shift: float = 0.0) -> str:
        return f"{times[index]}," + ",".join(_fmt(v + shift) for v in values[index])

    data = [row(i) for i in range(rows)]
    # duplicates of every kind (see SAMPLE_COUNTS): a NaN row, for EDA a 0.0 and its -0.0 copy,
    # an unclear pair (same time, another value), a perfect copy next to its row and one at
    # the end of the file
    data[40] = f"{times[40]}," + ",".join([""] * values.shape[1])
    if stream == "eda":
        data[50] = f"{times[50]},0.000000"
        data.insert(51, f"{times[50]},-0.0")
    data.insert(30, row(29, shift=1.0))
    data.insert(11, data[10])
    data.append(row(20))
    lines = [f"{TIME_HEADER},{','.join(header)}", *data]
    return "\n".join(lines) + "\n"


def _metadata_csv(offset: int) -> str:
    first = dt.datetime.fromtimestamp(SAMPLE_START_MS / 1000, dt.UTC)
    return (
        ",".join(METADATA_HEADER)
        + "\n"
        + f"{first:%Y-%m-%d %H:%M:%S},{offset},2.1.0,Mate,1.30.0,iOS,12.3.1,1.0\n"
    )


def _sample_exports(seed: int) -> dict[str, list[tuple[str, bytes]]]:
    rng = np.random.default_rng(seed)
    exports: dict[str, list[tuple[str, bytes]]] = {}
    for site, folder, serials, offset, wrapped in SAMPLE_PARTICIPANTS:
        name = f"Sensors_U02_{site}_{SAMPLE_MONTH}.zip"
        lead = f"{name[:-4]}/" if wrapped else ""
        members: list[tuple[str, bytes]] = [(f"{lead}.DS_Store", b"\0\0\0\1Bud1")]
        for index, serial in enumerate(serials):
            base = f"{lead}U02/{site}/{folder}/{serial}/"
            for stream in STREAMS:
                members.append((base + f"{stream}.csv", _stream_csv(stream, rng, index).encode()))
            members.append((base + "metadata.csv", _metadata_csv(offset).encode()))
            members.append((f"__MACOSX/{base}._eda.csv", b"\0\5\26\7junk"))
        exports[name] = members
    return exports
