"""Face quality: each measure moves the way it should, and the rules say why a face fails."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from openlfr.analysis import FaceAnalyzer
from openlfr.config import QualityConfig, QualityRule
from openlfr.embed import quality
from openlfr.ingest.images import load_image
from openlfr.types import FaceQuality


@pytest.fixture(scope="module")
def portrait(demo: Path) -> np.ndarray:
    return load_image(demo / "watchlist" / "obama.jpg")


def _q(analyzer: FaceAnalyzer, image: np.ndarray) -> FaceQuality:
    faces = analyzer.analyze(image)
    assert len(faces) == 1
    return faces[0].quality


def test_frontal_portrait_is_good(analyzer: FaceAnalyzer, portrait: np.ndarray) -> None:
    q = _q(analyzer, portrait)
    assert abs(q.yaw_deg) < 15 and abs(q.pitch_deg) < 20
    assert q.eye_distance_px > 80
    assert quality.check(q, QualityConfig().enrol).ok
    assert q.score > 0.8


def test_size_follows_scale(analyzer: FaceAnalyzer, portrait: np.ndarray) -> None:
    full = _q(analyzer, portrait)
    half = _q(analyzer, cv2.resize(portrait, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))
    assert half.eye_distance_px == pytest.approx(full.eye_distance_px / 2, rel=0.1)


def test_blur_lowers_sharpness_and_score(analyzer: FaceAnalyzer, portrait: np.ndarray) -> None:
    sharp = _q(analyzer, portrait)
    soft = _q(analyzer, cv2.GaussianBlur(portrait, (0, 0), 6))
    assert soft.sharpness < sharp.sharpness / 10
    assert soft.score < sharp.score


def test_darkness_is_measured(analyzer: FaceAnalyzer, portrait: np.ndarray) -> None:
    dark = _q(analyzer, (portrait.astype(np.float32) * 0.25).astype(np.uint8))
    assert dark.brightness < 45
    verdict = quality.check(dark, QualityConfig().enrol)
    assert not verdict.ok and verdict.reason is not None and verdict.reason.startswith("face too dark")


def test_turned_face_has_yaw(analyzer: FaceAnalyzer, portrait: np.ndarray) -> None:
    # A horizontal squeeze of one half of the face imitates a turned head well enough for the sign and size.
    faces = analyzer.analyze(portrait)
    box = faces[0].detection.box
    x_mid = int(box.center[0])
    left = portrait[:, :x_mid]
    squeezed = cv2.resize(left, (left.shape[1] // 3 + 1, left.shape[0]))
    turned = np.ascontiguousarray(
        np.concatenate([portrait[:, : x_mid - squeezed.shape[1]], squeezed, portrait[:, x_mid:]], axis=1)
    )
    q = _q(analyzer, turned)
    assert abs(q.yaw_deg) > abs(faces[0].quality.yaw_deg) + 10


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"eye_distance_px": 10.0}, "face too small"),
        ({"sharpness": 1.0}, "face too blurred"),
        ({"yaw_deg": 60.0}, "face turned too far"),
        ({"pitch_deg": -50.0}, "face tilted too far"),
        ({"brightness": 10.0}, "face too dark"),
        ({"brightness": 250.0}, "face too bright"),
        ({"clipped_fraction": 0.9}, "face badly exposed"),
    ],
)
def test_rule_gives_the_first_failing_reason(change: dict[str, float], reason: str) -> None:
    good = FaceQuality(
        eye_distance_px=50, sharpness=100, yaw_deg=0, pitch_deg=0, brightness=128, clipped_fraction=0.0, score=0.9
    )
    assert quality.check(good, QualityRule()).ok
    verdict = quality.check(replace(good, **change), QualityRule())
    assert not verdict.ok and verdict.reason is not None and verdict.reason.startswith(reason)
