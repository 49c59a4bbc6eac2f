"""Video in: every camera, file or folder behind one ``VideoSource`` that yields ``Frame`` objects.

``open_source`` picks the implementation from a camera's ``source``:

- a folder -> ``ImageFolderSource`` (every image in it, sorted, at ``fps``);
- an rtsp/rtsps/rtmp/http(s)/udp/tcp/srt URL -> ``AvSource`` (``openlfr.ingest.avsource``) as a live stream;
- ``/dev/videoN`` -> ``AvSource`` reading the V4L2 webcam, live;
- anything else -> ``AvSource`` reading a file FFmpeg can decode.

Live sources (URLs and devices) never end on their own: a dropped or stalled stream changes
``state`` and is reopened with exponential backoff, until ``stop()`` or ``max_attempts`` failed opens
in a row (``SourceError``). Files and folders end (state STOPPED) when they are played through.
``AvSource`` imports PyAV, so its module is imported only when ``open_source`` first needs it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from openlfr.config import CameraConfig, ReconnectConfig
from openlfr.errors import ImageError, SourceError
from openlfr.ingest.images import iter_image_paths, load_image
from openlfr.types import Frame, RGBImage, SourceState

log = logging.getLogger("openlfr.ingest")

LIVE_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "tcp", "srt"})
StateListener = Callable[[SourceState], None]
"""Called on every state change, in the thread that runs ``frames()`` (or calls ``stop()``); must not block."""
FrameDue = Callable[[float], bool]
"""Asked with each frame's ``pts``, in order, before its pixels are made: False passes the frame over (it
counts as read, keeps its ``seq``, and is neither converted nor yielded). The live pipeline keeps its
``analysis_fps`` this way, so that the frames it would skip cost only their decoding."""


@dataclass(slots=True)
class SourceStats:
    """Counters of one source, for logs and metrics. Written by the thread that runs ``frames()``."""

    frames_read: int = 0
    reconnects: int = 0
    """Times a live stream was opened again after a drop or a failed open."""
    errors: int = 0
    """Failed opens, dropped or stalled streams, undecodable packets, unreadable images."""
    last_error: str | None = None
    state_changes: int = 0


@runtime_checkable
class VideoSource(Protocol):
    """Frames from one camera, file or folder."""

    @property
    def camera_id(self) -> str: ...

    @property
    def state(self) -> SourceState: ...

    @property
    def stats(self) -> SourceStats: ...

    def frames(self, due: FrameDue | None = None) -> Iterator[Frame]:
        """Yield frames until the source ends or ``stop()`` is called; ``SourceError`` if it cannot be read.
        With ``due``, only the frames it accepts."""
        ...

    def stop(self) -> None:
        """Make ``frames()`` return soon (within about 0.1 s); safe to call from any thread."""
        ...


class SourceBase:
    """What every source shares: the camera id, the state and its listener, the stop event, the counters."""

    def __init__(self, camera_id: str, on_state: StateListener | None = None) -> None:
        self._camera_id = camera_id
        self._state = SourceState.CONNECTING
        self._state_lock = threading.Lock()
        self._on_state = on_state
        self._stop = threading.Event()
        self._running = False
        self._seq = 0
        self._stats = SourceStats()

    @property
    def camera_id(self) -> str:
        return self._camera_id

    @property
    def state(self) -> SourceState:
        return self._state

    @property
    def stats(self) -> SourceStats:
        return self._stats

    def stop(self) -> None:
        self._stop.set()
        if not self._running:
            self._set_state(SourceState.STOPPED)

    def _set_state(self, state: SourceState, why: str | None = None) -> None:
        with self._state_lock:
            if state is self._state:
                return
            self._state = state
            self._stats.state_changes += 1
            log.info("camera %s: %s%s", self._camera_id, state.value, f" ({why})" if why else "")
            if self._on_state is not None:
                self._on_state(state)

    def _pass_over(self) -> None:
        """A frame read but not due: it keeps its place in the sequence."""
        self._seq += 1
        self._stats.frames_read += 1

    def _record_error(self, message: str) -> None:
        self._stats.errors += 1
        self._stats.last_error = message
        log.warning("camera %s: %s", self._camera_id, message)

    def _frame(self, image: RGBImage, pts: float, mono: float | None = None, wall: float | None = None) -> Frame:
        """The next frame in sequence, stamped now unless a capture time is given."""
        frame = Frame(
            camera_id=self._camera_id,
            seq=self._seq,
            image=image,
            pts=pts,
            captured_mono=time.monotonic() if mono is None else mono,
            captured_wall=time.time() if wall is None else wall,
        )
        self._seq += 1
        self._stats.frames_read += 1
        return frame


class ImageFolderSource(SourceBase):
    """Every image in a folder (recursive, sorted by path), as frames ``1 / fps`` seconds apart.

    With ``realtime`` the frames are released at that pace, as a camera would send them; without, as
    fast as they are taken. Unreadable images are skipped and counted in ``stats.errors``.
    """

    def __init__(
        self,
        camera_id: str,
        folder: Path,
        *,
        fps: float = 10.0,
        realtime: bool = True,
        loop: bool = False,
        on_state: StateListener | None = None,
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        super().__init__(camera_id, on_state)
        self.folder = folder
        self.fps = fps
        self.realtime = realtime
        self.loop = loop

    def frames(self, due: FrameDue | None = None) -> Iterator[Frame]:
        if not self.folder.is_dir():
            self._set_state(SourceState.STOPPED)
            raise SourceError(f"camera {self.camera_id}: image folder not found: {self.folder}")
        if self._stop.is_set():
            self._set_state(SourceState.STOPPED)
            return
        paths = list(iter_image_paths([self.folder]))
        if not paths:
            self._set_state(SourceState.STOPPED)
            raise SourceError(f"camera {self.camera_id}: no image files in folder {self.folder}")
        self._running = True
        index = 0
        start: float | None = None
        try:
            self._set_state(SourceState.LIVE)
            while not self._stop.is_set():
                taken = 0
                for path in paths:
                    if due is not None and not due(index / self.fps):
                        self._pass_over()
                        index += 1
                        taken += 1
                        continue
                    try:
                        image = load_image(path)
                    except ImageError as exc:
                        self._record_error(str(exc))
                        continue
                    if start is None:
                        start = time.monotonic()
                    if self.realtime and self._stop.wait(max(0.0, start + index / self.fps - time.monotonic())):
                        return
                    if self._stop.is_set():
                        return
                    yield self._frame(image, index / self.fps)
                    index += 1
                    taken += 1
                if not self.loop or taken == 0:
                    return
        finally:
            self._running = False
            self._set_state(SourceState.STOPPED)


_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def url_scheme(source: str) -> str | None:
    """The lower-case scheme of a URL (``rtsp``), or None for a path."""
    match = _URL.match(source)
    return match.group(1).lower() if match else None


def redact(source: str) -> str:
    """``source`` with any user name and password of a URL hidden, for messages and logs."""
    return _USERINFO.sub("***@", source)


def is_live_source(source: str) -> bool:
    """True for a stream URL or a V4L2 device: the sources that reconnect instead of ending."""
    return url_scheme(source) in LIVE_SCHEMES or source.startswith("/dev/video")


def open_source(
    config: CameraConfig, reconnect: ReconnectConfig, *, on_state: StateListener | None = None
) -> VideoSource:
    """The source for one camera; ``SourceError`` if its file or folder does not exist.

    Nothing is opened until ``frames()`` is iterated.
    """
    source = config.source
    if is_live_source(source) or url_scheme(source) is not None:
        from openlfr.ingest.avsource import AvSource

        device = source.startswith("/dev/video")
        return AvSource(
            config.id,
            source,
            live=is_live_source(source),
            format="v4l2" if device else None,
            decode_threads=config.decode_threads,
            realtime=config.realtime,
            loop=config.loop,
            reconnect=reconnect,
            on_state=on_state,
        )
    path = Path(source).expanduser()
    if path.is_dir():
        return ImageFolderSource(
            config.id, path, fps=config.analysis_fps, realtime=config.realtime, loop=config.loop, on_state=on_state
        )
    if not path.exists():
        raise SourceError(f"camera {config.id}: video file not found: {path}")
    from openlfr.ingest.avsource import AvSource

    return AvSource(
        config.id,
        str(path),
        live=False,
        decode_threads=config.decode_threads,
        realtime=config.realtime,
        loop=config.loop,
        reconnect=reconnect,
        on_state=on_state,
    )
