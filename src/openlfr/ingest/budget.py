"""Decoding within a time budget: images are decoded in a worker process that is killed when one overruns.

A crafted image can be small on disk and under the pixel limit and still take most of a minute (and
gigabytes) to decode; a thread cannot be stopped, a process can. ``decode_within`` sends the bytes to a
long-lived worker (started on first use, ``spawn``ed so that no lock or model of the parent is copied),
waits at most ``max_seconds`` for the pixels, and otherwise kills the worker, starts a fresh one for the
next image and raises ``ImageError`` (reason ``too_slow``), so a batch rejects that item and goes on.
The worker's start is not charged to the image.
"""

from __future__ import annotations

import atexit
import multiprocessing
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from openlfr.config import ImageConfig
from openlfr.errors import ImageError
from openlfr.ingest.images import decode_image, read_image_file
from openlfr.types import RGBImage

_START_TIMEOUT_S = 120.0


def decode_within(data: bytes, name: str, max_pixels: int, max_seconds: float | None) -> RGBImage:
    """``decode_image`` in the worker, or ImageError ``too_slow`` past ``max_seconds`` (None: in this process)."""
    if max_seconds is None:
        return decode_image(data, name, max_pixels)
    return _DECODER.decode(data, name, max_pixels, max_seconds)


def load_within(path: Path, limits: ImageConfig) -> RGBImage:
    """``load_image`` under every limit of ``limits``, the time budget included."""
    return decode_within(read_image_file(path, limits.max_bytes), str(path), limits.max_pixels, limits.max_seconds)


class _Decoder:
    """The one worker process, started on first use, killed and replaced after an overrun."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._registered = False

    def decode(self, data: bytes, name: str, max_pixels: int, max_seconds: float) -> RGBImage:
        with self._lock:  # one image at a time through the one worker
            conn = self._started()
            conn.send((data, name, max_pixels))
            if not conn.poll(max_seconds):
                self.stop()
                raise ImageError(
                    f"{name}: decoding took longer than the limit of {max_seconds:g} s; stopped", "too_slow"
                )
            try:
                answer = conn.recv()
            except EOFError as exc:  # the worker died (killed for memory, say)
                self.stop()
                raise ImageError(f"{name}: the image decoder stopped on this image", "unreadable") from exc
        if isinstance(answer, tuple):
            message, reason = answer
            raise ImageError(message, reason)
        image: RGBImage = answer
        return image

    def _started(self) -> Connection:
        if self._process is not None and self._conn is not None and self._process.is_alive():
            return self._conn
        self.stop()
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(child,), name="openlfr-decoder", daemon=True)
        process.start()
        child.close()
        try:
            if not parent.poll(_START_TIMEOUT_S):
                raise EOFError
            parent.recv()  # "ready": the start is not charged to an image
        except EOFError as exc:
            process.kill()
            parent.close()
            raise ImageError("the image decoder process did not start", "unreadable") from exc
        self._process, self._conn = process, parent
        if not self._registered:
            atexit.register(self.stop)
            self._registered = True
        return parent

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(5.0)
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None


_DECODER = _Decoder()  # nothing runs at import: the process starts with the first image


def _serve(conn: Connection) -> None:
    """The worker: decode each request, answer the pixels or (message, reason)."""
    conn.send("ready")
    while True:
        try:
            data, name, max_pixels = conn.recv()
        except EOFError:
            return
        try:
            conn.send(decode_image(data, name, max_pixels))
        except ImageError as exc:
            conn.send((str(exc), exc.reason))
