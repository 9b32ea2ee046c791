"""Files as the Screenlake Android app writes them, for fixtures (not our own format).

Each function follows one writer of researchaccelerator-hub/princeton-smart at e40ed4a
(2026-04-02), the Screenlake Research Kit app:

- ``csv_of``: ``DataTransformation.csvOf``: a quoted header, each field ``"$it"`` joined by
  ``,``, ``\\n`` after every line, nothing escaped; a Kotlin null is ``null``.
- ``capture_name``: the screenshot file name, ``img_<uuid>_`` +
  ``TimeUtility.getFormattedScreenCaptureTime()`` (``yyyy_MM_dd_kk_mm_ss_SSS`` in the device's
  zone: the midnight hour is ``24``, on the same date).
- ``screenshot_row``: ``createScreenshotCsv``: ``t_epoch_ts_ms`` UTC epoch ms,
  ``t_natural_utc_ts`` its ISO instant, ``weekday`` / ``t_natural_second_ts`` /
  ``t_natural_day_ts`` formatted in the device's zone (``E``, ``HH:mm:ss``, ``MM/dd/yyyy``).
- ``log_row``: ``getAndSaveLogs`` of a ``LogEventEntity``: ``timestamp`` is
  ``getCurrentTimeForSQL()``, the device's local ``yyyy-MM-dd HH:mm:ss``.
- ``zip_key`` / ``log_key``: ``RealUploadHandler.buildUploadPath`` for a user who uploads
  images: ``academia/tenant/<tenantId>_<tenantName>/panel/<panelId>/V_12/panelist/<emailHash>/
  image_zip_<uuid>_<n>.zip`` and ``academia/log_events_v2/<emailHash>/V_12/<uuid>.csv``.
- ``zip_bytes``: ``ZipFile.zip``: flat entries named by the files' base names.

The times of ``REAL_ZIP`` are those of the app's own shipped zip
(``app/src/main/assets/image_zip_178ecc88-1df2-4661-bde3-2c79349f0d4f_51.zip``, a device in
UTC-7): its first image is named ``..._2024_03_12_13_54_57_501.jpg`` and its CSV row says
``1710276897506`` / ``2024-03-12T20:54:57.506Z`` / ``13:54:57`` / ``03/12/2024``. The zip
itself is not shipped (its licence allows research use only and claims derivative works).
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
import zipfile
from collections.abc import Iterable
from typing import Any

from phenolake.sources.screenlake.convert import KINDS

VERSION = "V_12"  # RealUploadHandler.getBuildVersion()
TENANT, PANEL = "1_ut_austin_tenant_1", "ut_austin_1"
#: The device's zone in the app's shipped zip: Pacific daylight time.
PDT = dt.timezone(dt.timedelta(hours=-7))


def csv_of(metric: str, rows: Iterable[Iterable[Any]]) -> bytes:
    def line(fields: Iterable[Any]) -> str:
        return ",".join(f'"{"null" if f is None else f}"' for f in fields) + "\n"

    header = line(c.csv for c in KINDS[metric].columns)
    return (header + "".join(line(r) for r in rows)).encode()


def capture_name(image_id: str, local: dt.datetime) -> str:
    """``img_<uuid>_yyyy_MM_dd_kk_mm_ss_SSS.jpg``: ``kk`` writes hour 0 as 24."""
    hour = local.hour or 24
    millis = local.microsecond // 1000
    return f"img_{image_id}_{local:%Y_%m_%d}_{hour:02d}_{local:%M_%S}_{millis:03d}.jpg"


def screenshot_row(
    user: str, name: str, zip_name: str, utc_ms: int, zone: dt.tzinfo, text: str = "hello"
) -> list[Any]:
    instant = dt.datetime.fromtimestamp(utc_ms / 1000, dt.UTC)
    local = instant.astimezone(zone)
    iso = instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return [
        user, f"/data/user/0/com.screenlake/files/{name}", zip_name, "com.android.chrome",
        "8b0bc131-9437-4e9c-b87d-57a5da6c0c53", "8f7cf99f-dd1e-4cbb-afd6-21a08be10125", "",
        text, f"{local:%a}", utc_ms, iso, f"{local:%H:%M:%S}", f"{local:%m/%d/%Y}",
    ]  # fmt: skip


def log_row(event: str, msg: str, user: str, local: dt.datetime) -> list[Any]:
    return [event, msg, user, f"{local:%Y-%m-%d %H:%M:%S}"]


def zip_key(panelist: str, zip_id: str, images: int) -> str:
    return (
        f"academia/tenant/{TENANT}/panel/{PANEL}/{VERSION}/panelist/{panelist}/"
        f"image_zip_{zip_id}_{images}.zip"
    )


def log_key(panelist: str, upload_id: str) -> str:
    return f"academia/log_events_v2/{panelist}/{VERSION}/{upload_id}.csv"


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return buffer.getvalue()


def local_ms(local: dt.datetime) -> int:
    """A local time's UTC epoch ms."""
    return (local - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(milliseconds=1)


def new_id(n: int) -> str:
    return str(uuid.UUID(int=n, version=4))
