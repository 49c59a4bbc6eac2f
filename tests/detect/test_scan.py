"""Detection that costs what the scene needs: partial scans find what full scans find, within k frames."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from openlfr.config import BlazeFaceDetectorConfig, HogDetectorConfig, LiveConfig, ScanConfig
from openlfr.detect.blazeface import BlazeFaceDetector
from openlfr.detect.dlib_hog import create as create_hog
from openlfr.detect.scan import Scanner
from openlfr.ingest.images import load_image
from openlfr.track.tracker import Tracker
from openlfr.types import BoundingBox, RGBImage

STEP = 3  # every 3rd frame of the 15 fps demo: 5 analysed frames a second


def _frames(video: Path) -> list[tuple[float, RGBImage]]:
    with av.open(str(video)) as container:
        return [
            (float(f.time or 0.0), f.to_ndarray(format="rgb24"))
            for i, f in enumerate(container.decode(video=0))
            if i % STEP == 0
        ]


def _found(truth: BoundingBox, boxes: list[BoundingBox]) -> bool:
    return any(truth.iou(b) > 0.3 for b in boxes)


def test_partial_scans_find_the_faces_a_full_scan_finds(demo: Path) -> None:
    """The bundled walk-through (three people walking in, faces 30 px growing to 160 px): scanning around
    tracks and changes finds every face the full scan finds on the same frame, except while a new face
    waits for the next full scan, and costs fewer windows."""
    video = demo / "video" / "walkthrough.mp4"
    truth = json.loads(video.with_suffix(".json").read_text())
    fps = truth["spec"]["fps"]
    boxes_at: dict[int, list[tuple[int, BoundingBox]]] = {}
    for f in truth["faces"]:
        boxes_at.setdefault(round(f["t"] * fps), []).append((f["pass_index"], BoundingBox(*map(float, f["box"]))))
    detector = BlazeFaceDetector(BlazeFaceDetectorConfig())
    k = 4
    scanner, tracker = Scanner(detector, ScanConfig(full_every=k)), Tracker("demo")
    first_full: dict[int, int] = {}
    first_scan: dict[int, int] = {}
    missed, both, windows, partial = [], 0, 0, 0
    frames = _frames(video)
    for n, (t, image) in enumerate(frames):
        full = [d.box for d in detector.detect(image)]
        scan = scanner.detect(image, [tr.box for tr in tracker.tracks])
        tracker.update(scan.detections, t, t)
        windows, partial = windows + scan.windows, partial + (not scan.full)
        found = [d.box for d in scan.detections]
        for pass_index, box in boxes_at.get(round(t * fps), []):
            if _found(box, full):
                first_full.setdefault(pass_index, n)
                both += 1
                if not _found(box, found):
                    missed.append((pass_index, n))
            if _found(box, found):
                first_scan.setdefault(pass_index, n)
    assert first_full and first_scan.keys() == first_full.keys(), "every pass the full scan finds is found"
    for p, n in first_full.items():
        assert first_scan[p] - n < k, f"pass {p}: found at frame {first_scan[p]}, the full scan at {n}"
    late = [(p, n) for p, n in missed if n - first_full[p] >= k]
    assert not late, f"faces a full scan finds, missed after their pass was first found: {late} of {both}"
    full_scan = len(detector.windows(1280, 720))
    assert 0 < partial < len(frames) and windows < full_scan * len(frames), f"{windows} windows, {len(frames)} frames"


def _portrait_face(size: int) -> RGBImage:
    """The demo's Obama portrait, cut around his face and scaled so the face is ``size`` px wide."""
    image = load_image(Path(__file__).resolve().parents[2] / "src/openlfr/assets/demo/watchlist/obama.jpg")
    [face] = BlazeFaceDetector(BlazeFaceDetectorConfig(tile_grid=1)).detect(image)
    b = face.box
    m = 0.6 * b.width
    x1, y1 = max(0, int(b.x1 - m)), max(0, int(b.y1 - m))
    crop = image[y1 : int(b.y2 + m), x1 : int(b.x2 + m)]
    scale = size / b.width
    return np.ascontiguousarray(cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))


@pytest.mark.parametrize(("diff_threshold", "bound"), [(255, "next full scan"), (14, "at once")])
def test_a_new_face_is_found_within_k_frames(diff_threshold: int, bound: str) -> None:
    """A still 48 px face appears in an empty scene between full scans: with the change seen, it is
    found on its first frame; with no change ever seen (threshold 255), at the next full scan."""
    rng = np.random.default_rng(3)
    background = cv2.GaussianBlur(rng.integers(40, 120, (720, 1280, 3), dtype=np.uint8), (0, 0), 5)
    sprite = _portrait_face(48)
    with_face = background.copy()
    h, w = sprite.shape[:2]
    with_face[400 : 400 + h, 900 : 900 + w] = sprite
    k, appears = 5, 7  # full scans at frames 0, 5, 10: the face appears between them
    scanner = Scanner(
        BlazeFaceDetector(BlazeFaceDetectorConfig()), ScanConfig(full_every=k, diff_threshold=diff_threshold)
    )
    first = None
    for n in range(3 * k):
        result = scanner.detect(with_face if n >= appears else background)
        assert n >= appears or not result.detections, f"a face found in the empty scene at frame {n}"
        if result.detections and first is None:
            first = n
    expected = appears if bound == "at once" else (appears // k + 1) * k
    assert first == expected, f"first found at frame {first}, expected {expected} ({bound})"
    assert first - appears < k


def test_a_detector_without_windows_scans_fully() -> None:
    scanner = Scanner(create_hog(HogDetectorConfig()), ScanConfig(full_every=5))
    blank = np.zeros((120, 160, 3), np.uint8)
    assert all(scanner.detect(blank).full for _ in range(3))


@pytest.mark.parametrize(
    ("values", "expect"),
    [
        ({}, nullcontext()),
        ({"full_every": 1}, nullcontext()),
        ({"full_every": 0}, pytest.raises(ValidationError)),
        ({"full_every": 51}, pytest.raises(ValidationError)),
        ({"diff_threshold": 0}, pytest.raises(ValidationError)),
        ({"diff_threshold": 256}, pytest.raises(ValidationError)),
        ({"track_margin": -0.1}, pytest.raises(ValidationError)),
        ({"diff_width": 16}, pytest.raises(ValidationError)),
        ({"every": 5}, pytest.raises(ValidationError)),
    ],
)
def test_scan_config_is_validated(values: dict[str, object], expect: AbstractContextManager[object]) -> None:
    with expect:
        LiveConfig.model_validate({"scan": values})
