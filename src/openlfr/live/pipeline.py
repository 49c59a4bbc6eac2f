"""The live pipeline of one camera: frames -> faces -> tracks -> best shots -> templates -> alerts.

Two threads per camera and a shared embedding worker:

    reader thread    source.frames() -> keep analysis_fps of them -> bounded queue (drops the oldest)
    analysis thread  detect -> track -> align + quality -> best shots -> (embed, async) -> recogniser -> alert
    embed service    a worker process embedding the shots that deserve it (see embed/service.py)

The camera's ``recognise.Recogniser`` holds the embedders and the matching step: with a second embedder
(score fusion) each wanted shot is also aligned for it and embedded by its own service; the track keeps
a ``TemplateSet`` (a template per embedder) and the watchlist fuses their normalised scores.

Memory is bounded: the queue holds at most ``queue_frames`` frames, each track at most ``best_shots``
crops, and a track's crops and templates are dropped when it ends; only counts survive. What the
camera holds (queued frames, tracks' crops and templates) is reported as ``memory_bytes``.

Detection (``detect.scan.Scanner``) scans fully every ``live.scan.full_every`` frames and only around
tracks and changes between; with several cameras, their detections take turns (``turns.Turns``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from openlfr.alert.base import AlertSink
from openlfr.config import CameraConfig, Settings
from openlfr.detect.base import FaceDetector
from openlfr.detect.scan import Scanner
from openlfr.embed import quality
from openlfr.ingest.video import VideoSource, is_live_source
from openlfr.live.queue import FrameQueue
from openlfr.live.recognise import Recogniser
from openlfr.live.turns import Turns
from openlfr.metrics import CameraMetrics
from openlfr.track.shots import Shot, ShotBook
from openlfr.track.tracker import Tracker
from openlfr.types import Alert, Frame, Template, TemplateSet, Track

log = logging.getLogger("openlfr.live.pipeline")


@dataclass(frozen=True, slots=True)
class _Pending:
    """A batch of shots sent to the embedding service, and when."""

    futures: list[Future[list[Template]]]
    """One per embedder, in the recogniser's order."""
    wanted: list[tuple[Track, ShotBook, Shot]]
    submitted: float

    def done(self) -> bool:
        return all(future.done() for future in self.futures)


class CameraPipeline:
    """Runs one camera's source through detection and tracking to its ``recogniser`` (embedding and
    matching), and the alerts it raises to ``sink``."""

    def __init__(
        self,
        camera: CameraConfig,
        source: VideoSource,
        settings: Settings,
        detector: FaceDetector,
        recogniser: Recogniser,
        sink: AlertSink,
        turns: Turns | None = None,
    ) -> None:
        self.camera = camera
        self.source = source
        self.settings = settings
        self.recogniser = recogniser
        self.detector = detector
        self.sink = sink
        self.scanner = Scanner(detector, settings.live.scan)
        self.turns = turns or Turns(1)
        self.metrics = CameraMetrics(camera.id, source_probe=lambda: (source.state, source.stats.reconnects))
        self.tracker = Tracker(camera.id, settings.live.tracker)
        self.alerts: deque[Alert] = deque(maxlen=100)
        live = is_live_source(camera.source) or camera.realtime
        self._queue = FrameQueue(settings.live.queue_frames, drop_oldest=live)
        self._books: dict[int, ShotBook] = {}
        self._pending: list[_Pending] = []
        self._threads: list[threading.Thread] = []
        self._error: BaseException | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        for target, name in ((self._read, "reader"), (self._analyse_loop, "analysis")):
            thread = threading.Thread(target=self._guard(target), name=f"lfr-{self.camera.id}-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self.source.stop()
        self._queue.close()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for both threads; True if they ended. Re-raises an error that ended one of them."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if self._error is not None:
            raise self._error
        return not any(t.is_alive() for t in self._threads)

    def run(self) -> None:
        self.start()
        self.join()

    def _guard(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # ended by an error: stop the camera and report it to join()
                self._error = exc
                log.exception("camera %s stopped by an error", self.camera.id)
                self.stop()

        return run

    # -- reader thread ----------------------------------------------------------------------------

    def _read(self) -> None:
        period = 1.0 / self.camera.analysis_fps
        next_due = float("-inf")

        def due(pts: float) -> bool:  # asked before a frame's pixels are made: skipped frames cost less
            nonlocal next_due
            self.metrics.count(frames_in=1)
            if pts + 1e-6 < next_due:
                self.metrics.count(frames_skipped=1)
                return False
            next_due = max(next_due + period, pts)
            return True

        try:
            for frame in self.source.frames(due):
                self.metrics.count(drops=self._queue.put(frame))
                self.metrics.queue_depth = len(self._queue)
        finally:
            self._queue.close()

    # -- analysis thread --------------------------------------------------------------------------

    def _analyse_loop(self) -> None:
        while not self._queue.finished:
            frame = self._queue.get(timeout=0.05)
            self._collect(block=False)
            if frame is not None:
                self._analyse(frame)
                self.metrics.queue_depth = len(self._queue)
                self.metrics.memory_bytes = self._queue.nbytes() + sum(b.nbytes() for b in self._books.values())
        self._collect(block=True)
        for track in self.tracker.finish():
            self._books.pop(track.track_id, None)

    def _analyse(self, frame: Frame) -> None:
        with self.turns.turn():  # the cameras' detections take turns (live/turns.py)
            t0 = time.perf_counter()
            scan = self.scanner.detect(frame.image, [t.box for t in self.tracker.tracks])
            t1 = time.perf_counter()
        detections = scan.detections
        update = self.tracker.update(detections, frame.pts, frame.captured_wall)
        for track in update.ended:
            self._books.pop(track.track_id, None)  # a track's shots and templates end with it
        aligned = self.recogniser.align(frame.image, [d for _, d in update.matched])
        t2 = time.perf_counter()
        self.metrics.stage("detect", t1 - t0)
        self.metrics.stage("align", t2 - t1, max(1, len(aligned)))
        self.metrics.count(
            frames_analysed=1,
            faces=len(detections),
            tracks=len(update.started),
            full_scans=int(scan.full),
            scan_windows=scan.windows,
        )
        wanted: list[tuple[Track, ShotBook, Shot]] = []
        rule = self.settings.quality.probe
        for (track, _), face in zip(update.matched, aligned, strict=True):
            book = self._books.setdefault(track.track_id, ShotBook(self.settings.live.tracker))
            q = quality.measure(face)
            shot = Shot(
                face, q, ShotBook.crop(frame, face), frame.seq, frame.pts, frame.captured_mono, frame.captured_wall
            )
            if book.offer(shot) and quality.check(q, rule).ok and book.wants_embedding(shot):
                book.asked(shot)
                wanted.append((track, book, shot))
        if wanted:
            futures = self.recogniser.submit(frame.image, [shot.face for _, _, shot in wanted])
            self._pending.append(_Pending(futures, wanted, time.perf_counter()))

    def _collect(self, block: bool) -> None:
        still: list[_Pending] = []
        for pending in self._pending:
            if not block and not pending.done():
                still.append(pending)
                continue
            per_embedder = [future.result() for future in pending.futures]
            t0 = time.perf_counter()
            # Embedding as the camera sees it: from submitting the batch to having its result.
            self.metrics.stage("embed", t0 - pending.submitted, len(pending.wanted))
            self.metrics.count(embeddings=len(pending.wanted))
            for i, (track, book, shot) in enumerate(pending.wanted):
                self._match(track, book, shot, TemplateSet.of(*(templates[i] for templates in per_embedder)))
            self.metrics.stage("match", time.perf_counter() - t0, len(pending.wanted))
        self._pending = still

    def _match(self, track: Track, book: ShotBook, shot: Shot, templates: TemplateSet) -> None:
        alert = self.recogniser.recognise(track, book, shot, templates)
        if alert is None:
            return
        self.sink.send(alert)
        self.metrics.latency(time.monotonic() - shot.captured_mono)
        self.metrics.count(alerts=1)
        self.alerts.append(alert)
