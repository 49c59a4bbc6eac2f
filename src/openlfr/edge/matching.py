"""The service's side of edge devices: match a device's template, keep a hit, make the alert from its crop.

Each live deployment's watchlist is decrypted into memory once and kept while the deployment is live
(dropped when a submission or the periodic sweep finds it is not). The alert gate is the live
pipeline's (``alert/rules.AlertGate``): one alert per (device camera, track, subject), and per device
camera one per subject per cooldown. A hit waits ``hit_ttl_s`` for its crop and is forgotten after.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from numpy.typing import NDArray

from openlfr.alert.rules import AlertGate, Sighting, jpeg, make_alert
from openlfr.config import Settings
from openlfr.deploy.lifecycle import Deployments
from openlfr.edge.wire import MAX_CROP_BYTES, HitOut, TemplateIn
from openlfr.errors import (
    DeploymentStateError,
    EmbedderMismatchError,
    HitNotFoundError,
    RequestLimitError,
    TemplateRefusedError,
    UncalibratedError,
)
from openlfr.ingest.images import decode_image
from openlfr.match import matcher
from openlfr.match.index import ExactIndex
from openlfr.match.watchlist import Watchlist
from openlfr.review.alerts import Alerts
from openlfr.status import DeploymentStatus
from openlfr.types import Alert, BoundingBox, Match, Track

SWEEP_INTERVAL_S = 10.0
MAX_CAMERA_ID = 64
"""An alert's camera name (``device/camera``) is stored in 64 characters."""
TRACK_MEMORY_S = 600.0
"""How long the gate remembers a device track's alerted subjects after its last template."""


@dataclass(slots=True)
class _Loaded:
    watchlist: Watchlist
    index: tuple[ExactIndex, NDArray[np.int64]]
    day: date


@dataclass(slots=True)
class _Hit:
    deployment_id: str
    camera_id: str
    body: TemplateIn
    match: Match
    watchlist: Watchlist
    expires: float


@dataclass(slots=True)
class _Track:
    alerted: set[str] = field(default_factory=set)
    seen: float = 0.0


class EdgeMatching:
    """Matches edge devices' templates for the service (one per app; thread-safe)."""

    def __init__(
        self,
        deployments: Deployments,
        alerts: Alerts,
        settings: Settings,
        hit_ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._deployments = deployments
        self._alerts = alerts
        self._settings = settings
        self.hit_ttl_s = hit_ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._loaded: dict[str, _Loaded] = {}
        self._gates: dict[tuple[str, str], AlertGate] = {}
        self._tracks: dict[tuple[str, str, int], _Track] = {}
        self._hits: dict[str, _Hit] = {}
        self._next_sweep = 0.0

    def cached(self) -> set[str]:
        """The deployments whose watchlist is in memory now."""
        with self._lock:
            return set(self._loaded)

    def submit(self, deployment_id: str, device: str, body: TemplateIn) -> HitOut:
        """Match ``body`` (from ``device``, a token's name) against the live deployment's watchlist."""
        self._sweep()
        loaded = self._watchlist(deployment_id)
        watchlist = loaded.watchlist
        try:
            first, second = matcher.embedder_probes(watchlist, [body.template_set()])
        except EmbedderMismatchError as exc:
            raise TemplateRefusedError(f"deployment {deployment_id}: {exc}") from exc
        camera = f"{device}/{body.camera_id}"
        if len(camera) > MAX_CAMERA_ID:
            raise TemplateRefusedError(
                f"the alert's camera name {camera!r} (device/camera) is over {MAX_CAMERA_ID} characters: "
                "give the camera a shorter id"
            )
        [candidates] = matcher.search(watchlist, first, k=1, index=loaded.index, second=second)
        best = matcher.best_match(candidates)
        now = self._clock()
        with self._lock:
            track = self._tracks.setdefault((deployment_id, camera, body.track_id), _Track())
            track.seen = now
            if best is None:
                return HitOut(hit=False)
            gate = self._gates.setdefault((deployment_id, camera), AlertGate(self._cooldown))
            if not gate.admit(best.subject_id, body.captured_at, track.alerted):
                return HitOut(hit=False)
            track.alerted.add(best.subject_id)
            hit_id = secrets.token_urlsafe(16)
            self._hits[hit_id] = _Hit(deployment_id, camera, body, best, watchlist, now + self.hit_ttl_s)
        return HitOut(hit=True, hit_id=hit_id)

    def crop(self, deployment_id: str, hit_id: str, data: bytes) -> Alert:
        """The alert of the hit, with ``data`` (the device's face crop) as its probe image, stored."""
        if len(data) > MAX_CROP_BYTES:
            raise RequestLimitError(f"the crop is {len(data)} bytes; at most {MAX_CROP_BYTES} are accepted")
        with self._lock:
            hit = self._hits.get(hit_id)
            if hit is None or hit.deployment_id != deployment_id or hit.expires < self._clock():
                raise HitNotFoundError(f"no hit {hit_id} waits for a crop in deployment {deployment_id}")
        # Decoded and encoded again: it must be an image, and what is kept is a plain JPEG (no metadata).
        probe = jpeg(decode_image(data, "crop", max_pixels=4_000_000))
        with self._lock:
            if self._hits.pop(hit_id, None) is None:
                raise HitNotFoundError(f"the crop of hit {hit_id} was sent already")
        alert = _alert(hit, probe)
        self._alerts.store_alert(deployment_id, alert)
        return alert

    @property
    def _cooldown(self) -> float:
        return self._settings.live.tracker.alert_cooldown_s

    def _watchlist(self, deployment_id: str) -> _Loaded:
        view = self._deployments.get(deployment_id)  # 404 for an unknown deployment
        if view.status is not DeploymentStatus.LIVE:
            self._drop(deployment_id)
            raise DeploymentStateError(
                f"deployment {deployment_id} is {view.status.value}; devices submit to live ones"
            )
        today = date.today()
        with self._lock:
            loaded = self._loaded.get(deployment_id)
        if loaded is not None and loaded.day == today:
            return loaded
        watchlist = self._deployments.watchlist(deployment_id)  # decrypted into memory, never written
        problem = watchlist.calibration_problem()
        if problem is not None and view.threshold_source != "manual" and not self._settings.live.allow_uncalibrated:
            raise UncalibratedError(f"deployment {deployment_id}'s watchlist: {problem}; matching refused")
        loaded = _Loaded(watchlist, watchlist.index(today), today)  # expired entries leave the index each day
        with self._lock:
            self._loaded[deployment_id] = loaded
        return loaded

    def _drop(self, deployment_id: str) -> None:
        with self._lock:
            self._loaded.pop(deployment_id, None)
            self._hits = {k: h for k, h in self._hits.items() if h.deployment_id != deployment_id}
            self._gates = {k: g for k, g in self._gates.items() if k[0] != deployment_id}
            self._tracks = {k: t for k, t in self._tracks.items() if k[0] != deployment_id}

    def _sweep(self) -> None:
        """Forget expired hits, old tracks, and the watchlists of deployments no longer live."""
        now = self._clock()
        with self._lock:
            if now < self._next_sweep:
                return
            self._next_sweep = now + SWEEP_INTERVAL_S
            self._hits = {k: h for k, h in self._hits.items() if h.expires >= now}
            self._tracks = {k: t for k, t in self._tracks.items() if now - t.seen < TRACK_MEMORY_S}
            cached = list(self._loaded)
        live = {v.id for v in self._deployments.list_deployments(DeploymentStatus.LIVE)}
        for deployment_id in cached:
            if deployment_id not in live:
                self._drop(deployment_id)


def _alert(hit: _Hit, probe_jpeg: bytes) -> Alert:
    """The alert for a device's shot: its pass and its moment as the device reported them."""
    body = hit.body
    box = BoundingBox(0, 0, 1, 1)  # a device that did not say where the face was in its frame
    if body.box is not None and body.box[2] > body.box[0] and body.box[3] > body.box[1]:
        box = BoundingBox(*body.box)
    first_seen = body.first_seen_at or body.captured_at
    track = Track(body.track_id, hit.camera_id, box, body.first_seen_pts, first_seen, body.pts, body.frames)
    # The device's capture time on this process's monotonic clock (alert latency is measured from it).
    captured_mono = time.monotonic() - (time.time() - body.captured_at)
    seen = Sighting(box, probe_jpeg, body.pts, body.captured_at, captured_mono)
    position = None if body.latitude is None or body.longitude is None else (body.latitude, body.longitude)
    return make_alert(hit.camera_id, track, hit.match, hit.watchlist, seen, position=position)
