"""The alert sink protocol, its registry keyed by ``type``, and ``FanOut`` to several sinks at once.

A sink delivers each ``Alert`` somewhere: stdout, a file, a webhook. ``send`` never blocks the caller
on the network (the webhook queues and delivers from its own thread); ``close`` flushes what is
queued, then stops. ``FanOut`` isolates the sinks from each other: one that raises is logged and
counted, and the others still get the alert.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

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
    """Sends each alert to every sink in turn; a sink that raises is logged and counted, never fatal."""

    name = "fanout"

    def __init__(self, targets: Sequence[AlertSink]) -> None:
        self._sinks = list(targets)
        self._keys = _unique_keys(s.name for s in self._sinks)
        self._stats = {key: SinkStats() for key in self._keys}
        self._lock = threading.Lock()

    @classmethod
    def from_configs(cls, configs: Iterable[object]) -> FanOut:
        """One sink per config, built by the ``sinks`` registry (a ConfigError names an unknown type)."""
        return cls([sinks.create(config) for config in configs])

    @property
    def stats(self) -> dict[str, SinkStats]:
        """A snapshot, per sink name (a repeated name gets ``#2``, ``#3``...)."""
        with self._lock:
            return {key: replace(s) for key, s in self._stats.items()}

    def send(self, alert: Alert) -> None:
        for key, sink in zip(self._keys, self._sinks, strict=True):
            try:
                sink.send(alert)
            except Exception:
                # Isolation is the point: a full disk must not stop the webhook, nor the reverse.
                log.exception("alert sink %s failed to take alert %s", key, alert.alert_id)
                with self._lock:
                    self._stats[key].failed += 1
            else:
                with self._lock:
                    self._stats[key].sent += 1

    def close(self, timeout: float = 5.0) -> None:
        """Close every sink; together they wait at most about ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        for key, sink in zip(self._keys, self._sinks, strict=True):
            try:
                sink.close(max(0.0, deadline - time.monotonic()))
            except Exception:
                log.exception("alert sink %s failed to close", key)


def _unique_keys(names: Iterable[str]) -> list[str]:
    keys: list[str] = []
    for name in names:
        key, n = name, 1
        while key in keys:
            n += 1
            key = f"{name}#{n}"
        keys.append(key)
    return keys
