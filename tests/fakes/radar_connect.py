"""A small CONNECT-like RADAR-base export, written as radar-output-restructure writes its CSVs.

The rules followed (radar-output-restructure v3.0.6, ``CsvAvroDataConverter`` and
``CsvAvroConverter``): one header from the record's schema, fields flattened with dots
(``value.metadata.id``, arrays by index: ``value.answers.0.questionId``), each value as Java's
``toString`` (a double ``1.7277378E9``, an int ``3``), a null as an empty field, opencsv
quoting only where a field holds a comma, a quote or a line break, ``\\n`` line ends; files
``<project>/<user>/<topic>/yyyyMMdd_HH00.csv.gz`` per UTC hour. The records follow RADAR-Schemas:
``questionnaire_response`` is ``commons/active/questionnaire/questionnaire.avsc`` (an answer's
``value`` is the union int|string|double), ``android_health_connect_typed_data`` is
``HealthConnectTypedData`` of the ``health-connect`` branch (commit ee5d82a, the topic of
``specifications/passive/google_healthconnect-1.0.0.yml``), whose ``key`` names the record type
(``HeartRate``, ``Steps``) as the CONNECT scripts filter it.

Cells are written by the one port of the tool's converter (``tests/fakes/radar_writer.py``).
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

from tests.fakes import radar_writer

SITE = "connect-kcl"
PARTICIPANT_1 = "4c7d3f0a-1b2e-4f6a-9c8d-0e1f2a3b4c5d"
PARTICIPANT_2 = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
SOURCE_PHONE = "6f1e2d3c-4b5a-4968-8776-655443322110"

TYPED_DATA = "android_health_connect_typed_data"
QUESTIONNAIRE = "questionnaire_response"

TYPED_HEADER = [
    "key.projectId", "key.userId", "key.sourceId", "value.time", "value.timeReceived",
    "value.startTime", "value.endTime", "value.timeZoneOffset", "value.metadata.id",
    "value.metadata.dataOrigin", "value.metadata.lastModified", "value.metadata.deviceId",
    "value.metadata.recordingMethod", "value.unit", "value.key", "value.intValue",
    "value.doubleValue", "value.stringValue",
]  # fmt: skip


def _field(value: object) -> str:
    """A cell as the tool writes it (``radar_writer``: Java's ``toString``, opencsv quoting)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return radar_writer.java_number(value)
    return radar_writer.csv_field(str(value))


def epoch(text: str) -> float:
    """``2024-09-30T23:10:00.5`` (UTC) -> epoch seconds."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


def write_file(
    root: Path, user: str, topic: str, hour: str, header: list[str], rows: list[list]
) -> None:
    path = root / SITE / user / topic / f"{hour}.csv.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(header), *(",".join(_field(v) for v in row) for row in rows)]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))


def _typed(user: str, at: str, key: str, value: int, unit: str, n: int) -> list:
    t = epoch(at)
    return [
        SITE, user, SOURCE_PHONE, t, t + 37.25, None, None, 3600, f"hc-{user[:4]}-{n:04d}",
        "com.google.android.apps.fitness", t + 5.5, None, "AUTOMATICALLY_RECORDED", unit, key,
        value, None, None,
    ]  # fmt: skip


def questionnaire_header(answers: int) -> list[str]:
    header = [
        "key.projectId", "key.userId", "key.sourceId", "value.time", "value.timeCompleted",
        "value.timeNotification", "value.name", "value.version",
    ]  # fmt: skip
    for i in range(answers):
        header += [
            f"value.answers.{i}.{f}" for f in ("questionId", "value", "startTime", "endTime")
        ]
    return header


def _response(
    user: str, started: str, completed: str, name: str, answers: list[tuple[str, object]]
) -> list:
    t, done = epoch(started), epoch(completed)
    row: list = [SITE, user, SOURCE_PHONE, t, done, t - 300.0, name, "1.0.0"]
    step = (done - t) / len(answers)
    for i, (question, value) in enumerate(answers):
        row += [question, value, t + i * step, t + (i + 1) * step - 0.5]
    return row


PHQ8 = [1, 0, 2, 3, 1, 0, 2, 1]


def _esm(negative_1: object, negative_2: object, sleep: object, note: str) -> list:
    return [
        ("negative_emotions_1", negative_1),
        ("negative_emotions_2", negative_2),
        ("positive_emotions_1", 70),
        ("sleep_5", sleep),
        ("esm_note", note),
    ]


def esm_response(user: str, started: str, completed: str, *answers: object) -> list:
    return _response(user, started, completed, "ESM", _esm(*answers))  # type: ignore[arg-type]


def write_export(root: Path) -> list[Path]:
    """The export under ``root`` (``<root>/connect-kcl/<user>/<topic>/<hour>.csv.gz``)."""
    p1, p2 = PARTICIPANT_1, PARTICIPANT_2
    hr, steps = "HeartRate", "Steps"
    typed = {
        (p1, "20240930_2300"): [
            _typed(p1, "2024-09-30T23:10:00", hr, 61, "bpm", 1),
            _typed(p1, "2024-09-30T23:30:00", steps, 120, "count", 2),
            _typed(p1, "2024-09-30T23:40:00", hr, 64, "bpm", 3),
            _typed(p1, "2024-09-30T23:45:00", "RestingHeartRate", 55, "bpm", 4),
            _typed(p1, "2024-09-30T23:59:59.5", hr, 70, "bpm", 5),
        ],
        (p1, "20241001_0000"): [
            _typed(p1, "2024-10-01T00:00:00.25", hr, 75, "bpm", 6),
            _typed(p1, "2024-10-01T00:15:00", steps, 300, "count", 7),
            _typed(p1, "2024-10-01T00:30:00", hr, 80, "bpm", 8),
        ],
        (p1, "20241001_0800"): [_typed(p1, "2024-10-01T08:05:00", hr, 90, "bpm", 9)],
        (p1, "20241007_1200"): [
            _typed(p1, "2024-10-07T12:00:00", hr, 66, "bpm", 10),
            _typed(p1, "2024-10-07T12:01:00", hr, 68, "bpm", 11),
            _typed(p1, "2024-10-07T12:30:00", steps, 845, "count", 12),
        ],
        (p1, "20241106_0900"): [_typed(p1, "2024-11-06T09:00:00", hr, 58, "bpm", 13)],
        (p2, "20241003_1400"): [
            _typed(p2, "2024-10-03T14:00:00", hr, 100, "bpm", 1),
            _typed(p2, "2024-10-03T14:10:00", hr, 102, "bpm", 2),
            _typed(p2, "2024-10-03T14:20:00", steps, 50, "count", 3),
            _typed(p2, "2024-10-03T14:30:00", hr, 98, "bpm", 4),
            _typed(p2, "2024-10-03T14:40:00", hr, 99, "bpm", 5),
        ],
    }
    for (user, hour), rows in typed.items():
        write_file(root, user, TYPED_DATA, hour, TYPED_HEADER, rows)
    phq8 = [(f"phq8_{i + 1}", v) for i, v in enumerate(PHQ8)]
    esm = questionnaire_header(5)
    responses = {
        (p1, "20240930_2300"): [
            # started on 30 September, completed on 1 October: counted on the day completed
            esm_response(p1, "2024-09-30T23:58", "2024-10-01T00:01:30", 30, 35, 4, "late"),
        ],
        (p1, "20241001_0900"): [
            _response(p1, "2024-10-01T09:00:00", "2024-10-01T09:03:10.5", "PHQ8", phq8),
        ],
        (p1, "20241001_1200"): [
            esm_response(p1, "2024-10-01T12:00", "2024-10-01T12:02", 40, 55, 3, "tired, but ok"),
            esm_response(p1, "2024-10-01T12:40", "2024-10-01T12:41", 45, 50, 3, "fine"),
        ],
        (p1, "20241002_0700"): [
            esm_response(p1, "2024-10-02T07:00", "2024-10-02T07:01", 20, "skipped", 2, 'a "b"'),
        ],
        (p1, "20241106_0800"): [
            esm_response(p1, "2024-11-06T08:00", "2024-11-06T08:02", 60, 65, 1, ""),
        ],
        (p2, "20241003_1000"): [
            esm_response(p2, "2024-10-03T10:00", "2024-10-03T10:01", 10.5, 20, 3, "x"),
        ],
    }  # fmt: skip
    for (user, hour), rows in responses.items():
        header = questionnaire_header(8) if rows[0][6] == "PHQ8" else esm
        write_file(root, user, QUESTIONNAIRE, hour, header, rows)
    return sorted(root.rglob("*.csv.gz"))
