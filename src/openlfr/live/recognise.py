"""The live pipeline's matching step: where a track's template meets a watchlist and becomes an alert.

``CameraPipeline`` hands each new embedding of a track to one ``TrackRecogniser``. ``LocalRecogniser``
matches here, against a watchlist in this process (``lfr watch``, the service's own cameras);
``edge.recogniser.EdgeRecogniser`` sends the template to the service instead, which matches there.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from openlfr.alert.rules import AlertGate, make_alert
from openlfr.match import matcher
from openlfr.match.watchlist import Watchlist
from openlfr.track.shots import Shot, ShotBook
from openlfr.types import Alert, Template, Track


class TrackRecogniser(Protocol):
    """Takes a track's new embedding; returns the alert it raises here and now, or None."""

    def recognise(self, track: Track, book: ShotBook, shot: Shot, template: Template) -> Alert | None: ...


class LocalRecogniser:
    """1:N against ``watchlist`` in this process, through one camera's alert gate."""

    def __init__(self, camera_id: str, watchlist: Watchlist, cooldown_s: float) -> None:
        self.camera_id = camera_id
        self.watchlist = watchlist
        self._gate = AlertGate(cooldown_s)
        self._index = watchlist.index()

    def recognise(self, track: Track, book: ShotBook, shot: Shot, template: Template) -> Alert | None:
        vector = book.add(shot, template)
        second = book.second_template()  # None without a second embedder
        fused = None if second is None else second[np.newaxis, :]
        [candidates] = matcher.search(self.watchlist, vector[np.newaxis, :], k=1, index=self._index, second=fused)
        best = matcher.best_match(candidates)
        if best is None or not self._gate.admit(best.subject_id, shot.frame_pts, book.alerted):
            return None
        book.alerted.add(best.subject_id)
        return make_alert(self.camera_id, track, shot, best, self.watchlist)
