"""Every kind of bad input the pipeline must quarantine, across sources, with a few good
files beside them (tests/integration/test_bad_input.py). Built at test time, seeded."""

from __future__ import annotations

import gzip
import io
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from phenolake.sources.mhealth import MHealth
from tests.fakes.zips import make_zip


def make(root: Path) -> list[Path]:
    """Write the inputs under root; returns the three folders to land."""
    m = root / "mhealth"
    m.mkdir(parents=True)
    [good, *_] = MHealth().write_samples(root / "tmp-samples", seed=7, rows=300)
    good_bytes = good.read_bytes()
    (m / "mHealth_subject1.log").write_bytes(good_bytes)
    lines = good_bytes.decode().splitlines(True)
    (m / "mHealth_subject2.log").write_text(
        "".join(lines[:50]) + "1.0\t2.0\t3.0\n" + "".join(lines[50:100])
    )
    (m / "mHealth_subject3.log").write_bytes(b"")
    (m / "mHealth_subject4.log").write_bytes(bytes(range(256)) * 64)

    def zipped(name: str, members: dict[str, bytes], symlink: str | None = None) -> Path:
        return make_zip(m / name, members, symlink=symlink)

    zipped(
        "mhealth_members.zip",
        {
            "MHEALTH/mHealth_subject5.log": good_bytes,
            "../mHealth_subject6.log": good_bytes,
            "/abs/mHealth_subject7.log": good_bytes,
            "zeros.bin": b"\0" * 5_000_000,
        },
        symlink="link.log",
    )
    enc = zipped("mhealth_encrypted.zip", {"mHealth_subject8.log": good_bytes})
    data = bytearray(enc.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature)
        data[at + offset] |= 0x1
    enc.write_bytes(bytes(data))
    trunc = zipped("mhealth_truncated.zip", {"mHealth_subject9.log": good_bytes})
    trunc.write_bytes(trunc.read_bytes()[:-60])
    # images: the screenlake layout, loose
    s = root / "screenlake" / "panelist" / "p009"
    s.mkdir(parents=True)
    buffer = io.BytesIO()
    Image.fromarray((np.arange(480 * 640 * 3) % 251).astype("uint8").reshape(480, 640, 3)).save(
        buffer, "JPEG"
    )
    jpeg = buffer.getvalue()
    (s / "img_0000aaaa_2024_10_01_10_00_00_000.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (s / "img_0000bbbb_2024_10_01_10_05_00_000.jpg").write_bytes(
        b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20
    )
    big = io.BytesIO()
    Image.new("L", (9000, 6000)).save(big, "JPEG", quality=10)
    (s / "img_0000cccc_2024_10_01_10_10_00_000.jpg").write_bytes(big.getvalue())
    # radar: times out of range, a gz that is not gzip, non-UTF-8 bytes
    r = root / "radar" / "site-a" / "u-001" / "sensorkit_ambient_light"
    r.mkdir(parents=True)
    header = "key.projectId,key.userId,key.sourceId,value.time,value.timeReceived,value.lux\n"
    rows = [
        f"site-a,u-001,src,{1729123200 + i}.5,{1729123201 + i}.0,{10 + i}.0\n" for i in range(20)
    ]
    rows.append("site-a,u-001,src,4102444800.0,4102444801.0,5.0\n")  # 2100
    rows.append("site-a,u-001,src,946684700.0,946684701.0,5.0\n")  # 1999
    (r / "20241017_0000.csv.gz").write_bytes(gzip.compress((header + "".join(rows)).encode()))
    (r / "20241017_0100.csv.gz").write_bytes((header + rows[0]).encode())
    (r / "20241017_0200.csv.gz").write_bytes(
        gzip.compress(
            header.encode() + b"site-a,u-001,\xff\xfe\xfa,1729130400.0,1729130401.0,\x80\x81\n"
        )
    )
    shutil.rmtree(root / "tmp-samples")
    return [root / "mhealth", root / "screenlake", root / "radar"]
