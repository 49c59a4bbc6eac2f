"""Matching in the service for cameras on a cluster: a camera's template sets meet the watchlist here.

The same decision as a camera matching in process (``live.recognise.LocalRecogniser``): the best
candidate above the threshold, through the camera's alert gate (one alert per track and subject, one
per subject per cooldown). A camera placed again (its node died) is a new *placement*: its tracks are
new, its gate carries on. An alert's id is derived from (run, camera, placement, track, subject), so
the same alert handed twice to the store is stored once (``Alerts.store_alert`` is idempotent by id).
With ``cluster.matching = "node"`` the same class runs in the camera's actor (``cluster.node``).
"""

from __future__ import annotations

import time
import uuid

from openlfr.alert.rules import AlertGate, Sighting, make_alert
from openlfr.cluster.messages import TrackTemplates
from openlfr.match import matcher
from openlfr.match.watchlist import Watchlist
from openlfr.types import Alert, Match

TRACK_MEMORY_S = 600.0
"""How long a track's alerted subjects are remembered after its last template."""
NAMESPACE = uuid.UUID("6f1c1d2e-8a49-4d0c-9a51-0c6e3b1f7a10")


def alert_id(run: str, camera_id: str, placement: int, track_id: int, subject_id: str) -> str:
    """The id of the one alert a track of a camera's placement may raise for a subject."""
    return uuid.uuid5(NAMESPACE, f"{run}/{camera_id}/{placement}/{track_id}/{subject_id}").hex


class CentralMatching:
    """Matches every camera's template sets against ``watchlist`` (one per cluster run)."""

    def __init__(
        self, watchlist: Watchlist, cooldown_s: float, run: str, gates: dict[str, AlertGate] | None = None
    ) -> None:
        self.watchlist = watchlist
        self._run = run
        self._cooldown = cooldown_s
        self._index = watchlist.index()
        self._gates: dict[str, AlertGate] = dict(gates or {})
        """Each camera's gate; a camera matching on its node is given the one the service kept for it."""
        self._alerted: dict[tuple[str, int, int], tuple[set[str], float]] = {}

    def match(self, message: TrackTemplates, placement: int) -> Alert | None:
        """The alert ``message`` raises (from the camera's ``placement``), or None."""
        decided = self.decide(message, placement)
        return None if decided is None else alert_for(decided[0], message, decided[1], self.watchlist)

    def decide(self, message: TrackTemplates, placement: int) -> tuple[str, Match] | None:
        """The id of the alert ``message`` raises and the match that raises it, or None (through the gate)."""
        [candidates] = matcher.search_sets(self.watchlist, [message.templates], k=1, index=self._index)
        best = matcher.best_match(candidates)
        now = time.monotonic()
        key = (message.camera_id, placement, message.track.track_id)
        alerted, _ = self._alerted.get(key, (set(), now))
        self._alerted[key] = (alerted, now)
        if best is None:
            return None
        gate = self._gates.setdefault(message.camera_id, AlertGate(self._cooldown))
        if not gate.admit(best.subject_id, message.frame_pts, alerted):
            return None
        alerted.add(best.subject_id)
        return alert_id(self._run, message.camera_id, placement, message.track.track_id, best.subject_id), best

    def forget_old(self) -> None:
        """Drop the memory of tracks not seen for ``TRACK_MEMORY_S``."""
        now = time.monotonic()
        self._alerted = {k: v for k, v in self._alerted.items() if now - v[1] < TRACK_MEMORY_S}


def alert_for(ident: str, message: TrackTemplates, match: Match, watchlist: Watchlist) -> Alert:
    """The alert ``ident`` for ``match`` of the message's track (``alert.rules.make_alert``, from the message)."""
    # The node's monotonic clock is not this process's: latency is measured from the wall clock here.
    mono = time.monotonic() - (time.time() - message.captured_wall)
    seen = Sighting(message.box, message.crop_jpeg, message.frame_pts, message.captured_wall, mono)
    return make_alert(message.camera_id, message.track, match, watchlist, seen, alert_id=ident)
