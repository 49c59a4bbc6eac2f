"""The outbox: alerts a sink could not deliver, kept on disk and retried with backoff from its own thread.

A sink that fails (a webhook refusing, answering 5xx or stalling past its retries; a file on a full
disk) hands the alert to ``FanOut``, which keeps it here, one file per (sink, alert), written to a
temporary name, fsync'd and renamed, so a crash leaves whole entries only. A thread retries each entry
(``backoff_s``, then twice that, up to ``max_backoff_s``) and deletes it once delivered; matching never
waits on it. The outbox is bounded (``max_alerts``, ``max_bytes``): an alert that does not fit, or that
the disk refuses (a full disk is named as such), is *lost*, and said so loudly.

What an entry holds: the alert, its reason and the sink's name. With a ``sealer`` (the store's key)
the whole entry, face crops included, is encrypted (AES-256-GCM, bound to the entry's name). Without
one the entry is plain JSON and keeps *no face crops*: nothing of a face is written to disk in clear,
and a redelivered alert then carries none (its ``probe_jpeg_bytes`` is 0). Only alerts are ever kept,
never anything of a person who raised none.
"""

from __future__ import annotations

import base64
import errno
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from openlfr.config import OutboxConfig
from openlfr.types import Alert, BoundingBox, Category

log = logging.getLogger("openlfr.alert")

Attempt = Callable[[str, Alert], "str | None"]
"""Tries to deliver an alert to the sink named by the key once: None when delivered, else why not."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class Sealer(Protocol):
    """Encrypts an entry (``openlfr.store.crypto.Cipher`` is one)."""

    def encrypt(self, data: bytes, context: str) -> bytes: ...

    def decrypt(self, blob: bytes, context: str) -> bytes: ...


def failure_reason(exc: BaseException) -> str:
    """One line for a failed delivery; a full disk is named as such (``ENOSPC``)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f": {exc.filename}" if exc.filename else ""
        return f"disk full (ENOSPC){where}"
    text = str(exc)
    if "database or disk is full" in text:  # SQLite's SQLITE_FULL, wrapped by SQLAlchemy
        return "disk full (ENOSPC): the store's database"
    return f"{type(exc).__name__}: {text}"[:300]


@dataclass(slots=True)
class _Entry:
    key: str
    alert: Alert
    path: Path
    size: int
    attempts: int = 0
    next_try: float = 0.0


LOST_REASONS = 20
"""Reasons for losses kept in ``OutboxStats.lost_reasons``: the latest, not one per alert lost."""


@dataclass(slots=True)
class OutboxStats:
    """``kept`` (entries written this run), ``redelivered`` (then delivered), ``lost`` (could not be
    kept: the outbox full or the disk refusing), ``pending`` (entries on disk now, older runs' included)."""

    kept: int = 0
    redelivered: int = 0
    lost: int = 0
    pending: int = 0
    disk_full: bool = False
    lost_reasons: list[str] = field(default_factory=list)
    """Why the latest alerts were lost (the last ``LOST_REASONS`` of them; ``lost`` counts them all)."""


class Outbox:
    """A bounded folder of undelivered alerts, retried from a daemon thread (see the module docstring)."""

    def __init__(self, config: OutboxConfig, sealer: Sealer | None = None) -> None:
        self.config = config
        self.folder = Path(config.path)
        self._sealer = sealer
        self._entries: dict[Path, _Entry] = {}
        self._bytes = 0
        self._stats = OutboxStats()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._attempt: Attempt | None = None
        self._delivered: Callable[[str, Alert], None] | None = None
        self._thread: threading.Thread | None = None
        self._seq = 0

    def start(self, attempt: Attempt, delivered: Callable[[str, Alert], None], keys: set[str]) -> None:
        """Retry through ``attempt``; tell ``delivered`` of each success. Entries an earlier run left
        for the sinks named in ``keys`` are retried too."""
        self._attempt, self._delivered = attempt, delivered
        self._load(keys)
        self._thread = threading.Thread(target=self._run, name="openlfr-outbox", daemon=True)
        self._thread.start()

    @property
    def stats(self) -> OutboxStats:
        with self._cond:
            return replace(self._stats, pending=len(self._entries), lost_reasons=list(self._stats.lost_reasons))

    def keep(self, key: str, alert: Alert, reason: str) -> bool:
        """Write the alert for later delivery to the sink ``key``; False (logged loudly) when it cannot be kept."""
        with self._cond:
            self._seq += 1
            name = f"{int(time.time() * 1000):013d}-{self._seq:06d}-{_UNSAFE.sub('_', alert.alert_id)[:80]}"
            path = self.folder / _UNSAFE.sub("_", key)[:80] / (name + (".sealed" if self._sealer else ".json"))
            data = self._encode(key, alert, reason, path.name)
            problem = None
            if len(self._entries) >= self.config.max_alerts:
                problem = f"the outbox is full ({self.config.max_alerts} alerts)"
            elif self._bytes + len(data) > self.config.max_bytes:
                problem = f"the outbox is full ({self.config.max_bytes} bytes)"
        if problem is None:
            try:
                _write_atomically(path, data)
            except OSError as exc:
                problem = failure_reason(exc)
        with self._cond:
            if problem is not None:
                self._stats.lost += 1
                self._stats.disk_full |= problem.startswith("disk full")
                self._stats.lost_reasons.append(problem)
                del self._stats.lost_reasons[:-LOST_REASONS]
                log.error(
                    "ALERT NOT DELIVERED AND NOT KEPT: alert %s for %s (%s): %s could not keep it: %s",
                    alert.alert_id, key, reason, self.folder, problem,
                )  # fmt: skip
                return False
            self._entries[path] = _Entry(key, alert, path, len(data), next_try=time.monotonic() + self._delay(0))
            self._bytes += len(data)
            self._stats.kept += 1
            self._cond.notify_all()
        log.warning("alert %s not delivered to %s (%s): kept in %s, retried", alert.alert_id, key, reason, path)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop retrying (what is pending stays on disk for the next run)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(max(0.0, timeout))

    def _delay(self, attempts: int) -> float:
        return float(min(self.config.max_backoff_s, self.config.backoff_s * 2**attempts))

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                now = time.monotonic()
                due = [e for e in self._entries.values() if e.next_try <= now]
                if not due:
                    wait = min((e.next_try for e in self._entries.values()), default=now + 3600.0) - now
                    self._cond.wait(max(0.01, wait))
                    continue
            for entry in sorted(due, key=lambda e: e.next_try):
                if self._stop.is_set():
                    return
                self._retry(entry)

    def _retry(self, entry: _Entry) -> None:
        assert self._attempt is not None
        assert self._delivered is not None
        try:
            problem = self._attempt(entry.key, entry.alert)
        except Exception as exc:  # a bug in a sink must not stop every retry
            problem = failure_reason(exc)
        if problem is not None:
            with self._cond:
                entry.attempts += 1
                entry.next_try = time.monotonic() + self._delay(entry.attempts)
            log.warning("alert %s still not delivered to %s: %s", entry.alert.alert_id, entry.key, problem)
            return
        try:
            entry.path.unlink(missing_ok=True)
        except OSError as exc:
            log.error("alert %s delivered, but its outbox entry %s stays: %s", entry.alert.alert_id, entry.path, exc)
        with self._cond:
            self._entries.pop(entry.path, None)
            self._bytes -= entry.size
            self._stats.redelivered += 1
        log.info("alert %s delivered to %s from the outbox", entry.alert.alert_id, entry.key)
        self._delivered(entry.key, entry.alert)

    def _encode(self, key: str, alert: Alert, reason: str, name: str) -> bytes:
        crops = self._sealer is not None
        record = {"sink": key, "reason": reason, "crops": crops, "alert": _alert_fields(alert, crops)}
        data = json.dumps(record, separators=(",", ":")).encode("utf-8")
        return self._sealer.encrypt(data, f"outbox:{name}") if self._sealer is not None else data

    def _load(self, keys: set[str]) -> None:
        """Entries an earlier run left, for the sinks of this run (others stay where they are)."""
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*/*")):
            if path.suffix not in (".json", ".sealed") or path.name.startswith("."):
                continue
            try:
                blob = path.read_bytes()
                if path.suffix == ".sealed":
                    if self._sealer is None:
                        log.warning("outbox entry %s is encrypted and no key was given: left for later", path)
                        continue
                    blob = self._sealer.decrypt(blob, f"outbox:{path.name}")
                record = json.loads(blob)
                alert = _alert_from(record["alert"])
                key = str(record["sink"])
            except Exception as exc:  # an entry that cannot be read is left in place, never deleted
                log.error("outbox entry %s cannot be read (%s): left in place", path, failure_reason(exc))
                continue
            if key in keys:
                self._entries[path] = _Entry(key, alert, path, len(blob))
                self._bytes += len(blob)
        if self._entries:
            log.warning("%d undelivered alert(s) of an earlier run retried from %s", len(self._entries), self.folder)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name("." + path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def _alert_fields(alert: Alert, crops: bool) -> dict[str, object]:
    def b64(data: bytes | None) -> str | None:
        return None if data is None or not crops else base64.b64encode(data).decode("ascii")

    return {
        **{name: getattr(alert, name) for name in _PLAIN},
        "category": alert.category.value,
        "box": [alert.box.x1, alert.box.y1, alert.box.x2, alert.box.y2],
        "position": None if alert.position is None else list(alert.position),
        "probe_jpeg": b64(alert.probe_jpeg),
        "watchlist_jpeg": b64(alert.watchlist_jpeg),
    }


def _alert_from(data: dict[str, object]) -> Alert:
    def raw(value: object) -> bytes | None:
        return None if value is None else base64.b64decode(str(value), validate=True)

    box = data["box"]
    position = data.get("position")
    assert isinstance(box, list)
    assert position is None or isinstance(position, list)
    return Alert(
        **{name: data[name] for name in _PLAIN},  # type: ignore[arg-type]
        category=Category(str(data["category"])),
        box=BoundingBox(*(float(v) for v in box)),
        probe_jpeg=raw(data["probe_jpeg"]) or b"",
        watchlist_jpeg=raw(data["watchlist_jpeg"]),
        position=None if position is None else (float(position[0]), float(position[1])),
    )


_PLAIN = (
    "alert_id", "camera_id", "track_id", "watchlist", "subject_id", "display_name", "score", "threshold",
    "first_seen_wall", "first_seen_pts", "frame_pts", "frame_captured_wall", "frame_captured_mono",
    "raised_wall", "frames", "uncalibrated",
)  # fmt: skip
