"""The tracks of a recorded video, from the live pipeline: one fused template, time span and best crop each.

A video that stops half way (a truncated or damaged file) keeps the tracks seen until then:
``VideoTracks.complete`` is False and ``problem`` says where and why (a read error, or fewer frames read
than the file's header states).
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from openlfr.alert.base import AlertSink
from openlfr.config import CameraConfig, Settings
from openlfr.errors import OpenLFRError, SourceError
from openlfr.ingest.avreader import stated_frames
from openlfr.live.app import LiveApp
from openlfr.track.shots import Shot, ShotBook
from openlfr.types import Alert, TemplateSet, Track

log = logging.getLogger("openlfr.footage")
CROP_PX = 160


@dataclass(frozen=True, slots=True)
class FootageTrack:
    """One person's pass in the video: when (stream seconds), the fused template, the best crop (JPEG)."""

    track_id: int
    start_s: float
    end_s: float
    frames: int
    vector: NDArray[np.float32]
    quality: float
    crop: bytes
    embeddings: int


@dataclass(slots=True)
class VideoTracks:
    video: Path
    camera: str
    tracks: list[FootageTrack] = field(default_factory=list)
    complete: bool = True
    problem: str | None = None


class _NoAlerts:
    """The collector raises no alert; a sink is still required by the pipeline."""

    name = "none"

    def send(self, alert: Alert) -> None:  # pragma: no cover - nothing is ever sent
        del alert

    def close(self, timeout: float = 5.0) -> None:
        del timeout


class TrackCollector:
    """A ``TrackRecogniser`` that keeps, per track, its latest fused template and best shot; no matching."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tracks: dict[int, tuple[Track, NDArray[np.float32], Shot, int]] = {}

    def recognise(self, track: Track, book: ShotBook, shot: Shot, templates: TemplateSet) -> Alert | None:
        fused = book.add(shot, templates)
        vector = next(iter(fused.values()))  # the run's first embedder (the set keeps the recogniser's order)
        with self._lock:
            self._tracks[track.track_id] = (track, vector, book.shots[0], book.embeddings)
        return None

    def tracks(self) -> list[FootageTrack]:
        with self._lock:
            items = sorted(self._tracks.values(), key=lambda t: t[0].first_seen_pts)
        return [
            FootageTrack(
                track.track_id,
                round(track.first_seen_pts, 3),
                round(track.last_seen_pts, 3),
                track.frames,
                vector,
                shot.quality.score,
                _jpeg(shot.crop),
                embeddings,
            )
            for track, vector, shot, embeddings in items
        ]


def camera_name(video: Path) -> str:
    """A camera id from a file name (the id's character set)."""
    name = re.sub(r"[^A-Za-z0-9_.\-]", "_", video.stem).lstrip("._-") or "video"
    return name[:64]


def collect_tracks(settings: Settings, video: Path, camera: str | None = None, fps: float = 10.0) -> VideoTracks:
    """Every track of ``video`` through the live pipeline, flat out; a video that stops half way keeps
    the tracks so far (``complete`` False, ``problem`` the reason)."""
    if not video.is_file():
        raise OpenLFRError(f"no video file at {video}")
    cam = CameraConfig(id=camera or camera_name(video), source=str(video), analysis_fps=fps, realtime=False)
    quiet = settings.model_copy(
        update={"live": settings.live.model_copy(update={"metrics_port": None, "allow_uncalibrated": True})}
    )
    collector = TrackCollector()
    sink: AlertSink = _NoAlerts()
    app = LiveApp(quiet, None, [cam], sink=sink, recognisers=lambda _camera: collector)
    out = VideoTracks(video, cam.id)
    pipeline_log = logging.getLogger("openlfr.live.pipeline")
    reported = _Reported()
    pipeline_log.addFilter(reported)
    try:
        app.run()
    except OpenLFRError as exc:  # the source failed part way: what was seen is kept, and said
        out.complete, out.problem = False, str(exc)
    finally:
        pipeline_log.removeFilter(reported)
    stats = app.pipelines[0].source.stats if app.pipelines else None
    read = app.pipelines[0].metrics.snapshot().frames_in if app.pipelines else 0
    stated = stated_frames(str(video))
    if out.complete and stated is not None and read < stated:
        out.complete, out.problem = False, f"the video ended after {read} of the {stated} frames its header states"
    elif out.complete and stats is not None and stats.errors:
        out.complete, out.problem = False, f"the video had read errors: {stats.last_error}"
    out.tracks = collector.tracks()
    return out


class _Reported(logging.Filter):
    """Drops the pipeline's trace of a ``SourceError``: a footage run reports it itself, as one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], SourceError))


def _jpeg(crop: NDArray[np.uint8]) -> bytes:
    scale = CROP_PX / max(crop.shape[:2])
    small = crop
    if scale < 1:
        size = (max(1, int(crop.shape[1] * scale)), max(1, int(crop.shape[0] * scale)))
        small = np.asarray(cv2.resize(crop, size), np.uint8)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return jpeg.tobytes() if ok else b""
