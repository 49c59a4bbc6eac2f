"""When a live match becomes an alert, and what the alert carries.

At most one alert per (track, subject), and per camera at most one per subject within
``cooldown_s`` of stream time *for the same face*: a person who stays in view, or whose track is broken
by an occlusion longer than the tracker bridges, raises one alert for the pass, not one per fragment.
"The same face" is judged by appearance: the new track's template must lie within
``SAME_FACE_DISTANCE`` of the one that raised the earlier alert. So a false alert naming someone never
hides that person's real pass a few seconds later.
"""

from __future__ import annotations

import time
import uuid

import cv2
import numpy as np
from numpy.typing import NDArray

from openlfr.match.watchlist import Watchlist
from openlfr.track.shots import Shot
from openlfr.types import Alert, Match, RGBImage, Track

# Two templates of one person's pass are nearly always closer than this (dlib: same person below ~0.6).
SAME_FACE_DISTANCE = 0.5


class AlertGate:
    """Decides, for one camera, whether a match raises a new alert."""

    def __init__(self, cooldown_s: float) -> None:
        self.cooldown_s = cooldown_s
        self._last: dict[str, tuple[float, NDArray[np.float32]]] = {}

    def admit(self, subject_id: str, pts: float, already_on_track: set[str], template: NDArray[np.float32]) -> bool:
        if subject_id in already_on_track:
            return False
        last = self._last.get(subject_id)
        recent = last is not None and pts - last[0] < self.cooldown_s
        if recent and last is not None and float(np.linalg.norm(template - last[1])) < SAME_FACE_DISTANCE:
            return False  # the same face again, within the cooldown: the same pass
        self._last[subject_id] = (pts, template)
        return True


def make_alert(camera_id: str, track: Track, shot: Shot, match: Match, watchlist: Watchlist) -> Alert:
    """The alert for ``match`` of ``track``, with the probe crop and the matched enrolment face."""
    subject = watchlist.subjects[match.subject_id]
    return Alert(
        alert_id=uuid.uuid4().hex,
        camera_id=camera_id,
        track_id=track.track_id,
        watchlist=watchlist.name,
        subject_id=subject.subject_id,
        display_name=subject.display_name,
        category=subject.category,
        score=match.score,
        threshold=match.threshold,
        box=shot.face.detection.box,
        probe_jpeg=jpeg(shot.crop),
        watchlist_jpeg=watchlist.faces.get(match.template_id),
        first_seen_wall=track.first_seen_wall,
        first_seen_pts=track.first_seen_pts,
        frame_pts=shot.frame_pts,
        frame_captured_wall=shot.captured_wall,
        frame_captured_mono=shot.captured_mono,
        raised_wall=time.time(),
        frames=track.frames,
    )


def jpeg(image: RGBImage, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode image as JPEG")
    return bytes(buf)
