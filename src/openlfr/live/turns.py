"""Sharing the cores among cameras: detection slots handed out in turn.

With several cameras in one process, each camera's analysis thread would otherwise start its
detection whenever it has a frame, and the operating system (and the GIL) decide who runs: a camera
whose frames arrive just after another's can wait behind it again and again. ``Turns`` gives at most
``slots`` detections at once, to the cameras in the order they asked (first come, first served), so
a camera waits at most for the others' one turn each: none starves, and the cores are not
oversubscribed by more detections than there are cores.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


def default_slots() -> int:
    """The cores this process may use. Not one less for the embedding worker: with one slot, 8 cameras on
    a 2-core machine shared with other jobs ran at 0.3 analysed fps each where the base commit's
    unguarded threads got 0.7 in the same run (BENCHMARKS.md, bench/live.py --cameras); the likely cause
    is that the operating system shares busy cores by runnable thread, and the embedding worker is idle
    between tracks."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class Turns:
    """At most ``slots`` holders at once, served in the order they asked (a ticket queue)."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError(f"need at least one slot, got {slots}")
        self.slots = slots
        self._cond = threading.Condition()
        self._waiting: deque[object] = deque()
        self._running = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for this caller's turn, hold a slot inside the ``with`` block."""
        ticket = object()
        with self._cond:
            self._waiting.append(ticket)
            while self._waiting[0] is not ticket or self._running >= self.slots:
                self._cond.wait()
            self._waiting.popleft()
            self._running += 1
            self._cond.notify_all()  # the next in line may take another free slot
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()
