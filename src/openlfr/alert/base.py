"""The alert sink protocol, its registry keyed by ``type``, and ``FanOut`` to several sinks at once.

A sink delivers each ``Alert`` somewhere: stdout, a file, a webhook. ``send`` never blocks the caller
on the network (the webhook queues and delivers from its own thread); ``close`` flushes what is
queued, then stops. ``FanOut`` isolates the sinks from each other: one that raises is logged and
counted, and the others still get the alert.

No alert is lost in silence: ``FanOut`` follows each alert until every sink has delivered it. A sink
that raises, or that says later it gave up (an ``Acknowledging`` sink, the webhook), has the alert kept
in the ``Outbox`` and retried from there; ``report()`` says how many alerts were raised, delivered and
undelivered (kept, or lost when even the outbox could not keep them), for the status line, the final
summary and the exit status.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, runtime_checkable

from openlfr.alert.outbox import Outbox, failure_reason
from openlfr.registry import Registry
from openlfr.types import Alert

log = logging.getLogger("openlfr.alert")


@runtime_checkable
class AlertSink(Protocol):
    """Delivers alerts. ``name`` says which sink, in logs and stats."""

    name: str

    def send(self, alert: Alert) -> None:
        """Deliver ``alert``, or queue it for delivery; never waits on the network."""
        ...

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued, waiting at most ``timeout`` seconds, then release everything."""
        ...


Outcome = Callable[[Alert, "str | None"], None]
"""Told of each alert a queuing sink is done with: None when delivered, else why it was not."""


@runtime_checkable
class Acknowledging(Protocol):
    """A sink whose ``send`` only queues: it tells ``on_outcome`` later, and can try once, synchronously."""

    def on_outcome(self, outcome: Outcome) -> None:
        """Call ``outcome`` for each alert once delivered or given up (from the sink's own thread)."""
        ...

    def attempt(self, alert: Alert) -> str | None:
        """Try to deliver ``alert`` once, now: None when delivered, else why not."""
        ...


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """Alerts raised, delivered to every sink, and undelivered: ``kept`` in the outbox or ``lost``.

    Before the end, an alert still queued (``in_flight``) is neither; at the end it is undelivered."""

    alerts: int
    delivered: int
    kept: int
    lost: int
    in_flight: int
    outbox: Path | None
    disk_full: bool = False

    @property
    def undelivered(self) -> int:
        return self.kept + self.lost

    def describe(self) -> str:
        """``3 alert(s), 1 delivered, 2 undelivered (kept in lfr-outbox)``, and what was lost, loudly."""
        text = f"{self.alerts} alert(s), {self.delivered} delivered, {self.undelivered} undelivered"
        if self.kept:
            text += f" (kept in {self.outbox})" if not self.lost else f" ({self.kept} kept in {self.outbox})"
        if self.lost:
            text += f", {self.lost} LOST (not kept anywhere)"
        if self.in_flight:
            text += f", {self.in_flight} in flight"
        if self.disk_full:
            text += "; DISK FULL (ENOSPC)"
        return text


@runtime_checkable
class Reporting(Protocol):
    """A sink that follows each alert to delivery (``FanOut``, and what wraps one)."""

    def report(self, final: bool = False) -> DeliveryReport: ...


sinks: Registry[AlertSink] = Registry(
    "sink",
    {
        "stdout": "openlfr.alert.sinks:create_stdout",
        "file": "openlfr.alert.sinks:create_file",
        "webhook": "openlfr.alert.sinks:create_webhook",
    },
)
"""``sinks.create(config)`` builds the sink that ``config.type`` names; ``sinks.register`` adds one."""


@dataclass(slots=True)
class SinkStats:
    """What ``FanOut`` handed one sink: ``sent`` (its ``send`` returned) and ``failed`` (it raised).

    For a queuing sink (the webhook) ``sent`` means queued; its own stats say what was delivered.
    """

    sent: int = 0
    failed: int = 0


class FanOut:
    """Sends each alert to every sink in turn and follows it to delivery (see the module docstring)."""

    name = "fanout"

    def __init__(self, targets: Sequence[AlertSink], outbox: Outbox | None = None) -> None:
        self._sinks = list(targets)
        self._keys = _unique_keys(s.name for s in self._sinks)
        self._by_key = dict(zip(self._keys, self._sinks, strict=True))
        self._stats = {key: SinkStats() for key in self._keys}
        self._lock = threading.Lock()
        self._outbox = outbox
        self._raised = 0
        self._delivered = 0
        self._waiting: dict[str, set[str]] = {}  # alert id -> sinks that have not delivered it yet
        self._failing: dict[str, set[str]] = {}  # alert id -> sinks that failed it (kept in the outbox)
        self._lost = 0  # alerts given up: counted, not remembered (an outage can lose them for hours)
        self._disk_full = False
        for key, sink in self._by_key.items():
            if isinstance(sink, Acknowledging):
                sink.on_outcome(functools.partial(self._outcome, key))
        if outbox is not None:
            outbox.start(self._attempt, self._done, set(self._keys))

    @classmethod
    def from_configs(cls, configs: Iterable[object], outbox: Outbox | None = None) -> FanOut:
        """One sink per config, built by the ``sinks`` registry (a ConfigError names an unknown type)."""
        return cls([sinks.create(config) for config in configs], outbox)

    @property
    def stats(self) -> dict[str, SinkStats]:
        """A snapshot, per sink name (a repeated name gets ``#2``, ``#3``...)."""
        with self._lock:
            return {key: replace(s) for key, s in self._stats.items()}

    def report(self, final: bool = False) -> DeliveryReport:
        """Where the alerts stand; ``final`` (after ``close``) counts an alert still queued as undelivered."""
        with self._lock:
            lost = self._lost
            failing = len(self._failing)
            in_flight = self._raised - self._delivered - failing - lost
            outbox = None if self._outbox is None else self._outbox.folder
            disk_full = self._disk_full
        if final:
            failing, in_flight = failing + in_flight, 0
        return DeliveryReport(self._raised, self._delivered, failing, lost, in_flight, outbox, disk_full)

    def send(self, alert: Alert) -> None:
        with self._lock:
            self._raised += 1
            self._waiting[alert.alert_id] = set(self._keys)
        if not self._keys:
            self._done("", alert)
        for key, sink in zip(self._keys, self._sinks, strict=True):
            try:
                sink.send(alert)
            except Exception as exc:
                # Isolation is the point: a full disk must not stop the webhook, nor the reverse. An OSError
                # (a full disk, a closed pipe) is one line; anything else is a bug, with its trace.
                trace = not isinstance(exc, OSError)
                log.error("alert sink %s failed to take alert %s: %s", key, alert.alert_id, exc, exc_info=trace)
                with self._lock:
                    self._stats[key].failed += 1
                self._failed(key, alert, failure_reason(exc))
            else:
                with self._lock:
                    self._stats[key].sent += 1
                if not isinstance(sink, Acknowledging):
                    self._done(key, alert)

    def close(self, timeout: float = 5.0) -> None:
        """Close every sink, then stop the outbox's retries; together they wait at most about ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        for key, sink in zip(self._keys, self._sinks, strict=True):
            try:
                sink.close(max(0.0, deadline - time.monotonic()))
            except Exception:
                log.exception("alert sink %s failed to close", key)
        if self._outbox is not None:
            self._outbox.close(max(0.0, deadline - time.monotonic()))

    def _outcome(self, key: str, alert: Alert, problem: str | None) -> None:
        if problem is None:
            self._done(key, alert)
        else:
            self._failed(key, alert, problem)

    def _done(self, key: str, alert: Alert) -> None:
        with self._lock:
            waiting = self._waiting.get(alert.alert_id)
            if waiting is None:
                return
            waiting.discard(key)
            if not waiting:
                del self._waiting[alert.alert_id]
                self._failing.pop(alert.alert_id, None)
                self._delivered += 1

    def _failed(self, key: str, alert: Alert, problem: str) -> None:
        with self._lock:
            if alert.alert_id in self._waiting:
                self._failing.setdefault(alert.alert_id, set()).add(key)
            self._disk_full |= problem.startswith("disk full")
        kept = self._outbox is not None and self._outbox.keep(key, alert, problem)
        if not kept:
            if self._outbox is None:
                log.error("ALERT NOT DELIVERED: alert %s to %s: %s (no outbox)", alert.alert_id, key, problem)
            full = self._outbox is not None and self._outbox.stats.disk_full
            with self._lock:
                # Lost for one sink, it can never be delivered to all: forget it, count it (once).
                if self._waiting.pop(alert.alert_id, None) is not None:
                    self._failing.pop(alert.alert_id, None)
                    self._lost += 1
                self._disk_full |= full

    def _attempt(self, key: str, alert: Alert) -> str | None:
        sink = self._by_key[key]
        if isinstance(sink, Acknowledging):
            return sink.attempt(alert)
        try:
            sink.send(alert)
        except Exception as exc:
            return failure_reason(exc)
        return None


def _unique_keys(names: Iterable[str]) -> list[str]:
    keys: list[str] = []
    for name in names:
        key, n = name, 1
        while key in keys:
            n += 1
            key = f"{name}#{n}"
        keys.append(key)
    return keys
