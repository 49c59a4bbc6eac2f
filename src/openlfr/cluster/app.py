"""A deployment's cameras on a Ray cluster: placed, collected from, matched here, placed again when a node dies.

``ClusterApp`` has the live app's surface (``start``, ``wait``, ``snapshots``, ``stop``), so a
deployment's run (``deploy/live.py``) drives it as it drives ``live.app.LiveApp``:

1. connect to the cluster (``connect``);
2. place each camera as a ``CameraWorker`` actor that takes one unit of the camera resource
   (``cluster.camera_resource``), spread over the nodes that declared it;
3. every ``poll_interval_s`` collect each camera's template sets and metrics, match them here
   (``central.CentralMatching``) and hand each alert to the run's sink (the store first, then the rest);
4. a camera whose actor died (its node died) or that answered nothing for ``unresponsive_s`` is placed
   again on a node with capacity, as a new placement; when it runs again, ``on_move`` is told the gap.

Nothing about a face leaves the node except a track's templates and its best shot, held in the
service's memory until matched; a face that raises no alert is never stored. With
``cluster.matching = "node"`` each placement is given the watchlist (``node.NodeWatchlist``, without its
enrolment faces) and the node sends only the alerts it raises, with their crops; step 3 then takes
those alerts (adding the matched enrolment face) instead of matching.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from openlfr.alert.base import AlertSink
from openlfr.alert.rules import AlertGate
from openlfr.cluster.actor import CameraWorker
from openlfr.cluster.central import CentralMatching
from openlfr.cluster.messages import Drained, NodeAlert
from openlfr.cluster.node import NodeWatchlist
from openlfr.config import ApiConfig, CameraConfig, Settings, StoreConfig
from openlfr.errors import ClusterError, ConfigError
from openlfr.match.watchlist import Watchlist
from openlfr.metrics import MetricsSnapshot
from openlfr.types import Alert

log = logging.getLogger("openlfr.cluster")

STOP_TIMEOUT_S = 15.0
SUSPECT_S = 60.0
MAX_START_FAILURES = 3


@dataclass(frozen=True, slots=True)
class CameraMove:
    """A camera placed again: from which node to which, why, and for how long it saw nothing."""

    camera_id: str
    placement: int
    from_node: str | None
    to_node: str
    reason: str
    gap_s: float


@dataclass(eq=False)
class _Placement:
    camera: CameraConfig
    number: int
    handle: Any
    started: Any
    """The ObjectRef of ``start``: the node id once the camera runs."""
    since: float
    """When the camera was last known to be working (or when this placement was asked for)."""
    node_id: str | None = None
    previous_node: str | None = None
    reason: str = ""
    pending: Any = None
    last_answer: float = 0.0
    snapshot: MetricsSnapshot | None = None
    finished: bool = False
    dropped: int = 0
    start_failures: int = 0
    """Placements of this camera in a row that died before it ran."""


@dataclass
class _Counts:
    alerts: int = 0
    alerts_by_camera: dict[str, int] = field(default_factory=dict)
    templates: int = 0
    message_bytes: dict[str, int] = field(default_factory=dict)
    """Per camera: bytes its nodes sent the service (template sets with their shots, pickled)."""
    moves: list[CameraMove] = field(default_factory=list)


def node_settings(settings: Settings) -> Settings:
    """What a camera node is given of the service's settings: the detector, embedders, tracker and
    quality rules, never the store (its key), the API's secrets or the sinks (webhook secrets)."""
    live = settings.live.model_copy(update={"sinks": [], "metrics_port": None})
    return settings.model_copy(update={"store": StoreConfig(), "api": ApiConfig(), "live": live, "cameras": []})


def connect(address: str) -> None:
    """Join the Ray cluster at ``address`` (``ray://HOST:PORT``, ``HOST:PORT`` or ``auto``) as its driver."""
    try:
        import ray
    except ImportError as exc:
        raise ClusterError("cluster mode needs Ray: pip install 'openlfr[cluster]'") from exc
    if ray.is_initialized():
        return
    try:
        ray.init(address=address, namespace="openlfr", log_to_driver=False, logging_level=logging.WARNING)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError or its own: one line for the user
        raise ClusterError(f"cannot join the Ray cluster at {address}: {exc}") from exc


class ClusterApp:
    """Runs ``cameras`` as actors on the Ray cluster of ``settings.cluster`` against ``watchlist``."""

    def __init__(
        self,
        settings: Settings,
        watchlist: Watchlist,
        cameras: Sequence[CameraConfig],
        sink: AlertSink,
        run: str,
        on_move: Callable[[CameraMove], None] | None = None,
    ) -> None:
        if settings.cluster.address is None:
            raise ConfigError("a cluster run needs cluster.address (lfr serve --cluster ADDRESS)")
        self.settings = settings
        self.cameras = list(cameras)
        self._run = run
        self._central = CentralMatching(watchlist, settings.live.tracker.alert_cooldown_s, run)
        self._node_gates: dict[str, AlertGate] = {}
        """Matching on the node: each camera's gate as its alerts show it, given to its next placement."""
        self._sink = sink
        self._on_move = on_move
        self._placements: dict[str, _Placement] = {}
        self._suspects: dict[str, float] = {}
        """Nodes a camera was lost on, and when: not chosen for a camera again for ``SUSPECT_S``."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ended = threading.Event()
        self._thread: threading.Thread | None = None
        self.counts = _Counts()

    # -- the live app's surface -------------------------------------------------------------------

    def start(self) -> None:
        assert self.settings.cluster.address is not None  # checked in __init__
        connect(self.settings.cluster.address)
        for camera in self.cameras:
            self._placements[camera.id] = self._place(camera, 0, None, "started")
        self._thread = threading.Thread(target=self._loop, name="lfr-cluster", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every camera has ended (files) or ``timeout``; True if all ended."""
        return self._ended.wait(timeout)

    def snapshots(self) -> list[MetricsSnapshot]:
        """Each running camera's metrics from its node, with the alerts matched here and its node."""
        with self._lock:
            placed = [p for p in self._placements.values() if p.snapshot is not None]
        uncalibrated = self._central.watchlist.calibration_problem() is not None
        return [
            replace(
                p.snapshot,
                alerts=self.counts.alerts_by_camera.get(p.camera.id, 0),
                uncalibrated=uncalibrated,
                node=p.node_id,
            )
            for p in placed
            if p.snapshot is not None
        ]

    def placements(self) -> dict[str, str | None]:
        """Each camera's node id (None while it is being placed)."""
        with self._lock:
            return {camera_id: p.node_id for camera_id, p in self._placements.items()}

    def stop(self) -> None:
        """Stop every camera, collect and match what each still held, close the sink (safe to call twice)."""
        import ray

        self._stop.set()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S + 5.0)
            self._thread = None
        placements = list(self._placements.values())
        self._placements = {}
        stops = {p.camera.id: p.handle.stop.remote() for p in placements}
        for p in placements:
            try:
                ray.get(stops[p.camera.id], timeout=STOP_TIMEOUT_S)
                self._take(p, ray.get(p.handle.drain.remote(), timeout=STOP_TIMEOUT_S))
            except Exception:  # a dead node's camera: what it held is gone with it
                log.warning("camera %s could not be stopped cleanly", p.camera.id)
            ray.kill(p.handle, no_restart=True)
        self._sink.close()

    # -- placing ----------------------------------------------------------------------------------

    def _place(self, camera: CameraConfig, number: int, previous: str | None, reason: str) -> _Placement:
        import ray

        actor: Any = ray.remote(CameraWorker)
        remote = actor.options(
            resources={self.settings.cluster.camera_resource: 1},
            num_cpus=0,  # a node's capacity is its camera resource: CPUs are not reserved per camera
            max_restarts=0,  # the service places a camera again itself, and records the gap
            scheduling_strategy=self._strategy() if number > 0 else "SPREAD",
        )
        handle = remote.remote(node_settings(self.settings), camera, self._given(camera, number))
        now = time.monotonic()
        return _Placement(camera, number, handle, handle.start.remote(), now, previous_node=previous, reason=reason)

    def _given(self, camera: CameraConfig, number: int) -> NodeWatchlist | None:
        """What placement ``number`` of ``camera`` is given to match on its node (None: it is matched here)."""
        if self.settings.cluster.matching != "node":
            return None
        cooldown = self.settings.live.tracker.alert_cooldown_s
        gate = self._node_gates.setdefault(camera.id, AlertGate(cooldown))
        return NodeWatchlist.of(self._central.watchlist, self._run, number, cooldown, copy.deepcopy(gate))

    def _strategy(self) -> object:
        """Where to place a camera again: preferably the live node with the fewest of this run's cameras
        that has lost none lately (Ray takes some seconds to declare a dead node dead, and would place
        the camera on it meanwhile); any node with room if that one has none."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        now = time.monotonic()
        self._suspects = {n: t for n, t in self._suspects.items() if now - t < SUSPECT_S}
        resource = self.settings.cluster.camera_resource
        nodes = [
            str(n["NodeID"])
            for n in ray.nodes()  # type: ignore[no-untyped-call]
            if n.get("Alive") and n.get("Resources", {}).get(resource, 0) > 0 and str(n["NodeID"]) not in self._suspects
        ]
        if not nodes:
            return "SPREAD"
        with self._lock:
            load = [p.node_id for p in self._placements.values()]
        return NodeAffinitySchedulingStrategy(min(nodes, key=load.count), soft=True)

    def _replace(self, old: _Placement, reason: str) -> None:
        import ray

        if old.node_id is not None:
            self._suspects[old.node_id] = time.monotonic()

        log.warning("camera %s on node %s: %s; placing it again", old.camera.id, old.node_id, reason)
        ray.kill(old.handle, no_restart=True)
        if old.node_id is None:  # it never ran (placed on a node that was dying): the move is still the first one
            new = self._place(old.camera, old.number + 1, old.previous_node, old.reason or reason)
            new.start_failures = old.start_failures + 1
        else:
            new = self._place(old.camera, old.number + 1, old.node_id, reason)
        new.since = old.last_answer or old.since  # the gap runs from its last sign of life
        with self._lock:
            self._placements[old.camera.id] = new

    # -- collecting -------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._poll()
            except Exception:  # the loop must outlive any one camera's trouble
                log.exception("cluster poll failed")
                self._stop.wait(self.settings.cluster.poll_interval_s)

    def _poll(self) -> None:
        import ray

        cfg = self.settings.cluster
        with self._lock:
            placements = list(self._placements.values())
        for p in placements:
            if p.finished:
                continue
            if p.node_id is None:
                self._check_started(p)
            elif p.pending is None and not p.finished:
                p.pending = p.handle.drain.remote()
        pending = {p.pending: p for p in placements if p.pending is not None}
        ready, _ = (
            ray.wait(list(pending), num_returns=len(pending), timeout=cfg.poll_interval_s) if pending else ([], [])
        )
        if not pending:
            self._stop.wait(cfg.poll_interval_s)
        now = time.monotonic()
        for ref in ready:
            p = pending[ref]
            p.pending = None
            try:
                drained: Drained = ray.get(ref)
            except ray.exceptions.RayError as exc:
                self._replace(p, f"lost ({type(exc).__name__})")
                continue
            p.last_answer = now
            self._take(p, drained)
            if drained.error is not None:
                # The camera's own fault (its source, a bug), not its node's: as in LiveApp, it stays stopped.
                log.error("camera %s stopped by an error: %s", p.camera.id, drained.error)
        for p in placements:
            if (
                p.node_id is not None
                and p.pending is not None
                and now - max(p.last_answer, p.since) > cfg.unresponsive_s
            ):
                self._replace(p, f"no answer for {cfg.unresponsive_s:.0f} s")
        self._central.forget_old()
        with self._lock:
            if self._placements and all(p.finished for p in self._placements.values()):
                self._ended.set()

    def _check_started(self, p: _Placement) -> None:
        import ray

        ready, _ = ray.wait([p.started], timeout=0)
        if not ready:
            return
        try:
            node_id = str(ray.get(p.started))
        except ray.exceptions.RayError as exc:
            if p.start_failures + 1 >= MAX_START_FAILURES:  # not a dying node: the camera cannot start anywhere
                log.error(
                    "camera %s could not start %d times (%s): not placed again", p.camera.id, p.start_failures + 1, exc
                )
                p.finished = True
                return
            self._replace(p, f"could not start ({type(exc).__name__})")
            return
        now = time.monotonic()
        p.node_id, p.last_answer = node_id, now
        if p.number > 0:
            move = CameraMove(p.camera.id, p.number, p.previous_node, node_id, p.reason, round(now - p.since, 3))
            self.counts.moves.append(move)
            log.warning("camera %s runs again on node %s after %.1f s", p.camera.id, node_id, move.gap_s)
            if self._on_move is not None:
                self._on_move(move)

    def _take(self, p: _Placement, drained: Drained) -> None:
        """Match what a camera handed over, in order, or take the alerts its node raised; every alert to the
        sink (the store first)."""
        for message in drained.messages:
            self.counts.templates += 1
            alert = self._central.match(message, p.number)
            if alert is not None:
                self._send(p, alert)
        for raised in drained.alerts:
            alert = self._received(raised)
            self._node_gates.setdefault(p.camera.id, AlertGate(self.settings.live.tracker.alert_cooldown_s)).admit(
                alert.subject_id, alert.frame_pts, set()
            )
            self._send(p, alert)
        self.counts.message_bytes[p.camera.id] = self.counts.message_bytes.get(p.camera.id, 0) + drained.message_bytes
        p.snapshot = drained.snapshot
        p.finished = drained.finished
        p.dropped += drained.dropped

    def _send(self, p: _Placement, alert: Alert) -> None:
        self._sink.send(alert)
        self.counts.alerts += 1
        self.counts.alerts_by_camera[p.camera.id] = self.counts.alerts_by_camera.get(p.camera.id, 0) + 1

    def _received(self, raised: NodeAlert) -> Alert:
        """An alert raised on a node, as the service stores it: with the matched enrolment face (which the
        node never held) and its latency measured on this process's clock."""
        alert = raised.alert
        return replace(
            alert,
            watchlist_jpeg=self._central.watchlist.faces.get(raised.template_id),
            frame_captured_mono=time.monotonic() - (time.time() - alert.frame_captured_wall),
        )
