"""A camera's bounded frame queue between its reader and its analysis thread."""

from __future__ import annotations

import threading
from collections import deque

from openlfr.types import Frame


class FrameQueue:
    """A bounded frame queue. Live: a full queue drops its oldest frame (counted). Files played flat
    out: a full queue makes the reader wait instead, since no camera is running ahead."""

    def __init__(self, size: int, drop_oldest: bool) -> None:
        self._frames: deque[Frame] = deque()
        self._size = size
        self._drop = drop_oldest
        self._cond = threading.Condition()
        self._closed = False

    def put(self, frame: Frame) -> int:
        """Queue ``frame``; returns how many frames were dropped to make room (0 or 1)."""
        with self._cond:
            dropped = 0
            if not self._drop:
                while len(self._frames) >= self._size and not self._closed:
                    self._cond.wait(0.1)
            elif len(self._frames) >= self._size:
                self._frames.popleft()
                dropped = 1
            self._frames.append(frame)
            self._cond.notify_all()
            return dropped

    def get(self, timeout: float) -> Frame | None:
        with self._cond:
            if not self._frames and not self._closed:
                self._cond.wait(timeout)
            frame = self._frames.popleft() if self._frames else None
            self._cond.notify_all()
            return frame

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def finished(self) -> bool:
        with self._cond:
            return self._closed and not self._frames

    def nbytes(self) -> int:
        """Bytes of the images waiting."""
        with self._cond:
            return sum(f.image.nbytes for f in self._frames)

    def __len__(self) -> int:
        with self._cond:
            return len(self._frames)
