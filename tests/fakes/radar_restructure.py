"""Records written as radar-output-restructure 3.0.6 writes them, for the radar fixtures.

The CSV is ``CsvAvroDataConverter``'s, as ``radar_writer`` ports it (the record flattened
with dots, Java's number strings, opencsv's quoting); this module adds the tool's files: the
first record's header, the compressions and the integration test's records and paths.
The compressions are ``compression/*.kt``'s: gzip, and zip with one entry named as the
file (level 7). Paths are not built here: tests name them literally, as the tool's tests do.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import fastavro

from tests.fakes import radar_writer


def flatten(schema: dict[str, Any], record: dict[str, Any]) -> dict[str, str]:
    """One Kafka record ``{key, value}`` (of the combined schema) as header -> cell, by the
    one port of the tool's converter (``radar_writer``)."""
    return dict(radar_writer.record_cells(schema, record))


def csv_text(rows: Iterable[dict[str, str]]) -> str:
    """Flattened records as the tool's CSV file: the first record's header, then a line each."""
    rows = list(rows)
    header = list(rows[0])
    lines = [header] + [[row.get(h, "") for h in header] for row in rows]
    return "".join(radar_writer.csv_line(line) for line in lines)


def compressed(text: str, compression: str, file_name: str) -> bytes:
    """The file's bytes under ``compression`` (``none``, ``gzip``, ``zip``); a zip holds one
    entry named as the file (``ZipCompression``: ``ZipEntry(fileName)``, level 7)."""
    data = text.encode()
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "zip":
        sink = io.BytesIO()
        with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=7) as archive:
            archive.writestr(file_name, data)
        return sink.getvalue()
    return data


# --- the tool's own integration test -----------------------------------------------------

#: The records of ``RestructureS3IntegrationTest`` (its ``src/integrationTest/resources``).
AVRO = Path(__file__).resolve().parents[1] / "data" / "radar-output-restructure"
#: Its topic format: ``${projectId}/${userId}/${topic}/${value:serverStatus}/${filename}``.
STATUS_FORMAT = "${projectId}/${userId}/${topic}/${value:serverStatus}/${filename}"
#: Its output folders, as it asserts them.
FIRST = (
    "output/STAGING_PROJECT/1543bc93-3c17-4381-89a5-c5d6272b827c/application_server_status/"
    "CONNECTED"
)
SECOND = "output/radar-test-root/4ab9b985-6eec-4e51-9a29-f4c571c89f99/android_phone_acceleration"
#: The files it asserts the tool writes (``compression: none``, its default).
OUTPUT = (
    f"{FIRST}/20200128_1300.csv",
    f"{FIRST}/20200128_1400.csv",
    f"{FIRST}/schema-application_server_status.json",
    f"{SECOND}/20200528_1000.csv",
    f"{SECOND}/schema-android_phone_acceleration.json",
)
#: The one file whose content it asserts, as it asserts it.
FIRST_1300 = (
    "key.projectId,key.userId,key.sourceId,value.time,value.serverStatus,value.ipAddress\n"
    "STAGING_PROJECT,1543bc93-3c17-4381-89a5-c5d6272b827c,99caf236-bbe6-4eed-9c63-fba77349821d,"
    "1.58021982003E9,CONNECTED,\n"
    "STAGING_PROJECT,1543bc93-3c17-4381-89a5-c5d6272b827c,99caf236-bbe6-4eed-9c63-fba77349821d,"
    "1.58021982003E9,CONNECTED,\n"
)


def avro_records(name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The records of one resource file (kept in the tool's ``<topic>/partition=<n>/``)."""
    with next(AVRO.rglob(name)).open("rb") as stream:
        reader = fastavro.reader(stream)
        return reader.writer_schema, list(reader)


def integration_output(root: Path, compression: str = "none") -> dict[str, list[dict[str, str]]]:
    """The tool's output of its integration test written under ``root``: the records of the
    resource files, in the order it reads them, each in the file of its ``value.time`` hour
    (UTC) under the test's folders; the schema beside. Returns path -> rows written."""
    inputs = {
        FIRST: [
            "application_server_status+1+0000000018+0000000020.avro",
            "application_server_status+1+0000000021.avro",
        ],
        SECOND: ["android_phone_acceleration+0+0003018784.avro"],
    }
    suffix = {"none": "", "gzip": ".gz", "zip": ".zip"}[compression]
    written: dict[str, list[dict[str, str]]] = {}
    for folder, names in inputs.items():
        schema: dict[str, Any] = {}
        for name in names:
            schema, records = avro_records(name)
            for record in records:
                hour = dt.datetime.fromtimestamp(record["value"]["time"], dt.UTC)
                path = f"{folder}/{hour:%Y%m%d_%H}00.csv{suffix}"
                written.setdefault(path, []).append(flatten(schema, record))
        topic = folder.split("/")[3]
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / f"schema-{topic}.json").write_text(json.dumps(schema, indent=2))
    for path, rows in written.items():
        target = root / path
        target.write_bytes(compressed(csv_text(rows), compression, target.name))
    return written
