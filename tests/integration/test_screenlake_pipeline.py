"""Screenlake through the whole pipeline: the seeded sample zips, the real state machine,
handlers and Glue script; then what a user sees: tables, quarantine, the export CLI."""

from __future__ import annotations

import csv
import json
import sys
import zipfile
from pathlib import Path

import pytest

from phenolake.sources.screenlake import convert as screenlake
from phenolake.sources.screenlake import samples as screenlake_samples
from phenolake_local import runner
from phenolake_tools import cli as cli_module
from phenolake_tools import query

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
    shown = query.query_local("SHOW PARTITIONS screenlake_sessions", home).to_pylist()
    assert [next(iter(r.values())) for r in shown] == [
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
    for name, shown in screenlake_samples.FACES.items():
        row = by_name[name]
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


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The ``phenolake`` command in-process (as its console script runs it): code, out, err."""
    capsys.readouterr()
    argv = sys.argv
    sys.argv = ["phenolake", *args]
    try:
        cli_module.main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_export_writes_the_consolidated_csvs(screenlake_run, tmp_path: Path, capsys) -> None:
    home, _, _ = screenlake_run
    code, out, err = cli(
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
    code, _, err = cli(capsys, "export", "screenlake", *args, "--home", str(home))
    assert code == 2
    assert err.strip() == message
    assert not list(tmp_path.iterdir())


def test_export_of_an_empty_lake(tmp_path: Path, capsys) -> None:
    code, _, err = cli(
        capsys,
        "export", "screenlake", "--panelist", "p001", "--out", str(tmp_path / "o"),
        "--home", str(tmp_path),
    )  # fmt: skip
    assert code == 2
    assert err.strip() == (
        f"phenolake: error: no screenlake tables in the lake at {tmp_path} (run the pipeline first)"
    )
