"""Video through PyAV (FFmpeg): files, rtsp/rtmp/http(s) streams (MJPEG included) and V4L2 webcams.

Each connection is read by its own thread (``avreader.Reader``), so that ``frames()`` and ``stop()``
never wait on a blocking network read. FFmpeg's own calls are bounded by PyAV's ``timeout``: the
stall timeout per read, twice that to open.

A live source reopens its stream whenever it ends, fails or stalls, waiting ``initial_delay_s``
then twice as long after each failed attempt, up to ``max_delay_s``; a connection that delivered
frames resets the delay and the count of failures. A file ends normally at its end (or plays
again, with ``loop``), and any failure to read it is a ``SourceError``.
"""

from __future__ import annotations

import enum
import queue
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass

import av
import av.error

from openlfr.config import ReconnectConfig
from openlfr.errors import SourceError
from openlfr.ingest.avreader import POLL_S, Decoded, Ended, Failed, Glitch, Opened, Reader, rgb
from openlfr.ingest.video import FrameDue, SourceBase, StateListener, redact, url_scheme
from openlfr.types import Frame, SourceState

_DEFAULT_FPS = 25.0
"""FFmpeg's own assumption where a stream states no rate."""
_RESYNC_S = 0.5
"""A realtime file this far behind its schedule (a slow consumer) is paced from now on, not rushed."""


class _Timeline:
    """One increasing clock (seconds) for a source, across loops of a file and reconnections of a stream.

    A file's frames keep their own times, relative to its first frame (frame count / fps where a frame
    has none), and a loop continues one frame after the last. A stream's segments are placed at the
    moment their first frame arrived, so that a gap in the stream is a gap in ``pts``; streams without
    timestamps (MJPEG) are timed on arrival.
    """

    def __init__(self, live: bool) -> None:
        self._live = live
        self._origin: float | None = None
        self._offset = 0.0
        self._last: float | None = None
        self._fps = _DEFAULT_FPS
        self._timestamps = True
        self._first_time: float | None = None
        self._count = 0
        self._pace: tuple[float, float] | None = None

    def new_segment(self, opened: Opened) -> None:
        self._fps = opened.fps or _DEFAULT_FPS
        self._timestamps = opened.timestamps
        self._first_time = None
        self._count = 0
        if self._last is not None and not self._live:
            self._offset = self._last + 1.0 / self._fps

    def pts(self, item: Decoded) -> float:
        if self._origin is None:
            self._origin = item.mono
        if self._live and (not self._timestamps or item.time is None):
            pts = item.mono - self._origin
        else:
            if self._count == 0:
                self._first_time = item.time
                if self._live:
                    self._offset = item.mono - self._origin
            if item.time is not None and self._first_time is not None:
                pts = self._offset + item.time - self._first_time
            else:
                pts = self._offset + self._count / self._fps
        self._count += 1
        if self._last is not None and pts <= self._last:
            pts = self._last + 1e-3
        self._last = pts
        return pts

    def wait_s(self, pts: float) -> float:
        """Seconds until ``pts`` is due when played at its native rate, from the first frame played."""
        now = time.monotonic()
        if self._pace is None or now - (self._pace[0] + pts - self._pace[1]) > _RESYNC_S:
            self._pace = (now, pts)
        return max(0.0, self._pace[0] + pts - self._pace[1] - now)


class _Outcome(enum.Enum):
    STOPPED = "stopped"
    ENDED = "ended"
    FAILED = "failed"
    STALLED = "stalled"


@dataclass(frozen=True, slots=True)
class _Result:
    outcome: _Outcome
    frames: int
    reason: str = ""
    exc: Exception | None = None


class AvSource(SourceBase):
    """A file, stream or webcam read by PyAV. ``live``: reconnect instead of ending (URLs, devices).

    ``realtime`` and ``loop`` apply to files: play at the native rate (else as fast as frames are
    taken), and start again at the end. ``decode_threads``: FFmpeg's decoding threads (0: its choice).
    ``options`` go to FFmpeg (``rtsp_transport`` is ``tcp`` unless given: UDP loses packets, and with
    them parts of frames, on busy networks).
    """

    def __init__(
        self,
        camera_id: str,
        url: str,
        *,
        live: bool,
        format: str | None = None,
        options: dict[str, str] | None = None,
        decode_threads: int = 1,
        realtime: bool = True,
        loop: bool = False,
        reconnect: ReconnectConfig | None = None,
        on_state: StateListener | None = None,
    ) -> None:
        super().__init__(camera_id, on_state)
        self.url = url
        self.live = live
        self.format = format
        self.decode_threads = decode_threads
        self.realtime = realtime and not live
        self.loop = loop and not live
        self.options = dict(options or {})
        if url_scheme(url) in ("rtsp", "rtsps"):
            self.options.setdefault("rtsp_transport", "tcp")
        self.reconnect = reconnect or ReconnectConfig()
        self._name = redact(url)

    def frames(self, due: FrameDue | None = None) -> Iterator[Frame]:
        if self._stop.is_set():
            self._set_state(SourceState.STOPPED)
            return
        self._running = True
        timeline = _Timeline(self.live)
        settings = self.reconnect
        delay = settings.initial_delay_s
        failures = 0
        attempts = 0
        try:
            while not self._stop.is_set():
                if attempts and self.live:
                    self._stats.reconnects += 1
                attempts += 1
                reader = Reader(self.url, self.format, self.options, self._timeouts(), self.decode_threads)
                reader.start()
                try:
                    result = yield from self._play(reader, timeline, due)
                finally:
                    reader.cancel()
                if result.outcome is _Outcome.STOPPED:
                    return
                if not self.live:
                    if result.outcome is _Outcome.FAILED:
                        where = f" after {result.frames} frames" if result.frames else ""
                        raise SourceError(
                            f"camera {self.camera_id}: cannot read video {self._name}{where}: {result.reason}"
                        ) from result.exc
                    if self.loop and result.frames:
                        continue
                    return
                if result.frames:
                    failures, delay = 0, settings.initial_delay_s
                else:
                    failures += 1
                if isinstance(result.exc, av.error.LookupError) or (
                    settings.max_attempts is not None and failures >= settings.max_attempts
                ):
                    raise SourceError(
                        f"camera {self.camera_id}: gave up on {self._name} after {failures} failed "
                        f"attempt{'s' if failures != 1 else ''}: {result.reason}"
                    ) from result.exc
                self._set_state(SourceState.RECONNECTING, f"{result.reason}; retrying in {delay:.1f} s")
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2.0, settings.max_delay_s)
        finally:
            self._running = False
            self._set_state(SourceState.STOPPED)

    def _timeouts(self) -> tuple[float, float]:
        """(open, read) limits in seconds for FFmpeg's blocking calls."""
        stall = self.reconnect.stall_timeout_s
        return (2.0 * stall, stall)

    def _play(self, reader: Reader, timeline: _Timeline, due: FrameDue | None) -> Generator[Frame, None, _Result]:
        """Yield the frames of one connection; say how it ended."""
        stall = self.reconnect.stall_timeout_s
        last = time.monotonic()
        opened = False
        count = 0
        while True:
            if self._stop.is_set():
                return _Result(_Outcome.STOPPED, count)
            try:
                item = reader.queue.get(timeout=POLL_S)
            except queue.Empty:
                idle = time.monotonic() - last
                # Until it opens, FFmpeg's own open timeout bounds the wait; this is the backstop.
                if self.live and idle > (stall if opened else self._timeouts()[0] + stall):
                    return self._stalled(idle, count)
                continue
            idle, last = time.monotonic() - last, time.monotonic()
            if isinstance(item, Opened):
                opened = True
                timeline.new_segment(item)
            elif isinstance(item, Glitch):
                self._record_error(f"{self._name}: {item.message}")
            elif isinstance(item, Ended):
                if not self.live:
                    return _Result(_Outcome.ENDED, count)
                self._record_error(f"{self._name}: stream ended")
                return _Result(_Outcome.ENDED, count, "stream ended")
            elif isinstance(item, Failed):
                if self.live and opened and isinstance(item.exc, av.error.ExitError):
                    # FFmpeg's read timeout (the stall timeout) fired before our own check did.
                    return self._stalled(idle, count)
                reason = _describe(item.exc)
                self._record_error(f"{self._name}: {reason}")
                return _Result(_Outcome.FAILED, count, reason, item.exc)
            else:
                pts = timeline.pts(item)
                if count == 0:
                    self._set_state(SourceState.LIVE)
                count += 1
                if due is not None and not due(pts):
                    self._pass_over()
                    last = time.monotonic()
                    continue
                mono, wall = item.mono, item.wall
                if self.realtime:
                    if self._stop.wait(timeline.wait_s(pts)):
                        return _Result(_Outcome.STOPPED, count)
                    # A file played as a camera is captured when the camera would have sent the frame.
                    mono, wall = time.monotonic(), time.time()
                try:
                    image = rgb(item.picture)
                except (av.error.FFmpegError, ValueError) as exc:  # a damaged frame FFmpeg cannot convert
                    self._record_error(f"{self._name}: unconvertible frame skipped ({_describe(exc)})")
                    continue
                yield self._frame(image, pts, mono, wall)
                last = time.monotonic()  # the time the consumer kept the frame is not the stream's

    def _stalled(self, idle: float, frames: int) -> _Result:
        reason = f"stalled: no frame for {idle:.1f} s"
        self._set_state(SourceState.STALLED, reason)
        self._record_error(f"{self._name}: {reason}")
        return _Result(_Outcome.STALLED, frames, reason)


def _describe(exc: Exception) -> str:
    """One short line for a failure, without the URL (which may hold a password)."""
    if isinstance(exc, av.error.ExitError):
        return "timed out waiting for data"
    if isinstance(exc, av.error.FFmpegError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc) or type(exc).__name__
