"""The live pipeline's recognition: a track's best shots become templates, and templates become alerts.

``CameraPipeline`` takes one ``Recogniser``: the run's embedders (each aligns the shot its own way and
embeds it in its own service; the first also aligns for quality and crops) and the matching step, a
``TrackRecogniser`` that takes each new ``TemplateSet`` of a track. ``LocalRecogniser`` matches here,
against a watchlist in this process (``lfr watch``, the service's own cameras);
``edge.recogniser.EdgeRecogniser`` sends the templates to the service instead, which matches there, and
``cluster.actor`` hands them to the service from a camera placed on a Ray node.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from openlfr.alert.rules import AlertGate, Sighting, make_alert
from openlfr.embed.service import Embedding
from openlfr.match import matcher
from openlfr.match.watchlist import Watchlist
from openlfr.track.shots import Shot, ShotBook
from openlfr.types import Alert, AlignedFace, FaceDetection, RGBImage, Template, TemplateSet, Track


class TrackRecogniser(Protocol):
    """Takes a track's new embeddings; returns the alert it raises here and now, or None."""

    def recognise(self, track: Track, book: ShotBook, shot: Shot, templates: TemplateSet) -> Alert | None: ...


@dataclass(frozen=True, slots=True)
class Recogniser:
    """What one camera recognises with: ``embeddings`` (the first one's alignment is the pipeline's) and
    ``matching``, where a track's templates meet a watchlist."""

    embeddings: Sequence[Embedding]
    matching: TrackRecogniser

    def __post_init__(self) -> None:
        if not self.embeddings:
            raise ValueError("a recogniser embeds with at least one embedder")

    def align(self, image: RGBImage, detections: Sequence[FaceDetection]) -> list[AlignedFace]:
        """The faces as the first embedder aligns them (quality and best shots are measured on these)."""
        return self.embeddings[0].embedder.align(image, detections) if detections else []

    def submit(self, image: RGBImage, faces: Sequence[AlignedFace]) -> list[Future[list[Template]]]:
        """Embed ``faces`` with every embedder, each aligning them its own way; one future per embedder."""
        first, *others = self.embeddings
        futures = [first.service.submit(faces)]
        detections = [face.detection for face in faces]
        futures.extend(e.service.submit(e.embedder.align(image, detections)) for e in others)
        return futures

    def recognise(self, track: Track, book: ShotBook, shot: Shot, templates: TemplateSet) -> Alert | None:
        return self.matching.recognise(track, book, shot, templates)

    def load(self) -> None:
        """Load the alignment models now, not at the first face (measured: 1.7 s instead of 0.2 s)."""
        for embedding in self.embeddings:
            embedding.embedder.load()


class LocalRecogniser:
    """1:N against ``watchlist`` in this process, through one camera's alert gate."""

    def __init__(self, camera_id: str, watchlist: Watchlist, cooldown_s: float) -> None:
        self.camera_id = camera_id
        self.watchlist = watchlist
        self._gate = AlertGate(cooldown_s)
        self._index = watchlist.index()

    def recognise(self, track: Track, book: ShotBook, shot: Shot, templates: TemplateSet) -> Alert | None:
        track_templates = book.add(shot, templates)
        [candidates] = matcher.search_sets(self.watchlist, [track_templates], k=1, index=self._index)
        best = matcher.best_match(candidates)
        if best is None or not self._gate.admit(best.subject_id, shot.frame_pts, book.alerted):
            return None
        book.alerted.add(best.subject_id)
        return make_alert(self.camera_id, track, best, self.watchlist, Sighting.of(shot))
