"""The device's link to the service: one thread, a bounded queue, retries with backoff, expiry.

Templates queue in memory (``queue_size`` at most; a full queue drops its oldest, counted) and are
sent oldest first. A failure of the network or the server (no connection, 5xx, 429) keeps the template
at the head and retries after a delay that doubles up to ``backoff_max_s``. A template older than
``ttl_s`` is dropped unsent (counted): a face seen long ago is no use to the operator, and the device
keeps nothing. A hit's crop is encoded and sent at once, then dropped; any other answer drops the crop.
Refusals that retrying cannot mend (a bad or revoked token, another deployment's, a deployment no
longer live, a template of another embedder) stop the device with one line saying why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from openlfr.alert.rules import jpeg
from openlfr.edge.wire import HitOut, TemplateIn
from openlfr.errors import EdgeError
from openlfr.types import RGBImage

log = logging.getLogger("openlfr.edge")

CROP_WAIT_S = 50.0
"""How long a hit's crop is retried (the service keeps a hit for a minute)."""


@dataclass(slots=True)
class Outgoing:
    """A template waiting to be sent, and the crop held back until the service answers."""

    camera_id: str
    body: TemplateIn
    crop: RGBImage | None
    made: float
    """``time.monotonic()`` when the template was made."""


@dataclass(slots=True)
class Traffic:
    """One camera's counts, and the bytes of its requests that the server answered (request line, headers,
    body: what the uplink carried, give or take TCP and TLS overhead)."""

    templates_made: int = 0
    templates_sent: int = 0
    hits: int = 0
    crops_sent: int = 0
    crops_lost: int = 0
    expired: int = 0
    dropped_full: int = 0
    unsent_at_stop: int = 0
    """Still queued, and in time, when the device stopped: dropped with everything else it held."""
    retries: int = 0
    bytes_sent: int = 0


class _RetryError(Exception):
    """The network or the server failed this time: try again later."""


class Sender:
    """Sends templates (and the crops of hits) to ``deployment_id`` over ``client`` in its own thread."""

    def __init__(
        self,
        client: httpx.Client,
        deployment_id: str,
        queue_size: int = 256,
        ttl_s: float = 10.0,
        backoff_s: float = 0.25,
        backoff_max_s: float = 8.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.deployment_id = deployment_id
        self.queue_size = queue_size
        self.ttl_s = ttl_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.clock = clock
        self.error: EdgeError | None = None
        """Set when the service refused in a way retrying cannot mend; the thread has stopped."""
        self.traffic: dict[str, Traffic] = {}
        self._queue: deque[Outgoing] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._down_since: float | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lfr-edge-sender", daemon=True)
        self._thread.start()

    def put(self, item: Outgoing) -> None:
        with self._cond:
            counts = self._traffic(item.camera_id)
            counts.templates_made += 1
            if len(self._queue) >= self.queue_size:
                dropped = self._queue.popleft()
                self._traffic(dropped.camera_id).dropped_full += 1
            self._queue.append(item)
            self._cond.notify_all()

    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    def close(self, timeout: float) -> None:
        """Send what is queued (each template until it expires), for at most ``timeout`` seconds."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self._stopped.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(5.0)
        with self._cond:
            now = self.clock()
            for item in self._queue:
                counts = self._traffic(item.camera_id)
                if now - item.made > self.ttl_s:
                    counts.expired += 1
                else:
                    counts.unsent_at_stop += 1
            self._queue.clear()

    def _traffic(self, camera_id: str) -> Traffic:
        return self.traffic.setdefault(camera_id, Traffic())

    # -- the thread ---------------------------------------------------------------------------------

    def _run(self) -> None:
        delay = self.backoff_s
        while not self._stopped.is_set() and self.error is None:
            item = self._next()
            if item is None:
                if self._closing:
                    return
                continue
            try:
                self._deliver(item)
                delay = self.backoff_s
            except _RetryError as exc:
                self._traffic(item.camera_id).retries += 1
                with self._cond:
                    self._queue.appendleft(item)  # its turn again after the delay, unless it expires first
                if self._down_since is None:
                    self._down_since = self.clock()
                    log.warning("the server is unreachable (%s): templates queue, retried with backoff", exc)
                self._stopped.wait(delay)
                delay = min(delay * 2, self.backoff_max_s)
            except EdgeError as exc:
                self.error = exc
                log.error("%s", exc)

    def _next(self) -> Outgoing | None:
        """The oldest template still in time; the expired ones before it are dropped and counted."""
        with self._cond:
            if not self._queue and not self._closing:
                self._cond.wait(0.2)
            now = self.clock()
            while self._queue:
                item = self._queue.popleft()
                if now - item.made <= self.ttl_s:
                    return item
                self._traffic(item.camera_id).expired += 1
                item.crop = None
            return None

    def _deliver(self, item: Outgoing) -> None:
        counts = self._traffic(item.camera_id)
        path = f"/api/v1/deployments/{self.deployment_id}/templates"
        response = self._send(counts, "POST", path, content=item.body.model_dump_json().encode(), json_body=True)
        self._recovered()
        counts.templates_sent += 1
        answer = HitOut.model_validate_json(response.content)
        crop, item.crop = item.crop, None  # no hit: the crop is dropped here
        if not answer.hit or answer.hit_id is None or crop is None:
            return
        counts.hits += 1
        self._send_crop(counts, answer.hit_id, jpeg(crop))

    def _send_crop(self, counts: Traffic, hit_id: str, data: bytes) -> None:
        path = f"/api/v1/deployments/{self.deployment_id}/hits/{hit_id}/crop"
        deadline = self.clock() + CROP_WAIT_S
        delay = self.backoff_s
        while True:
            try:
                self._send(counts, "POST", path, content=data, crop=True)
                self._recovered()
                counts.crops_sent += 1
                return
            except _RetryError:
                counts.retries += 1
                if self.clock() + delay > deadline or self._stopped.wait(delay):
                    counts.crops_lost += 1
                    log.error("the crop of hit %s could not be delivered in time: that alert is lost", hit_id)
                    return
                delay = min(delay * 2, self.backoff_max_s)
            except _CropRefusedError as exc:
                counts.crops_lost += 1
                log.error("the server refused the crop of hit %s: %s", hit_id, exc)
                return

    def _send(
        self, counts: Traffic, method: str, path: str, content: bytes, json_body: bool = False, crop: bool = False
    ) -> httpx.Response:
        content_type = "application/json" if json_body else "image/jpeg"
        request = self.client.build_request(method, path, content=content, headers={"Content-Type": content_type})
        try:
            response = self.client.send(request)
        except httpx.TransportError as exc:
            raise _RetryError(f"{type(exc).__name__}: {exc}") from exc
        counts.bytes_sent += _size(request)  # what reached the server (attempts that failed are not counted)
        status = response.status_code
        if status < 300:
            return response
        if status >= 500 or status == 429:
            raise _RetryError(f"HTTP {status}")
        message = _message(response)
        if status == 401:
            raise EdgeError(f"the server refused the token: {message}")
        if crop:
            raise _CropRefusedError(f"HTTP {status}: {message}")
        if status == 403:
            raise EdgeError(f"the server refused this device for deployment {self.deployment_id}: {message}")
        raise EdgeError(f"the server refused the template (HTTP {status}): {message}")

    def _recovered(self) -> None:
        if self._down_since is not None:
            log.warning("the server is reachable again after %.1f s", self.clock() - self._down_since)
            self._down_since = None


class _CropRefusedError(Exception):
    """The service refused a crop (its hit expired, or the image): that alert is lost, the device goes on."""


def _size(request: httpx.Request) -> int:
    """The bytes a request puts on the wire (HTTP/1.1: request line, headers, body)."""
    line = len(request.method) + len(request.url.raw_path) + len(" HTTP/1.1\r\n") + 1
    headers = sum(len(k) + len(v) + 4 for k, v in request.headers.raw) + 2
    return line + headers + len(request.content)


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or f"HTTP {response.status_code}"
    return str(body.get("message", body)) if isinstance(body, dict) else str(body)
