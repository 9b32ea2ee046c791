"""Seeded Screenlake sample zips: two panelists' uploads, shaped like the phone app's.

Each zip holds the five CSVs, written as the app writes them (every field quoted, quotes
inside text not escaped, ``null`` / ``NA``), with the cases the reader must get right: OCR
text with an unescaped quote, with ``","`` inside, with a newline; nulls in typed columns;
and one log row cut short (a missing field), which the pipeline rejects and counts.
Unlike the app, they keep the log CSV inside the zip with epoch-ms times and name screenshots
in UTC (the app uploads its logs loose, with local times, and names screenshots in local
time: ``tests/screenlake_app.py`` writes those for the tests).

The screenshots are real JPEGs, 1080x2400 like a phone's: synthetic app screens (chat
bubbles, a feed, a video call) drawn with Pillow, some with real photos of faces pasted in
(scikit-image's bundled astronaut and cameraman photos), some with photos without faces
(scikit-image's cat, coffee and rocket). Nothing is downloaded. Which screenshot has faces
is in ``FACES`` (file name -> faces shown), for tests of the redaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import posixpath
import uuid
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from phenolake.sources.screenlake.convert import KINDS, csv_text

WIDTH, HEIGHT = 1080, 2400
TENANT, PANEL, VERSION = "17_northfield", "3", "2"
#: (panelist, UTC start of the upload's screen session, screens) per zip; the first
#: upload crosses midnight UTC, so its rows land in two days.
UPLOADS = (
    ("p001", dt.datetime(2024, 10, 1, 23, 58, 30, tzinfo=dt.UTC), ("chat", "call", "feed")),
    ("p001", dt.datetime(2024, 10, 2, 9, 15, 0, tzinfo=dt.UTC), ("photo", "chat")),
    ("p002", dt.datetime(2024, 10, 2, 18, 40, 0, tzinfo=dt.UTC), ("feed", "photo", "chat")),
)
#: Faces each screen kind shows (real photos of people pasted in).
SCREEN_FACES = {"chat": 0, "feed": 0, "photo": 1, "call": 2}
APPS = {
    "chat": ("com.whatsapp", "WhatsApp"),
    "call": ("us.zoom.videomeetings", "Zoom"),
    "feed": ("com.instagram.android", "Instagram"),
    "photo": ("com.google.android.apps.photos", "Photos"),
}
#: OCR texts; the reader must keep each whole.
TEXTS = (
    'Maya: did you see the "new" schedule?',  # unescaped quotes
    'Prices: "4.99","5.49" and "6.00" today',  # '","' inside the text
    "Reminder:\nstand-up at 9:30",  # a newline inside the text
    "Weather today: 14°C, light rain",
    "null",  # no text recognised
)
FACES: dict[str, int] = {}
SECONDS_APART = 45


def write(out_dir: Path, seed: int) -> list[Path]:
    """Write the sample zips under ``out_dir`` (keys as in the Screenlake bucket)."""
    rng = np.random.default_rng(seed)
    written = []
    for number, (panelist, start, screens) in enumerate(UPLOADS):
        zip_id = _uuid(rng)
        members: dict[str, bytes] = {}
        rows = _upload_rows(rng, panelist, start, screens, zip_id, number)
        for metric, kind in KINDS.items():
            name = f"{kind.prefix}{'_csv' if metric == 'screenshots' else ''}_{zip_id}.csv"
            members[name] = csv_text(kind, rows[metric]).encode()
            if metric == "logs" and number == len(UPLOADS) - 1:
                members[name] += b'"UPLOAD_RETRY","network lost"\n'  # truncated write: rejected
        for image_name, screen in rows["images"]:
            members[image_name] = _screenshot(rng, screen)
            FACES[image_name] = SCREEN_FACES[screen]
        key = zip_key(TENANT, PANEL, VERSION, panelist, zip_id, len(screens))
        written.append(write_zip(out_dir / key, members))
    return written


def zip_key(tenant: str, panel: str, version: str, panelist: str, zip_id: uuid.UUID, n: int) -> str:
    return posixpath.join(
        "academia/tenant", tenant, "panel", panel, f"V_{version}", "panelist", panelist,
        f"image_zip_{zip_id}_{n}.zip",
    )  # fmt: skip


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 10, 2, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, body)
    path.write_bytes(buffer.getvalue())
    return path


def _uuid(rng: np.random.Generator) -> uuid.UUID:
    return uuid.UUID(bytes=rng.bytes(16), version=4)


def _ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


def _upload_rows(
    rng: np.random.Generator,
    panelist: str,
    start: dt.datetime,
    screens: tuple[str, ...],
    zip_id: uuid.UUID,
    number: int,
) -> dict[str, Any]:
    session = _uuid(rng)
    shots: list[list[Any]] = []
    events: list[list[Any]] = []
    segments: list[list[Any]] = []
    images: list[tuple[str, str]] = []
    previous = ["NA"] * 4
    for i, screen in enumerate(screens):
        when = start + dt.timedelta(seconds=SECONDS_APART * i, milliseconds=int(rng.integers(999)))
        apk, app = APPS[screen]
        segment = _uuid(rng)
        image = f"img_{_uuid(rng)}_{when:%Y_%m_%d_%H_%M_%S}_{when.microsecond // 1000:03d}.jpg"
        images.append((image, screen))
        text = TEXTS[(number + i) % len(TEXTS)]
        shots.append(
            [
                panelist, image, f"image_zip_{zip_id}_{len(screens)}.zip", apk, session,
                segment, app, text, f"{when:%A}", _ms(when),
                when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                f"{when:%H:%M:%S}", f"{when:%Y-%m-%d}",
            ]
        )  # fmt: skip
        for j, kind in enumerate(("TYPE_WINDOW_STATE_CHANGED", "TYPE_VIEW_CLICKED")):
            at = when + dt.timedelta(milliseconds=300 + 700 * j)
            label = "NA" if j else TEXTS[(number + i + 1) % len(TEXTS)]
            events.append([panelist, kind, _ms(at), apk, session, _uuid(rng), label])
        nxt = APPS[screens[i + 1]][0] if i + 1 < len(screens) else "NA"
        segments.append(
            [apk, _ms(when), SECONDS_APART * 1000, session, segment, *previous, nxt, panelist]
        )
        previous = [apk, *previous[:3]]
    end = start + dt.timedelta(seconds=SECONDS_APART * len(screens))
    sessions = [
        [
            panelist, _ms(start), _ms(end), session, None if number == 0 else 3_600_000,
            _ms(end) - _ms(start), number + 1, 3, PANEL, TENANT.split("_")[0],
            f"{start:%H:%M:%S}", f"{start:%Y-%m-%d}", f"{end:%H:%M:%S}", f"{end:%Y-%m-%d}",
        ]
    ]  # fmt: skip
    logs = [
        ["ZIP_CREATED", f'zip "{zip_id}" with {len(screens)} screenshots', panelist, _ms(end)],
        ["UPLOAD", "NA", panelist, _ms(end) + 1500],
    ]
    return {
        "screenshots": shots,
        "accessibility": events,
        "segments": segments,
        "sessions": sessions,
        "logs": logs,
        "images": images,
    }


# --- screenshots ----------------------------------------------------------------------------


@functools.cache
def _photos() -> dict[str, Any]:
    from PIL import Image
    from skimage import data

    def rgb(array: np.ndarray) -> Image.Image:
        return Image.fromarray(array).convert("RGB")

    return {
        "astronaut": rgb(data.astronaut()),
        "cameraman": rgb(data.camera()),
        "cat": rgb(data.chelsea()),
        "coffee": rgb(data.coffee()),
        "rocket": rgb(data.rocket()),
    }


def _screenshot(rng: np.random.Generator, screen: str) -> bytes:
    """A 1080x2400 phone screenshot as JPEG bytes (no EXIF)."""
    from PIL import Image, ImageDraw, ImageFont

    photos = _photos()
    accent = tuple(int(c) for c in rng.integers(40, 200, size=3))
    canvas = Image.new("RGB", (WIDTH, HEIGHT), (245, 245, 245))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=44)
    small = ImageFont.load_default(size=34)
    draw.rectangle((0, 0, WIDTH, 90), fill=(20, 20, 20))
    draw.text((40, 22), "09:41", fill="white", font=small)
    draw.rectangle((0, 90, WIDTH, 260), fill=accent)
    draw.text((60, 145), APPS[screen][1], fill="white", font=font)
    if screen == "call":
        canvas.paste(photos["astronaut"].resize((1080, 1080)), (0, 300))
        canvas.paste(photos["cameraman"].resize((420, 420)), (600, 1450))
        draw.ellipse((440, 2050, 640, 2250), fill=(220, 40, 40))
    elif screen == "photo":
        canvas.paste(photos["astronaut"].resize((900, 900)), (90, 500))
        draw.text((90, 1450), "Shared with you", fill=(60, 60, 60), font=font)
    elif screen == "feed":
        y = 320
        for name in ("cat", "coffee", "rocket"):
            photo = photos[name]
            height = round(photo.height * 960 / photo.width)
            canvas.paste(photo.resize((960, height)), (60, y))
            y += height + 60
            if y > HEIGHT - 400:
                break
    else:
        y = 330
        for i in range(9):
            left = i % 2 == 0
            width = int(rng.integers(420, 860))
            x0 = 40 if left else WIDTH - 40 - width
            fill = (255, 255, 255) if left else (220, 248, 198)
            draw.rounded_rectangle((x0, y, x0 + width, y + 150), radius=30, fill=fill)
            draw.text((x0 + 30, y + 50), f"message {i + 1}", fill=(30, 30, 30), font=small)
            y += 200
    draw.rectangle((0, HEIGHT - 140, WIDTH, HEIGHT), fill=(250, 250, 250))
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=85)
    return out.getvalue()
