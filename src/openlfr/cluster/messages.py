"""What a camera actor hands the service, collected each poll with the camera's state: a track's templates
with the shot that made them (matching in the service), or only the alerts it raised (matching on the node)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from openlfr.alert.rules import jpeg
from openlfr.metrics import MetricsSnapshot
from openlfr.track.shots import Shot
from openlfr.types import Alert, BoundingBox, TemplateSet, Track


@dataclass(frozen=True, slots=True, eq=False)
class TrackTemplates:
    """A track's templates (one per embedder, each the quality-weighted mean of its embedded shots), the
    track as it was then, and the shot whose embedding made them: where the face was, when, and its crop
    as JPEG (the alert's image if it matches; otherwise dropped in the service's memory)."""

    camera_id: str
    track: Track
    templates: TemplateSet
    box: BoundingBox
    frame_pts: float
    captured_wall: float
    captured_mono: float
    crop_jpeg: bytes

    @classmethod
    def of(cls, camera_id: str, track: Track, shot: Shot, templates: TemplateSet, crop: bool = True) -> TrackTemplates:
        """The message for ``shot`` of ``track`` (a copy of the track: the tracker goes on moving it);
        ``crop=False``: without the crop's JPEG (matching on the node encodes it only for an alert)."""
        return cls(
            camera_id,
            dataclasses.replace(track),
            templates,
            shot.face.detection.box,
            shot.frame_pts,
            shot.captured_wall,
            shot.captured_mono,
            jpeg(shot.crop) if crop else b"",
        )


@dataclass(frozen=True, slots=True, eq=False)
class NodeAlert:
    """An alert raised on the node (``cluster.matching = "node"``), with its probe crop, and the watchlist
    template it matched: the node holds no enrolment face, so the service adds it (``watchlist_jpeg``)."""

    alert: Alert
    template_id: str


@dataclass(frozen=True, slots=True)
class Drained:
    """One poll of a camera actor: what it queued since the last, and how it is."""

    node_id: str
    snapshot: MetricsSnapshot
    messages: list[TrackTemplates] = field(default_factory=list)
    finished: bool = False
    """Its source has ended (a file) and everything it saw is in ``messages``."""
    error: str | None = None
    dropped: int = 0
    """Templates dropped since the last poll because the service did not collect them in time."""
    message_bytes: int = 0
    """The size of ``messages`` and ``alerts`` pickled (what the node sent the service for them)."""
    alerts: list[NodeAlert] = field(default_factory=list)
    """Matching on the node: the alerts it raised since the last poll (``messages`` is then empty)."""
