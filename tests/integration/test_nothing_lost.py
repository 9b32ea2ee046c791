"""Nothing that lands is lost without a reason, through the real workflow on the embedded AWS.

One file of every kind the sources know (a file of each kind in each source's samples, and
the cases of ``CASES``: other real formats and bad input) lands in one run. Then every piece
of what landed (the object itself, or each member of a zip, nested zips opened) is either
in a curated table, its rows traced by their provenance column ``source_key``, or in
quarantine with a reason file (itself, or the zip that held it), or a side file the run
summary lists with its reason. A new kind is one line of ``CASES``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import re
import uuid
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from phenolake import sources
from phenolake_local.engine import EmbeddedAWS
from tests.fakes import radar_restructure as rr
from tests.fakes import screenlake_app as app
from tests.fakes.mhealth_csv import KAGGLE_HEADER, SUBJECT1_FIRST_LINE, kaggle_csv

pytestmark = pytest.mark.slow

#: (what it is, landing key: ``<source>/<path>``, its bytes)
Case = tuple[str, str, bytes]


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


LOG = (SUBJECT1_FIRST_LINE * 50).encode()
RADAR = "radar/output/connect-kcl/kcl-003/sensorkit_ambient_light"
RADAR_HEADER = "key.projectId,key.userId,key.sourceId,value.time,value.timeReceived,value.lux\n"
RADAR_LIGHT = (
    "key.projectId,key.userId,key.sourceId,value.time,value.timeReceived,value.light\n"
    "connect-kcl,kcl-003,s-1,1.7291664E9,1.729166401E9,12.5\n"
)
PHONE_LIGHT = "radar/output/connect-kcl/kcl-003/android_phone_light"
PANELIST = "screenlake/academia/tenant/17_northfield/panel/3/V_2/panelist/p009"
#: The Screenlake app's loose log CSV (``UploadWorker.addLocalLogFiles``: uploaded beside the
#: zips, not in them), device-local times.
LOOSE_LOG = app.csv_of(
    "logs",
    [
        app.log_row(
            "UPLOAD_WORKER", "Found 1 zips to upload.", "p009", dt.datetime(2024, 10, 17, 9, 30)
        )
    ],
)

CASES: list[Case] = [
    (
        "mhealth: the Kaggle CSV re-packaging (mhealth_raw_data.csv)",
        "mhealth/kaggle/mhealth_raw_data.csv",
        kaggle_csv({7: SUBJECT1_FIRST_LINE * 40, 8: SUBJECT1_FIRST_LINE * 30}),
    ),
    (
        "mhealth: the Kaggle download, a zip holding the CSV",
        "mhealth/kaggle/mobile-health-human-behavior-analysis.zip",
        zipped({"mhealth_raw_data.csv": kaggle_csv({9: SUBJECT1_FIRST_LINE * 20})}),
    ),
    ("mhealth: unknown extension", "mhealth/extra/notes.xyz", b"not data\n"),
    ("mhealth: empty log", "mhealth/extra/mHealth_subject11.log", b""),
    (
        "mhealth: schema-only CSV (a header, no rows)",
        "mhealth/extra/mhealth_header_only.csv",
        (KAGGLE_HEADER + "\n").encode(),
    ),
    ("mhealth: the set's README (a side file)", "mhealth/extra/README.txt", b"MHEALTH\n"),
    (
        "mhealth: a nested zip (one level, opened)",
        "mhealth/nested/outer.zip",
        zipped({"inner.zip": zipped({"mHealth_subject12.log": LOG}), ".DS_Store": b"\0"}),
    ),
    (
        "mhealth: a zip nested two levels (refused)",
        "mhealth/nested/deep.zip",
        zipped({"a.zip": zipped({"b.zip": zipped({"mHealth_subject13.log": LOG})})}),
    ),
    ("mhealth: an empty zip", "mhealth/extra/empty.zip", zipped({})),
    ("radar: empty csv.gz", f"{RADAR}/20241020_1200.csv.gz", b""),
    (
        "radar: schema-only csv.gz (a header, no rows)",
        f"{RADAR}/20241021_1200.csv.gz",
        gzip.compress(RADAR_HEADER.encode(), mtime=0),
    ),
    ("radar: unknown extension", f"{RADAR}/notes.xyz", b"x"),
    (
        "radar: the tool's zip compression (X.csv.zip, one entry)",
        f"{PHONE_LIGHT}/20241017_1200.csv.zip",
        rr.compressed(RADAR_LIGHT, "zip", "20241017_1200.csv"),
    ),
    (
        "radar: the tool's backup of a file it could not read (.corrupted)",
        f"{PHONE_LIGHT}/20241017_1300.csv.gz.corrupted",
        b"\x1f\x8b broken",
    ),
    (
        "radar: a file of records without a key.userId (unknown-user)",
        "radar/output/connect-kcl/unknown-user/android_phone_light/20241017_1200.csv.gz",
        gzip.compress(RADAR_LIGHT.replace("kcl-003", "").encode(), mtime=0),
    ),
    (
        "radar: the tool's offsets ledger (a side file)",
        "radar/output/offsets/android_phone_light.json",
        b"{}",
    ),
    (
        "screenlake: the app's loose log CSV (log_events_v2)",
        "screenlake/academia/log_events_v2/p009/V_2/0b6f4c1e-8a47-4c62-9d0e-5f2a7c3b1d90.csv",
        LOOSE_LOG,
    ),
    ("screenlake: unknown file", f"{PANELIST}/notes.txt", b"x"),
    ("embrace: unknown extension", "embrace/extra/readme.xyz", b"x"),
]


_UUID = re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}")


def sample_cases(folder: Path) -> list[Case]:
    """One sample file of each kind (its path with numbers and uuids blanked) per source."""
    cases: dict[tuple[str, str], Case] = {}
    for name in sources.names():
        out = folder / name
        sources.get(name).write_samples(out, 7)
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            relative = path.relative_to(out).as_posix()
            kind = re.sub(r"\d+", "#", _UUID.sub("U", relative))
            cases.setdefault(
                (name, kind), (f"{name} sample: {kind}", f"{name}/{relative}", path.read_bytes())
            )
    return list(cases.values())


def pieces(key: str, data: bytes) -> list[str]:
    """What must be traced of a landed object, as paths below its source's folder: the object,
    or each member of a zip (nested zips opened; an empty zip is the zip itself)."""
    name, base = key.split("/", 1)
    if not sources.get(name).is_archive(base):  # radar's .csv.zip is a compressed file
        return [base]
    found = [f"{base}/{member}" for member in _members(data)]
    return found or [base]


def _members(data: bytes) -> list[str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return []
    out = []
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            inner = archive.read(info) if info.filename.endswith(".zip") else b""
            nested = _members(inner) if inner else []
            out.extend([f"{info.filename}/{m}" for m in nested] or [info.filename])
    return out


def _below_source(path: str) -> str:
    """A key or s3:// URI as a path below its source's folder (raw/, scratch or landing)."""
    key = re.sub(r"^s3://[^/]+/", "", path)
    for name in sources.names():
        for prefix in (f"raw/{name}/", f"{name}/"):
            if key.startswith(prefix):
                return key[len(prefix) :]
        found = re.match(rf"^[^/]+/{name}/(.*)$", key)  # a scratch image: <run>/<source>/...
        if found:
            return found.group(1)
    return key


def run_landed(home: Path, cases: list[Case]) -> dict:
    """Land each case's bytes at its key and run the whole pipeline once; its output."""
    with EmbeddedAWS(home) as aws:
        landing = aws.bucket("LandingBucket")
        for _, key, data in cases:
            aws.s3.put_object(Bucket=landing, Key=key, Body=data)
        arn = aws.start_execution(f"nothing-lost-{uuid.uuid4().hex[:6]}", {})
        described = aws.wait(arn)
    assert described["status"] == "SUCCEEDED", described
    return json.loads(described["output"])


@pytest.fixture(scope="module")
def landed_run(tmp_path_factory: pytest.TempPathFactory, spark: object):
    root = tmp_path_factory.mktemp("nothing-lost")
    cases = sample_cases(root / "samples") + CASES
    output = run_landed(root / "home", cases)
    lake = next((root / "home").glob("*-lake"))
    in_tables: set[str] = set()
    for path in lake.glob("curated/**/*.parquet"):
        schema = pq.read_schema(path)
        if "source_key" in schema.names:
            keys = pq.read_table(path, columns=["source_key"]).column("source_key")
            in_tables.update(_below_source(k) for k in keys.unique().to_pylist() if k)
    quarantined: dict[str, str] = {}
    for path in lake.glob("quarantine/**/*.reason.json"):
        reason = json.loads(path.read_text())  # a file's bad rows count as its own reason
        source = reason["source"].removesuffix(".rejected-rows")
        quarantined[_below_source(source)] = reason["reason"]
    manifest = lake / re.sub(r"^s3://[^/]+/", "", output["notify"]["manifest"])
    summary = json.loads(manifest.read_text())
    skipped = {_below_source(f["key"]): f["reason"] for f in summary["skipped"]}
    return cases, in_tables, quarantined, skipped, output


def where(piece: str, traced: dict[str, str] | set[str]) -> str | None:
    """The trace of a piece: itself, or a zip or folder holding it."""
    return next((t for t in traced if piece == t or piece.startswith(t + "/")), None)


def test_every_landed_object_is_in_a_table_or_in_quarantine_with_a_reason(landed_run) -> None:
    cases, in_tables, quarantined, skipped, _ = landed_run
    lost = []
    for description, key, data in cases:
        for piece in pieces(key, data):
            if piece in in_tables or piece in skipped:
                continue
            found = where(piece, quarantined)
            if found is None or not quarantined[found]:
                lost.append(f"{description}: {piece}")
    assert lost == []


@pytest.mark.parametrize(
    ("piece", "reason"),
    [
        ("extra/notes.xyz", "not an MHEALTH file"),
        ("extra/mHealth_subject11.log", "empty file: no rows"),
        ("extra/mhealth_header_only.csv", "MHEALTH CSV has a header and no rows"),
        ("nested/deep.zip/a.zip/b.zip", "nested zip deeper than one level"),
        ("extra/empty.zip", "empty zip: no file in it"),
        (
            "output/connect-kcl/kcl-003/sensorkit_ambient_light/notes.xyz",
            "is not a file the study's radar path format writes",
        ),
        (
            "output/connect-kcl/kcl-003/android_phone_light/20241017_1300.csv.gz.corrupted",
            "radar-output-restructure's backup",
        ),
        (
            "output/connect-kcl/unknown-user/android_phone_light/20241017_1200.csv.gz",
            "unknown-user",
        ),
    ],
)
def test_the_bad_ones_say_why(landed_run, piece: str, reason: str) -> None:
    _, _, quarantined, _, _ = landed_run
    assert reason in quarantined.get(piece, ""), quarantined


def test_side_files_are_listed_in_the_summary_with_their_reason(landed_run) -> None:
    _, _, quarantined, skipped, output = landed_run
    assert skipped["extra/README.txt"] == "the data set's documentation (README), not data"
    assert "operating-system metadata" in skipped["nested/outer.zip/.DS_Store"]
    assert output["notify"]["skipped"] == len(skipped)
    assert not set(skipped) & set(quarantined)


def test_the_repackaged_csv_lands_by_subject(landed_run) -> None:
    _, in_tables, _, _, _ = landed_run
    assert {"kaggle/mhealth_raw_data.csv", "nested/outer.zip/inner.zip/mHealth_subject12.log"} <= (
        in_tables
    )
    assert "kaggle/mobile-health-human-behavior-analysis.zip/mhealth_raw_data.csv" in in_tables


def test_the_real_writers_other_files_land(landed_run) -> None:
    """radar-output-restructure's zip compression and the Screenlake app's loose log CSV are
    in their tables; the tool's offsets ledger is a side file with its reason."""
    _, in_tables, _, skipped, _ = landed_run
    assert "output/connect-kcl/kcl-003/android_phone_light/20241017_1200.csv.zip" in in_tables
    assert "academia/log_events_v2/p009/V_2/0b6f4c1e-8a47-4c62-9d0e-5f2a7c3b1d90.csv" in in_tables
    assert "offset ledger" in skipped["output/offsets/android_phone_light.json"]
