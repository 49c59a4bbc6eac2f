"""A camera on a Ray node: the live pipeline of one camera, its templates handed to the service.

``CameraWorker`` is a plain class; ``cluster.app`` makes it a Ray actor (``ray.remote``) when it places
a camera, so nothing imports Ray here. The worker detects, tracks, picks best shots and embeds on its
node; each new template set of a track waits in a bounded queue until the service collects it
(``drain``), and the service matches it against the watchlist, which never leaves the service.
"""

from __future__ import annotations

import logging
import pickle
import threading
from collections import deque

from openlfr.cluster.messages import Drained, TrackTemplates
from openlfr.config import CameraConfig, Settings
from openlfr.detect.base import detectors
from openlfr.embed.base import embedders
from openlfr.embed.service import Embedding, ThreadEmbedService
from openlfr.ingest.video import open_source
from openlfr.live.pipeline import CameraPipeline
from openlfr.live.recognise import Recogniser
from openlfr.track.shots import Shot, ShotBook
from openlfr.types import Alert, TemplateSet, Track

log = logging.getLogger("openlfr.cluster.actor")

QUEUE_LIMIT = 1000
"""Template sets a camera holds for the service; past it the oldest are dropped (and counted)."""


class _Forward:
    """The pipeline's matching step on a node: queue the track's templates for the service."""

    def __init__(self, camera_id: str) -> None:
        self.camera_id = camera_id
        self.queue: deque[TrackTemplates] = deque()
        self.dropped = 0
        self.lock = threading.Lock()

    def recognise(self, track: Track, book: ShotBook, shot: Shot, templates: TemplateSet) -> Alert | None:
        message = TrackTemplates.of(self.camera_id, track, shot, book.add(shot, templates))
        with self.lock:
            if len(self.queue) >= QUEUE_LIMIT:
                self.queue.popleft()
                self.dropped += 1
            self.queue.append(message)
        return None


class _NoSink:
    """Alerts are raised in the service, never on a node."""

    name = "none"

    def send(self, alert: Alert) -> None:
        raise AssertionError("a camera on a cluster node raises no alert itself")

    def close(self, timeout: float = 5.0) -> None:
        return None


class CameraWorker:
    """One camera's pipeline on this node (a Ray actor's body)."""

    def __init__(self, settings: Settings, camera: CameraConfig) -> None:
        self.camera = camera
        live = settings.live
        embedder = embedders.create(settings.embedder)
        embedder.load()
        self._service = ThreadEmbedService(embedder)  # the actor is the process: embedding on a thread of it
        self._forward = _Forward(camera.id)
        recogniser = Recogniser([Embedding(embedder, self._service)], self._forward)
        source = open_source(camera, live.reconnect)
        self.pipeline = CameraPipeline(camera, source, settings, detectors.create(live.detector), recogniser, _NoSink())
        self._node_id = _node_id()

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
        with self._forward.lock:
            messages = list(self._forward.queue)
            self._forward.queue.clear()
            dropped, self._forward.dropped = self._forward.dropped, 0
        size = len(pickle.dumps(messages, protocol=5)) if messages else 0
        return Drained(self._node_id, self.pipeline.metrics.snapshot(), messages, finished, error, dropped, size)

    def stop(self) -> None:
        self.pipeline.stop()
        self.pipeline.join(10.0)
        self._service.close()


def _node_id() -> str:
    import ray  # on a node, inside the actor: Ray is there

    return str(ray.get_runtime_context().get_node_id())
