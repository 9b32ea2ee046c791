"""Screenlake through the whole pipeline: the seeded sample zips, the real state machine,
handlers and Glue script; then what a user sees: tables, quarantine, the export CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pytest

from phenolake.sources.screenlake import convert as screenlake
from phenolake.sources.screenlake import samples as screenlake_samples
from phenolake_local import runner
from phenolake_tools import query
from tests import curated_tables
from tests.cli import in_process
from tests.fakes import screenlake_app as app

pytestmark = pytest.mark.slow

SEED = 20141


@pytest.fixture(scope="module")
def screenlake_run(
    tmp_path_factory: pytest.TempPathFactory, spark: object
) -> tuple[Path, Path, runner.RunResult]:
    samples = tmp_path_factory.mktemp("samples") / "screenlake"
    screenlake.Screenlake().write_samples(samples, SEED)
    home = tmp_path_factory.mktemp("home")
    result = runner.run(runner.RunOptions(home=home, inputs=[samples], sources=["screenlake"]))
    return home, samples, result


def rows(home: Path, sql: str) -> list[dict]:
    return query.query_local(sql, home).to_pylist()


def sample_text(samples: Path, prefix: str, needle: str) -> int:
    """How often ``needle`` occurs in the sample zips' CSVs of one kind, as the app wrote them."""
    count = 0
    for path in sorted(samples.rglob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.startswith(prefix):
                    count += zf.read(name).decode().count(needle)
    return count


def test_the_run_lands_the_four_tables_and_logs(screenlake_run) -> None:
    home, samples, result = screenlake_run
    assert result.status == "SUCCEEDED", f"{result.error}: {result.cause}"
    notify = result.output["notify"]
    assert (notify["objects"], notify["data_files"], notify["images"]) == (3, 15, 8)
    assert notify["rejected_rows"] == 1
    counts = rows(
        home,
        "SELECT 'screenshots' AS t, panelist, count(*) AS n FROM screenlake_screenshots "
        "GROUP BY panelist UNION ALL "
        "SELECT 'accessibility', panelist, count(*) FROM screenlake_accessibility "
        "GROUP BY panelist UNION ALL "
        "SELECT 'segments', panelist, count(*) FROM screenlake_segments GROUP BY panelist "
        "UNION ALL SELECT 'sessions', panelist, count(*) FROM screenlake_sessions "
        "GROUP BY panelist UNION ALL "
        "SELECT 'logs', panelist, count(*) FROM screenlake_logs GROUP BY panelist "
        "ORDER BY 1, 2",
    )
    shots = {
        p: sum(len(screens) for who, _, screens in screenlake_samples.UPLOADS if who == p)
        for p in ("p001", "p002")
    }
    assert {(r["t"], r["panelist"]): r["n"] for r in counts} == {
        ("accessibility", "p001"): 2 * shots["p001"],
        ("accessibility", "p002"): 2 * shots["p002"],
        ("logs", "p001"): 4,  # two per upload
        ("logs", "p002"): 2,  # the third, cut short, is rejected
        ("screenshots", "p001"): shots["p001"],
        ("screenshots", "p002"): shots["p002"],
        ("segments", "p001"): shots["p001"],
        ("segments", "p002"): shots["p002"],
        ("sessions", "p001"): 2,  # one per upload
        ("sessions", "p002"): 1,
    }
    assert sum(shots.values()) == sample_text(samples, "screenshot_data", '"\n"')


def test_text_types_days_and_provenance_survive(screenlake_run) -> None:
    home, samples, _ = screenlake_run
    found = rows(
        home,
        "SELECT date, text, t_epoch_ts_ms, timestamp, run_id, source_key "
        "FROM screenlake_screenshots WHERE panelist = 'p001' ORDER BY timestamp",
    )
    assert [r["date"] for r in found] == ["2024-10-01", "2024-10-01", *["2024-10-02"] * 3]
    texts = [r["text"] for r in found]
    assert 'Maya: did you see the "new" schedule?' in texts
    assert 'Prices: "4.99","5.49" and "6.00" today' in texts
    assert "Reminder:\nstand-up at 9:30" in texts
    first = found[0]
    assert first["timestamp"].timestamp() * 1000 == first["t_epoch_ts_ms"]
    assert first["source_key"].endswith(".zip/" + first["source_key"].rsplit("/", 1)[1])
    assert {r["run_id"] for r in found} == {screenlake_run[2].execution_name}
    nulls = rows(
        home,
        "SELECT count(*) AS n FROM screenlake_screenshots WHERE text IS NULL",
    )
    assert nulls == [{"n": sample_text(samples, "screenshot_data", '","null","')}]
    sessions = rows(
        home,
        "SELECT panelist, seconds_since_last_active_ms AS idle, session_duration_ms AS ms "
        "FROM screenlake_sessions ORDER BY timestamp",
    )
    assert sessions == [
        {"panelist": "p001", "idle": None, "ms": 135000},
        {"panelist": "p001", "idle": 3600000, "ms": 90000},
        {"panelist": "p002", "idle": 3600000, "ms": 135000},
    ]
    segments = rows(home, "SELECT count(*) AS n FROM screenlake_segments WHERE apk_prev_1 IS NULL")
    assert segments == [{"n": 3}]  # each upload's first segment: "NA"


def test_tables_are_partitioned_by_panelist_and_date(screenlake_run) -> None:
    home, _, _ = screenlake_run
    sessions = curated_tables.table(home, "screenlake_sessions")
    assert [(f.name, str(f.transform)) for f in sessions.spec().fields] == [
        ("panelist", "identity"),
        ("date", "identity"),
    ]
    assert sorted(curated_tables.data_files(home, "screenlake_sessions")) == [
        "panelist=p001/date=2024-10-01",
        "panelist=p001/date=2024-10-02",
        "panelist=p002/date=2024-10-02",
    ]


def test_only_redacted_images_reach_the_lake(screenlake_run) -> None:
    home, _, _ = screenlake_run
    lake = next(home.glob("*-lake"))
    published = sorted(lake.glob("images/screenlake/*/*/*.jpg"))
    assert len(published) == 8
    assert {p.parts[-3] for p in published} == {"p001", "p002"}
    audit = rows(
        home,
        "SELECT image_key, participant, faces, action, flagged FROM image_redactions "
        "ORDER BY image_key",
    )
    assert len(audit) == 8
    by_name = {r["image_key"].rsplit("/", 1)[1]: r for r in audit}
    for name, row in by_name.items():  # FACES also holds other seeds' samples of this process
        shown = screenlake_samples.FACES[name]
        assert row["faces"] >= shown, name  # every face shown was found
        if shown:
            assert row["action"] == "redacted", name
    reasons = [json.loads(p.read_text()) for p in lake.glob("quarantine/**/*.reason.json")]
    [rejected] = [r for r in reasons if r.get("step") == "convert"]
    assert rejected["reason"] == screenlake.UNFINISHED
    assert rejected["source"].endswith(".csv.rejected-rows")
    assert "log_data_" in rejected["source"]
    jpegs = [
        p
        for p in home.rglob("*")
        if p.is_file() and p.read_bytes()[:3] == b"\xff\xd8\xff" and "samples" not in p.parts
    ]
    landing = next(home.glob("*-landing"))
    outside = [p for p in jpegs if landing not in p.parents]
    allowed = (lake / "images", lake / "reports" / "qa")
    assert [p for p in outside if not any(a in p.parents for a in allowed)] == []
    for path in published:
        assert b"Exif" not in path.read_bytes()[:4096]  # metadata stripped
    assert not [p for p in home.glob("*-scratch/**/*") if p.is_file()]  # scratch copies gone


def test_export_writes_the_consolidated_csvs(screenlake_run, tmp_path: Path, capsys) -> None:
    home, _, _ = screenlake_run
    code, out, err = in_process(
        capsys,
        "export",
        "screenlake",
        "--panelist",
        "p001",
        "--out",
        str(tmp_path),
        "--home",
        str(home),
    )
    assert code == 0, err
    folder = tmp_path / "panelists/p001/metadata"
    assert sorted(p.name for p in folder.iterdir()) == [
        "app_accessibility_data-consolidated.csv",
        "app_segment_data-consolidated.csv",
        "log_data-consolidated.csv",
        "screenshot_data-consolidated.csv",
        "session_data-consolidated.csv",
    ]
    assert f"{folder / 'screenshot_data-consolidated.csv'}: 5 row(s)" in out
    with (folder / "screenshot_data-consolidated.csv").open(newline="") as fh:
        shots = list(csv.DictReader(fh))
    assert list(shots[0]) == [c.csv for c in screenlake.KINDS["screenshots"].columns]
    assert [int(r["t_epoch_ts_ms"]) for r in shots] == sorted(
        int(r["t_epoch_ts_ms"]) for r in shots
    )
    assert 'Prices: "4.99","5.49" and "6.00" today' in [r["text"] for r in shots]
    with (folder / "log_data-consolidated.csv").open(newline="") as fh:
        logs = list(csv.reader(fh))
    assert logs[0] == ["event", "msg", "user", "timestamp"]
    assert [r[0] for r in logs[1:]] == ["ZIP_CREATED", "UPLOAD", "ZIP_CREATED", "UPLOAD"]
    assert logs[2][1] == ""  # "NA" in the upload's CSV: empty, as pandas wrote it


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--panelist", "p404"],
            "phenolake: error: no screenlake data for panelist 'p404' (panelists: p001, p002)",
        ),
        (
            ["--panelist", "p001", "--out", "/dev/null"],
            "phenolake: error: --out: not a folder: /dev/null",
        ),
    ],
)
def test_export_bad_input_is_one_line_and_exit_code_2(
    screenlake_run, tmp_path: Path, capsys, args: list[str], message: str
) -> None:
    home, _, _ = screenlake_run
    if "--out" not in args:
        args = [*args, "--out", str(tmp_path)]
    code, _, err = in_process(capsys, "export", "screenlake", *args, "--home", str(home))
    assert code == 2
    assert err.strip() == message
    assert not list(tmp_path.iterdir())


def test_export_of_an_empty_lake(tmp_path: Path, capsys) -> None:
    code, _, err = in_process(
        capsys,
        "export", "screenlake", "--panelist", "p001", "--out", str(tmp_path / "o"),
        "--home", str(tmp_path),
    )  # fmt: skip
    assert code == 2
    assert err.strip() == (
        f"phenolake: error: no screenlake tables in the lake at {tmp_path} (run the pipeline first)"
    )


# --- files as the app writes them (tests/fakes/screenlake_app.py) ---------------------------------

USER = "e3b0c442"
NEW, OLD = app.new_id(1), app.new_id(2)
#: A phone in UTC-7 around local midnight; the third image has no CSV row.
BEFORE = dt.datetime(2024, 3, 12, 23, 50, 45, 123000, tzinfo=app.PDT)
AFTER = dt.datetime(2024, 3, 13, 0, 10, 45, 123000, tzinfo=app.PDT)
NO_ROW = dt.datetime(2024, 3, 13, 0, 20, 0, tzinfo=app.PDT)
#: An older app version's upload: epoch seconds (as in the app's 2023 androidTest assets).
OLD_SECONDS = 1694402435
NAMES = {
    "before": app.capture_name(app.new_id(3), BEFORE),
    "after": app.capture_name(app.new_id(4), AFTER),
    "no_row": app.capture_name(app.new_id(5), NO_ROW),
    "old": f"img_{app.new_id(6)}_2023_09_10_20_20_35_000.jpg",
}
#: The older writer's unquoted segment CSV, with its extra column (androidTest
#: app_segment_data_1.csv's header): refused with a reason.
OLD_SEGMENTS = (
    b"apk,t_unix_ts_segment_start,t_unix_ts_segment_end,duration_segment_ms,id_session,"
    b"id_segment,apk_prev_1,apk_prev_2,apk_prev_3,apk_prev_4,apk_next_1,id_user\n"
    b"com.android.chrome,1694402438,1694402454,15964,f660,1567,NA,NA,NA,NA,NA,46ed\n"
)


def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (108, 240), (240, 240, 240)).save(out, format="JPEG")
    return out.getvalue()


def write_app_uploads(root: Path) -> None:
    """Two zips and two loose log CSVs of one panelist, at the keys the app uploads to."""
    new_zip = f"image_zip_{NEW}_3.zip"
    shots = [
        app.screenshot_row(USER, NAMES[n], new_zip, app.local_ms(at) + 5, app.PDT)
        for n, at in (("before", BEFORE), ("after", AFTER))
    ]
    session = [
        USER, "2024-03-13T06:50:40.000Z", "2024-03-13T07:10:50.000Z", "s1", "0", "1210000",
        "1", "0.3", app.PANEL, "ut_austin_tenant_1", "23:50:40", "03/12/2024", "00:10:50",
        "03/13/2024",
    ]  # fmt: skip
    segment = [
        "com.android.chrome", app.local_ms(BEFORE), "1200000", "s1", "g1", "NA", "NA", "NA",
        "NA", "NA", USER,
    ]  # fmt: skip
    # before the app's a561102 (2025-11-12) a SESSION_START's time was epoch seconds
    event = [USER, "SESSION_START", app.local_ms(BEFORE) // 1000, "null", "s1", "i1", "null"]
    members = {
        f"app_accessibility_data_csv_{NEW}.csv": app.csv_of("accessibility", [event]),
        f"screenshot_data_csv_{NEW}.csv": app.csv_of("screenshots", shots),
        **{NAMES[n]: _jpeg() for n in ("before", "after", "no_row")},
        f"session_data_csv_{NEW}.csv": app.csv_of("sessions", [session]),
        f"app_segment_data_csv_{NEW}.csv": app.csv_of("segments", [segment]),
    }
    old_zip = f"image_zip_{OLD}_1.zip"
    old_shot = app.screenshot_row(USER, NAMES["old"], old_zip, OLD_SECONDS * 1000, app.PDT)
    old_shot[9] = OLD_SECONDS  # t_epoch_ts_ms in seconds; the natural columns as before
    old_members = {
        f"screenshot_data_csv_{OLD}.csv": app.csv_of("screenshots", [old_shot]),
        NAMES["old"]: _jpeg(),
        f"app_segment_data_csv_{OLD}.csv": OLD_SEGMENTS,
    }
    worker = dt.datetime(2024, 3, 12, 23, 51, 40, 456000, tzinfo=app.PDT)
    logs = [
        app.log_row(f"ZIP_WORKER_RUN_{app.local_ms(worker) + 2}", app.new_id(9), USER, worker),
        app.log_row("LAST_UPLOAD", "OK", USER, AFTER),
    ]
    lone_log = [app.log_row("UPLOAD_WORKER", "Found 1 zips to upload.", USER, AFTER)]
    files = {
        app.zip_key(USER, NEW, 3): app.zip_bytes(members),
        app.zip_key(USER, OLD, 1): app.zip_bytes(old_members),
        app.log_key(USER, app.new_id(7)): app.csv_of("logs", logs),
        app.log_key(USER, app.new_id(8)): app.csv_of("logs", lone_log),
    }
    for key, body in files.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(body)


@pytest.fixture(scope="module")
def app_run(tmp_path_factory: pytest.TempPathFactory, spark: object) -> tuple[Path, object]:
    inputs = tmp_path_factory.mktemp("app")
    write_app_uploads(inputs)
    home = tmp_path_factory.mktemp("home-app")
    result = runner.run(
        runner.RunOptions(home=home, inputs=[inputs / "academia"], sources=["screenlake"])
    )
    assert result.status == "SUCCEEDED", f"{result.error}: {result.cause}"
    return home, result


def test_app_images_are_filed_by_their_csv_rows_utc_day(app_run) -> None:
    home, _ = app_run
    audit = rows(
        home,
        "SELECT image_key, date, taken_at, time_from FROM image_redactions ORDER BY taken_at",
    )
    found = [  # taken_at in UTC, as the local query engine shows it (no zone)
        (r["image_key"].rsplit("/", 1)[1], r["date"], r["taken_at"].isoformat(), r["time_from"])
        for r in audit
    ]
    assert found == [
        (NAMES["old"], "2023-09-11", "2023-09-11T03:20:35", "csv"),  # epoch seconds
        (NAMES["before"], "2024-03-13", "2024-03-13T06:50:45.128000", "csv"),
        (NAMES["after"], "2024-03-13", "2024-03-13T07:10:45.128000", "csv"),
        # no row: 00:20 local ("_24_20_00_000" in its name) with the zip's offset, -7 h
        (NAMES["no_row"], "2024-03-13", "2024-03-13T07:20:00", "file_name"),
    ]
    assert NAMES["after"].endswith("_2024_03_13_24_10_45_123.jpg")
    lake = next(home.glob("*-lake"))
    published = sorted(p.relative_to(lake).as_posix() for p in lake.glob("images/**/*.jpg"))
    assert published == sorted(
        f"images/screenlake/{USER}/{day}/{NAMES[n]}"
        for n, day in (("old", "2023-09-11"), ("before", "2024-03-13"), ("after", "2024-03-13"),
                       ("no_row", "2024-03-13"))
    )  # fmt: skip
    shots = rows(home, "SELECT date, t_epoch_ts_ms FROM screenlake_screenshots ORDER BY 2")
    assert shots == [
        {"date": "2023-09-11", "t_epoch_ts_ms": OLD_SECONDS * 1000},
        {"date": "2024-03-13", "t_epoch_ts_ms": app.local_ms(BEFORE) + 5},
        {"date": "2024-03-13", "t_epoch_ts_ms": app.local_ms(AFTER) + 5},
    ]
    events = rows(home, "SELECT type, t_unix_ts_ms, date FROM screenlake_accessibility")
    assert events == [
        {"type": "SESSION_START", "t_unix_ts_ms": app.local_ms(BEFORE) // 1000 * 1000,
         "date": "2024-03-13"}
    ]  # fmt: skip


def test_app_loose_logs_land_in_utc_with_the_learned_offset_or_flagged(app_run) -> None:
    home, _ = app_run
    logs = rows(
        home,
        "SELECT event, local_time, t_unix_ts_ms, utc_offset_min, time_from, date "
        "FROM screenlake_logs WHERE panelist = 'e3b0c442' ORDER BY local_time, event",
    )
    assert [(r["event"][:15], r["local_time"], r["utc_offset_min"], r["time_from"], r["date"])
            for r in logs] == [
        ("ZIP_WORKER_RUN_", "2024-03-12 23:51:40", -420, "local_time", "2024-03-13"),
        ("LAST_UPLOAD", "2024-03-13 00:10:45", -420, "local_time", "2024-03-13"),
        # a CSV with no ZIP_WORKER_RUN row: no offset to learn, the wall time as if UTC
        ("UPLOAD_WORKER", "2024-03-13 00:10:45", None, "local_time_as_utc", "2024-03-13"),
    ]  # fmt: skip
    assert logs[1]["t_unix_ts_ms"] == 1710313845000  # 07:10:45 UTC
    assert logs[2]["t_unix_ts_ms"] == 1710288645000  # 00:10:45 "UTC"


def test_app_sessions_and_segments_land_on_their_utc_day(app_run) -> None:
    home, _ = app_run
    sessions = rows(
        home,
        "SELECT session_start, session_end, t_natural_second_session_start AS local, date "
        "FROM screenlake_sessions",
    )
    assert sessions == [  # the app writes a session's start and end as ISO instants
        {"session_start": 1710312640000, "session_end": 1710313850000, "local": "23:50:40",
         "date": "2024-03-13"}
    ]  # fmt: skip
    segments = rows(home, "SELECT t_unix_ts_segment_start, date FROM screenlake_segments")
    assert segments == [{"t_unix_ts_segment_start": app.local_ms(BEFORE), "date": "2024-03-13"}]


def test_app_files_that_are_refused_have_a_reason(app_run) -> None:
    home, result = app_run
    notify = result.output["notify"]
    assert (notify["objects"], notify["images"]) == (4, 4)
    lake = next(home.glob("*-lake"))
    reasons = {
        json.loads(p.read_text())["source"].rsplit("/", 1)[1]: json.loads(p.read_text())["reason"]
        for p in lake.glob("quarantine/**/*.reason.json")
    }
    assert reasons == {
        f"app_segment_data_csv_{OLD}.csv": (
            "unexpected header for app_segment_data: 'apk,t_unix_ts_segment_start,"
            "t_unix_ts_segment_end,duration_segment_ms,id_session,id_segment,apk_prev_1,"
            "apk_prev_2,apk_prev_3,apk_prev_4,apk_next_1,id_user'; expected apk,"
            "t_unix_ts_segment_start,duration_segment_ms,id_session,id_segment,apk_prev_1,"
            "apk_prev_2,apk_prev_3,apk_prev_4,apk_next_1,id_user"
        )
    }
