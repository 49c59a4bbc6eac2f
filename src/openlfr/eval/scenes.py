"""Walk-through scenes with ground truth: faces from still photos moving towards a camera.

No public clip of people walking towards a camera could be had, so scenes are built: each *pass* takes
the face of one still (cropped with context, feathered into the scene), moves it along a path while it
grows (the person approaching), over a textured background, with sensor noise and a little motion
blur, and the result is encoded as H.264. A JSON file beside the video says who passes when and where.
Deterministic for a given spec and seed.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from openlfr.analysis import FaceAnalyzer
from openlfr.errors import OpenLFRError
from openlfr.eval import datasets
from openlfr.eval.cache import CENTRE_BOX
from openlfr.ingest.images import load_image
from openlfr.types import BoundingBox, RGBImage

# Context kept around a face box in the sprite, as a share of the box size.
SPRITE_MARGIN = 0.6


@dataclass(frozen=True, slots=True)
class Pass:
    """One person crossing the scene: from ``start`` to ``end`` = (x centre, y centre, face width px)."""

    identity: str
    image: str
    t0: float
    t1: float
    start: tuple[float, float, float]
    end: tuple[float, float, float]
    gain: float = 1.0
    """Brightness of this person's face relative to its photo (lighting where they walk)."""


@dataclass(frozen=True, slots=True)
class SceneSpec:
    width: int = 1280
    height: int = 720
    fps: float = 15.0
    duration_s: float = 12.0
    noise: float = 3.0
    lighting_drift: float = 0.0
    """Amplitude of a slow change of the whole scene's brightness (0.2: +-20% over about 20 s)."""
    seed: int = 0
    passes: list[Pass] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GroundTruthBox:
    identity: str
    pass_index: int
    t: float
    box: tuple[int, int, int, int]


def render(spec: SceneSpec, out: Path, analyzer: FaceAnalyzer | None = None) -> Path:
    """Write ``out`` (an .mp4) and ``out`` with suffix .json (the spec and every face box per frame)."""
    import av

    analyzer = analyzer or FaceAnalyzer()
    rng = np.random.default_rng(spec.seed)
    sprites = [_sprite(analyzer, Path(p.image)) for p in spec.passes]
    background = _background(spec.width, spec.height, rng)
    truth: list[GroundTruthBox] = []
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=round(spec.fps))
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.options = {"crf": "23", "preset": "veryfast"}
        for i in range(round(spec.duration_s * spec.fps)):
            t = i / spec.fps
            frame = background.copy()
            for k, (p, (sprite, alpha, face_w)) in enumerate(zip(spec.passes, sprites, strict=True)):
                if p.t0 <= t <= p.t1:
                    box = _paste(frame, sprite, alpha, face_w, p, t, spec.fps)
                    if box is not None:
                        truth.append(GroundTruthBox(p.identity, k, round(t, 4), box))
            light = 1.0 + spec.lighting_drift * float(np.sin(2 * np.pi * t / 20.0))
            noisy = frame.astype(np.float32) * light + rng.normal(0, spec.noise, frame.shape).astype(np.float32)
            image = np.clip(noisy, 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    meta = {"spec": asdict(spec), "faces": [asdict(b) for b in truth]}
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return out


def _sprite(analyzer: FaceAnalyzer, path: Path) -> tuple[RGBImage, NDArray[np.float32], float]:
    """The face of ``path`` with context, a feathered elliptical alpha mask, and its face width in px."""
    image = load_image(path)
    faces = analyzer.detector.detect(image)
    h, w = image.shape[:2]
    if faces:
        box = max(faces, key=lambda d: d.box.area).box
    else:  # evaluation sets are crops centred on the face: take the same central box as eval/cache.py
        a, b = CENTRE_BOX
        box = BoundingBox(w * a, h * a, w * b, h * b)
    mx, my = box.width * SPRITE_MARGIN, box.height * SPRITE_MARGIN
    x1, y1 = max(0, int(box.x1 - mx)), max(0, int(box.y1 - my))
    x2, y2 = min(w, int(box.x2 + mx)), min(h, int(box.y2 + my))
    crop = np.ascontiguousarray(image[y1:y2, x1:x2])
    ch, cw = crop.shape[:2]
    mask = np.zeros((ch, cw), np.float32)
    cv2.ellipse(mask, (cw // 2, ch // 2), (int(cw * 0.45), int(ch * 0.48)), 0, 0, 360, 1.0, -1)
    feathered = np.asarray(cv2.GaussianBlur(mask, (0, 0), max(2.0, cw * 0.05)), dtype=np.float32)
    return crop, feathered, box.width


def _background(width: int, height: int, rng: np.random.Generator) -> RGBImage:
    """A dim, textured backdrop with no face-like structure."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([60 + 40 * x / width, 70 + 30 * y / height, 90 - 30 * x / width], axis=-1)
    texture = cv2.GaussianBlur(rng.normal(0, 25, (height, width)).astype(np.float32), (0, 0), 9)
    return np.clip(base + texture[..., None], 0, 255).astype(np.uint8)


def _paste(
    frame: RGBImage, sprite: RGBImage, alpha: NDArray[np.float32], face_w: float, p: Pass, t: float, fps: float
) -> tuple[int, int, int, int] | None:
    u = (t - p.t0) / max(p.t1 - p.t0, 1e-6)
    cx, cy, size = (a + (b - a) * u for a, b in zip(p.start, p.end, strict=True))
    scale = size / face_w
    sw, sh = max(2, round(sprite.shape[1] * scale)), max(2, round(sprite.shape[0] * scale))
    img = cv2.resize(sprite, (sw, sh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    if p.gain != 1.0:
        img = np.clip(img.astype(np.float32) * p.gain, 0, 255).astype(np.uint8)
    a = cv2.resize(alpha, (sw, sh))
    speed = float(np.hypot(p.end[0] - p.start[0], p.end[1] - p.start[1])) / max(p.t1 - p.t0, 1e-6) / fps
    if speed > 3:  # motion blur along x, as long as the move between frames
        k = min(int(speed), 15)
        img = cv2.filter2D(img, -1, np.full((1, k), 1.0 / k, np.float32))
    x0, y0 = round(cx - sw / 2), round(cy - sh / 2)
    fx1, fy1 = max(0, x0), max(0, y0)
    fx2, fy2 = min(frame.shape[1], x0 + sw), min(frame.shape[0], y0 + sh)
    if fx2 <= fx1 or fy2 <= fy1:
        return None
    region = frame[fy1:fy2, fx1:fx2].astype(np.float32)
    part = img[fy1 - y0 : fy2 - y0, fx1 - x0 : fx2 - x0].astype(np.float32)
    m = a[fy1 - y0 : fy2 - y0, fx1 - x0 : fx2 - x0, None]
    frame[fy1:fy2, fx1:fx2] = (m * part + (1 - m) * region).astype(np.uint8)
    half = size / 2
    return (round(cx - half), round(cy - half), round(cx + half), round(cy + half))


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who may walk through a scene: the photo used in the scene, and whether they are listed."""

    identity: str
    image: str
    watchlisted: bool


def plan(
    walkers: list[Person],
    duration_s: float,
    seed: int,
    width: int = 1280,
    height: int = 720,
    min_size: float = 24.0,
    max_size: float = 200.0,
) -> SceneSpec:
    """A scene of one walk per entry of ``walkers`` (in a seeded random order) spread over ``duration_s``
    (two or three people in view at once):
    each starts small and far (``min_size`` to 1.6x it) and grows as it approaches (up to ``max_size``),
    crossing part of the frame, under its own lighting (gain 0.6-1.3) and a slowly drifting global light."""
    rng = np.random.default_rng(seed)
    chosen = [walkers[i] for i in rng.permutation(len(walkers))]
    passes = len(chosen)
    walks = []
    for k, person in enumerate(chosen):
        length = float(rng.uniform(3.5, 7.0))
        t0 = float(min(duration_s - length, max(0.0, (k + rng.uniform(-0.3, 0.3)) * duration_s / passes)))
        x0 = float(rng.uniform(0.15, 0.85) * width)
        y0 = float(rng.uniform(0.25, 0.45) * height)
        x1 = float(np.clip(x0 + rng.uniform(-0.25, 0.25) * width, 0.1 * width, 0.9 * width))
        y1 = float(rng.uniform(0.45, 0.7) * height)
        s0 = float(rng.uniform(min_size, min_size * 1.6))
        s1 = float(rng.uniform(max_size * 0.55, max_size))
        walks.append(
            Pass(
                person.identity,
                person.image,
                round(t0, 3),
                round(t0 + length, 3),
                (x0, y0, s0),
                (x1, y1, s1),
                gain=float(rng.uniform(0.6, 1.3)),
            )
        )
    return SceneSpec(
        width=width,
        height=height,
        duration_s=duration_s,
        lighting_drift=0.15,
        seed=seed,
        passes=sorted(walks, key=lambda p: p.t0),
    )


@dataclass(frozen=True, slots=True)
class WrittenScene:
    """What ``write_scene`` wrote: the video, its ground truth (.json) and the watchlist's enrolment manifest."""

    video: Path
    truth: Path
    manifest: Path
    passes: int


def write_scene(
    out: Path, shared_data: Path, duration: float, passes: int, watchlisted: int, seed: int
) -> WrittenScene:
    """A scene of ``passes`` walks over ``duration`` seconds from LFW and FairFace faces: ``watchlisted``
    LFW people (each walking with a photo other than the one they are enrolled from, about a quarter of the
    passes) and people not listed; the video, its ground truth and an enrolment manifest beside it."""
    lfw = datasets.lfw(shared_data)
    by_id: dict[str, list[datasets.Sample]] = {}
    for s in lfw:
        by_id.setdefault(s.identity, []).append(s)
    rng = random.Random(seed)
    multi = sorted(i for i, g in by_id.items() if len(g) >= 2)
    if watchlisted > len(multi):
        raise OpenLFRError(f"only {len(multi)} LFW people have two photos; ask for fewer watchlisted")
    listed = rng.sample(multi, watchlisted)
    singles = sorted(i for i, g in by_id.items() if len(g) == 1)
    others = [by_id[i][0] for i in rng.sample(singles, min(len(singles), passes))]
    others += rng.sample(datasets.fairface(shared_data), min(5000, passes))
    people = [Person(i, str(sorted(by_id[i], key=lambda s: str(s.path))[1].path), True) for i in listed]
    people += [Person(s.identity, str(s.path), False) for s in others]
    # About a quarter of passes are watchlisted people (each listed person at least once where possible).
    n_listed = min(passes, max(watchlisted, passes // 4)) if watchlisted else 0
    walkers = [people[k % watchlisted] for k in range(n_listed)] + rng.sample(people[watchlisted:], passes - n_listed)
    spec = plan(walkers, duration_s=duration, seed=seed)
    render(spec, out)
    manifest = out.with_name(out.stem + "-watchlist.csv")
    with manifest.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["subject_id", "display_name", "category", "reason", "image_source", "expires", "image"])
        for identity in listed:
            enrol_image = sorted(by_id[identity], key=lambda s: str(s.path))[0].path
            writer.writerow(
                [
                    identity,
                    identity.replace("_", " "),
                    "other",
                    "evaluation scene",
                    "LFW",
                    "",
                    str(enrol_image.resolve()),
                ]
            )
    truth = json.loads(out.with_suffix(".json").read_text())
    truth["watchlisted"] = sorted(listed)
    out.with_suffix(".json").write_text(json.dumps(truth), encoding="utf-8")
    return WrittenScene(out, out.with_suffix(".json"), manifest, len(spec.passes))
