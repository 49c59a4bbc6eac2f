"""The built-in alert sinks: JSON lines on stdout, JSON lines in a file, and a signed webhook.

Webhook signature, for a receiver to verify
-------------------------------------------
Each POST carries ``X-OpenLFR-Alert-Id``, ``X-OpenLFR-Timestamp`` (unix seconds, an integer as
text) and, when the sink has a ``secret``, ``X-OpenLFR-Signature: sha256=<hex>``, where ``<hex>`` is::

    HMAC-SHA256(key=secret.encode("utf-8"), msg=timestamp.encode("ascii") + b"." + raw_body)

over the exact bytes of the request body. A receiver recomputes it and compares in constant time
(``verify_signature`` does both), and should refuse a timestamp far from its own clock, which stops
replays: each retry is signed afresh with the time it is sent.

Delivery: ``send`` only queues (at most ``max_queue`` alerts; when full the oldest is dropped and
counted); a daemon thread POSTs, retrying connection errors, timeouts, 429 and 5xx up to
``retries`` times, waiting ``backoff_s``, then twice that, and so on. Any other status below 200 or
from 300 up is a failure and is not retried. Whatever the sink gives up on (failed, dropped, left at
close) it tells its ``on_outcome`` listener, and ``FanOut`` keeps it in the outbox (``alert/outbox.py``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import json
import logging
import os
import re
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from openlfr.alert.base import AlertSink, Outcome
from openlfr.alert.serialize import alert_to_json
from openlfr.config import FileSinkConfig, StdoutSinkConfig, WebhookSinkConfig
from openlfr.types import Alert

log = logging.getLogger("openlfr.alert")

SIGNATURE_HEADER = "X-OpenLFR-Signature"
TIMESTAMP_HEADER = "X-OpenLFR-Timestamp"
ALERT_ID_HEADER = "X-OpenLFR-Alert-Id"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-OpenLFR-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str, timestamp: str | int, body: bytes, header: str, *, max_age_s: float | None = None
) -> bool:
    """Whether ``header`` signs ``body`` at ``timestamp`` with ``secret`` (and, given ``max_age_s``, is fresh)."""
    timestamp = str(timestamp)
    if max_age_s is not None:
        try:
            if abs(time.time() - int(timestamp)) > max_age_s:
                return False
        except ValueError:
            return False
    try:
        expected = sign(secret, timestamp, body)
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected.encode("ascii"), header.strip().encode("utf-8", "replace"))


def _line(alert: Alert, **extra: object) -> bytes:
    data = alert_to_json(alert, include_images=False)
    data.update(extra)
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


class StdoutSink:
    """One JSON line per alert on ``sys.stdout``, without images (their sizes are in the line)."""

    name = "stdout"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def send(self, alert: Alert) -> None:
        text = _line(alert).decode("utf-8")
        with self._lock:  # one writer at a time, so lines from two threads never interleave
            sys.stdout.write(text)
            sys.stdout.flush()

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            sys.stdout.flush()


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class FileSink:
    """Appends one JSON line per alert to ``path``, fsync'd; the JPEGs go to ``<stem>_images/``.

    The line names the images by paths relative to the file's folder (``probe_image``,
    ``watchlist_image``). Images are written before the line, and the line in one ``write``, so a
    crash leaves at worst an orphan image, never a half line nor a line naming a missing image.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.name = f"file:{self.path}"
        self._images = f"{self.path.stem}_images"
        (self.path.parent / self._images).mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._lock = threading.Lock()

    def send(self, alert: Alert) -> None:
        stem = _UNSAFE.sub("_", alert.alert_id)
        probe = f"{self._images}/{stem}_probe.jpg"
        watchlist = None if alert.watchlist_jpeg is None else f"{self._images}/{stem}_watchlist.jpg"
        line = _line(alert, probe_image=probe, watchlist_image=watchlist)
        with self._lock:
            if self._fd is None:
                raise RuntimeError(f"{self.name} is closed")
            _write_file(self.path.parent / probe, alert.probe_jpeg)
            if watchlist is not None and alert.watchlist_jpeg is not None:
                _write_file(self.path.parent / watchlist, alert.watchlist_jpeg)
            size = os.fstat(self._fd).st_size
            try:
                written = os.write(self._fd, line)
                if written != len(line):  # a regular file only writes short when the disk is full
                    raise OSError(errno.ENOSPC, f"short write: {written} of {len(line)} bytes", str(self.path))
                os.fsync(self._fd)
            except OSError:
                _truncate(self._fd, size)  # no half line for a retry to append after
                raise

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _truncate(fd: int, size: int) -> None:
    with contextlib.suppress(OSError):  # a character device (/dev/full) cannot be truncated: nothing to undo
        os.ftruncate(fd, size)


def _write_file(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk must not keep half an image
        raise


@dataclass(slots=True)
class WebhookStats:
    """``delivered`` (a 2xx came back), ``failed`` (given up after trying), ``retried`` (attempts
    after a first), ``dropped`` (never tried: the queue overflowed, or was still full at close)."""

    delivered: int = 0
    failed: int = 0
    retried: int = 0
    dropped: int = 0


class WebhookSink:
    """POSTs each alert as JSON from a daemon thread, signed and retried (see the module docstring)."""

    def __init__(self, config: WebhookSinkConfig, max_queue: int = 1000) -> None:
        self.config = config
        url = httpx.URL(config.url)
        # Only the host: a webhook's path or query often holds a token, which must not reach the logs.
        self.name = f"webhook:{url.host}" + (f":{url.port}" if url.port else "")
        self._max_queue = max_queue
        self._queue: deque[Alert] = deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._busy = False
        self._closed = False
        self._stats = WebhookStats()
        self._outcome: Outcome | None = None
        self._client = httpx.Client(timeout=config.timeout_s, follow_redirects=False)
        self._thread = threading.Thread(target=self._run, name=f"openlfr-{self.name}", daemon=True)
        self._thread.start()

    @property
    def stats(self) -> WebhookStats:
        with self._cond:
            return replace(self._stats)

    def on_outcome(self, outcome: Outcome) -> None:
        """Tell ``outcome`` of each alert delivered (None) or given up (why), from this sink's thread."""
        self._outcome = outcome

    def attempt(self, alert: Alert) -> str | None:
        """One POST, now, in the caller's thread (the outbox's retries): None when delivered, else why not."""
        problem = self._post(alert, self._body(alert))
        return None if problem is None else problem[0]

    def send(self, alert: Alert) -> None:
        dropped = None
        with self._cond:
            if self._closed:
                raise RuntimeError(f"{self.name} is closed")
            if len(self._queue) >= self._max_queue:
                dropped = self._queue.popleft()
                self._stats.dropped += 1
                log.warning("%s: queue full, dropped alert %s", self.name, dropped.alert_id)
            self._queue.append(alert)
            self._cond.notify_all()
        if dropped is not None:
            self._tell(dropped, f"dropped: the queue of {self._max_queue} was full")

    def _tell(self, alert: Alert, problem: str | None) -> None:
        if self._outcome is not None:
            try:
                self._outcome(alert, problem)
            except Exception:  # a listener's bug must not stop delivery
                log.exception("%s: outcome listener failed on alert %s", self.name, alert.alert_id)

    def close(self, timeout: float = 5.0) -> None:
        """Wait up to ``timeout`` for the queue to drain, then stop; what is left is dropped.

        A request in flight at the deadline may run on (at most ``timeout_s``) in the daemon thread.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            self._closed = True
            while self._queue or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            left_behind = list(self._queue)
            left = len(left_behind)
            self._queue.clear()
            self._stats.dropped += left
            self._stop.set()
            self._cond.notify_all()
        if left:
            log.warning("%s: closed with %d alert(s) undelivered", self.name, left)
        for alert in left_behind:
            self._tell(alert, "not sent before the run stopped")
        self._thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._queue and not self._stop.is_set():
                        self._cond.wait()
                    if self._stop.is_set():
                        return
                    alert = self._queue.popleft()
                    self._busy = True
                try:
                    problem = self._deliver(alert)
                except Exception as exc:  # a bug must not kill the thread and silently stop all delivery
                    log.exception("%s: unexpected error delivering alert %s", self.name, alert.alert_id)
                    problem = f"{type(exc).__name__}: {exc}"
                self._tell(alert, problem)  # before the count: close() waits on the count, then reports
                with self._cond:
                    self._busy = False
                    if problem is None:
                        self._stats.delivered += 1
                    else:
                        self._stats.failed += 1
                    self._cond.notify_all()
        finally:
            self._client.close()

    def _body(self, alert: Alert) -> bytes:
        return json.dumps(alert_to_json(alert, self.config.include_images), separators=(",", ":")).encode()

    def _deliver(self, alert: Alert) -> str | None:
        """None when delivered, else why it was given up."""
        body = self._body(alert)
        reason = "not tried"
        for attempt in range(self.config.retries + 1):
            if attempt:
                with self._cond:
                    self._stats.retried += 1
            problem = self._post(alert, body)
            if problem is None:
                return None
            reason, retryable = problem
            if not retryable:
                log.error("%s: alert %s refused (%s), not retried", self.name, alert.alert_id, reason)
                return f"refused: {reason}"
            if attempt == self.config.retries:
                break
            delay = self.config.backoff_s * 2**attempt
            log.warning("%s: alert %s: %s; retrying in %.2f s", self.name, alert.alert_id, reason, delay)
            if self._stop.wait(delay):
                log.error("%s: alert %s abandoned at close (%s)", self.name, alert.alert_id, reason)
                return f"abandoned at close: {reason}"
        log.error("%s: alert %s failed after %d retries (%s)", self.name, alert.alert_id, self.config.retries, reason)
        return f"{reason}, after {self.config.retries} retries"

    def _post(self, alert: Alert, body: bytes) -> tuple[str, bool] | None:
        """None when delivered, else (why, whether to retry)."""
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", ALERT_ID_HEADER: alert.alert_id, TIMESTAMP_HEADER: timestamp}
        if self.config.secret:
            headers[SIGNATURE_HEADER] = sign(self.config.secret, timestamp, body)
        try:
            response = self._client.post(self.config.url, content=body, headers=headers)
        except httpx.TransportError as exc:  # connection refused, DNS, timeouts, broken connections
            return f"{type(exc).__name__}: {exc}", True
        status = response.status_code
        if 200 <= status < 300:
            return None
        return f"HTTP {status}", status == 429 or status >= 500


def create_stdout(config: object) -> AlertSink:
    if not isinstance(config, StdoutSinkConfig):
        raise TypeError(f"stdout sink needs a StdoutSinkConfig, got {type(config).__name__}")
    return StdoutSink()


def create_file(config: object) -> AlertSink:
    if not isinstance(config, FileSinkConfig):
        raise TypeError(f"file sink needs a FileSinkConfig, got {type(config).__name__}")
    return FileSink(config.path)


def create_webhook(config: object) -> AlertSink:
    if not isinstance(config, WebhookSinkConfig):
        raise TypeError(f"webhook sink needs a WebhookSinkConfig, got {type(config).__name__}")
    return WebhookSink(config)
