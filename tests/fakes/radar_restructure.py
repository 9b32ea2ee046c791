"""Records written as radar-output-restructure 3.0.6 writes them, for the radar fixtures.

The CSV is ``CsvAvroDataConverter``'s: the Kafka record ``{key, value}`` flattened with dots
(records by field, arrays by index, maps by key), every value as Java's ``toString`` (a
double ``1.58021982003E9``, a float ``-0.020834351``, null as an empty cell), written by
opencsv's ``CSVWriter`` (``writeNext(line, false)``: a cell is quoted only when it holds a
comma, a quote or a line break; lines end in ``\\n``). The header is the first record's.
The compressions are ``compression/*.kt``'s: gzip, and zip with one entry named as the
file (level 7). Paths are not built here: tests name them literally, as the tool's tests do.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import math
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import fastavro
import numpy as np


def java_double(value: float) -> str:
    """``Double.toString``: plain between 1e-3 and 1e7, else ``d.dddE<n>``; shortest digits."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(float(value))
        return text if "." in text or "e" in text else text + ".0"
    return _scientific(np.format_float_scientific(value, unique=True, trim="-"))


def java_float(value: float) -> str:
    """``Float.toString``: as ``java_double``, with the shortest digits of the float32."""
    single = np.float32(value)
    if single == 0 or not np.isfinite(single):
        return java_double(float(single))
    if 1e-3 <= abs(single) < 1e7:
        text = np.format_float_positional(single, unique=True, trim="-")
        return text if "." in text else text + ".0"
    return _scientific(np.format_float_scientific(single, unique=True, trim="-"))


def _scientific(text: str) -> str:
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}E{int(exponent)}"


def _cells(schema: Any, data: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(schema, list):  # a union: the branch the value is
        _cells(_branch(schema, data), data, prefix, out)
        return
    kind = schema["type"] if isinstance(schema, dict) else schema
    if isinstance(kind, dict | list):
        _cells(kind, data, prefix, out)
    elif kind == "record":
        for field in schema["fields"]:
            _cells(field["type"], data[field["name"]], f"{prefix}.{field['name']}", out)
    elif kind == "array":
        for i, item in enumerate(data):
            _cells(schema["items"], item, f"{prefix}.{i}", out)
    elif kind == "map":
        for key, item in data.items():
            _cells(schema["values"], item, f"{prefix}.{key}", out)
    elif kind == "null":
        out[prefix] = ""
    elif kind == "double":
        out[prefix] = java_double(data)
    elif kind == "float":
        out[prefix] = java_float(data)
    elif kind == "boolean":
        out[prefix] = "true" if data else "false"
    else:  # string, enum, int, long
        out[prefix] = str(data)


def _branch(union: list[Any], data: Any) -> Any:
    def name(s: Any) -> str:
        return s if isinstance(s, str) else s["type"]

    for schema in union:
        kind = name(schema)
        if (data is None) == (kind == "null") and (
            data is None
            or (kind in ("record", "map") and isinstance(data, dict))
            or (kind == "array" and isinstance(data, list))
            or (kind in ("string", "enum") and isinstance(data, str))
            or (kind in ("double", "float") and isinstance(data, float))
            or (kind in ("int", "long") and isinstance(data, int) and not isinstance(data, bool))
            or (kind == "boolean" and isinstance(data, bool))
        ):
            return schema
    raise ValueError(f"no branch of {union} holds {data!r}")


def flatten(schema: dict[str, Any], record: dict[str, Any]) -> dict[str, str]:
    """One Kafka record ``{key, value}`` (of the combined schema) as header -> cell."""
    out: dict[str, str] = {}
    for field in schema["fields"]:
        _cells(field["type"], record[field["name"]], field["name"], out)
    return out


def _quoted(cell: str) -> str:
    if any(c in cell for c in ',"\n\r'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def csv_text(rows: Iterable[dict[str, str]]) -> str:
    """Flattened records as the tool's CSV file: the first record's header, then a line each."""
    rows = list(rows)
    header = list(rows[0])
    lines = [header] + [[row.get(h, "") for h in header] for row in rows]
    return "".join(",".join(_quoted(c) for c in line) + "\n" for line in lines)


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
