"""Embrace day by day through the real workflow: day 1's export, then day 2's, then day 2's
re-sent. After each run the curated Iceberg tables hold exactly the rows of what arrived, wear
time follows the local day across its two UTC days, and each run's Curate read only that run's
merged day files."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from phenolake.sources.embrace import convert as embrace
from phenolake_local import iceberg
from phenolake_local.engine import EmbeddedAWS

pytestmark = pytest.mark.slow

DAY = 86_400_000
AUG_1 = 1564617600000  # 2019-08-01T00:00:00Z
HOUR = 3_600_000
SECONDS = 60  # each burst: one minute of every stream
#: device serial -> (site, participant folder, offset in minutes east of UTC)
DEVICES = {"D1FC": ("FC", "001", -240), "D2MG": ("MG", "002", 120), "D3MG": ("MG", "002", 120)}
TABLES = ("eda", "temp", "acc", "metadata", "wear_time", "duplicates")


def stream_csv(stream: str, starts: list[int], copies: int = 0) -> str:
    """One minute of ``stream`` from each start (epoch ms), values 0.5 (a worn EDA); the
    first ``copies`` rows are written twice (exact copies: the dedupe keeps one)."""
    header, columns = embrace.STREAMS[stream]
    step = int(1000 / embrace.RATE_HZ[stream])
    lines = [f"{embrace.TIME_HEADER},{','.join(header)}"]
    for start in starts:
        rows = int(SECONDS * embrace.RATE_HZ[stream])
        lines += [f"{start + i * step}," + ",".join(["0.5"] * len(columns)) for i in range(rows)]
    lines += lines[1 : 1 + copies]
    return "\n".join(lines) + "\n"


def metadata_csv(at_ms: int, offset: int) -> str:
    when = f"{at_ms // 1000}"
    return ",".join(embrace.METADATA_HEADER) + f"\n{when},{offset},2.1.0,Mate,1.30.0,iOS,12,1.0\n"


def export(bursts: dict[str, list[int]], metadata_at: int, stored: bool = False) -> bytes:
    """A zip of these devices' bursts, each device's metadata.csv one row at ``metadata_at``
    (its offset); ``stored``: the same members without compression (other bytes)."""
    out = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "w", method) as zf:
        for device, starts in bursts.items():
            site, folder, offset = DEVICES[device]
            base = f"U02/{site}/{folder}/{device}/"
            for stream in embrace.STREAMS:
                copies = 3 if stream == "eda" else 0
                zf.writestr(base + f"{stream}.csv", stream_csv(stream, starts, copies))
            zf.writestr(base + "metadata.csv", metadata_csv(metadata_at, offset))
    return out.getvalue()


DAY_1 = (
    "Sensors_U02_ALLSITES_20190801_20190801.zip",
    # fc001 (UTC-4) at 12:00 UTC: local 1 August; mg002 (UTC+2) at 12:00: local 1 August
    lambda stored=False: export(
        {"D1FC": [AUG_1 + 12 * HOUR], "D2MG": [AUG_1 + 12 * HOUR]}, AUG_1, stored
    ),
)
DAY_2 = (
    "Sensors_U02_ALLSITES_20190802_20190802.zip",
    # fc001 at 02:00 UTC 2 August (22:00 local, 1 August) and at 12:00 (local 2 August);
    # mg002's new device at 20:00 UTC 1 August, in the UTC day its first device filled
    lambda stored=False: export(
        {"D1FC": [AUG_1 + DAY + 2 * HOUR, AUG_1 + DAY + 12 * HOUR], "D3MG": [AUG_1 + 20 * HOUR]},
        AUG_1 + DAY,
        stored,
    ),
)


def read_tables(home: Path, aws: EmbeddedAWS) -> dict[str, Any]:
    """Every embrace table's current snapshot, read with PyIceberg through the Glue catalog,
    and the summary of the commit that made it (``<table>.commit``)."""
    catalog = iceberg.catalog(home, aws.glue)
    database = aws.env()["GLUE_DATABASE"]
    found: dict[str, Any] = {}
    for name in TABLES:
        table = catalog.load_table(f"{database}.embrace_{name}")
        found[name] = table.scan().to_arrow()
        found[f"{name}.commit"] = dict(table.current_snapshot().summary.additional_properties)
    return found


def counts(table: pa.Table, *keys: str) -> dict[tuple[Any, ...], int]:
    found: dict[tuple[Any, ...], int] = {}
    for row in table.select(list(keys)).to_pylist():
        key = tuple(str(row[k]) for k in keys)
        found[key] = found.get(key, 0) + 1
    return found


def curate_log(home: Path, run: str) -> str:
    [log] = [p for p in (home / "logs" / run).glob("*.log") if "curate" in p.name.lower()]
    return log.read_text()


def run_day(aws: EmbeddedAWS, name: str, body: bytes, run: str) -> dict[str, Any]:
    aws.s3.put_object(Bucket=aws.bucket("LandingBucket"), Key=f"embrace/{name}", Body=body)
    described = aws.wait(aws.start_execution(run, {"sources": ["embrace"]}))
    assert described["status"] == "SUCCEEDED", described.get("output")
    return read_tables(aws.home, aws)


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory, spark: object) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("embrace-days")
    found: dict[str, Any] = {"home": home}
    with EmbeddedAWS(home) as aws:
        found["day1"] = run_day(aws, DAY_1[0], DAY_1[1](), "day-1")
        found["day2"] = run_day(aws, DAY_2[0], DAY_2[1](), "day-2")
        found["again"] = run_day(aws, DAY_2[0], DAY_2[1](stored=True), "day-2-again")
    return found


EDA = int(SECONDS * embrace.RATE_HZ["eda"])
ACC = int(SECONDS * embrace.RATE_HZ["acc"])
TEMP = int(SECONDS * embrace.RATE_HZ["temp"])
KEPT = {"eda": EDA, "temp": TEMP, "acc": ACC}


def wear(tables: dict[str, pa.Table]) -> dict[tuple[str, str, str], float]:
    rows = tables["wear_time"].to_pylist()
    found = {
        (r["participant_id"], r["device_id"], str(r["local_date"])): r["minutes_worn"] for r in rows
    }
    assert len(found) == len(rows)
    return found


def duplicates(tables: dict[str, pa.Table]) -> dict[tuple[str, ...], int]:
    rows = tables["duplicates"].to_pylist()
    found = {(r["participant_id"], r["device_id"], r["stream"], r["month"]): r for r in rows}
    assert len(found) == len(rows)  # one row per raw file, never two
    for r in rows:
        assert r["perfect"] == (6 if r["stream"] == "eda" else 0)  # 3 rows written twice
    return {k: r["kept_rows"] for k, r in found.items()}


def files(person: str, device: str, month: str) -> dict[tuple[str, ...], int]:
    return {(person, device, stream, month): n for stream, n in KEPT.items()}


def test_day_1_tables_hold_exactly_day_1(days: dict[str, Any]) -> None:
    tables = days["day1"]
    day1 = {("fc001", "2019-08-01"): 1, ("mg002", "2019-08-01"): 1}
    for stream, rows in KEPT.items():
        assert counts(tables[stream], "participant_id", "date") == {
            k: n * rows for k, n in day1.items()
        }
    assert counts(
        tables["metadata"], "participant_id", "device_id", "date", "timezone_minutes"
    ) == {
        ("fc001", "D1FC", "2019-08-01", "-240"): 1,
        ("mg002", "D2MG", "2019-08-01", "120"): 1,
    }
    assert wear(tables) == {
        ("fc001", "D1FC", "2019-08-01"): 1.0,
        ("mg002", "D2MG", "2019-08-01"): 1.0,
    }
    month = "20190801_20190801"
    assert duplicates(tables) == files("fc001", "D1FC", month) | files("mg002", "D2MG", month)


def test_day_2_adds_its_days_and_recomputes_the_local_day_it_spans(days: dict[str, Any]) -> None:
    tables = days["day2"]
    for stream, rows in KEPT.items():
        assert counts(tables[stream], "participant_id", "device_id", "date") == {
            ("fc001", "D1FC", "2019-08-01"): rows,
            ("fc001", "D1FC", "2019-08-02"): 2 * rows,
            # the new device's day 2 replaced mg002's 1 August and kept the first device's
            ("mg002", "D2MG", "2019-08-01"): rows,
            ("mg002", "D3MG", "2019-08-01"): rows,
        }, stream
    assert counts(tables["metadata"], "participant_id", "device_id", "date") == {
        ("fc001", "D1FC", "2019-08-01"): 1,
        ("fc001", "D1FC", "2019-08-02"): 1,
        ("mg002", "D2MG", "2019-08-01"): 1,
        ("mg002", "D3MG", "2019-08-02"): 1,
    }
    # local 1 August of fc001 (UTC-4) is its 12:00 UTC minute of day 1 and its 02:00 UTC
    # minute of day 2: recomputed from the table's day-1 rows and day 2's
    assert wear(tables) == {
        ("fc001", "D1FC", "2019-08-01"): 2.0,
        ("fc001", "D1FC", "2019-08-02"): 1.0,
        ("mg002", "D2MG", "2019-08-01"): 1.0,
        ("mg002", "D3MG", "2019-08-01"): 1.0,
    }
    local = counts(tables["eda"], "participant_id", "date", "local_date")
    assert local[("fc001", "2019-08-02", "2019-08-01")] == EDA
    assert local[("fc001", "2019-08-02", "2019-08-02")] == EDA
    # D3MG's rows are before its one metadata row: they take its offset (+2 h)
    assert local[("mg002", "2019-08-01", "2019-08-01")] == 2 * EDA
    day1, day2 = "20190801_20190801", "20190802_20190802"
    assert duplicates(tables) == (
        files("fc001", "D1FC", day1)
        | files("mg002", "D2MG", day1)
        | {k: 2 * n for k, n in files("fc001", "D1FC", day2).items()}
        | files("mg002", "D3MG", day2)
    )


def test_day_2_curate_read_only_day_2(days: dict[str, Any]) -> None:
    log = curate_log(days["home"], "day-2")
    found = dict(re.findall(r"^(embrace_\w+): (\d+) ", log, re.MULTILINE))
    # per stream two merged day files (fc001's 2 August, D3MG's 1 August), two metadata days,
    # three local days, and the six side files of the export's six stream files
    assert found == {
        "embrace_metadata": "2",
        "embrace_eda": "2",
        "embrace_temp": "2",
        "embrace_acc": "2",
        "embrace_wear_time": "3",
        "embrace_duplicates": "6",
    }
    # and each table's day-2 commit rewrote only those partitions
    tables = days["day2"]
    for stream in (*KEPT, "metadata"):
        assert tables[f"{stream}.commit"]["changed-partition-count"] == "2", stream
    assert tables["wear_time.commit"]["changed-partition-count"] == "3"


def test_a_re_sent_day_2_changes_no_row(days: dict[str, Any]) -> None:
    again, before = days["again"], days["day2"]
    for name in TABLES:
        ours, theirs = (rows(t[name]) for t in (again, before))
        assert ours == theirs, name


def rows(table: pa.Table) -> list[list[tuple[str, str]]]:
    """A table's rows, in a stable order, without the run that wrote them."""
    return sorted(
        sorted((k, str(v)) for k, v in r.items() if k != "run_id") for r in table.to_pylist()
    )
