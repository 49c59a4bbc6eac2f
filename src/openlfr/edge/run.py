"""``run_edge``: one device's cameras through the live pipeline, matched by the service.

The table of contents of an edge run: check the token with the service (retried while the network
comes up), start the sender, run ``LiveApp`` with an ``EdgeRecogniser`` per camera (no watchlist on
the device), report the traffic now and then, and at the end send what is still in time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from openlfr.alert.base import FanOut
from openlfr.config import CameraConfig, Settings
from openlfr.edge.recogniser import EdgeRecogniser
from openlfr.edge.sender import Sender, Traffic
from openlfr.errors import EdgeError
from openlfr.live.app import LiveApp
from openlfr.metrics import MetricsSnapshot, describe

log = logging.getLogger("openlfr.edge")


@dataclass(frozen=True, slots=True)
class EdgeOptions:
    """Where the device sends, as whom, and how patiently."""

    server: str
    token: str
    deployment_id: str
    cameras: tuple[CameraConfig, ...]
    latitude: float | None = None
    longitude: float | None = None
    queue_size: int = 256
    ttl_s: float = 10.0
    """A template not sent within this time is dropped unsent (counted)."""
    backoff_max_s: float = 8.0
    connect_wait_s: float = 15.0
    """How long the start waits for the service before reporting it unreachable."""
    status_interval_s: float = 10.0


@dataclass(frozen=True, slots=True)
class CameraTraffic:
    """What one camera sent the service, over how long."""

    camera_id: str
    seconds: float
    bytes_sent: int
    bytes_per_minute: float
    templates_made: int
    templates_sent: int
    hits: int
    crops_sent: int
    crops_lost: int
    expired: int
    dropped_full: int
    unsent_at_stop: int
    retries: int

    def describe(self) -> str:
        return (
            f"edge {self.camera_id}: {self.templates_sent}/{self.templates_made} templates sent, {self.hits} hit(s), "
            f"{self.crops_sent} crop(s), {self.expired} expired unsent, {self.dropped_full} dropped (queue full), "
            f"{self.unsent_at_stop} unsent at stop, "
            f"{self.retries} retries; {self.bytes_sent:,} bytes, {self.bytes_per_minute / 1000:.1f} kB/min"
        )


@dataclass(frozen=True, slots=True)
class EdgeReport:
    cameras: tuple[CameraTraffic, ...]
    snapshots: tuple[MetricsSnapshot, ...]


def run_edge(
    settings: Settings,
    options: EdgeOptions,
    stop: threading.Event | None = None,
    transport: httpx.BaseTransport | None = None,
    on_status: Callable[[list[str]], None] | None = None,
) -> EdgeReport:
    """Run the device's cameras until they end (files) or ``stop`` is set; EdgeError says why it could not."""
    stop = stop or threading.Event()
    client = httpx.Client(
        base_url=options.server.rstrip("/"),
        headers={"Authorization": f"Bearer {options.token}"},
        timeout=httpx.Timeout(10.0, connect=3.0),
        transport=transport,
    )
    try:
        check_token(client, options)
        sender = Sender(
            client, options.deployment_id, options.queue_size, options.ttl_s, backoff_max_s=options.backoff_max_s
        )
        sender.start()

        def recogniser(camera: CameraConfig) -> EdgeRecogniser:
            return EdgeRecogniser(camera.id, sender, options.latitude, options.longitude)

        app = LiveApp(settings, None, list(options.cameras), sink=FanOut([]), recognisers=recogniser)
        started = time.monotonic()
        next_status = started + options.status_interval_s
        app.start()
        try:
            while not stop.is_set() and sender.error is None and not app.wait(0.5):
                if time.monotonic() >= next_status:
                    _status(app, sender, started, on_status)
                    next_status += options.status_interval_s
        finally:
            app.stop()
            sender.close(timeout=options.ttl_s + 2.0)
        if sender.error is not None:
            raise sender.error
        ids = [c.id for c in options.cameras]
        report = EdgeReport(_traffic(sender, ids, time.monotonic() - started), tuple(app.snapshots()))
        for camera in report.cameras:
            log.info("%s", camera.describe())
        return report
    finally:
        client.close()


def check_token(client: httpx.Client, options: EdgeOptions) -> None:
    """The token must be a device token bound to ``options.deployment_id``; the service is waited for
    (``connect_wait_s``, with backoff) before it is reported unreachable."""
    deadline = time.monotonic() + options.connect_wait_s
    delay = 0.25
    while True:
        try:
            response = client.get("/api/v1/auth/me")
            break
        except httpx.TransportError as exc:
            if time.monotonic() + delay > deadline:
                raise EdgeError(
                    f"the server at {options.server} is unreachable ({type(exc).__name__}: {exc}); "
                    f"retried for {options.connect_wait_s:.0f} s"
                ) from exc
            log.warning("the server at %s is unreachable (%s): retrying in %.1f s", options.server, exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 4.0)
    if response.status_code == 401:
        raise EdgeError("the server refused the token (unknown, expired or revoked)")
    if response.status_code != 200:
        raise EdgeError(f"the server at {options.server} answered HTTP {response.status_code} to the token check")
    me = response.json()
    if me.get("role") != "device":
        raise EdgeError(f"the token is not a device token (its role is {me.get('role')}): 'lfr tokens create'")
    if me.get("deployment_id") != options.deployment_id:
        raise EdgeError(f"the token is bound to deployment {me.get('deployment_id')}, not {options.deployment_id}")


def _traffic(sender: Sender, camera_ids: list[str], seconds: float) -> tuple[CameraTraffic, ...]:
    out = []
    for camera_id in camera_ids:
        t = sender.traffic.get(camera_id, Traffic())
        out.append(
            CameraTraffic(
                camera_id=camera_id,
                seconds=round(seconds, 3),
                bytes_sent=t.bytes_sent,
                bytes_per_minute=t.bytes_sent * 60.0 / max(seconds, 1e-6),
                templates_made=t.templates_made,
                templates_sent=t.templates_sent,
                hits=t.hits,
                crops_sent=t.crops_sent,
                crops_lost=t.crops_lost,
                expired=t.expired,
                dropped_full=t.dropped_full,
                unsent_at_stop=t.unsent_at_stop,
                retries=t.retries,
            )
        )
    return tuple(out)


def _status(app: LiveApp, sender: Sender, started: float, on_status: Callable[[list[str]], None] | None) -> None:
    lines = [describe(s) for s in app.snapshots()]
    ids = [p.camera.id for p in app.pipelines]
    lines += [c.describe() for c in _traffic(sender, ids, time.monotonic() - started)]
    lines.append(f"edge queue: {sender.queued()} template(s) waiting")
    for line in lines:
        log.info("%s", line)
    if on_status is not None:
        on_status(lines)
