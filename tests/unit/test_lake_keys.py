"""lake.py's parse functions invert its builders, names that need escaping included."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from phenolake import lake

IDENTIFIER = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
#: Any text, the characters ``safe_part`` changes included (``/``, ``=``, ``%``, spaces, é, ...).
NAME = st.text(min_size=1, max_size=30)
DAY = st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)).map(dt.date.isoformat)
DAYS = st.builds(
    lake.DayKey,
    source=IDENTIFIER,
    metric=IDENTIFIER,
    participant=NAME,
    day=DAY,
    device=st.one_of(st.just(""), NAME),
)


@given(st.text(max_size=40))
def test_part_value_inverts_safe_part(value: str) -> None:
    encoded = lake.safe_part(value)
    assert "/" not in encoded and "=" not in encoded and encoded
    assert lake.part_value(encoded) == value


def test_safe_names_are_unchanged_and_others_are_escaped_as_hive_does() -> None:
    assert lake.safe_part("fc096") == "fc096"
    assert lake.safe_part("a.b-c_d") == "a.b-c_d"
    assert lake.safe_part("a/b c") == "a%2Fb%20c"
    assert lake.safe_part("é") == "%C3%A9"
    assert lake.safe_part("") == lake.EMPTY_PART
    assert lake.part_value(lake.safe_part(lake.EMPTY_PART)) == lake.EMPTY_PART


@given(DAYS)
def test_merged_day_inverts_merged_key(day: lake.DayKey) -> None:
    key = lake.merged_key(day)
    assert lake.merged_day(key) == day
    assert lake.parse_merged_key(key) == {
        "source": day.source,
        "metric": day.metric,
        "participant": day.participant,
        "device": day.device,
        "date": day.day,
    }
    # Spark's inputFiles: URIs, escaped once more (a key's "%" becomes "%25")
    assert lake.parse_merged_path(f"s3://bucket/{quote(key)}") == day
    assert lake.parse_merged_path(f"file:///tmp/home/bucket/{quote(key)}") == day
    assert lake.parse_merged_path(f"/tmp/home/bucket/{key}") == day
    assert lake.parse_partitions(key)["participant"] == day.participant
    assert key.startswith(lake.participant_prefix(day.source, day.metric, day.participant))


def test_other_keys_are_not_merged_days() -> None:
    for key in (
        "merged/mhealth/readings/participant=1/date=2024-10-01/other.parquet",
        "merged/mhealth/readings/date=2024-10-01/part-0.parquet",
        "stage/mhealth/readings/participant=1/date=2024-10-01/part-0.parquet",
        "merged/mhealth/readings/site=x/participant=1/date=2024-10-01/part-0.parquet",
        "merged/mhealth/readings/participant=%ZZ/date=2024-10-01/part-0.parquet",
    ):
        assert lake.merged_day(key) is None, key
    assert lake.parse_merged_key("curated/x/part-0.parquet") is None


@given(st.from_regex(r"run-[a-z0-9]{1,8}", fullmatch=True), NAME.filter(lambda n: n.strip("/")))
def test_parse_reason_key_inverts_quarantine_and_reason_keys(run_id: str, original: str) -> None:
    original = original.lstrip("/")
    key = lake.reason_key(lake.quarantine_key(run_id, original))
    assert lake.parse_reason_key(key) == (run_id, original)
    assert lake.parse_reason_key(lake.quarantine_key(run_id, original)) is None


def test_parse_failure_key_names_the_state() -> None:
    key = lake.failures_prefix("run-1") + "UnzipOne-6f1c.json"
    assert lake.parse_failure_key(key) == ("run-1", "UnzipOne")
    assert lake.parse_failure_key(lake.manifest_key("run-1", "failures.json")) is None


@given(NAME, NAME)
def test_partition_keys_of_curated_tables_parse_back(source: str, day: str) -> None:
    key = lake.curated_partition_key("completeness", [("source", source), ("date", day)])
    assert key.startswith(lake.curated_prefix("completeness"))
    assert lake.parse_partitions(key) == {"source": source, "date": day}


def test_the_keys_the_glue_jobs_build() -> None:
    assert lake.side_prefix("embrace", "duplicates") == "stage/embrace/duplicates/"
    side = lake.side_key("embrace", "duplicates", "fc 096", "raw/x.csv")
    assert side.startswith("stage/embrace/duplicates/participant=fc%20096/")
    assert lake.merged_prefix("screenlake", "logs") == "merged/screenlake/logs/"
    assert lake.merged_source_prefix("radar") == "merged/radar/"
    # as Spark lists a file whose participant needed escaping
    spark = (
        "file:///h/lake/merged/screenlake/logs/participant=a%2520b/date=2024-10-01/part-0.parquet"
    )
    assert lake.parse_merged_path(spark) == lake.DayKey("screenlake", "logs", "a b", "2024-10-01")
    assert lake.participant_prefix("embrace", "acc", "fc096") == (
        "merged/embrace/acc/participant=fc096/"
    )


def test_item_manifests_and_reports_keys() -> None:
    assert lake.item_manifest_key("r", "extracted", "mhealth/a.zip") == (
        f"manifests/r/extracted/{lake.key_digest('mhealth/a.zip')}.json"
    )
    assert lake.item_manifest_prefix("r", "converted") == "manifests/r/converted/"
    assert lake.plan_key("r") == "manifests/r/plan.json"
    assert lake.image_key("screenlake", "p/1", "2024-10-01", "img.jpg") == (
        "images/screenlake/p%2F1/2024-10-01/img.jpg"
    )
    assert lake.qa_image_key("r", "2024-W40", "p1", "img.jpg") == (
        "reports/qa/r/2024-W40/p1_img.jpg"
    )
    assert lake.qa_index_key("r") == "reports/qa/r/index.json"
    prefix = lake.timestream_load_prefix("r", "embrace", "eda")
    assert prefix == "manifests/r/timestream/load/embrace/eda/"
    assert lake.timestream_csv_key(prefix, "merged/x") == (
        f"{prefix}{lake.key_digest('merged/x')}.csv"
    )


PATH = st.from_regex(r"[A-Za-z0-9_.-]{1,10}(/[A-Za-z0-9_. -]{1,10}){0,3}", fullmatch=True)


@given(IDENTIFIER, PATH, st.none() | PATH)
def test_raw_relative_inverts_raw_key(source: str, landing: str, member: str | None) -> None:
    key = lake.raw_key(source, lake.landing_key(source, landing), member)
    assert key.startswith(lake.raw_prefix(source))
    assert lake.raw_relative(source, key) == (landing if member is None else f"{landing}/{member}")
