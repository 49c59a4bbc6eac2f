"""Limits on what clients send: request rates per principal or address, and body sizes."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from openlfr.errors import RateLimitedError


class RateLimiter:
    """At most ``per_minute`` events per key in any sliding 60 s window (in memory, per process)."""

    def __init__(self, per_minute: int, what: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.what = what
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Count one event for ``key``; RateLimitedError if that is one too many."""
        now = self._clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and now - events[0] >= 60.0:
                events.popleft()
            if len(events) >= self.per_minute:
                wait = 60.0 - (now - events[0])
                raise RateLimitedError(
                    f"too many {self.what}: at most {self.per_minute} a minute; try again in {wait:.0f} s"
                )
            events.append(now)
            if len(self._events) > 10_000:  # forget idle keys so the table cannot grow without bound
                for k in [k for k, v in self._events.items() if not v or now - v[-1] >= 60.0]:
                    del self._events[k]
