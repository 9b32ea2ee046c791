"""The Screenlake source: the quoted-CSV reader, member and image mapping, each CSV kind."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from phenolake import sources
from phenolake.sources import toolkit
from phenolake.sources.base import ImageFacts, Member, Provenance, RejectedFile
from phenolake.sources.screenlake import convert as screenlake
from phenolake.sources.screenlake import samples as screenlake_samples
from phenolake.sources.toolkit import Rejection, RejectionReport
from tests.fakes import screenlake_app as app

SOURCE = screenlake.Screenlake()
PROV = Provenance(source_key="raw/screenlake/k.csv", source_sha256="cd" * 32, run_id="r1")
ZIP = (
    "academia/tenant/17_northfield/panel/3/V_2/panelist/p001/"
    "image_zip_0b6f1c2e-1111-4222-8333-944455556666_3.zip"
)
MS = 1727827110137  # 2024-10-01T23:58:30.137Z


def record(*fields: object) -> str:
    """A line as the phone app writes it: every field quoted, nothing escaped."""
    return '"' + '","'.join("null" if f is None else str(f) for f in fields) + '"\n'


def header(metric: str) -> str:
    return record(*(c.csv for c in screenlake.KINDS[metric].columns))


def convert(metric: str, text: str | bytes) -> tuple[pa.Table, list[Rejection], list[str]]:
    data = text.encode() if isinstance(text, str) else text
    member = Member(source="screenlake", participant="p001", metric=metric)
    report = RejectionReport()
    batches = list(toolkit.convert(SOURCE, io.BytesIO(data), member, PROV, report))
    rejections = report.rejections()
    schema = screenlake.KINDS[metric].schema
    table = pa.concat_tables([b.table for b in batches]) if batches else schema.empty_table()
    assert table.schema == schema
    return table, rejections, [b.day for b in batches]


def by_reason(rejections: list[Rejection]) -> dict[str, tuple[int, list[str]]]:
    return {r.reason: (r.rows, r.examples) for r in rejections}


def screenshot(text: str = "hello", ms: object = MS, app: str = "WhatsApp") -> str:
    return record(
        "p001", "img_a_2024_10_01_23_58_30_137.jpg", "image_zip_x_3.zip", "com.whatsapp",
        "s1", "g1", app, text, "Tuesday", ms, "2024-10-01T23:58:30.137Z", "23:58:30",
        "2024-10-01",
    )  # fmt: skip


# --- mapping --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "metric"),
    [
        ("screenshot_data_csv_0b6f.csv", "screenshots"),
        ("screenshot_data_0b6f.csv", "screenshots"),
        ("app_accessibility_data_0b6f.csv", "accessibility"),
        ("app_accessibility_data_csv_0b6f.csv", "accessibility"),
        ("app_segment_data_0b6f.csv", "segments"),
        ("session_data_0b6f.csv", "sessions"),
        ("session_data_csv_0b6f.csv", "sessions"),
        ("log_data_0b6f.csv", "logs"),
    ],
)
def test_member_is_the_panelist_and_the_csv_kind(name: str, metric: str) -> None:
    member = SOURCE.member(f"{ZIP}/{name}")
    assert member == Member(source="screenlake", participant="p001", metric=metric)
    assert SOURCE.member(f"screenlake/{ZIP}/{name}") == member  # below the user's folder too


def test_files_that_are_not_screenlake_data_have_no_member() -> None:
    assert SOURCE.member(f"{ZIP}/notes.txt") is None
    assert SOURCE.member(f"{ZIP}/img_x_2024_10_01_23_58_30_137.jpg") is None
    assert SOURCE.member("image_zip_x_3.zip/screenshot_data_csv_x.csv") is None  # no panelist


def test_without_a_panelist_folder_the_zips_folder_is_the_panelist() -> None:
    member = SOURCE.member("uploads/p007/image_zip_x_3.zip/log_data_x.csv")
    assert member == Member(source="screenlake", participant="p007", metric="logs")
    facts = SOURCE.image_facts("p007/image_zip_x_3.zip/img_x_2024_10_01_23_58_30_137.jpg")
    assert facts is not None and facts.participant == "p007"


def test_image_facts_from_the_path_alone_read_the_name_as_utc_and_say_so() -> None:
    name = "img_0b6f1c2e-1111-4222-8333-944455556666_2024_10_01_23_58_30_137.jpg"
    assert SOURCE.image_facts(f"{ZIP}/{name}") == ImageFacts(
        participant="p001",
        taken_at=dt.datetime(2024, 10, 1, 23, 58, 30, 137000, tzinfo=dt.UTC),
        time_from="file_name_as_utc",
    )
    assert SOURCE.image_facts(f"{ZIP}/img_x_2024_13_45_99_00_00_000.jpg") == ImageFacts("p001")
    assert SOURCE.image_facts("loose/img_x_2024_10_01_23_58_30_137.jpg") is None


@pytest.mark.parametrize(
    ("name", "wall"),
    [
        # kk: the midnight hour is 24, on the date of that same day (Java 17 formats
        # 2024-03-13 00:10:45.123 local as 2024_03_13_24_10_45_123)
        ("img_a_2024_03_13_24_10_45_123.jpg", dt.datetime(2024, 3, 13, 0, 10, 45, 123000)),
        ("img_a_2024_03_12_23_50_45_123.jpg", dt.datetime(2024, 3, 12, 23, 50, 45, 123000)),
        # ScreenshotService.saveImageToFile since 2026: yyyy-MM-dd_HH-mm-ss, no ms
        ("img_0b6f1c2eScreenshot_2026-03-30_00-05-09.jpg", dt.datetime(2026, 3, 30, 0, 5, 9)),
        ("img_a_2024_03_13_25_10_45_123.jpg", None),
    ],
)
def test_the_file_names_local_time(name: str, wall: dt.datetime | None) -> None:
    assert screenlake.name_time(f"{ZIP}/{name}") == wall
    assert SOURCE.recognise(name)  # its shape; a time that does not read is no time


def test_recognise_and_registry() -> None:
    assert sources.get("screenlake").name == "screenlake"
    assert sources.recognise(ZIP) == "screenlake"
    assert SOURCE.recognise("screenshot_data_csv_x.csv")
    assert not SOURCE.recognise("mHealth_subject1.log")
    assert SOURCE.nominal_hz == {}
    assert SOURCE.tables == (
        "screenlake_screenshots",
        "screenlake_accessibility",
        "screenlake_segments",
        "screenlake_sessions",
        "screenlake_logs",
    )


def test_fetch_tasks_copy_the_panel_and_its_loose_logs() -> None:
    assert SOURCE.fetch_tasks({}) == []
    zips, logs = SOURCE.fetch_tasks(
        {"bucket": "screenlake-zip-prod", "prefix": "academia/tenant/17_x/", "include_sites": ["a"]}
    )
    assert zips.as_dict() == {
        "source": "screenlake",
        "kind": "s3",
        "bucket": "screenlake-zip-prod",
        "prefix": "academia/tenant/17_x/",
        "include_sites": ["a"],
        "keep_prefix": True,
    }
    assert logs.as_dict() == {**zips.as_dict(), "prefix": "academia/log_events_v2/"}
    [everything] = SOURCE.fetch_tasks({"bucket": "screenlake-zip-prod"})
    assert everything.spec["prefix"] == "academia/"  # holds tenant/ and log_events_v2/


def test_a_loose_log_csv_is_the_panelists_logs() -> None:
    key = app.log_key("e3b0c442", app.new_id(7))
    assert key == f"academia/log_events_v2/e3b0c442/V_12/{app.new_id(7)}.csv"
    assert SOURCE.recognise(key)
    assert SOURCE.member(key) == Member(source="screenlake", participant="e3b0c442", metric="logs")
    assert SOURCE.member("test/log_events_v2/e3b0c442/V_12/x.csv") is not None
    assert SOURCE.reject_reason(key) is None


def test_a_csv_in_an_upload_that_is_no_kind_is_refused_with_a_reason() -> None:
    assert SOURCE.member(f"{ZIP}/topics.csv") is None
    reason = SOURCE.reject_reason(f"{ZIP}/topics.csv")
    assert reason is not None and reason.startswith("not a Screenlake CSV")
    assert SOURCE.reject_reason(f"{ZIP}/notes.txt") is None


# --- the reader -----------------------------------------------------------------------------

#: Ids, app names, numbers: no quotes. Free text: anything, but a text ending in '",' right
#: before the next field reads as ending one character early (nothing is escaped).
PLAIN = st.text(st.sampled_from("ab ,\nxé"), max_size=12)
FREE = st.text(st.sampled_from('ab ,"\nxé'), max_size=30).filter(lambda s: not s.endswith('",'))


def _unambiguous(text: str, columns: int, free: int | None) -> bool:
    """Neither its first lines nor a later line is a whole record by itself.

    Either would be read as a record: the format cannot tell a newline right after a quote
    inside the text from the end of a record (the app escapes nothing)."""
    lines = text.split("\n")
    prefixes = ("\n".join(lines[:k]) for k in range(1, len(lines)))
    return all(screenlake.split_record(p, columns, free) is None for p in prefixes) and all(
        screenlake.split_record(line, columns, free) is None for line in lines[1:]
    )


@given(
    st.integers(min_value=1, max_value=8).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.integers(min_value=0, max_value=n - 1),
            st.lists(PLAIN, min_size=n, max_size=n),
            FREE,
        )
    )
)
def test_a_written_record_reads_back_whatever_its_free_text_holds(
    case: tuple[int, int, list[str], str],
) -> None:
    columns, free, fields, text = case
    fields[free] = text
    written = '"' + '","'.join(fields) + '"'
    assume(_unambiguous(written, columns, free))
    records = list(screenlake.read_records(written.split("\n"), columns, free))
    assert records == [screenlake.Record(fields, 1, written.count("\n") + 1)]


@given(st.lists(st.text(st.sampled_from('ab,"\n'), max_size=20), max_size=12), st.booleans())
def test_every_line_is_a_record_or_reported(lines: list[str], has_free: bool) -> None:
    """Nothing is dropped silently: the records and the bad spans cover every line, in order."""
    items = list(screenlake.read_records(lines, 3, 2 if has_free else None))
    covered = []
    for item in items:
        covered.extend(range(item.first_line, item.first_line + item.lines))
        if isinstance(item, screenlake.Record):
            assert len(item.fields) == 3
    assert covered == list(range(1, len(lines) + 1))


def test_a_missing_field_is_cut_short_and_the_next_record_kept() -> None:
    lines = ['"a","b"', '"c","d","e"', '"f","g","h"']
    items = list(screenlake.read_records(lines, 3, 2))
    assert items == [
        screenlake.Bad(screenlake.CUT_SHORT, 1, 1, '"a","b"'),
        screenlake.Record(["c", "d", "e"], 2, 1),
        screenlake.Record(["f", "g", "h"], 3, 1),
    ]


def test_extra_separators_go_to_the_free_text_column_in_the_middle() -> None:
    assert screenlake.split_record('"1","a","b","c","2"', 3, 1) == ["1", 'a","b","c', "2"]
    assert screenlake.split_record('"1","a","b","c","2"', 3, None) is None
    assert screenlake.split_record('"1","2"', 3, 1) is None
    assert screenlake.split_record("1,2,3", 3, 1) is None


# --- conversion of each kind ----------------------------------------------------------------


def test_screenshots_keep_quotes_separators_and_newlines_in_text() -> None:
    texts = ['he said "hi"', 'a","b', "two\nlines", 'ends with "', "null", "NA"]
    body = header("screenshots") + "".join(screenshot(t, MS + i) for i, t in enumerate(texts))
    table, rejections, days = convert("screenshots", body)
    assert rejections == []
    assert table["text"].to_pylist() == [*texts[:4], None, None]
    assert table["t_epoch_ts_ms"].to_pylist() == [MS + i for i in range(6)]
    assert table["timestamp"][0].as_py() == dt.datetime(
        2024, 10, 1, 23, 58, 30, 137000, tzinfo=dt.UTC
    )
    assert table["row_index"].to_pylist() == list(range(6))
    assert set(table["source_sha256"].to_pylist()) == {"cd" * 32}
    assert days == ["2024-10-01"]


def test_rows_are_split_by_utc_day_and_sorted_by_time() -> None:
    body = header("screenshots") + screenshot("late", MS + 3_600_000) + screenshot("early", MS)
    table, _, days = convert("screenshots", body)
    assert days == ["2024-10-01", "2024-10-02"]
    assert table["text"].to_pylist() == ["early", "late"]
    assert table["row_index"].to_pylist() == [1, 0]


def test_bad_screenshot_rows_are_counted_with_examples() -> None:
    body = (
        header("screenshots")
        + screenshot("ok")
        + screenshot("no time", "null")
        + screenshot("bad time", "yesterday")
        + screenshot("zero time", 0)
        + screenshot("ok 2")
        + screenshot("ok 3")
        + screenshot("ok 4")
        + '"p001","cut","short"\n'
        + screenshot("ok 5")
    )
    table, rejections, _ = convert("screenshots", body)
    assert table["text"].to_pylist() == ["ok", "ok 2", "ok 3", "ok 4", "ok 5"]
    found = by_reason(rejections)
    assert {reason: rows for reason, (rows, _) in found.items()} == {
        "no time: column t_epoch_ts_ms is null": 1,
        "not epoch milliseconds or an ISO-8601 time in column t_epoch_ts_ms": 1,
        "time outside 2000..2100 in column t_epoch_ts_ms": 1,
        screenlake.CUT_SHORT: 1,
    }
    assert found[screenlake.CUT_SHORT][1] == ['line 9: \'"p001","cut","short"\'']
    assert found["no time: column t_epoch_ts_ms is null"][1][0].startswith("line 3: ")
    assert table["row_index"].to_pylist() == [0, 4, 5, 6, 8]


def test_accessibility_text_is_the_last_column() -> None:
    body = header("accessibility") + record(
        "p001", "TYPE_VIEW_CLICKED", MS, "com.x", "s1", "i1", 'Send "now","later"'
    )
    table, rejections, _ = convert("accessibility", body)
    assert rejections == []
    assert table["text"].to_pylist() == ['Send "now","later"']
    assert table["t_unix_ts_ms"].to_pylist() == [MS]


def test_segments_durations_are_bigints_and_na_is_null() -> None:
    row = ["com.x", MS, 45000, "s1", "g1", "NA", "NA", "NA", "NA", "com.y", "p001"]
    bad = ["com.x", MS, "45 s", "s1", "g1", "NA", "NA", "NA", "NA", "com.y", "p001"]
    table, rejections, _ = convert(
        "segments", header("segments") + record(*row) + record(*row) + record(*bad)
    )
    assert table["duration_segment_ms"].to_pylist() == [45000, 45000]
    assert table["apk_prev_1"].to_pylist() == [None, None]
    bad_text = '","'.join(map(str, bad))
    assert by_reason(rejections) == {
        "not an integer in column duration_segment_ms": (1, [f"line 4: {bad_text!r}"])
    }


def test_sessions_accept_epoch_ms_or_iso_times_and_null_counts() -> None:
    base = ["p001", MS, MS + 90000, "s1", None, 90000, 2, "3", "3", "17"]
    tail = ["23:58:30", "2024-10-01", "00:00:00", "2024-10-02"]
    iso = ["p001", "2024-10-01T23:58:30.137Z", "2024-10-02T00:00:00.137+00:00", "s2", 5, 1, 3]
    body = header("sessions") + record(*base, *tail) + record(*iso, "3", "3", "17", *tail)
    table, rejections, _ = convert("sessions", body)
    assert rejections == []
    assert table["session_start"].to_pylist() == [MS, MS]
    assert table["session_end"].to_pylist() == [MS + 90000, MS + 90000]
    assert table["seconds_since_last_active_ms"].to_pylist() == [None, 5]


def test_log_columns_are_renamed_and_the_message_is_free_text() -> None:
    body = header("logs") + record("UPLOAD", 'zip "a","b" sent', "p001", MS)
    table, rejections, _ = convert("logs", body)
    assert rejections == []
    assert table.column_names[:7] == [
        "event", "msg", "id_user", "local_time", "t_unix_ts_ms", "utc_offset_min", "time_from"
    ]  # fmt: skip
    assert table["msg"].to_pylist() == ['zip "a","b" sent']
    assert table.select(["t_unix_ts_ms", "time_from"]).to_pylist() == [
        {"t_unix_ts_ms": MS, "time_from": "epoch"}  # epoch ms as written: already UTC
    ]


def test_sessions_have_no_free_text_so_extra_separators_are_rejected() -> None:
    good = ["p001", MS, MS, "s1", 1, 1, 1, "3", "3", "17", "a", "b", "c", "d"]
    extra = ["p001", MS, MS, 's1","x', 1, 1, 1, "3", "3", "17", "a", "b", "c", "d"]
    body = header("sessions") + record(*good) + record(*extra) + record(*good)
    table, rejections, _ = convert("sessions", body)
    assert table.num_rows == 2
    assert by_reason(rejections)[screenlake.TOO_MANY][0] == 1


def test_windows_line_ends_bom_and_a_line_that_is_not_utf8() -> None:
    body = "\ufeff" + header("logs") + record("A", "m", "p", MS) + record("B", "m", "p", MS)
    data = body.replace("\n", "\r\n").encode() + b'"C","\xff\xfe","p","1727827110137"\r\n'
    data += record("D", "m", "p", MS).encode()
    table, rejections, _ = convert("logs", data)
    assert table["event"].to_pylist() == ["A", "B", "D"]
    assert by_reason(rejections)[screenlake.NOT_UTF8][0] == 1


def test_whole_file_rejections() -> None:
    with pytest.raises(RejectedFile, match="empty file"):
        convert("logs", b"")
    with pytest.raises(RejectedFile, match="unexpected header for log_data"):
        convert("logs", record("a", "b", "c", "d"))
    with pytest.raises(RejectedFile, match="no valid rows"):
        convert("logs", header("logs") + record("A", "m", "p", "soon"))
    with pytest.raises(RejectedFile, match="most records are bad"):
        convert("logs", header("logs") + record("A", "m", "p", MS) + "x\ny\n")
    table, rejections, _ = convert("logs", header("logs"))  # no events: nothing, no error
    assert (table.num_rows, rejections) == (0, [])


# --- samples --------------------------------------------------------------------------------


def test_samples_are_seeded_zips_with_every_kind_and_real_jpegs(tmp_path: Path) -> None:
    first = SOURCE.write_samples(tmp_path / "a", 7)
    second = SOURCE.write_samples(tmp_path / "b", 7)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    assert [p.relative_to(tmp_path / "a").parts[7] for p in first] == ["p001", "p001", "p002"]
    with zipfile.ZipFile(first[0]) as zf:
        names = zf.namelist()
        images = [n for n in names if n.endswith(".jpg")]
        kinds = {SOURCE.member(f"{first[0]}/{n}").metric for n in names if n.endswith(".csv")}
        jpeg = zf.read(images[0])
    assert kinds == set(screenlake.KINDS)
    assert jpeg[:2] == b"\xff\xd8" and b"Exif" not in jpeg[:64]
    from PIL import Image

    assert Image.open(io.BytesIO(jpeg)).size == (1080, 2400)
    faces = [screenlake_samples.FACES[n] for n in images]
    assert all(SOURCE.image_facts(f"{first[0]}/{n}").taken_at for n in images)
    assert len(faces) == len(images) and sum(screenlake_samples.FACES.values()) > 0
    assert 0 in screenlake_samples.FACES.values()


# --- the app's own times: local file names and log times, epoch seconds ----------------------

USER = "e3b0c442"
ZIP_ID = app.new_id(1)
ZIP_NAME = f"image_zip_{ZIP_ID}_3.zip"
#: Local times on a phone in UTC-7 around local midnight (as in the app's shipped zip).
BEFORE_MIDNIGHT = dt.datetime(2024, 3, 12, 23, 50, 45, 123000, tzinfo=app.PDT)
AFTER_MIDNIGHT = dt.datetime(2024, 3, 13, 0, 10, 45, 123000, tzinfo=app.PDT)
NO_ROW = dt.datetime(2024, 3, 13, 0, 20, 0, tzinfo=app.PDT)


def zip_files(tmp_path: Path, members: dict[str, bytes]) -> dict[str, Path]:
    """An extracted zip as Unzip hands it to ``export_image_facts``: raw path -> local file."""
    files = {}
    for name, body in members.items():
        path = tmp_path / name
        path.write_bytes(body)
        files[f"{app.zip_key(USER, ZIP_ID, 3)}/{name}"] = path
    return files


def test_an_images_time_is_its_csv_row_else_its_name_with_the_learned_offset(
    tmp_path: Path,
) -> None:
    before = app.capture_name(app.new_id(2), BEFORE_MIDNIGHT)
    after = app.capture_name(app.new_id(3), AFTER_MIDNIGHT)
    lonely = app.capture_name(app.new_id(4), NO_ROW)
    assert (before[-27:], after[-27:]) == (
        "2024_03_12_23_50_45_123.jpg",
        "2024_03_13_24_10_45_123.jpg",
    )
    # the row's time is taken a few ms after the name's (the shipped zip: _501 vs 1710276897506)
    rows = [
        app.screenshot_row(USER, before, ZIP_NAME, app.local_ms(BEFORE_MIDNIGHT) + 5, app.PDT),
        app.screenshot_row(USER, after, ZIP_NAME, app.local_ms(AFTER_MIDNIGHT) + 5, app.PDT),
    ]
    members = {f"screenshot_data_csv_{ZIP_ID}.csv": app.csv_of("screenshots", rows)}
    members |= {before: b"jpeg", after: b"jpeg", lonely: b"jpeg"}
    facts = SOURCE.export_image_facts(zip_files(tmp_path, members))
    found = {
        path.rsplit("/", 1)[1]: (f.participant, f.taken_at.isoformat(), f.time_from)
        for path, f in facts.items()
        if f.taken_at
    }
    assert found == {
        before: (USER, "2024-03-13T06:50:45.128000+00:00", "csv"),
        after: (USER, "2024-03-13T07:10:45.128000+00:00", "csv"),
        lonely: (USER, "2024-03-13T07:20:00+00:00", "file_name"),  # 00:20 local, UTC-7
    }


def test_an_image_of_a_zip_without_rows_keeps_its_names_wall_time_flagged(tmp_path: Path) -> None:
    lonely = app.capture_name(app.new_id(4), NO_ROW)
    facts = SOURCE.export_image_facts(zip_files(tmp_path, {lonely: b"jpeg"}))
    [(_, only)] = facts.items()
    assert (only.taken_at, only.time_from) == (
        dt.datetime(2024, 3, 13, 0, 20, tzinfo=dt.UTC),
        "file_name_as_utc",
    )


def test_the_real_zips_row_gives_the_devices_offset() -> None:
    # app/src/main/assets/image_zip_178ecc88-..._51.zip, its first screenshot row
    row = screenlake.Typed(
        [*[None] * 9, 1710276897506, "2024-03-12T20:54:57.506Z", "13:54:57", "03/12/2024"],
        1710276897506,
    )
    assert screenlake.learned_offsets(screenlake.KINDS["screenshots"], [row]) == [
        (screenlake.wall_ms("03/12/2024", "13:54:57"), -420)
    ]


def test_a_loose_log_csv_becomes_utc_with_the_offset_its_zip_worker_rows_carry() -> None:
    worker = dt.datetime(2024, 3, 12, 23, 51, 40, 456000, tzinfo=app.PDT)
    rows = [
        app.log_row("UPLOAD_WORKER", "Found 1 zips to upload.", USER, BEFORE_MIDNIGHT),
        app.log_row(f"ZIP_WORKER_RUN_{app.local_ms(worker) + 2}", app.new_id(9), USER, worker),
        app.log_row("LAST_UPLOAD", "OK", USER, AFTER_MIDNIGHT),
    ]
    table, rejections, days = convert("logs", app.csv_of("logs", rows))
    assert rejections == []
    assert days == ["2024-03-13"]  # 23:50 and 00:10 local are 06:50 and 07:10 UTC
    assert table.select(["event", "local_time", "utc_offset_min", "time_from"]).to_pylist() == [
        {"event": "UPLOAD_WORKER", "local_time": "2024-03-12 23:50:45",
         "utc_offset_min": -420, "time_from": "local_time"},
        {"event": f"ZIP_WORKER_RUN_{app.local_ms(worker) + 2}", "local_time": "2024-03-12 23:51:40",
         "utc_offset_min": -420, "time_from": "local_time"},
        {"event": "LAST_UPLOAD", "local_time": "2024-03-13 00:10:45",
         "utc_offset_min": -420, "time_from": "local_time"},
    ]  # fmt: skip
    assert [t.isoformat() for t in table["timestamp"].to_pylist()] == [
        "2024-03-13T06:50:45+00:00",
        "2024-03-13T06:51:40+00:00",
        "2024-03-13T07:10:45+00:00",
    ]
    assert table["t_unix_ts_ms"].to_pylist()[0] == 1710312645000


def test_a_log_csv_with_no_offset_to_learn_keeps_the_wall_time_and_flags_it() -> None:
    rows = [app.log_row("LAST_UPLOAD", "OK", USER, AFTER_MIDNIGHT)]
    table, rejections, days = convert("logs", app.csv_of("logs", rows))
    assert (rejections, days) == ([], ["2024-03-13"])
    assert table.select(["t_unix_ts_ms", "utc_offset_min", "time_from"]).to_pylist() == [
        {"t_unix_ts_ms": 1710288645000, "utc_offset_min": None, "time_from": "local_time_as_utc"}
    ]  # 2024-03-13 00:10:45 as if UTC


def test_an_old_file_of_epoch_seconds_is_read_as_seconds_per_file() -> None:
    # app_segment_data_1.csv in the app's androidTest assets (2023): epoch seconds
    rows = [
        ["com.samsung.accessibility", 1694402435, 3, "f660", "bf5a", "NA", "NA", "NA", "NA",
         "com.android.chrome", "46ed"],
        ["com.android.chrome", 1694402438, 15964, "f660", "1567", "com.samsung.accessibility",
         "NA", "NA", "NA", "NA", "46ed"],
    ]  # fmt: skip
    table, rejections, days = convert("segments", app.csv_of("segments", rows))
    assert (rejections, days) == ([], ["2023-09-11"])
    assert table["t_unix_ts_segment_start"].to_pylist() == [1694402435000, 1694402438000]
    assert table["timestamp"].to_pylist()[0].isoformat() == "2023-09-11T03:20:35+00:00"
    # per file, not per value: one stray value in a file of ms is refused, not rescaled
    ms_rows = [[*rows[0][:1], 1694402435000, *rows[0][2:]], rows[1]]
    table, rejections, _ = convert("segments", app.csv_of("segments", ms_rows))
    assert table["t_unix_ts_segment_start"].to_pylist() == [1694402435000]
    assert (
        by_reason(rejections)["time outside 2000..2100 in column t_unix_ts_segment_start"][0] == 1
    )


def test_accessibility_session_start_rows_of_seconds_in_a_file_of_ms() -> None:
    # before a561102 the app wrote SESSION_START / APP_RESTRICTED eventTime in seconds
    rows = [
        [USER, "SESSION_START", 1710276730, "null", "s1", "i1", "null"],
        [USER, "CLICKED_EVENT", 1710276732572, "com.android.systemui", "s1", "i2", " Recents "],
    ]
    table, rejections, _ = convert("accessibility", app.csv_of("accessibility", rows))
    assert rejections == []
    assert table["t_unix_ts_ms"].to_pylist() == [1710276730000, 1710276732572]


def test_times_in_another_locales_digits_read_as_the_same_times() -> None:
    # SimpleDateFormat with Locale.getDefault() writes e.g. Arabic-Indic digits
    arabic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    name = "img_a_2024_03_13_24_10_45_123.jpg"
    assert screenlake.name_time(name.translate(arabic)) == screenlake.name_time(name)
    rows = [app.log_row("LAST_UPLOAD", "OK", USER, AFTER_MIDNIGHT)]
    local = rows[0][3]
    rows[0][3] = local.translate(arabic)
    table, rejections, _ = convert("logs", app.csv_of("logs", rows))
    assert rejections == []
    assert table["t_unix_ts_ms"].to_pylist() == [1710288645000]
    assert table["local_time"].to_pylist() == [local.translate(arabic)]  # kept as written


def test_an_epoch_that_overflows_once_scaled_is_refused_not_a_crash() -> None:
    rows = [
        [
            USER,
            1694402435,
            9_300_000_000_000_000,
            "s1",
            1,
            1,
            1,
            "0.3",
            "p",
            "t",
            "a",
            "b",
            "c",
            "d",
        ],
        [USER, 1694402436, 1694402437, "s2", 1, 1, 1, "0.3", "p", "t", "a", "b", "c", "d"],
    ]
    table, rejections, _ = convert("sessions", app.csv_of("sessions", rows))
    assert table["session_end"].to_pylist() == [1694402437000]
    assert by_reason(rejections)["integer out of the bigint range"][0] == 1
