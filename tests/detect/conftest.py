"""Real portraits for the detector tests, with where their faces are.

The photos are public-domain portraits from the face_recognition examples, read from ../shared/data
(or from openlfr's demo assets, once they are copied there); a test that needs one is skipped with
the reason when it is absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from openlfr.types import BoundingBox, FaceDetection, RGBImage

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT.parent / "shared" / "data" / "face_recognition_examples" / "examples"
DEMO = ROOT / "src" / "openlfr" / "assets" / "demo"


@dataclass(frozen=True)
class Portrait:
    image: RGBImage
    faces: list[BoundingBox]
    """Where the faces are: boxes measured once with HOG (upsample 1) and checked by eye."""

    def resized(self, width: int) -> Portrait:
        """This portrait scaled to ``width`` pixels wide, its face boxes scaled with it."""
        scale = width / self.image.shape[1]
        image = cv2.resize(self.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        return Portrait(np.ascontiguousarray(image), [b.scaled(scale) for b in self.faces])

    def assert_found(self, found: list[FaceDetection], min_iou: float = 0.5) -> None:
        """``found`` holds exactly one detection per face, each overlapping it by more than ``min_iou``."""
        boxes = [d.box for d in found]
        assert len(boxes) == len(self.faces), f"expected {len(self.faces)} faces, found {boxes}"
        for face in self.faces:
            best = max(boxes, key=face.iou)
            assert face.iou(best) > min_iou, f"no box overlaps {face} by {min_iou}: best {best}"


FACES = {
    "obama.jpg": [BoundingBox(349, 142, 619, 411)],
    "biden2.jpg": [BoundingBox(451, 297, 915, 761)],
    "two_people.jpg": [BoundingBox(778, 57, 966, 244), BoundingBox(253, 47, 410, 204)],
}
PLACES = {
    "obama.jpg": ["knn_examples/train/obama/obama.jpg"],
    "biden2.jpg": ["knn_examples/train/biden/biden2.jpg"],
    "two_people.jpg": ["two_people.jpg"],
}


def load_portrait(name: str) -> Portrait:
    candidates = [DEMO / name] + [EXAMPLES / rel for rel in PLACES[name]]
    for path in candidates:
        if path.is_file():
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            assert bgr is not None, f"cannot decode {path}"
            return Portrait(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), FACES[name])
    pytest.skip(f"needs ../shared/data (face_recognition examples): {name} not found in {candidates}")


@pytest.fixture(scope="session")
def obama() -> Portrait:
    return load_portrait("obama.jpg")


@pytest.fixture(scope="session")
def biden() -> Portrait:
    return load_portrait("biden2.jpg")


@pytest.fixture(scope="session")
def two_people() -> Portrait:
    return load_portrait("two_people.jpg")
