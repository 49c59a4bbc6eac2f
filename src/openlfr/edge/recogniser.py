"""The device's matching step: the track's template goes to the service's queue, with its crop held
back until the service answers (a hit sends it, anything else drops it)."""

from __future__ import annotations

import time

from openlfr.edge.sender import Outgoing, Sender
from openlfr.edge.wire import TemplateIn, wire_templates
from openlfr.track.shots import Shot, ShotBook
from openlfr.types import Alert, TemplateSet, Track


class EdgeRecogniser:
    """A ``recognise.TrackRecogniser`` that matches in the service: it never raises an alert itself."""

    def __init__(
        self, camera_id: str, sender: Sender, latitude: float | None = None, longitude: float | None = None
    ) -> None:
        self.camera_id = camera_id
        self._sender = sender
        self._position = (latitude, longitude)

    def recognise(self, track: Track, book: ShotBook, shot: Shot, templates: TemplateSet) -> Alert | None:
        track_templates = book.add(shot, templates)
        box = shot.face.detection.box
        body = TemplateIn(
            camera_id=self.camera_id,
            track_id=track.track_id,
            captured_at=shot.captured_wall,
            pts=shot.frame_pts,
            first_seen_at=track.first_seen_wall,
            first_seen_pts=track.first_seen_pts,
            frames=track.frames,
            quality=shot.quality.score,
            box=(box.x1, box.y1, box.x2, box.y2),
            templates=wire_templates(track_templates),
            latitude=self._position[0],
            longitude=self._position[1],
        )
        self._sender.put(Outgoing(self.camera_id, body, shot.crop, time.monotonic()))
        return None
