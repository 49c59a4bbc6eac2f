"""Joining detections across frames into tracks: one track per person's pass in front of a camera.

Each frame, every live track's box is predicted forward by its velocity; detections are then given to
tracks greedily, best overlap first (IoU with the prediction), falling back to centre distance for
small, fast faces that no longer overlap between analysed frames. A track that goes unseen survives
``max_missed_s`` of stream time (a short occlusion), then ends. Unmatched detections start tracks.
Nothing here is dropped silently: every detection ends up in exactly one track.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from openlfr.config import TrackerConfig
from openlfr.types import BoundingBox, FaceDetection, Track

# Velocity is smoothed: new = SMOOTHING * observed + (1 - SMOOTHING) * old.
SMOOTHING = 0.5
# Without overlap, a detection may still join a track if its centre is within this many box widths of
# the prediction and its size within this ratio.
CENTRE_GATE = 1.0
SIZE_RATIO = 1.6


@dataclass(slots=True)
class TrackerUpdate:
    """What one frame did: tracks seen in it (with their detection), tracks started, tracks ended."""

    matched: list[tuple[Track, FaceDetection]] = field(default_factory=list)
    started: list[Track] = field(default_factory=list)
    ended: list[Track] = field(default_factory=list)


class Tracker:
    """Tracks for one camera. Not thread-safe: one analysis thread owns it."""

    def __init__(self, camera_id: str, config: TrackerConfig | None = None) -> None:
        self.camera_id = camera_id
        self.config = config or TrackerConfig()
        self._tracks: list[Track] = []
        self._next_id = 1

    @property
    def tracks(self) -> list[Track]:
        return list(self._tracks)

    def update(self, detections: list[FaceDetection], pts: float, wall: float) -> TrackerUpdate:
        """Give this frame's detections (at stream time ``pts``) to tracks; end tracks unseen too long."""
        out = TrackerUpdate()
        predicted = [_predict(t, pts) for t in self._tracks]
        pairs = _candidates(predicted, detections, self.config.iou_threshold)
        used_tracks: set[int] = set()
        used_dets: set[int] = set()
        for _, ti, di in pairs:
            if ti in used_tracks or di in used_dets:
                continue
            used_tracks.add(ti)
            used_dets.add(di)
            track = self._tracks[ti]
            _observe(track, detections[di], pts)
            out.matched.append((track, detections[di]))
        for di, det in enumerate(detections):
            if di in used_dets:
                continue
            track = Track(
                track_id=self._next_id,
                camera_id=self.camera_id,
                box=det.box,
                first_seen_pts=pts,
                first_seen_wall=wall,
                last_seen_pts=pts,
            )
            self._next_id += 1
            self._tracks.append(track)
            out.started.append(track)
            out.matched.append((track, det))
        keep = []
        for track in self._tracks:
            if pts - track.last_seen_pts > self.config.max_missed_s:
                out.ended.append(track)
            else:
                keep.append(track)
        self._tracks = keep
        return out

    def finish(self) -> list[Track]:
        """End every track (the stream is over)."""
        ended, self._tracks = self._tracks, []
        return ended


def _predict(track: Track, pts: float) -> BoundingBox:
    dt = pts - track.last_seen_pts
    vx, vy, vs = track.velocity
    b = track.box
    scale = max(0.5, min(2.0, 1.0 + vs * dt))
    cx, cy = b.center[0] + vx * dt, b.center[1] + vy * dt
    w, h = b.width * scale / 2, b.height * scale / 2
    return BoundingBox(cx - w, cy - h, cx + w, cy + h)


def _candidates(
    predicted: list[BoundingBox], detections: list[FaceDetection], iou_threshold: float
) -> list[tuple[float, int, int]]:
    """(priority, track index, detection index), best first: overlaps before centre-distance matches."""
    pairs = []
    for ti, p in enumerate(predicted):
        for di, det in enumerate(detections):
            iou = p.iou(det.box)
            if iou >= iou_threshold:
                pairs.append((1.0 + iou, ti, di))
                continue
            ratio = det.box.width / p.width
            dist = float(np.hypot(det.box.center[0] - p.center[0], det.box.center[1] - p.center[1]))
            if 1 / SIZE_RATIO <= ratio <= SIZE_RATIO and dist <= CENTRE_GATE * p.width:
                pairs.append((1.0 - dist / (CENTRE_GATE * p.width), ti, di))
    pairs.sort(key=lambda x: -x[0])
    return pairs


def _observe(track: Track, det: FaceDetection, pts: float) -> None:
    dt = pts - track.last_seen_pts
    if dt > 0:
        old, new = track.box, det.box
        observed = (
            (new.center[0] - old.center[0]) / dt,
            (new.center[1] - old.center[1]) / dt,
            (new.width / old.width - 1.0) / dt,
        )
        track.velocity = tuple(  # type: ignore[assignment]
            SMOOTHING * o + (1 - SMOOTHING) * v for o, v in zip(observed, track.velocity, strict=True)
        )
    track.box = det.box
    track.last_seen_pts = pts
    track.frames += 1
