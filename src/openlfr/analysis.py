"""One image in, every face out: detect, align, measure quality, embed.

``FaceAnalyzer`` is the recognition core that enrolment, stills search and (later) the live pipeline
share. It holds one detector and one embedder, built from ``Settings`` on first use, and the second
embedder where ``second_embedder`` is configured (score fusion): each face is then also aligned the way
that embedder wants and embedded by it (``AnalyzedFace.second``).
"""

from __future__ import annotations

from pathlib import Path

from openlfr.config import Settings
from openlfr.detect.base import FaceDetector, detectors
from openlfr.embed import quality
from openlfr.embed.base import Embedder, embedders
from openlfr.errors import ImageError
from openlfr.ingest.images import load_image
from openlfr.types import AnalyzedFace, FaceDetection, ImageFaces, RGBImage, Template, check_rgb


class FaceAnalyzer:
    """Detects, aligns, measures and embeds every face of an image."""

    def __init__(
        self,
        settings: Settings | None = None,
        detector: FaceDetector | None = None,
        embedder: Embedder | None = None,
        second_embedder: Embedder | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self._detector = detector
        self._embedder = embedder
        self._second = second_embedder

    @property
    def detector(self) -> FaceDetector:
        if self._detector is None:
            self._detector = detectors.create(self.settings.detector)
        return self._detector

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = embedders.create(self.settings.embedder)
        return self._embedder

    @property
    def second_embedder(self) -> Embedder | None:
        """The second embedder (score fusion), or None when ``second_embedder`` is not configured."""
        if self._second is None and self.settings.second_embedder is not None:
            self._second = embedders.create(self.settings.second_embedder)
        return self._second

    @property
    def second_identity(self) -> str | None:
        second = self.second_embedder
        return None if second is None else second.identity

    def load(self, path: Path) -> RGBImage:
        images = self.settings.images
        return load_image(path, max_pixels=images.max_pixels, max_bytes=images.max_bytes)

    def analyze(self, image: RGBImage, detections: list[FaceDetection] | None = None) -> list[AnalyzedFace]:
        """Every face of ``image`` (or of ``detections``, if given), in detection order."""
        image = check_rgb(image)
        if detections is None:
            detections = self.detector.detect(image)
        if not detections:
            return []
        aligned = self.embedder.align(image, detections)
        templates = self.embedder.embed(aligned)
        second: list[Template | None] = [None] * len(templates)
        if self.second_embedder is not None:  # its own alignment of the same detections
            second = list(self.second_embedder.embed(self.second_embedder.align(image, detections)))
        return [
            AnalyzedFace(detection=a.detection, aligned=a, quality=quality.measure(a), template=t, second=s)
            for a, t, s in zip(aligned, templates, second, strict=True)
        ]

    def analyze_path(self, path: Path) -> ImageFaces:
        """Faces of the image file at ``path``; an unusable file gives an ``ImageFaces`` with its error."""
        try:
            image = self.load(path)
        except ImageError as exc:
            return ImageFaces(source=str(path), error=str(exc), error_reason=exc.reason)
        height, width = image.shape[:2]
        return ImageFaces(source=str(path), width=width, height=height, faces=self.analyze(image))
