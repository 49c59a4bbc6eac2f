"""dlib HOG detector on real portraits."""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.config import HogDetectorConfig
from openlfr.detect.base import FaceDetector, detectors
from openlfr.detect.dlib_hog import HogDetector


@pytest.fixture(scope="module")
def hog() -> FaceDetector:
    return detectors.create(HogDetectorConfig(upsample=1))


def test_registry_builds_hog(hog):
    assert isinstance(hog, HogDetector)
    assert isinstance(hog, FaceDetector)
    assert hog.name == "hog(upsample=1)"


@pytest.mark.shared_data
@pytest.mark.parametrize("portrait", ["obama", "biden", "two_people"])
def test_finds_each_face_once(hog, portrait, request):
    photo = request.getfixturevalue(portrait)
    found = hog.detect(photo.image)
    photo.assert_found(found, min_iou=0.8)
    height, width = photo.image.shape[:2]
    for det in found:
        assert det.detector == "hog(upsample=1)"
        assert det.landmarks is None
        assert 0 <= det.box.x1 < det.box.x2 <= width
        assert 0 <= det.box.y1 < det.box.y2 <= height
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)


@pytest.mark.shared_data
def test_min_score_drops_weak_faces(two_people):
    scores = [d.score for d in detectors.create(HogDetectorConfig()).detect(two_people.image)]
    threshold = (scores[0] + scores[1]) / 2  # between the two faces' scores
    kept = detectors.create(HogDetectorConfig(min_score=threshold)).detect(two_people.image)
    assert [d.score for d in kept] == [max(scores)]


@pytest.mark.shared_data
def test_face_cut_by_the_edge_is_clipped(obama):
    # Crop through the middle of the face: a box that reaches past the edge is clipped to the image.
    face = obama.faces[0]
    cut = np.ascontiguousarray(obama.image[:, round(face.x1 + face.width * 0.3) :])
    found = detectors.create(HogDetectorConfig()).detect(cut)
    assert len(found) == 1  # dlib's own box starts about 100 px left of the cut
    assert found[0].box.x1 == 0.0
    assert found[0].box.x2 <= cut.shape[1]


def test_black_image_has_no_faces(hog):
    assert hog.detect(np.zeros((240, 320, 3), np.uint8)) == []


@pytest.mark.parametrize(
    "bad",
    [np.zeros((100, 100), np.uint8), np.zeros((100, 100, 4), np.uint8), np.zeros((100, 100, 3), np.float32)],
)
def test_wrong_array_is_refused(hog, bad):
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        hog.detect(bad)


def test_create_refuses_another_config():
    from openlfr.config import MmodDetectorConfig
    from openlfr.detect.dlib_hog import create

    with pytest.raises(TypeError):
        create(MmodDetectorConfig())
