"""Matching on the node (``cluster.matching = "node"``): the camera's actor holds the watchlist and sends
only the alerts it raises.

The service gives each placement of a camera one ``NodeWatchlist``, as an argument of the actor's
constructor (held in the actor's memory; openlfr writes none of it to the node's disk): the deployment's
watchlist, already decrypted from the store, *without its enrolment faces* (the service adds the matched
face to each alert it receives), the run and placement (so the alert ids are the ones the service would
have made), and the camera's alert gate as the service last knew it (so a camera placed again does not
alert again within the cooldown). ``NodeMatching`` decides with ``central.CentralMatching`` itself: the
same search, the same gate, the same ids as matching in the service.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol

from openlfr.alert.rules import AlertGate, jpeg
from openlfr.cluster.central import CentralMatching, alert_for
from openlfr.cluster.messages import NodeAlert, TrackTemplates
from openlfr.match.watchlist import Watchlist
from openlfr.track.shots import Shot, ShotBook
from openlfr.types import Alert, TemplateSet, Track


@dataclass(frozen=True, slots=True, eq=False)
class NodeWatchlist:
    """What a camera's placement is given to match on its node."""

    watchlist: Watchlist
    """Templates, subjects, scoring and threshold; ``faces`` empty (the enrolment photographs stay in the service)."""
    run: str
    placement: int
    cooldown_s: float
    gate: AlertGate

    @classmethod
    def of(cls, watchlist: Watchlist, run: str, placement: int, cooldown_s: float, gate: AlertGate) -> NodeWatchlist:
        return cls(dataclasses.replace(watchlist, faces={}), run, placement, cooldown_s, gate)


class NodeMatching:
    """The pipeline's matching step on a node: 1:N here, each alert handed to ``put`` (the actor's queue)."""

    def __init__(self, camera_id: str, given: NodeWatchlist, queue: _Put) -> None:
        self.camera_id = camera_id
        self._given = given
        self._central = CentralMatching(given.watchlist, given.cooldown_s, given.run, {camera_id: given.gate})
        self._queue = queue

    def recognise(self, track: Track, book: ShotBook, shot: Shot, templates: TemplateSet) -> Alert | None:
        message = TrackTemplates.of(self.camera_id, track, shot, book.add(shot, templates), crop=False)
        decided = self._central.decide(message, self._given.placement)
        if decided is not None:
            ident, match = decided
            message = dataclasses.replace(message, crop_jpeg=jpeg(shot.crop))  # encoded only for an alert
            alert = alert_for(ident, message, match, self._given.watchlist)
            self._queue.put(NodeAlert(alert, match.template_id))
        self._central.forget_old()
        return None  # the alert goes to the service, which stores it before any sink sends it


class _Put(Protocol):
    """Where a node's alerts wait for the service (``actor.BoundedQueue``)."""

    def put(self, item: NodeAlert) -> None: ...
