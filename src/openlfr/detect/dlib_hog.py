"""dlib's HOG + linear SVM frontal face detector.

Fast on one core, and its boxes are the ones the dlib 5-point shape predictor was trained on, so it
is the default. Each upsample step halves the smallest face it finds and costs about 4x the time.
"""

from __future__ import annotations

import threading
from typing import Any

from openlfr.config import HogDetectorConfig
from openlfr.detect.base import FaceDetector
from openlfr.types import BoundingBox, FaceDetection, RGBImage, check_rgb


def rect_to_box(rect: Any, width: int, height: int) -> BoundingBox | None:
    """A dlib rectangle as a BoundingBox clipped to the image, or None if it lies wholly outside.

    dlib's right and bottom are inclusive pixel indices, hence the + 1.
    """
    box_or_none: BoundingBox | None = None
    x1, y1 = float(rect.left()), float(rect.top())
    x2, y2 = float(rect.right()) + 1.0, float(rect.bottom()) + 1.0
    if x2 > x1 and y2 > y1:
        box_or_none = BoundingBox(x1, y1, x2, y2).clipped(width, height)
    return box_or_none


class HogDetector:
    """Faces found by ``dlib.get_frontal_face_detector()``; the score is the SVM margin (threshold 0)."""

    def __init__(self, config: HogDetectorConfig) -> None:
        self.config = config
        self.name = f"hog(upsample={config.upsample})"
        self._detector: Any = None
        # The detector object keeps scratch buffers between calls, so one call at a time.
        self._lock = threading.Lock()

    def detect(self, image: RGBImage) -> list[FaceDetection]:
        image = check_rgb(image)
        height, width = image.shape[:2]
        with self._lock:
            if self._detector is None:
                import dlib

                self._detector = dlib.get_frontal_face_detector()
            rects, scores, _ = self._detector.run(image, self.config.upsample, self.config.min_score)
        found: list[FaceDetection] = []
        for rect, score in zip(rects, scores, strict=True):
            box = rect_to_box(rect, width, height)
            if box is not None and score >= self.config.min_score:
                found.append(FaceDetection(box, float(score), detector=self.name))
        found.sort(key=lambda d: d.score, reverse=True)
        return found


def create(config: object) -> FaceDetector:
    if not isinstance(config, HogDetectorConfig):
        raise TypeError(f"hog detector needs a HogDetectorConfig, got {type(config).__name__}")
    return HogDetector(config)
