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


def test_image_facts_give_panelist_and_utc_capture_time() -> None:
    name = "img_0b6f1c2e-1111-4222-8333-944455556666_2024_10_01_23_58_30_137.jpg"
    assert SOURCE.image_facts(f"{ZIP}/{name}") == ImageFacts(
        participant="p001",
        taken_at=dt.datetime(2024, 10, 1, 23, 58, 30, 137000, tzinfo=dt.UTC),
    )
    assert SOURCE.image_facts(f"{ZIP}/img_x_2024_13_45_99_00_00_000.jpg") == ImageFacts("p001")
    assert SOURCE.image_facts("loose/img_x_2024_10_01_23_58_30_137.jpg") is None


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


def test_fetch_task_is_an_s3_copy_of_the_panel_bucket() -> None:
    assert SOURCE.fetch_tasks({}) == []
    [task] = SOURCE.fetch_tasks(
        {"bucket": "screenlake-zip-prod", "prefix": "academia/tenant/17_x/", "include_sites": ["a"]}
    )
    assert task.as_dict() == {
        "source": "screenlake",
        "kind": "s3",
        "bucket": "screenlake-zip-prod",
        "prefix": "academia/tenant/17_x/",
        "include_sites": ["a"],
        "keep_prefix": True,
    }


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
    assert table.column_names[:4] == ["event", "msg", "id_user", "t_unix_ts_ms"]
    assert table["msg"].to_pylist() == ['zip "a","b" sent']


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
