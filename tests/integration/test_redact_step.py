"""The Redact step end to end in the embedded AWS: its Lambda on a batch from scratch, the QA
sample, then Collect folding the audit into ``image_redactions``, queried like a user would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import cv2
import numpy as np
import pytest

from bench.redaction_set import scenes
from phenolake_local import patches
from phenolake_local.engine import EmbeddedAWS

RUN = "run-redact-1"


@pytest.fixture(scope="module")
def redacted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("home")
    photo = next(iter(scenes(seed=4, photos=1, screenshots=0)))
    with EmbeddedAWS(home) as aws:
        scratch, lake = aws.bucket("ScratchBucket"), aws.bucket("LakeBucket")
        base = f"{RUN}/screenlake/panel/p7/image_zip_1.zip"
        images = {
            "img_a_2024_10_01_12_00_00_000.jpg": cv2.imencode(".jpg", photo.image)[1].tobytes(),
            "blank.png": cv2.imencode(".png", np.full((480, 640, 3), 240, np.uint8))[1].tobytes(),
            "phone.heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
        }
        refs = []
        for name, body in images.items():
            aws.s3.put_object(Bucket=scratch, Key=f"{base}/{name}", Body=body)
            refs.append({"bucket": scratch, "key": f"{base}/{name}"})
        refs[0].update(participant="p7", taken_at="2024-10-01T12:00:00+00:00")
        batch = invoke(
            aws, "RedactFunction", {"run_id": RUN, "item": {"source": "screenlake", "images": refs}}
        )
        qa = invoke(aws, "RedactFunction", {"run_id": RUN, "task": "qa"})
        nothing_converted = patches.export_results(
            aws.s3, lake, f"manifests/{RUN}/map-results/Convert", []
        )
        collected = invoke(
            aws,
            "CollectFunction",
            {"run_id": RUN, "stage": "converted", "results": nothing_converted},
        )
        listed = {
            bucket: sorted(
                o["Key"] for o in aws.s3.list_objects_v2(Bucket=bucket).get("Contents", [])
            )
            for bucket in (scratch, lake)
        }
        published = aws.s3.get_object(
            Bucket=lake, Key="images/screenlake/p7/2024-10-01/img_a_2024_10_01_12_00_00_000.jpg"
        )["Body"].read()
        reason_key = next(k for k in listed[lake] if k.endswith("phone.heic.reason.json"))
        reason = json.loads(aws.s3.get_object(Bucket=lake, Key=reason_key)["Body"].read())
        aws.save_state()
    yield {
        "home": home,
        "photo": photo,
        "batch": batch,
        "qa": qa,
        "collected": collected,
        "listed": listed,
        "lake": lake,
        "scratch": scratch,
        "published": published,
        "reason": reason,
    }


def invoke(aws: EmbeddedAWS, logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
    assert aws.deployment is not None
    response = boto3.client("lambda", region_name="us-east-1").invoke(
        FunctionName=aws.deployment.functions[logical_id].name, Payload=json.dumps(event).encode()
    )
    payload = json.loads(response["Payload"].read())
    assert not response.get("FunctionError"), payload
    return payload


def test_only_redacted_images_are_published_and_scratch_is_emptied(
    redacted: dict[str, Any],
) -> None:
    assert redacted["batch"] == {
        "images_published": 2,
        "images_withheld": 1,
        "faces_redacted": 1,
        "images_flagged": 1,
    }
    assert redacted["listed"][redacted["scratch"]] == []
    images = [k for k in redacted["listed"][redacted["lake"]] if k.startswith("images/")]
    assert len(images) == 2
    assert images[0] == "images/screenlake/p7/2024-10-01/img_a_2024_10_01_12_00_00_000.jpg"
    assert images[1].startswith("images/screenlake/unknown/") and images[1].endswith("/blank.png")
    face = redacted["photo"].faces[0]
    image = cv2.imdecode(np.frombuffer(redacted["published"], np.uint8), cv2.IMREAD_COLOR)
    x1, y1, x2, y2 = face
    assert image[y1:y2, x1:x2].max() < 40  # the face is under a black box (JPEG-encoded)


def test_an_undecodable_image_is_quarantined_with_its_reason(redacted: dict[str, Any]) -> None:
    assert "HEIC is not decodable" in redacted["reason"]["reason"]
    assert "fail closed" in redacted["reason"]["reason"]


def test_the_qa_sample_has_the_published_images_with_boxes(redacted: dict[str, Any]) -> None:
    assert redacted["qa"] == {"qa_images": 2, "images_flagged": 1}
    qa = [k for k in redacted["listed"][redacted["lake"]] if k.startswith(f"reports/qa/{RUN}/")]
    assert f"reports/qa/{RUN}/index.json" in qa
    assert f"reports/qa/{RUN}/2024-W40/p7_img_a_2024_10_01_12_00_00_000.jpg" in qa


@pytest.mark.local_only
def test_audit_rows_are_queryable(redacted: dict[str, Any]) -> None:
    from phenolake_tools import query  # the tooling: not on the Lambda venv's path

    table = query.query_local(
        "SELECT participant, faces, action, flagged, detector, taken_at, reason "
        "FROM image_redactions ORDER BY action, participant",
        redacted["home"],
    ).to_pylist()
    assert [(r["participant"], r["faces"], r["action"], r["flagged"]) for r in table] == [
        ("unknown", 0, "no_faces", False),
        ("unknown", 0, "quarantined", True),
        ("p7", 1, "redacted", False),
    ]
    assert {r["detector"] for r in table} == {"centerface-cv2dnn"}
    assert str(table[2]["taken_at"]).startswith("2024-10-01 12:00:00")
    assert "HEIC" in table[1]["reason"]
