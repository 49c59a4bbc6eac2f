"""The ONNX embedder, with tiny ONNX models built here and real faces from ../shared/data."""

from __future__ import annotations

import os
import re
from pathlib import Path

import dlib
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from openlfr.config import OnnxEmbedderConfig
from openlfr.embed.base import Embedder, embedders
from openlfr.embed.landmarks import DlibLandmarker, eye_centres_and_nose
from openlfr.embed.onnx import OnnxEmbedder, similarity_transform
from openlfr.errors import ConfigError, ModelCorruptError, ModelError, ModelNotFoundError
from openlfr.types import AlignedFace, BoundingBox, FaceDetection

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
EXAMPLES = DATA / "face_recognition_examples" / "examples"
TWO_PEOPLE = EXAMPLES / "two_people.jpg"
OBAMA = EXAMPLES / "knn_examples" / "train" / "obama" / "obama.jpg"
TEMPLATE = np.array(OnnxEmbedderConfig.model_fields["template"].default, dtype=np.float32)


# -- builders -------------------------------------------------------------------------------------


def make_model(
    path: Path,
    *,
    layout: str = "NCHW",
    batch: int | str = "N",
    size: tuple[int, int] = (112, 112),
    dim: int = 16,
    seed: int = 0,
    flatten: bool = True,
) -> Path:
    """A tiny embedder: (NHWC -> NCHW) -> 8x8 average pool -> flatten -> MatMul with seeded weights."""
    w, h = size
    shape = [batch, 3, h, w] if layout == "NCHW" else [batch, h, w, 3]
    pooled = 3 * (h // 8) * (w // 8)
    weight = np.random.default_rng(seed).standard_normal((pooled, dim)).astype(np.float32)
    nodes = []
    x = "input"
    if layout == "NHWC":
        nodes.append(helper.make_node("Transpose", [x], ["nchw"], perm=[0, 3, 1, 2]))
        x = "nchw"
    nodes.append(helper.make_node("AveragePool", [x], ["pooled"], kernel_shape=[8, 8], strides=[8, 8]))
    if flatten:
        nodes.append(helper.make_node("Flatten", ["pooled"], ["flat"], axis=1))
        nodes.append(helper.make_node("MatMul", ["flat", "weight"], ["output"]))
        out = helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, dim])
    else:  # a model whose output is not (batch, dim)
        nodes.append(helper.make_node("Identity", ["pooled"], ["output"]))
        out = helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, 3, h // 8, w // 8])
    graph = helper.make_graph(
        nodes,
        "tiny_embedder",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
        [out],
        initializer=[numpy_helper.from_array(weight, "weight")] if flatten else [],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def synthetic_faces(n: int, size: tuple[int, int] = (112, 112), seed: int = 1) -> list[AlignedFace]:
    """Aligned faces with random chips, for tests about the model rather than the face."""
    rng = np.random.default_rng(seed)
    det = FaceDetection(BoundingBox(0, 0, 10, 10), score=1.0, detector="test")
    points = np.zeros((5, 2), np.float32)
    return [AlignedFace(det, points, rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)) for _ in range(n)]


def manual_run(path: Path, faces: list[AlignedFace], *, layout: str = "NCHW", bgr: bool = False) -> np.ndarray:
    """What the model gives for ``faces``, preprocessed by hand and run by hand."""
    batch = np.stack([f.chip for f in faces]).astype(np.float32)
    if bgr:
        batch = batch[..., ::-1]
    batch = (batch - 127.5) / 127.5
    if layout == "NCHW":
        batch = batch.transpose(0, 3, 1, 2)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"input": np.ascontiguousarray(batch, np.float32)})[0])


def load_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def dlib_faces(image: np.ndarray) -> list[FaceDetection]:
    rects = dlib.get_frontal_face_detector()(image, 1)
    return [
        FaceDetection(BoundingBox(r.left(), r.top(), r.right(), r.bottom()), score=1.0, detector="test") for r in rects
    ]


@pytest.fixture(scope="module")
def real_faces() -> list[AlignedFace]:
    """Three real faces (two from two_people.jpg, one Obama), aligned for a 112 px ArcFace-style model."""
    if not (TWO_PEOPLE.is_file() and OBAMA.is_file()):
        pytest.skip(f"needs the shared face images under {DATA.resolve()}, which are absent")
    embedder = OnnxEmbedder(OnnxEmbedderConfig(path=Path("unused.onnx")))
    faces = []
    for path in (TWO_PEOPLE, OBAMA):
        image = load_rgb(path)
        faces += embedder.align(image, dlib_faces(image))
    assert len(faces) == 3
    return faces


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return make_model(tmp_path / "tiny.onnx")


# -- identity, loading, errors --------------------------------------------------------------------


def test_identity_is_name_at_checksum_and_follows_the_file(tmp_path: Path, model: Path) -> None:
    assert re.fullmatch(r"tiny@[0-9a-f]{12}", OnnxEmbedder(OnnxEmbedderConfig(path=model)).identity)
    named = OnnxEmbedder(OnnxEmbedderConfig(path=model, name="arc"))
    assert named.identity.startswith("arc@")

    before = named.identity
    stat = model.stat()
    make_model(model, seed=99)  # same size, other weights
    # The checksum cache keys on size and mtime, and ext4 mtimes tick only every few ms: move it on.
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert named.identity != before
    assert named.identity.split("@")[1] != before.split("@")[1]


def test_templates_carry_the_identity_of_the_loaded_file(model: Path) -> None:
    embedder = OnnxEmbedder(OnnxEmbedderConfig(path=model))
    templates = embedder.embed(synthetic_faces(2))
    assert {t.embedder for t in templates} == {embedder.identity}


def test_missing_model_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.onnx"
    embedder = OnnxEmbedder(OnnxEmbedderConfig(path=missing))  # lazy: building it does not fail
    assert embedder.embed([]) == []
    with pytest.raises(ModelNotFoundError, match=re.escape(str(missing))) as info:
        embedder.embed(synthetic_faces(1))
    assert "embedder.path" in str(info.value)
    with pytest.raises(ModelNotFoundError, match=re.escape(str(missing))):
        _ = embedder.identity


def test_corrupt_model_is_model_corrupt_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ModelCorruptError, match=re.escape(str(bad))):
        OnnxEmbedder(OnnxEmbedderConfig(path=bad)).embed(synthetic_faces(1))


@pytest.mark.parametrize(
    ("model_kw", "config_kw", "hint"),
    [
        ({"batch": 1}, {"input_size": (96, 96)}, "input_size"),
        ({"batch": 1, "size": (96, 112)}, {}, "input_size"),
        ({}, {"layout": "NHWC"}, "layout"),
    ],
)
def test_config_that_does_not_fit_the_model_says_what_to_change(
    tmp_path: Path, model_kw: dict[str, object], config_kw: dict[str, object], hint: str
) -> None:
    path = make_model(tmp_path / "static.onnx", **model_kw)  # type: ignore[arg-type]
    config = OnnxEmbedderConfig(path=path, **config_kw)
    w, h = config.input_size
    with pytest.raises(ConfigError, match=hint) as info:
        OnnxEmbedder(config).embed(synthetic_faces(1, size=(w, h)))
    assert str(path) in str(info.value)


def test_output_that_is_not_batch_by_dim_is_refused(tmp_path: Path) -> None:
    path = make_model(tmp_path / "map.onnx", flatten=False)
    with pytest.raises(ModelError, match=r"\(batch, dim\)"):
        OnnxEmbedder(OnnxEmbedderConfig(path=path)).embed(synthetic_faces(1))


def test_chip_of_the_wrong_size_is_refused(model: Path) -> None:
    with pytest.raises(ValueError, match="112x112x3"):
        OnnxEmbedder(OnnxEmbedderConfig(path=model)).embed(synthetic_faces(1, size=(150, 150)))


def test_registry_builds_an_onnx_embedder(model: Path) -> None:
    embedder = embedders.create(OnnxEmbedderConfig(path=model))
    assert isinstance(embedder, OnnxEmbedder)
    assert isinstance(embedder, Embedder)


# -- embedding ------------------------------------------------------------------------------------


def test_fixed_batch_of_one_runs_face_by_face(tmp_path: Path) -> None:
    dynamic = make_model(tmp_path / "dynamic.onnx")
    single = make_model(tmp_path / "single.onnx", batch=1)
    faces = synthetic_faces(3)
    got = np.stack([t.vector for t in OnnxEmbedder(OnnxEmbedderConfig(path=single)).embed(faces)])
    want = np.stack([t.vector for t in OnnxEmbedder(OnnxEmbedderConfig(path=dynamic)).embed(faces)])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.shared_data
def test_embed_real_faces_matches_a_run_by_hand(model: Path, real_faces: list[AlignedFace]) -> None:
    templates = OnnxEmbedder(OnnxEmbedderConfig(path=model)).embed(real_faces)
    assert len(templates) == 3
    assert all(t.vector.dtype == np.float32 and t.vector.shape == (16,) for t in templates)
    got = np.stack([t.vector for t in templates])
    np.testing.assert_allclose(got, manual_run(model, real_faces), rtol=1e-5, atol=1e-4)
    # The model's vectors are returned as they are, not re-normalised.
    assert not np.allclose(np.linalg.norm(got, axis=1), 1.0)


@pytest.mark.shared_data
def test_batch_equals_one_by_one(model: Path, real_faces: list[AlignedFace]) -> None:
    embedder = OnnxEmbedder(OnnxEmbedderConfig(path=model))
    batch = np.stack([t.vector for t in embedder.embed(real_faces)])
    single = np.stack([embedder.embed([face])[0].vector for face in real_faces])
    np.testing.assert_allclose(batch, single, rtol=1e-5, atol=1e-5)


@pytest.mark.shared_data
def test_nhwc_layout_and_bgr_order(tmp_path: Path, real_faces: list[AlignedFace]) -> None:
    path = make_model(tmp_path / "nhwc.onnx", layout="NHWC")
    bgr = OnnxEmbedder(OnnxEmbedderConfig(path=path, layout="NHWC", channel_order="BGR"))
    got = np.stack([t.vector for t in bgr.embed(real_faces)])
    np.testing.assert_allclose(got, manual_run(path, real_faces, layout="NHWC", bgr=True), rtol=1e-5, atol=1e-4)
    rgb = OnnxEmbedder(OnnxEmbedderConfig(path=path, layout="NHWC"))
    assert not np.allclose(got, np.stack([t.vector for t in rgb.embed(real_faces)]), atol=1e-3)


# -- alignment ------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_align_puts_eyes_on_the_template(real_faces: list[AlignedFace]) -> None:
    landmarker = DlibLandmarker()
    for face in real_faces:
        assert face.chip.shape == (112, 112, 3)
        assert face.chip.dtype == np.uint8
        assert face.chip.std() > 20  # a face, not a blank or border-filled chip
        assert face.landmarks.shape == (5, 2)
        assert face.landmarks.dtype == np.float32

        src = eye_centres_and_nose(face.landmarks)
        matrix = similarity_transform(src, TEMPLATE)
        assert matrix is not None
        mapped = np.hstack([src, np.ones((3, 1), np.float32)]) @ matrix.T
        assert np.abs(mapped[:2] - TEMPLATE[:2]).max() < 3.0

        # Find the landmarks again in the chip itself: the eyes must be where the template says.
        corners = (
            np.array(
                [
                    [face.detection.box.x1, face.detection.box.y1, 1],
                    [face.detection.box.x2, face.detection.box.y2, 1],
                ]
            )
            @ matrix.T
        )
        box = BoundingBox(*corners.min(axis=0), *corners.max(axis=0))
        again = eye_centres_and_nose(landmarker.points(landmarker.shape(face.chip, box)))
        # dlib's points are whole pixels, so allow half a pixel more than the fit itself.
        assert np.abs(again[:2] - TEMPLATE[:2]).max() < 3.5


@pytest.mark.shared_data
def test_align_returns_one_chip_per_detection_in_order() -> None:
    if not (TWO_PEOPLE.is_file() and OBAMA.is_file()):
        pytest.skip(f"needs the shared face images under {DATA.resolve()}, which are absent")
    image = load_rgb(TWO_PEOPLE)
    detections = dlib_faces(image)
    embedder = OnnxEmbedder(OnnxEmbedderConfig(path=Path("unused.onnx"), input_size=(96, 128)))
    faces = embedder.align(image, detections)
    assert [f.detection for f in faces] == detections
    assert all(f.chip.shape == (128, 96, 3) for f in faces)
    assert embedder.align(image, []) == []
