"""The step contracts: what a writer dumps its reader loads back unchanged, and a malformed
manifest or item is refused in one line naming where and which field."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phenolake import contracts, lake
from phenolake.contracts import (
    ContractError,
    ConvertedManifest,
    ConvertedWork,
    CurateItem,
    DayItem,
    ExtractedManifest,
    ImageBatch,
    ImageRef,
    LandedObject,
    Plan,
    RawFile,
    StagedDay,
    Thresholds,
)
from phenolake.steps import collect

TEXT = st.text(min_size=1, max_size=12)


def _round_trip(model: contracts.Contract) -> None:
    wire = json.loads(json.dumps(contracts.dump(model)))
    assert type(model).model_validate(wire) == model


@given(
    st.builds(
        StagedDay,
        source=TEXT,
        metric=TEXT,
        participant=TEXT,
        day=TEXT,
        device=st.just("") | TEXT,
        rows=st.integers(0, 10**9),
    ),
    st.none() | TEXT,
    st.none() | st.lists(TEXT, max_size=2),
)
def test_a_converted_manifest_round_trips(
    day: StagedDay, quarantined: str | None, side: list[str] | None
) -> None:
    manifest = ConvertedManifest(
        key="raw/x", source="mhealth", sha256="0", days=[day], quarantined=quarantined,
        side_tables=side, rows=day.rows,
    )  # fmt: skip
    _round_trip(manifest)
    wire = contracts.dump(manifest)
    # fields the writer never set stay off the wire, as before the contracts
    assert ("quarantined" in wire) == (quarantined is not None)
    assert "not_data" not in wire
    assert DayItem.of(day.day_key()) == DayItem(**day.model_dump(exclude={"rows"}))


def test_an_extracted_manifest_round_trips_and_keeps_its_shape() -> None:
    landed = LandedObject(source="mhealth", bucket="l", key="mhealth/a.zip", etag="e", size=3)
    manifest = ExtractedManifest(
        landing=landed,
        source="mhealth",
        images=[ImageRef(bucket="s", key="i.jpg", participant="p", taken_at=None)],
        data=[contracts.DataFile(bucket="k", key="raw/mhealth/a.zip/a.log", ingest_run_id="r")],
        rejected=[contracts.RejectedMember(member="../x", reason="escapes the archive")],
    )
    _round_trip(manifest)
    wire = contracts.dump(manifest)
    assert set(wire) == {
        "landing",
        "source",
        "images",
        "data",
        "skipped",
        "rejected",
        "quarantined",
    }
    assert wire["quarantined"] is None
    assert wire["images"] == [{"bucket": "s", "key": "i.jpg", "participant": "p"}]


def test_collect_folds_typed_manifests_into_typed_items() -> None:
    landed = LandedObject(source="screenlake", bucket="l", key="screenlake/a.zip")
    images = [ImageRef(bucket="s", key=f"i{i}.jpg") for i in range(17)]
    data = [contracts.DataFile(bucket="k", key="raw/screenlake/a.csv", ingest_run_id="r0")]
    extracted = ExtractedManifest(landing=landed, source="screenlake", images=images, data=data)
    redact, convert = collect.after_extract([extracted])
    assert [len(b.images) for b in redact] == [16, 1]
    assert convert == [
        RawFile(source="screenlake", bucket="k", key="raw/screenlake/a.csv", ingest_run_id="r0")
    ]
    for item in [*redact, *convert]:
        _round_trip(item)
    day = StagedDay(source="screenlake", metric="logs", participant="p 1", day="2024-10-01", rows=2)
    converted = ConvertedManifest(key="raw/x", source="screenlake", sha256="0", days=[day, day])
    days = "manifests/r/work/merge.json"
    merge, curate = collect.after_convert([converted], [], days)
    assert merge == [DayItem.of(day.day_key())]
    assert curate == [CurateItem(source="screenlake", participants="p 1", days=days)]
    work = ConvertedWork(merge={"bucket": "k", "key": "w", "count": 1}, curate=curate)
    assert contracts.dump(work)["curate"] == [
        {"source": "screenlake", "participants": "p 1", "days": days}
    ]


def test_a_plan_carries_the_fields_the_state_machine_reads() -> None:
    plan = Plan(
        run_id="r",
        window={"start": "2024-10-01", "end": "2024-10-01"},
        sources=["mhealth"],
        participants=[],
        dry_run=False,
        replay=False,
        fetch=[{"source": "mhealth", "kind": "kaggle", "dataset": "o/s"}],
        work={"landed": {"bucket": "k", "key": "w", "count": 0}},
        estimate={},
        study="s",
        config_sha256="0",
    )
    wire = contracts.dump(plan)
    # what the JSONPaths read: run_id, dry_run, participants, thresholds, timestream_enabled
    assert wire["thresholds"]["map_tolerated_failure_percentage"] == 10
    assert wire["fetch"] == [{"source": "mhealth", "kind": "kaggle", "dataset": "o/s"}]
    assert {"run_id", "dry_run", "participants", "timestream_enabled"} <= set(wire)
    _round_trip(plan)


@pytest.mark.parametrize(
    ("model", "document", "message"),
    [
        (
            ExtractedManifest,
            {"source": "mhealth"},
            "s3://k/manifests/r/extracted/a.json: landing: Field required",
        ),
        (
            ConvertedManifest,
            {"key": "raw/x", "source": "m", "sha256": "0", "days": [{"source": "m"}]},
            "s3://k/manifests/r/extracted/a.json: days.0.metric: Field required",
        ),
        (
            ConvertedManifest,
            {"key": "raw/x", "source": "m", "sha256": "0", "rowz": 1},
            "s3://k/manifests/r/extracted/a.json: rowz: Extra inputs are not permitted",
        ),
        (
            ImageBatch,
            {"source": "m", "images": "i.jpg"},
            "s3://k/manifests/r/extracted/a.json: images: Input should be a valid list",
        ),
        (
            Thresholds,
            {"face_unsure_band": [0.6, 0.2]},
            "face_unsure_band: expected 0 < low < high <= 1, got [0.6, 0.2]",
        ),
    ],
)
def test_a_malformed_document_is_refused_in_one_line(
    model: type[contracts.Contract], document: dict, message: str
) -> None:
    with pytest.raises(ContractError) as caught:
        contracts.load(model, document, "s3://k/manifests/r/extracted/a.json")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_work_list_names_the_bad_item() -> None:
    items = [{"source": "m", "bucket": "b", "key": "k"}, {"source": "m", "key": "k"}]
    with pytest.raises(ContractError, match=r"convert.json\[1\]: bucket: Field required"):
        contracts.load_list(RawFile, items, "s3://k/manifests/r/work/convert.json")
    with pytest.raises(ContractError, match="expected a JSON array"):
        contracts.load_list(RawFile, {"items": items}, "convert.json")


def test_a_step_refuses_a_malformed_map_item() -> None:
    from pydantic import ValidationError

    from phenolake.steps.convert import ConvertEvent
    from phenolake.steps.daily_merge import MergeEvent

    with pytest.raises(ValidationError, match=r"item\.key"):
        ConvertEvent.model_validate({"run_id": "r", "item": {"source": "m", "bucket": "b"}})
    with pytest.raises(ValidationError, match=r"item\.day"):
        MergeEvent.model_validate(
            {"run_id": "r", "item": {"source": "m", "metric": "x", "participant": "p"}}
        )


def test_a_day_item_names_the_merged_file_it_writes() -> None:
    item = DayItem(source="radar", metric="accel", participant="kcl/001", day="2024-10-01")
    assert lake.merged_day(lake.merged_key(item.day_key())) == item.day_key()


def test_a_handler_refuses_a_malformed_item_in_one_line() -> None:
    from types import SimpleNamespace

    from phenolake.handler import lambda_entry
    from phenolake.steps.daily_merge import MergeEvent, run

    context = SimpleNamespace(
        function_name="merge",
        memory_limit_in_mb=128,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:merge",
        aws_request_id="1",
    )
    handler = lambda_entry("daily_merge", MergeEvent, run)
    with pytest.raises(ContractError) as caught:
        handler(
            {"run_id": "r", "item": {"source": "m", "metric": "x", "participant": "p"}}, context
        )
    assert str(caught.value) == "daily_merge event: item.day: Field required"
