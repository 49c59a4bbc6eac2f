"""When a live match becomes an alert, and what the alert carries.

At most one alert per (track, subject), and per camera at most one per subject within
``cooldown_s`` of stream time: a person who stays in view, or whose track is broken by an occlusion
longer than the tracker bridges, raises one alert for the pass, not one per fragment.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import cv2

from openlfr.match.watchlist import Watchlist
from openlfr.track.shots import Shot
from openlfr.types import Alert, BoundingBox, Match, RGBImage, Track


class AlertGate:
    """Decides, for one camera, whether a match raises a new alert."""

    def __init__(self, cooldown_s: float) -> None:
        self.cooldown_s = cooldown_s
        self._last: dict[str, float] = {}

    def admit(self, subject_id: str, pts: float, already_on_track: set[str]) -> bool:
        if subject_id in already_on_track:
            return False
        last = self._last.get(subject_id)
        if last is not None and pts - last < self.cooldown_s:
            return False
        self._last[subject_id] = pts
        return True


@dataclass(frozen=True, slots=True)
class Sighting:
    """The moment of a track that raised an alert: where the face was in its frame, its crop (JPEG), and
    when the frame was taken (``captured_mono`` on this process's monotonic clock)."""

    box: BoundingBox
    probe_jpeg: bytes
    frame_pts: float
    captured_wall: float
    captured_mono: float

    @classmethod
    def of(cls, shot: Shot) -> Sighting:
        return cls(shot.face.detection.box, jpeg(shot.crop), shot.frame_pts, shot.captured_wall, shot.captured_mono)


def make_alert(
    camera_id: str,
    track: Track,
    match: Match,
    watchlist: Watchlist,
    seen: Sighting,
    alert_id: str | None = None,
    position: tuple[float, float] | None = None,
) -> Alert:
    """The alert for ``match`` of ``track`` as ``seen``, with the matched enrolment face; its id is
    ``alert_id`` where the caller derives one (a cluster's, stored once), else a new random one; ``position``
    where the camera was (a device's latitude and longitude)."""
    subject = watchlist.subjects[match.subject_id]
    return Alert(
        alert_id=uuid.uuid4().hex if alert_id is None else alert_id,
        camera_id=camera_id,
        track_id=track.track_id,
        watchlist=watchlist.name,
        subject_id=subject.subject_id,
        display_name=subject.display_name,
        category=subject.category,
        score=match.score,
        threshold=match.threshold,
        box=seen.box,
        probe_jpeg=seen.probe_jpeg,
        watchlist_jpeg=watchlist.faces.get(match.template_id),
        first_seen_wall=track.first_seen_wall,
        first_seen_pts=track.first_seen_pts,
        frame_pts=seen.frame_pts,
        frame_captured_wall=seen.captured_wall,
        frame_captured_mono=seen.captured_mono,
        raised_wall=time.time(),
        frames=track.frames,
        uncalibrated=watchlist.calibration_problem() is not None,
        position=position,
    )


def jpeg(image: RGBImage, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode image as JPEG")
    return bytes(buf)
