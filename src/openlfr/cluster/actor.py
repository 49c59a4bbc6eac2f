"""A camera on a Ray node: the live pipeline of one camera, its templates handed to the service.

``CameraWorker`` is a plain class; ``cluster.app`` makes it a Ray actor (``ray.remote``) when it places
a camera, so nothing imports Ray here. The worker detects, tracks, picks best shots and embeds on its
node; each new template set of a track waits in a bounded queue until the service collects it
(``drain``), and the service matches it against the watchlist, which never leaves the service; or,
with ``cluster.matching = "node"``, the worker is given the watchlist at placement and queues only the
alerts it raises (``cluster.node``).
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
from collections import deque
from typing import Generic, TypeVar

from openlfr.cluster.messages import Drained, NodeAlert, TrackTemplates
from openlfr.cluster.node import NodeMatching, NodeWatchlist
from openlfr.config import CameraConfig, Settings
from openlfr.detect.base import detectors
from openlfr.embed.base import embedders
from openlfr.embed.service import Embedding, ThreadEmbedService
from openlfr.ingest.video import open_source
from openlfr.live import heap
from openlfr.live.pipeline import CameraPipeline
from openlfr.live.recognise import Recogniser, TrackRecogniser
from openlfr.track.shots import Shot, ShotBook
from openlfr.types import Alert, TemplateSet, Track

log = logging.getLogger("openlfr.cluster.actor")
T = TypeVar("T")

QUEUE_LIMIT = 1000
"""Template sets (or alerts) a camera holds for the service; past it the oldest are dropped (and counted)."""


class BoundedQueue(Generic[T]):
    """What a camera holds for the service until it collects it (``take``); the oldest dropped past the limit."""

    def __init__(self, limit: int = QUEUE_LIMIT) -> None:
        self._items: deque[T] = deque()
        self._limit = limit
        self._dropped = 0
        self._lock = threading.Lock()

    def put(self, item: T) -> None:
        with self._lock:
            if len(self._items) >= self._limit:
                self._items.popleft()
                self._dropped += 1
            self._items.append(item)

    def take(self) -> tuple[list[T], int]:
        """Everything queued since the last call, and how many were dropped meanwhile."""
        with self._lock:
            items, self._items = list(self._items), deque()
            dropped, self._dropped = self._dropped, 0
        return items, dropped


class _Forward:
    """The pipeline's matching step on a node when the service matches: queue the track's templates."""

    def __init__(self, camera_id: str) -> None:
        self.camera_id = camera_id
        self.queue: BoundedQueue[TrackTemplates] = BoundedQueue()

    def recognise(self, track: Track, book: ShotBook, shot: Shot, templates: TemplateSet) -> Alert | None:
        self.queue.put(TrackTemplates.of(self.camera_id, track, shot, book.add(shot, templates)))
        return None


class _NoSink:
    """The pipeline's sink on a node: none (an alert raised on the node is queued for the service, which
    stores it before any sink sends it)."""

    name = "none"

    def send(self, alert: Alert) -> None:
        raise AssertionError("a camera on a cluster node raises no alert itself")

    def close(self, timeout: float = 5.0) -> None:
        return None


class CameraWorker:
    """One camera's pipeline on this node (a Ray actor's body)."""

    def __init__(self, settings: Settings, camera: CameraConfig, given: NodeWatchlist | None = None) -> None:
        """``given``: the watchlist to match against here (``cluster.matching = "node"``); None: the
        service matches, and the camera hands it every template set."""
        self.camera = camera
        live = settings.live
        embedder = embedders.create(settings.embedder)
        embedder.load()
        self._service = ThreadEmbedService(embedder)  # the actor is the process: embedding on a thread of it
        self._forward = _Forward(camera.id)
        self._alerts: BoundedQueue[NodeAlert] = BoundedQueue()
        matching: TrackRecogniser = self._forward if given is None else NodeMatching(camera.id, given, self._alerts)
        recogniser = Recogniser([Embedding(embedder, self._service)], matching)
        source = open_source(camera, live.reconnect)
        self.pipeline = CameraPipeline(camera, source, settings, detectors.create(live.detector), recogniser, _NoSink())
        self._node_id = _node_id()
        self._trim_every = live.heap_trim_s  # as LiveApp does (live/heap.py), at the service's polls
        self._next_trim = time.monotonic() + self._trim_every

    def start(self) -> str:
        """Start the camera; the id of the node it runs on."""
        self.pipeline.start()
        return self._node_id

    def drain(self) -> Drained:
        """Everything queued since the last call, the camera's metrics, and whether it has ended."""
        error = None
        try:
            finished = self.pipeline.join(0.0)
        except Exception as exc:  # the camera stopped on an error: the service records it and places it again
            finished, error = True, f"{type(exc).__name__}: {exc}"
        messages, dropped = self._forward.queue.take()
        alerts, dropped_alerts = self._alerts.take()
        size = len(pickle.dumps((messages, alerts), protocol=5)) if messages or alerts else 0
        snapshot = self.pipeline.metrics.snapshot()
        if self._trim_every > 0 and time.monotonic() >= self._next_trim:
            heap.trim()
            self._next_trim = time.monotonic() + self._trim_every
        return Drained(self._node_id, snapshot, messages, finished, error, dropped + dropped_alerts, size, alerts)

    def stop(self) -> None:
        self.pipeline.stop()
        self.pipeline.join(10.0)
        self._service.close()


def _node_id() -> str:
    import ray  # on a node, inside the actor: Ray is there

    return str(ray.get_runtime_context().get_node_id())
