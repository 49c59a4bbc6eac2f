"""The embedder plugin protocol and its registry keyed by ``type``.

An embedder owns its alignment (each model expects its own chip size and landmark template) and
turns aligned faces into ``Template`` vectors, in batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from openlfr.registry import Registry
from openlfr.types import AlignedFace, FaceDetection, RGBImage, Template


@runtime_checkable
class Embedder(Protocol):
    """Aligns and embeds faces.

    ``identity`` is ``name@version`` (the version is a checksum of the model file): templates can be
    compared only with templates of the same identity.
    """

    @property
    def identity(self) -> str: ...

    def load(self) -> None:
        """Load the model files now instead of on first use (raises ModelError if they are unusable)."""
        ...

    def align(self, image: RGBImage, detections: Sequence[FaceDetection]) -> list[AlignedFace]:
        """One aligned chip per detection, in the same order."""
        ...

    def embed(self, faces: Sequence[AlignedFace]) -> list[Template]:
        """One template per aligned face, computed as one batch."""
        ...


embedders: Registry[Embedder] = Registry(
    "embedder",
    {
        "dlib": "openlfr.embed.dlib_resnet:create",
        "onnx": "openlfr.embed.onnx:create",
        "dlib_onnx": "openlfr.embed.dlib_onnx:create",
    },
)
"""``embedders.create(config)`` builds the embedder that ``config.type`` names; ``embedders.register`` adds one."""
