"""dlib MMOD CNN detector on real portraits, made small because MMOD is slow on a CPU."""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.config import MmodDetectorConfig
from openlfr.detect.base import FaceDetector, detectors
from openlfr.detect.dlib_mmod import MmodDetector
from openlfr.errors import ModelCorruptError, ModelNotFoundError


@pytest.fixture(scope="module")
def mmod() -> FaceDetector:
    return detectors.create(MmodDetectorConfig())


def test_registry_builds_mmod_without_loading(mmod):
    assert isinstance(mmod, MmodDetector)
    assert isinstance(mmod, FaceDetector)
    assert mmod.name == "mmod(upsample=0)"


@pytest.mark.shared_data
@pytest.mark.parametrize(("portrait", "width"), [("obama", 300), ("biden", 300), ("two_people", 560)])
def test_finds_each_face_once(mmod, portrait, width, request):
    # MMOD's smallest face is about 40 px (80 px at upsample 0 for comfort); two_people's faces are
    # smaller, so that photo is kept larger.
    photo = request.getfixturevalue(portrait).resized(width)
    found = mmod.detect(photo.image)
    photo.assert_found(found, min_iou=0.5)
    for det in found:
        assert det.detector == "mmod(upsample=0)"
        assert det.score > 0
        assert det.landmarks is None
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)


def test_black_image_has_no_faces(mmod):
    assert mmod.detect(np.zeros((200, 300, 3), np.uint8)) == []


def test_wrong_array_is_refused(mmod):
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        mmod.detect(np.zeros((200, 300), np.uint8))


def test_missing_model_file_is_named(tmp_path):
    det = detectors.create(MmodDetectorConfig(model_path=tmp_path / "nope.dat"))
    with pytest.raises(ModelNotFoundError, match=r"nope\.dat"):
        det.detect(np.zeros((64, 64, 3), np.uint8))


def test_corrupt_model_file_is_reported(tmp_path):
    bad = tmp_path / "broken.dat"
    bad.write_bytes(b"this is not a dlib model" * 10)
    det = detectors.create(MmodDetectorConfig(model_path=bad))
    with pytest.raises(ModelCorruptError, match=r"broken\.dat"):
        det.detect(np.zeros((64, 64, 3), np.uint8))
