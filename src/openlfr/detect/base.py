"""The detector plugin protocol and its registry keyed by ``type``.

A detector turns an RGB image into ``FaceDetection`` objects. Built-in types are imported only when
first created, so importing openlfr loads no model and no native library.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from openlfr.registry import Registry
from openlfr.types import FaceDetection, RGBImage


@runtime_checkable
class FaceDetector(Protocol):
    """Finds faces. ``name`` says which detector and settings made a detection."""

    name: str

    def detect(self, image: RGBImage) -> list[FaceDetection]:
        """Every face in ``image`` (H x W x 3 uint8 RGB), highest score first."""
        ...


detectors: Registry[FaceDetector] = Registry(
    "detector",
    {
        "hog": "openlfr.detect.dlib_hog:create",
        "mmod": "openlfr.detect.dlib_mmod:create",
        "blazeface": "openlfr.detect.blazeface:create",
    },
)
"""``detectors.create(config)`` builds the detector that ``config.type`` names; ``detectors.register`` adds one."""
