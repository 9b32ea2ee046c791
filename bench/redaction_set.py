"""The face-redaction evaluation set, generated at run time from real photos that installed
packages ship (scikit-image: ``astronaut``, ``camera`` and the LFW face crops in
``lfw_subset``, all bundled in the wheel, nothing downloaded). Never written to the repo.

Scenes (seeded), each with its ground-truth face boxes:

- ``photo``: 640x480 photos: the astronaut (frontal) and the cameraman (a profile), whole
  or small, flipped, rotated 15-30 degrees, JPEG quality 15, dark and noisy;
- ``group``: 640x480 group mosaics of 4-12 LFW faces (40-120 px) with LFW non-face crops
  mixed in, on a face-free photo (coffee, chelsea, rocket, ...), with the same variants;
- ``small``: 640x480 crowds: 3-6 people (astronaut, cameraman) scaled so their faces are
  24-40 px wide, plus LFW faces 32-48 px;
- ``tiny-crops`` (reported apart, not in the totals): LFW crops pasted at 24-32 px. They are
  tight (brow to chin, no hair or shoulders), and with no head around them the detector
  finds about three in four; a real 24 px face comes with its head (the ``small`` scenes);
- ``screenshot``: 1080x2400 phone screenshots (status bar, app bar, text, chat bubbles)
  with faces inside: a posted photo, a video-call grid, avatars, a crowd photo (24-48 px);
- ``empty``: screenshots and photos with no face (for precision).

Ground truth: LFW crops are tight face boxes, so a pasted crop's rectangle is its face; the
astronaut's and the cameraman's face boxes were drawn by hand on the originals.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

PHOTO = (640, 480)
SCREEN = (1080, 2400)
# Hand-drawn face boxes (x1, y1, x2, y2) on the originals.
ASTRONAUT_FACE = (175, 50, 272, 182)
CAMERA_FACE = (198, 112, 258, 198)
BACKGROUNDS = ("coffee", "chelsea", "rocket", "immunohistochemistry", "colorwheel", "brick")


@dataclass
class Scene:
    name: str
    kind: str
    image: np.ndarray  # BGR
    faces: list[tuple[int, int, int, int]]


@lru_cache(maxsize=1)
def _lfw() -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    crops = (data.lfw_subset() * 255).astype(np.uint8)
    return crops[:100], crops[100:]


@lru_cache(maxsize=1)
def _photos() -> dict[str, np.ndarray]:
    from skimage import data

    out = {"astronaut": data.astronaut()[:, :, ::-1].copy()}
    out["camera"] = cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR)
    for name in BACKGROUNDS:
        img = getattr(data, name)()
        out[name] = (
            cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img[:, :, ::-1].copy()
        )
    return out


def _tint(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """LFW crops are grey; give most a skin-like tint, keep some grey."""
    bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR).astype(np.float32)
    if rng.random() < 0.25:
        return bgr.astype(np.uint8)
    tone = np.array([0.72, 0.86, 1.0]) * rng.uniform(0.7, 1.1)
    return np.clip(bgr * tone, 0, 255).astype(np.uint8)


def _paste(canvas: np.ndarray, patch: np.ndarray, x: int, y: int) -> tuple[int, int, int, int]:
    h, w = patch.shape[:2]
    canvas[y : y + h, x : x + w] = patch
    return x, y, x + w, y + h


def _place(
    rng: np.random.Generator,
    taken: list[tuple[int, int, int, int]],
    area: tuple[int, int, int, int],
    size: int,
) -> tuple[int, int] | None:
    x0, y0, x1, y1 = area
    for _ in range(60):
        x = int(rng.integers(x0, max(x0 + 1, x1 - size)))
        y = int(rng.integers(y0, max(y0 + 1, y1 - size)))
        box = (x - 6, y - 6, x + size + 6, y + size + 6)
        if all(box[2] <= t[0] or box[0] >= t[2] or box[3] <= t[1] or box[1] >= t[3] for t in taken):
            return x, y
    return None


def _faces_on(
    canvas: np.ndarray,
    rng: np.random.Generator,
    count: int,
    sizes: tuple[int, int],
    area: tuple[int, int, int, int] | None = None,
    decoys: int = 0,
) -> list[tuple[int, int, int, int]]:
    faces_lfw, others = _lfw()
    area = area or (0, 0, canvas.shape[1], canvas.shape[0])
    taken: list[tuple[int, int, int, int]] = []
    faces = []
    for i in range(count + decoys):
        size = int(rng.integers(sizes[0], sizes[1] + 1))
        spot = _place(rng, taken, area, size)
        if spot is None:
            continue
        source = faces_lfw if i < count else others
        crop = source[int(rng.integers(len(source)))]
        patch = _tint(cv2.resize(crop, (size, size), interpolation=cv2.INTER_CUBIC), rng)
        box = _paste(canvas, patch, *spot)
        taken.append(box)
        if i < count:
            faces.append(box)
    return faces


def _background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    name = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    return cv2.resize(_photos()[name], size, interpolation=cv2.INTER_AREA)


def _photo_of(name: str, rng: np.random.Generator, small: bool) -> Scene:
    photo = _photos()[name]
    face = ASTRONAUT_FACE if name == "astronaut" else CAMERA_FACE
    canvas = _background(rng, PHOTO)
    if small:  # the face becomes 24-40 px wide
        width = rng.uniform(24, 40)
        scale = width / (face[2] - face[0])
    else:
        scale = min(PHOTO[0] / photo.shape[1], PHOTO[1] / photo.shape[0])
    resized = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = resized.shape[:2]
    x = int(rng.integers(0, PHOTO[0] - w + 1))
    y = int(rng.integers(0, PHOTO[1] - h + 1))
    canvas[y : y + h, x : x + w] = resized
    box = tuple(round(v * scale) + off for v, off in zip(face, (x, y, x, y), strict=True))
    return Scene(f"{name}{'-small' if small else ''}", "photo", canvas, [box])


# ------------------------------------------------------------------------------- variants


def flip(scene: Scene) -> Scene:
    w = scene.image.shape[1]
    faces = [(w - x2, y1, w - x1, y2) for x1, y1, x2, y2 in scene.faces]
    return Scene(scene.name + "+flip", scene.kind, scene.image[:, ::-1].copy(), faces)


def rotate(scene: Scene, degrees: float) -> Scene:
    """Rotate the scene; each face keeps its size, centred where its centre went."""
    h, w = scene.image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    image = cv2.warpAffine(scene.image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)
    faces = []
    for x1, y1, x2, y2 in scene.faces:
        cx, cy = matrix @ np.array([(x1 + x2) / 2, (y1 + y2) / 2, 1.0])
        hw, hh = (x2 - x1) / 2, (y2 - y1) / 2
        if cx - hw >= 0 and cx + hw <= w and cy - hh >= 0 and cy + hh <= h:
            faces.append((int(cx - hw), int(cy - hh), int(cx + hw), int(cy + hh)))
    return Scene(f"{scene.name}+rot{degrees:.0f}", scene.kind, image, faces)


def jpeg(scene: Scene, quality: int = 15) -> Scene:
    _ok, buf = cv2.imencode(".jpg", scene.image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    image = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return Scene(f"{scene.name}+q{quality}", scene.kind, image, scene.faces)


def dark_noisy(scene: Scene, rng: np.random.Generator) -> Scene:
    dark = scene.image.astype(np.float32) * rng.uniform(0.3, 0.45)
    noisy = dark + rng.normal(0, 10, scene.image.shape)
    image = np.clip(noisy, 0, 255).astype(np.uint8)
    return Scene(scene.name + "+dark", scene.kind, image, scene.faces)


def _crowd(rng: np.random.Generator) -> Scene:
    canvas = _background(rng, PHOTO)
    taken: list[tuple[int, int, int, int]] = []
    faces = []
    for _ in range(int(rng.integers(3, 7))):
        name = "astronaut" if rng.random() < 0.5 else "camera"
        face = ASTRONAUT_FACE if name == "astronaut" else CAMERA_FACE
        scale = rng.uniform(24, 40) / (face[2] - face[0])
        person = cv2.resize(_photos()[name], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        spot = _place(rng, taken, (0, 0, PHOTO[0], PHOTO[1]), person.shape[1])
        if spot is None or spot[1] + person.shape[0] > PHOTO[1]:
            continue
        x, y = spot
        taken.append(_paste(canvas, person, x, y))
        faces.append(tuple(round(v * scale) + o for v, o in zip(face, (x, y, x, y), strict=True)))
    for _ in range(int(rng.integers(2, 6))):
        size = int(rng.integers(32, 49))
        spot = _place(rng, taken, (0, 0, PHOTO[0], PHOTO[1]), size)
        if spot is None:
            continue
        crop = _lfw()[0][int(rng.integers(100))]
        patch = _tint(cv2.resize(crop, (size, size), interpolation=cv2.INTER_CUBIC), rng)
        box = _paste(canvas, patch, *spot)
        taken.append(box)
        faces.append(box)
    return Scene("small", "small", canvas, faces)


def tiny_crops(seed: int = 4, count: int = 10) -> Iterator[Scene]:
    """LFW crops at 24-32 px with no head around them (reported apart, see the docstring)."""
    rng = np.random.default_rng(seed + 1)
    for i in range(count):
        scene = _group(rng, int(rng.integers(8, 17)), (24, 32))
        scene.kind, scene.name = "tiny-crops", f"tiny-{i:02d}"
        yield scene


def _variant(scene: Scene, rng: np.random.Generator, which: int) -> Scene:
    if which == 1:
        return flip(scene)
    if which == 2:
        return rotate(scene, float(rng.choice([-1, 1]) * rng.uniform(15, 30)))
    if which == 3:
        return jpeg(scene)
    if which == 4:
        return dark_noisy(scene, rng)
    return scene


# ---------------------------------------------------------------------------- screenshots


def _text_lines(
    canvas: np.ndarray,
    rng: np.random.Generator,
    y0: int,
    y1: int,
    x0: int = 48,
    colour: tuple[int, int, int] = (40, 40, 40),
) -> None:
    words = [
        "meeting",
        "tonight",
        "photo",
        "great",
        "the",
        "see",
        "you",
        "at",
        "lol",
        "ok",
        "thanks",
        "project",
        "weekend",
        "call",
        "me",
        "later",
        "new",
        "post",
        "likes",
    ]
    y = y0 + 40
    while y < y1 - 10:
        line = " ".join(rng.choice(words, int(rng.integers(3, 8))))
        cv2.putText(
            canvas,
            line,
            (x0, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            rng.uniform(1.0, 1.4),
            colour,
            2,
            cv2.LINE_AA,
        )
        y += int(rng.integers(52, 70))


def _screen_base(rng: np.random.Generator) -> np.ndarray:
    w, h = SCREEN
    light = rng.random() < 0.7
    canvas = np.full((h, w, 3), 250 if light else 24, np.uint8)
    canvas[:80] = (30, 30, 30)
    cv2.putText(canvas, "9:41", (40, 58), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (240, 240, 240), 3)
    bar = tuple(int(v) for v in rng.integers(60, 200, 3))
    canvas[80:240] = bar
    cv2.putText(canvas, "Messages", (48, 185), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (255, 255, 255), 4)
    canvas[h - 140 :] = (235, 235, 235) if light else (40, 40, 40)
    return canvas


def _screenshot(rng: np.random.Generator, layout: str) -> Scene:
    w, h = SCREEN
    canvas = _screen_base(rng)
    text = (40, 40, 40) if canvas[300, 5, 0] > 128 else (220, 220, 220)
    faces: list[tuple[int, int, int, int]] = []
    if layout == "post":  # a posted photo (the astronaut or a group) between text
        _text_lines(canvas, rng, 260, 700, colour=text)
        pw = int(rng.integers(600, 1081))
        ph = int(pw * 0.75)
        photo_scene = (
            _photo_of("astronaut", rng, small=False)
            if rng.random() < 0.5
            else _group(rng, 4, (40, 110))
        )
        photo = cv2.resize(photo_scene.image, (pw, ph), interpolation=cv2.INTER_AREA)
        x, y = (w - pw) // 2, 760
        canvas[y : y + ph, x : x + pw] = photo
        sx, sy = pw / PHOTO[0], ph / PHOTO[1]
        faces += [
            (int(a * sx) + x, int(b * sy) + y, int(c * sx) + x, int(d * sy) + y)
            for a, b, c, d in photo_scene.faces
        ]
        _text_lines(canvas, rng, y + ph + 20, h - 160, colour=text)
    elif layout == "call":  # a video-call grid of 2x2 or 2x3 tiles
        rows = int(rng.integers(2, 4))
        th = (h - 400) // rows
        for r in range(rows):
            for c in range(2):
                x, y = c * (w // 2), 260 + r * th
                canvas[y : y + th - 8, x : x + w // 2 - 8] = tuple(
                    int(v) for v in rng.integers(30, 90, 3)
                )
                size = int(rng.integers(150, 320))
                faces += _faces_on(
                    canvas, rng, 1, (size, size), (x + 20, y + 20, x + w // 2 - 28, y + th - 28)
                )
    elif layout == "chat":  # avatars beside chat bubbles
        y = 280
        while y < h - 320:
            size = int(rng.integers(40, 100))
            faces += _faces_on(canvas, rng, 1, (size, size), (20, y, 20 + size + 1, y + size + 1))
            bubble = (230, 220, 200) if text[0] < 128 else (70, 60, 50)
            cv2.rectangle(canvas, (150, y), (int(rng.integers(600, 1040)), y + 160), bubble, -1)
            _text_lines(canvas, rng, y, y + 160, x0=180, colour=text)
            y += 220
    elif layout == "smallgroup":  # a crowd photo, faces 24-48 px, at its own size
        _text_lines(canvas, rng, 260, 900, colour=text)
        crowd = _crowd(rng)
        x, y = (w - PHOTO[0]) // 2, 960
        canvas[y : y + PHOTO[1], x : x + PHOTO[0]] = crowd.image
        faces += [(a + x, b + y, c + x, d + y) for a, b, c, d in crowd.faces]
        _text_lines(canvas, rng, y + PHOTO[1] + 40, h - 160, colour=text)
    else:  # text only
        _text_lines(canvas, rng, 260, h - 160, colour=text)
    return Scene(f"screen-{layout}", "screenshot" if faces else "empty", canvas, faces)


def _group(rng: np.random.Generator, count: int, sizes: tuple[int, int]) -> Scene:
    canvas = _background(rng, PHOTO)
    faces = _faces_on(canvas, rng, count, sizes, decoys=int(rng.integers(0, 4)))
    return Scene("group", "group", canvas, faces)


def scenes(seed: int = 4, photos: int = 100, screenshots: int = 50) -> Iterator[Scene]:
    """The evaluation set: ``photos`` 640x480 scenes and ``screenshots`` 1080x2400 ones."""
    rng = np.random.default_rng(seed)
    for i in range(photos):
        kind = i % 5
        if kind == 0:
            scene = _photo_of("astronaut" if i % 2 == 0 else "camera", rng, small=False)
        elif kind == 1:
            scene = _photo_of("camera" if i % 2 == 0 else "astronaut", rng, small=True)
        elif kind == 2:
            scene = _group(rng, int(rng.integers(4, 13)), (40, 120))
        elif kind == 3:
            scene = _crowd(rng)
        else:
            scene = Scene("photo-empty", "empty", _background(rng, PHOTO), [])
        scene = _variant(scene, rng, (i // 5) % 5)
        scene.name = f"{i:03d}-{scene.name}"
        yield scene
    layouts = ("post", "call", "chat", "smallgroup", "text")
    for i in range(screenshots):
        scene = _screenshot(rng, layouts[i % len(layouts)])
        if (i // len(layouts)) % 3 == 1:
            scene = jpeg(scene)
        scene.name = f"{photos + i:03d}-{scene.name}"
        yield scene
