"""One connection to a video, read in its own thread: open, demux, decode, hand the frames over.

``AvSource`` (``avsource.py``) starts a ``Reader`` for each connection and takes what it finds in
``Reader.queue`` (two items at most): ``Opened``, then ``Decoded`` frames and ``Glitch`` notes, then
``Ended`` or ``Failed``. Keeping the blocking FFmpeg calls in this thread is what lets ``frames()``
and ``stop()`` answer at once while a read hangs; the read itself is bounded by PyAV's ``timeout``,
so a cancelled reader ends within the read timeout.

A decoded frame crosses as FFmpeg's own picture (YUV, as decoded): its RGB pixels are made (``rgb``) only
for the frames the consumer keeps, since a camera usually sends two or three frames for each one analysed
and the conversion costs about a third as much as decoding one (bench/decode.py).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from dataclasses import dataclass

import av
import av.error
import numpy as np

from openlfr.errors import SourceError
from openlfr.types import RGBImage

POLL_S = 0.05
"""How often a waiting thread looks at its stop or cancel event."""
QUEUE_FRAMES = 2
AVFMT_NOTIMESTAMPS = 0x0080
"""FFmpeg's flag for a format without timestamps of its own (MJPEG over HTTP, image sequences)."""


@dataclass(frozen=True, slots=True)
class Opened:
    """The connection is open and has a video stream."""

    fps: float | None
    timestamps: bool
    """False for formats without real timestamps (MJPEG over HTTP): their frames are timed on arrival."""


def rgb(frame: av.VideoFrame) -> RGBImage:
    """The frame's pixels as RGB (made only for the frames the consumer keeps)."""
    return np.ascontiguousarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)


@dataclass(frozen=True, slots=True, eq=False)
class Decoded:
    """One frame as decoded (``rgb(picture)`` gives its pixels), the stream's time for it (if any), and when
    it was decoded."""

    picture: av.VideoFrame
    time: float | None
    mono: float
    wall: float


@dataclass(frozen=True, slots=True)
class Glitch:
    """Something was lost (an undecodable packet) but the connection goes on."""

    message: str


@dataclass(frozen=True, slots=True)
class Ended:
    """The input ended normally (the end of a file, or a server that closed the stream cleanly)."""


@dataclass(frozen=True, slots=True)
class Failed:
    """The connection could not be opened or broke; ``exc`` is PyAV's (or our) exception, untranslated."""

    exc: Exception


Item = Opened | Decoded | Glitch | Ended | Failed


class Reader:
    """One connection, read in a daemon thread into ``queue`` until it ends, fails or is cancelled."""

    def __init__(
        self,
        url: str,
        format: str | None,
        options: dict[str, str],
        timeout: tuple[float, float],
        threads: int = 1,
    ) -> None:
        self.queue: queue.Queue[Item] = queue.Queue(maxsize=QUEUE_FRAMES)
        self._url = url
        self._format = format
        self._options = options
        self._timeout = timeout
        self._threads = threads
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="openlfr-video-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        """Ask the thread to end: at once if it is waiting on the queue, else after its current read."""
        self._cancel.set()

    def _put(self, item: Item) -> bool:
        while not self._cancel.is_set():
            try:
                self.queue.put(item, timeout=POLL_S)
            except queue.Full:
                continue
            return True
        return False

    def _run(self) -> None:
        open_timeout, read_timeout = self._timeout
        try:
            container = av.open(
                self._url,
                format=self._format,
                options=self._options,
                timeout=(open_timeout, read_timeout),
            )
        except Exception as exc:  # every failure is the consumer's to translate
            self._put(Failed(exc))
            return
        try:
            self._read(container)
        except Exception as exc:
            self._put(Failed(exc))
        finally:
            # Closing a broken connection may fail again; there is nothing left to do then.
            with contextlib.suppress(Exception):
                container.close()

    def _read(self, container: av.container.InputContainer) -> None:
        if not container.streams.video:
            self._put(Failed(SourceError("it has no video stream")))
            return
        stream = container.streams.video[0]
        if self._threads == 0:
            stream.thread_type = "AUTO"  # FFmpeg's choice: frame and slice threads, one per core
        else:
            stream.codec_context.thread_count = self._threads
            stream.thread_type = "SLICE"  # frame threads would add a frame of delay per thread
        rate = stream.average_rate or stream.guessed_rate
        timestamps = not container.format.flags & AVFMT_NOTIMESTAMPS
        if not self._put(Opened(float(rate) if rate else None, timestamps)):
            return
        for packet in container.demux(stream):
            if self._cancel.is_set():
                return
            try:
                decoded = stream.decode(packet)
            except av.error.InvalidDataError as exc:
                if not self._put(Glitch(f"undecodable packet skipped ({exc.strerror})")):
                    return
                continue
            for frame in decoded:
                frame_time: float | None = frame.time
                if not self._put(Decoded(frame, frame_time, time.monotonic(), time.time())):
                    return
        self._put(Ended())


def stated_frames(path: str) -> int | None:
    """How many frames a video file's header says its first video stream holds (None: it does not say,
    or the file does not open): what a reader that stopped early is measured against."""
    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            return int(stream.frames) or None
    except (av.error.FFmpegError, IndexError, OSError):
        return None
