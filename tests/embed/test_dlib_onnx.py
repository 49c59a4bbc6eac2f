"""dlib's ResNet under ONNX Runtime: the same descriptors as dlib's, the same alignment, a checked cache.

The converted model's identity is the dlib embedder's (watchlists interoperate) only because
``test_lfw_descriptors_equal_dlibs`` holds: max abs difference below 1e-4 on 1,000 LFW faces.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from openlfr.analysis import FaceAnalyzer
from openlfr.config import DlibEmbedderConfig, DlibOnnxEmbedderConfig, Settings
from openlfr.embed import dlib_convert, dlib_onnx
from openlfr.embed.base import embedders
from openlfr.embed.dlib_onnx import DlibOnnxEmbedder, cached_path
from openlfr.embed.dlib_resnet import DlibResnetEmbedder
from openlfr.errors import ModelCorruptError
from openlfr.eval.cache import CENTRE_BOX, core_key
from openlfr.ingest.images import load_image
from openlfr.types import AlignedFace, BoundingBox, FaceDetection

TOLERANCE = 1e-4
LFW_FACES = 1000


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dlib_onnx_cache")


@pytest.fixture(scope="module")
def onnx_embedder(cache_dir: Path) -> DlibOnnxEmbedder:
    return DlibOnnxEmbedder(DlibOnnxEmbedderConfig(cache_dir=cache_dir))


@pytest.fixture(scope="module")
def dlib_embedder() -> DlibResnetEmbedder:
    """dlib's own, built explicitly: the reference stays dlib even if the default embedder changes."""
    return DlibResnetEmbedder()


@pytest.fixture(scope="module")
def demo_faces(demo: Path, analyzer: FaceAnalyzer, dlib_embedder: DlibResnetEmbedder) -> list[AlignedFace]:
    """Every face HOG finds in the bundled photos, aligned by the dlib embedder (8 faces)."""
    faces = []
    for path in sorted([*demo.glob("watchlist/*.jpg"), *demo.glob("probes/*.jpg")]):
        image = load_image(path)
        faces += dlib_embedder.align(image, analyzer.detector.detect(image))
    assert len(faces) >= 6
    return faces


def _vectors(templates: list[object]) -> np.ndarray:
    return np.stack([t.vector for t in templates])  # type: ignore[attr-defined]


def test_demo_descriptors_equal_dlibs(
    demo_faces: list[AlignedFace], dlib_embedder: DlibResnetEmbedder, onnx_embedder: DlibOnnxEmbedder
) -> None:
    ours = onnx_embedder.embed(demo_faces)
    theirs = dlib_embedder.embed(demo_faces)
    assert np.abs(_vectors(ours) - _vectors(theirs)).max() < TOLERANCE
    # dlib's loss_metric does not L2-normalise, and neither does the converted graph.
    assert not np.allclose(np.linalg.norm(_vectors(ours), axis=1), 1.0, atol=0.05)
    assert {t.embedder for t in ours} == {dlib_embedder.identity} == {onnx_embedder.identity}


def test_alignment_is_the_dlib_embedders(
    demo: Path, analyzer: FaceAnalyzer, dlib_embedder: DlibResnetEmbedder, onnx_embedder: DlibOnnxEmbedder
) -> None:
    image = load_image(demo / "probes" / "composite_obama_collins.jpg")
    detections = analyzer.detector.detect(image)
    ours, theirs = onnx_embedder.align(image, detections), dlib_embedder.align(image, detections)
    assert len(ours) == len(theirs) == 2
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a.chip, b.chip)
        np.testing.assert_array_equal(a.landmarks, b.landmarks)


def test_a_batch_of_8_equals_8_single_calls(demo_faces: list[AlignedFace], cache_dir: Path) -> None:
    faces = [demo_faces[i % len(demo_faces)] for i in range(8)]
    embedder = DlibOnnxEmbedder(DlibOnnxEmbedderConfig(cache_dir=cache_dir, batch_size=8, threads=2))
    batch = _vectors(embedder.embed(faces))
    single = np.concatenate([_vectors(embedder.embed([face])) for face in faces])
    np.testing.assert_allclose(batch, single, atol=1e-6)
    split = DlibOnnxEmbedder(DlibOnnxEmbedderConfig(cache_dir=cache_dir, batch_size=3))
    np.testing.assert_allclose(_vectors(split.embed(faces)), single, atol=1e-6)
    assert embedder.embed([]) == []


def _count_conversions(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    real: Callable[[Path, dict[str, str]], bytes] = dlib_convert.convert

    def counting(dat: Path, metadata: dict[str, str]) -> bytes:
        calls.append(dat)
        return real(dat, metadata)

    monkeypatch.setattr(dlib_convert, "convert", counting)
    return calls


def test_a_second_load_does_not_reconvert(
    onnx_embedder: DlibOnnxEmbedder, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    onnx_embedder.load()
    path = cached_path(onnx_embedder.model_path, cache_dir)
    stamp = path.stat().st_mtime_ns
    calls = _count_conversions(monkeypatch)
    DlibOnnxEmbedder(DlibOnnxEmbedderConfig(cache_dir=cache_dir)).load()
    assert calls == [] and path.stat().st_mtime_ns == stamp
    assert "conv" in path.name and dlib_onnx.modelfiles.sha256(onnx_embedder.model_path)[:16] in path.name


def test_a_corrupted_cache_file_is_detected_and_rebuilt(
    demo_faces: list[AlignedFace],
    onnx_embedder: DlibOnnxEmbedder,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    onnx_embedder.load()
    path = cached_path(onnx_embedder.model_path, cache_dir)
    good = path.read_bytes()
    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 0xFF  # one weight's bits: still a loadable model, but not dlib's
    path.write_bytes(bytes(damaged))
    calls = _count_conversions(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="openlfr.embed.dlib_onnx"):
        rebuilt = DlibOnnxEmbedder(DlibOnnxEmbedderConfig(cache_dir=cache_dir))
        vectors = _vectors(rebuilt.embed(demo_faces[:2]))
    assert len(calls) == 1 and "does not match its SHA-256" in caplog.text
    assert path.read_bytes() == good
    np.testing.assert_allclose(vectors, _vectors(onnx_embedder.embed(demo_faces[:2])), atol=1e-6)


def test_a_damaged_dat_file_gives_one_clear_error(tmp_path: Path, onnx_embedder: DlibOnnxEmbedder) -> None:
    data = onnx_embedder.model_path.read_bytes()
    with pytest.raises(ModelCorruptError, match="ends inside a value"):
        dlib_convert.read_network(data[: len(data) // 2], "half.dat")
    with pytest.raises(ModelCorruptError, match="bytes are left"):
        dlib_convert.read_network(data + b"\x00", "long.dat")
    with pytest.raises(ModelCorruptError, match="found 'con_9' where dlib writes 'con_4'"):
        dlib_convert.read_network(data.replace(b"con_4", b"con_9", 1), "other.dat")


def test_config_and_registry(tmp_path: Path) -> None:
    settings = Settings(embedder={"type": "dlib_onnx", "threads": 2, "cache_dir": str(tmp_path)})  # type: ignore[arg-type]
    assert isinstance(settings.embedder, DlibOnnxEmbedderConfig) and settings.embedder.threads == 2
    assert isinstance(embedders.create(settings.embedder), DlibOnnxEmbedder)
    # Same identity as dlib's, but the evaluation cache keeps what each computed apart.
    assert core_key(settings, "id") != core_key(Settings(embedder=DlibEmbedderConfig()), "id")


@pytest.mark.shared_data
def test_lfw_descriptors_equal_dlibs(
    shared_data: Path, dlib_embedder: DlibResnetEmbedder, onnx_embedder: DlibOnnxEmbedder
) -> None:
    """The first 1,000 images of the LFW manifest, in its order; each aligned once from the central box that
    eval/cache.py falls back to (LFW is centred on the face; no detector, to keep the test short), and the
    same chips fed to dlib's compute_face_descriptor and to the converted model."""
    with (shared_data / "lfw" / "manifest.csv").open(newline="") as fh:
        paths = [shared_data / "lfw" / row["path"] for row in csv.DictReader(fh)][:LFW_FACES]
    assert len(paths) == LFW_FACES
    faces: list[AlignedFace] = []
    for path in paths:
        image = load_image(path)
        h, w = image.shape[:2]
        a, b = CENTRE_BOX
        box = FaceDetection(BoundingBox(w * a, h * a, w * b, h * b), 0.0, "centre")
        faces += dlib_embedder.align(image, [box])
    theirs = _vectors(dlib_embedder.embed(faces))
    ours = _vectors(onnx_embedder.embed(faces))
    worst = float(np.abs(ours - theirs).max())
    logging.getLogger(__name__).info("max abs difference over %d LFW faces: %.3g", len(faces), worst)
    assert worst < TOLERANCE, f"max abs difference over {len(faces)} LFW faces: {worst:.3g}"


def test_int8_has_its_own_identity_and_stays_near_fp32(
    demo_faces: list[AlignedFace], onnx_embedder: DlibOnnxEmbedder, cache_dir: Path
) -> None:
    int8 = DlibOnnxEmbedder(DlibOnnxEmbedderConfig(cache_dir=cache_dir, precision="int8"))
    assert int8.identity.startswith("dlib-resnet-v1-int8@") and int8.identity != onnx_embedder.identity
    ours = int8.embed(demo_faces)
    assert cached_path(int8.model_path, cache_dir, "int8").is_file()
    distance = np.linalg.norm(_vectors(ours) - _vectors(onnx_embedder.embed(demo_faces)), axis=1)
    assert distance.max() < 0.1  # measured about 0.05; dlib's decision threshold is 0.6
    assert {t.embedder for t in ours} == {int8.identity}
