"""Face quality: how usable a face is for recognition, measured per face, and the rules built on it.

Pure functions of an ``AlignedFace``. Pose is estimated from dlib's 5 landmarks (eye centres and
nose base): the nose base sits on the face's mid-line, so its sideways offset from the eyes' midpoint,
relative to the distance between the eyes, grows with yaw; its drop below the eye line, relative to
the same distance, shrinks when the head tips back and grows when it tips forward. The constants below
were read off frontal faces (LFW), and the angles are estimates good to about 10 degrees: enough to
tell a frontal face from a profile, not a head-pose measurement.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from openlfr.config import QualityRule
from openlfr.embed.landmarks import eye_centres_and_nose
from openlfr.types import AlignedFace, FaceQuality, QualityVerdict

# Ratio of the nose-base drop below the eye line to the eye distance, on frontal faces.
FRONTAL_NOSE_DROP = 0.77
# How far in front of the eye plane the nose base sits, in eye distances (a rough head model):
# a yaw of a moves the nose sideways by NOSE_DEPTH * sin(a) eye distances.
NOSE_DEPTH = 0.55
# Sharpness is measured on the chip's middle (eyes, nose, mouth) to keep background out.
_CENTRE = slice(30, 120)
# A face this wide between the eyes (px) and this sharp counts as "full" on those scores.
_FULL_EYE_DISTANCE = 60.0
_FULL_SHARPNESS = 150.0


def measure(face: AlignedFace) -> FaceQuality:
    """Size, sharpness, pose and exposure of ``face``, and a combined score in [0, 1]."""
    left, right, nose = eye_centres_and_nose(face.landmarks)
    axis = right - left
    eye_distance = float(np.hypot(axis[0], axis[1]))
    yaw, pitch = _pose(left, right, nose, eye_distance)

    grey = cv2.cvtColor(face.chip, cv2.COLOR_RGB2GRAY)
    centre = _centre(grey)
    sharpness = float(cv2.Laplacian(centre, cv2.CV_64F).var())
    brightness = float(centre.mean())
    clipped = float(np.mean((centre <= 5) | (centre >= 250)))

    size_score = min(1.0, eye_distance / _FULL_EYE_DISTANCE)
    sharp_score = min(1.0, sharpness / _FULL_SHARPNESS)
    pose_score = max(0.0, math.cos(math.radians(yaw))) * max(0.0, math.cos(math.radians(pitch)))
    exposure_score = max(0.0, 1.0 - abs(brightness - 128.0) / 128.0) * (1.0 - clipped)
    score = size_score * (0.5 + 0.5 * sharp_score) * pose_score * (0.5 + 0.5 * exposure_score)
    return FaceQuality(
        eye_distance_px=eye_distance,
        sharpness=sharpness,
        yaw_deg=yaw,
        pitch_deg=pitch,
        brightness=brightness,
        clipped_fraction=clipped,
        score=float(np.clip(score, 0.0, 1.0)),
    )


def _centre(grey: np.ndarray) -> np.ndarray:
    h, w = grey.shape
    if (h, w) == (150, 150):
        return grey[_CENTRE, _CENTRE]
    # Other chip sizes (ONNX embedders): the same share of the chip.
    return grey[h // 5 : h * 4 // 5, w // 5 : w * 4 // 5]


def _pose(left: np.ndarray, right: np.ndarray, nose: np.ndarray, eye_distance: float) -> tuple[float, float]:
    if eye_distance < 1e-6:
        return 90.0, 0.0
    u = (right - left) / eye_distance
    n = np.array([-u[1], u[0]])  # points down the face when the eyes are level
    offset = nose - (left + right) / 2.0
    side = float(offset @ u) / eye_distance
    drop = float(offset @ n) / eye_distance
    yaw = math.degrees(math.asin(float(np.clip(side / NOSE_DEPTH, -1.0, 1.0))))
    # Yaw shrinks the apparent eye distance by cos(yaw); undo that before reading pitch.
    drop *= max(0.2, math.cos(math.radians(yaw)))
    pitch = math.degrees(math.asin(float(np.clip((FRONTAL_NOSE_DROP - drop) / NOSE_DEPTH, -1.0, 1.0))))
    return yaw, pitch


def check(quality: FaceQuality, rule: QualityRule) -> QualityVerdict:
    """``ok``, or the first bound of ``rule`` that ``quality`` fails, said plainly."""
    q, r = quality, rule
    checks = (
        (
            q.eye_distance_px >= r.min_eye_distance_px,
            f"face too small: {q.eye_distance_px:.0f} px between the eyes, needs {r.min_eye_distance_px:.0f}",
        ),
        (
            q.sharpness >= r.min_sharpness,
            f"face too blurred: sharpness {q.sharpness:.0f}, needs {r.min_sharpness:.0f}",
        ),
        (
            abs(q.yaw_deg) <= r.max_abs_yaw_deg,
            f"face turned too far: yaw {q.yaw_deg:+.0f} deg, limit {r.max_abs_yaw_deg:.0f}",
        ),
        (
            abs(q.pitch_deg) <= r.max_abs_pitch_deg,
            f"face tilted too far: pitch {q.pitch_deg:+.0f} deg, limit {r.max_abs_pitch_deg:.0f}",
        ),
        (
            q.brightness >= r.min_brightness,
            f"face too dark: brightness {q.brightness:.0f}, needs {r.min_brightness:.0f}",
        ),
        (
            q.brightness <= r.max_brightness,
            f"face too bright: brightness {q.brightness:.0f}, limit {r.max_brightness:.0f}",
        ),
        (
            q.clipped_fraction <= r.max_clipped_fraction,
            f"face badly exposed: {q.clipped_fraction:.0%} of pixels clipped, limit {r.max_clipped_fraction:.0%}",
        ),
    )
    for passed, reason in checks:
        if not passed:
            return QualityVerdict(ok=False, reason=reason)
    return QualityVerdict(ok=True)
