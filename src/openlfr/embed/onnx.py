"""A user's own ONNX face embedder, run by ONNX Runtime on the CPU.

Alignment: dlib's 5 landmarks give the two eye centres and the nose base, and a least-squares
similarity transform puts them on the configured template in an ``input_size`` chip. Embedding: the
chips go through as one batch (or in the model's fixed batch size), normalised as configured; the
first output is the vector, returned as the model gives it (not re-normalised).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from openlfr import modelfiles
from openlfr.config import OnnxEmbedderConfig
from openlfr.embed.landmarks import DlibLandmarker, eye_centres_and_nose
from openlfr.errors import ConfigError, ModelError, ModelNotFoundError
from openlfr.types import AlignedFace, BoundingBox, FaceDetection, RGBImage, Template, check_rgb

_INPUT_DTYPES: dict[str, type[np.floating[Any]]] = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
}


def similarity_transform(src: NDArray[np.float32], dst: NDArray[np.float32]) -> NDArray[np.float64] | None:
    """The 2 x 3 rotation + uniform scale + shift that maps ``src`` points onto ``dst`` with least squared
    error (Umeyama's closed form), or None when ``src`` points all coincide.

    Chosen over ``cv2.estimateAffinePartial2D``: with only three points its robust methods (LMEDS, RANSAC)
    fit two points exactly and drop the third, and which two they keep is arbitrary.
    """
    s, d = src.astype(np.float64), dst.astype(np.float64)
    s_mean, d_mean = s.mean(axis=0), d.mean(axis=0)
    sc, dc = s - s_mean, d - d_mean
    norm = float((sc**2).sum())
    if norm < 1e-9:
        return None
    a = float((sc[:, 0] * dc[:, 0] + sc[:, 1] * dc[:, 1]).sum()) / norm
    b = float((sc[:, 0] * dc[:, 1] - sc[:, 1] * dc[:, 0]).sum()) / norm
    matrix = np.array([[a, -b, 0.0], [b, a, 0.0]])
    matrix[:, 2] = d_mean - matrix[:, :2] @ s_mean
    return matrix


def box_transform(box: BoundingBox, size: tuple[int, int]) -> NDArray[np.float64]:
    """A fallback: scale ``box`` to fit a ``size`` (w, h) chip, centred, keeping its aspect ratio."""
    w, h = size
    scale = min(w / box.width, h / box.height)
    cx, cy = box.center
    return np.array([[scale, 0.0, w / 2.0 - scale * cx], [0.0, scale, h / 2.0 - scale * cy]])


@dataclass(frozen=True, slots=True)
class _Loaded:
    session: Any
    input_name: str
    input_dtype: type[np.floating[Any]]
    batch: int | None
    """The model's fixed batch size, or None when the batch dimension is dynamic."""
    identity: str


class OnnxEmbedder:
    """Aligns faces to ``config.template`` and embeds them with the ONNX model at ``config.path``.

    The model loads on the first ``embed``; ONNX Runtime sessions may be run from several threads.
    """

    def __init__(self, config: OnnxEmbedderConfig, landmarker: DlibLandmarker | None = None) -> None:
        self.config = config
        self._landmarker = landmarker or DlibLandmarker(config.shape_predictor_path)
        self._template = np.array(config.template, dtype=np.float32)
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.config.name or self.config.path.stem

    @property
    def identity(self) -> str:
        """``name@`` the first 12 hex digits of the model file's SHA-256 (of the file loaded, once loaded)."""
        if self._loaded is not None:
            return self._loaded.identity
        return f"{self.name}@{modelfiles.sha256(self._path())[:12]}"

    def _path(self) -> Path:
        path = self.config.path.expanduser()
        if not path.is_file():
            raise ModelNotFoundError(f"model file not found: {path} (configured as embedder.path)")
        return path

    # -- alignment --------------------------------------------------------------------------------

    def align(self, image: RGBImage, detections: Sequence[FaceDetection]) -> list[AlignedFace]:
        """One ``input_size`` chip per detection, eyes and nose on the template, in the same order."""
        image = check_rgb(image)
        faces = []
        for detection in detections:
            points = self._landmarker.points(self._landmarker.shape(image, detection.box))
            matrix = similarity_transform(eye_centres_and_nose(points), self._template)
            if matrix is None:
                matrix = box_transform(detection.box, self.config.input_size)
            chip = cv2.warpAffine(
                image, matrix, self.config.input_size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
            )
            faces.append(AlignedFace(detection, points, np.ascontiguousarray(chip, dtype=np.uint8)))
        return faces

    # -- embedding --------------------------------------------------------------------------------

    def embed(self, faces: Sequence[AlignedFace]) -> list[Template]:
        """One template per face, run as one batch (or in chunks of the model's fixed batch size)."""
        if not faces:
            return []
        loaded = self._load()
        batch = self._preprocess([face.chip for face in faces]).astype(loaded.input_dtype, copy=False)
        step = loaded.batch or len(batch)
        vectors = []
        for start in range(0, len(batch), step):
            chunk = batch[start : start + step]
            real = len(chunk)
            if real < step:  # a fixed-batch model: pad the last chunk with zero chips
                chunk = np.concatenate([chunk, np.zeros((step - real, *chunk.shape[1:]), chunk.dtype)])
            vectors.append(self._run(loaded, chunk)[:real])
        out = np.concatenate(vectors).astype(np.float32)
        return [Template(np.ascontiguousarray(row), loaded.identity) for row in out]

    def _preprocess(self, chips: Sequence[RGBImage]) -> NDArray[np.float32]:
        w, h = self.config.input_size
        for chip in chips:
            if chip.shape != (h, w, 3):
                raise ValueError(f"face chip must be {h}x{w}x3 for {self.name}, got shape {chip.shape}")
        batch = np.stack(chips).astype(np.float32)
        if self.config.channel_order == "BGR":
            batch = batch[..., ::-1]
        # mean and std are per channel in the model's channel order.
        mean = np.array(self.config.mean, dtype=np.float32)
        std = np.array(self.config.std, dtype=np.float32)
        batch = np.divide(np.subtract(batch, mean, dtype=np.float32), std, dtype=np.float32)
        if self.config.layout == "NCHW":
            batch = batch.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(batch, dtype=np.float32)

    def _run(self, loaded: _Loaded, batch: NDArray[Any]) -> NDArray[Any]:
        try:
            out = np.asarray(loaded.session.run(None, {loaded.input_name: batch})[0])
        except Exception as exc:  # ONNX Runtime raises its own Fail/InvalidArgument types
            raise ModelError(f"ONNX model {self.config.path} failed on a batch of shape {batch.shape}: {exc}") from exc
        if out.ndim != 2 or out.shape[0] != len(batch):
            raise ModelError(
                f"ONNX model {self.config.path} must output (batch, dim) vectors; for a batch of "
                f"{len(batch)} its first output has shape {out.shape}"
            )
        return out

    # -- loading ----------------------------------------------------------------------------------

    def load(self) -> None:
        """Load the model now (it otherwise loads on first use)."""
        self._load()

    def _load(self) -> _Loaded:
        with self._lock:
            if self._loaded is None:
                path = self._path()
                identity = f"{self.name}@{modelfiles.sha256(path)[:12]}"
                session = modelfiles.load_model(path, self._session, "the ONNX embedder model")
                self._loaded = self._inspect(session, identity)
            return self._loaded

    def _session(self, path: str) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.config.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])

    def _inspect(self, session: Any, identity: str) -> _Loaded:
        """Check the model's declared input and output against the config; say what to change if not."""
        path = self.config.path
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if len(inputs) != 1:
            names = [i.name for i in inputs]
            raise ModelError(f"ONNX model {path} must take one input (the face batch), it takes {names}")
        arg = inputs[0]
        if arg.type not in _INPUT_DTYPES:
            raise ModelError(f"ONNX model {path} input {arg.name!r} must be a float tensor, it is {arg.type}")
        shape = list(arg.shape)
        if len(shape) != 4:
            raise ModelError(f"ONNX model {path} input {arg.name!r} must be 4-D (a batch of images), it is {shape}")
        w, h = self.config.input_size
        want = [shape[0], 3, h, w] if self.config.layout == "NCHW" else [shape[0], h, w, 3]
        if any(isinstance(d, int) and d > 0 and d != e for d, e in zip(shape[1:], want[1:], strict=True)):
            raise ConfigError(
                f"ONNX model {path} takes input {arg.name!r} of shape {shape} but embedder.input_size = "
                f"{[w, h]} (width, height) and embedder.layout = {self.config.layout!r} expect {want}; "
                "set input_size and layout to match the model"
            )
        out_shape = outputs[0].shape if outputs else None
        if not outputs or (isinstance(out_shape, list) and len(out_shape) != 2):
            raise ModelError(f"ONNX model {path} must output (batch, dim) vectors, its first output is {out_shape}")
        batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
        return _Loaded(session, arg.name, _INPUT_DTYPES[arg.type], batch, identity)


def create(config: OnnxEmbedderConfig) -> OnnxEmbedder:
    """The registry's factory for ``type = "onnx"``."""
    return OnnxEmbedder(config)
