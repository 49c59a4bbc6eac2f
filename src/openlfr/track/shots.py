"""Best shots: each track keeps its few best face crops, and only those are embedded.

A track's template is the quality-weighted mean of the shots embedded so far. It is matched as soon
as one shot passes the probe rule, and again whenever a shot clearly better than the best embedded
one arrives (by ``rematch_gain``), up to ``max_embeddings`` per track. When the track ends, the shots
and templates go with it: only counts survive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from openlfr.config import TrackerConfig
from openlfr.types import AlignedFace, FaceQuality, Frame, RGBImage, TemplateSet


@dataclass(frozen=True, slots=True, eq=False)
class Shot:
    """One face of a track in one frame: the aligned chip, its quality, a crop for the operator."""

    face: AlignedFace
    quality: FaceQuality
    crop: RGBImage
    frame_seq: int
    frame_pts: float
    captured_mono: float
    captured_wall: float


@dataclass(slots=True, eq=False)
class ShotBook:
    """The best shots of one track and the state of its template."""

    config: TrackerConfig
    shots: list[Shot] = field(default_factory=list)
    embedded_quality: float = 0.0
    embeddings: int = 0
    pending: int = 0
    """Embeddings asked for and not yet back."""
    vectors: dict[str, list[tuple[float, np.ndarray]]] = field(default_factory=dict)
    """Each embedder's embeddings of the shots, with their weights (one embedder, or several: score fusion)."""
    alerted: set[str] = field(default_factory=set)

    def nbytes(self) -> int:
        """Bytes of the crops, chips and templates held (what memory a track costs)."""
        held = sum(s.crop.nbytes + s.face.chip.nbytes for s in self.shots)
        return held + sum(v.nbytes for pairs in self.vectors.values() for _, v in pairs)

    def offer(self, shot: Shot) -> bool:
        """Keep ``shot`` if it is among the best ``config.best_shots``; True if kept."""
        if len(self.shots) >= self.config.best_shots and shot.quality.score <= self.shots[-1].quality.score:
            return False
        self.shots.append(shot)
        self.shots.sort(key=lambda s: -s.quality.score)
        del self.shots[self.config.best_shots :]
        return True

    def wants_embedding(self, shot: Shot) -> bool:
        """Whether ``shot`` (already kept, passing the probe rule) should be embedded now."""
        if self.embeddings + self.pending >= self.config.max_embeddings or self.pending:
            return False
        if self.embeddings == 0:
            return True
        return shot.quality.score > self.embedded_quality * (1.0 + self.config.rematch_gain)

    def asked(self, shot: Shot) -> None:
        self.pending += 1
        self.embedded_quality = max(self.embedded_quality, shot.quality.score)

    def add(self, shot: Shot, templates: TemplateSet) -> TemplateSet:
        """Take the embeddings of ``shot`` (one per embedder); return the track's templates, each the
        quality-weighted mean of that embedder's embeddings so far."""
        self.pending = max(0, self.pending - 1)
        self.embeddings += 1
        weight = max(shot.quality.score, 1e-3)
        for embedder, vector in templates.items():
            self.vectors.setdefault(embedder, []).append((weight, vector))
        return TemplateSet({embedder: _weighted_mean(self.vectors[embedder]) for embedder in templates})

    @staticmethod
    def crop(frame: Frame, face: AlignedFace, margin: float = 0.4) -> RGBImage:
        """A copy of the face's region of the frame with ``margin`` context (what the operator sees)."""
        box = face.detection.box
        h, w = frame.image.shape[:2]
        mx, my = box.width * margin, box.height * margin
        x1, y1 = max(0, int(box.x1 - mx)), max(0, int(box.y1 - my))
        x2, y2 = min(w, int(box.x2 + mx) + 1), min(h, int(box.y2 + my) + 1)
        return np.ascontiguousarray(frame.image[y1:y2, x1:x2])


def _weighted_mean(vectors: list[tuple[float, np.ndarray]]) -> np.ndarray:
    weights = np.array([w for w, _ in vectors])
    stack = np.stack([v for _, v in vectors])
    return np.asarray((weights[:, None] * stack).sum(axis=0) / weights.sum(), dtype=np.float32)
