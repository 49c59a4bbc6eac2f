"""The live application: every camera of a deployment, one watchlist, the alert sinks and the metrics.

``LiveApp.start`` reads as the table of contents of a live run, one step a line, in order. Each camera
matches locally against the watchlist (``recognise.LocalRecogniser``) unless ``recognisers`` gives each
camera another recogniser (``lfr edge``: the service matches, and no watchlist is on the device).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from openlfr.alert.base import AlertSink, DeliveryReport, FanOut, Reporting, sinks
from openlfr.alert.outbox import Outbox
from openlfr.config import CameraConfig, Settings
from openlfr.detect.base import detectors
from openlfr.embed.base import Embedder, embedders
from openlfr.embed.service import Embedding, start_service
from openlfr.errors import ConfigError, UncalibratedError
from openlfr.ingest.video import open_source
from openlfr.live import heap
from openlfr.live.pipeline import CameraPipeline
from openlfr.live.recognise import LocalRecogniser, Recogniser, TrackRecogniser
from openlfr.live.turns import Turns, default_slots
from openlfr.match.signing import FileSigning
from openlfr.match.watchlist import Watchlist
from openlfr.metrics import MetricsSnapshot, describe, serve_prometheus

log = logging.getLogger("openlfr.live.app")


RecogniserFactory = Callable[[CameraConfig], TrackRecogniser]
"""Makes the recogniser of one camera."""


class LiveApp:
    """Runs ``cameras`` against ``watchlist`` (or each camera's recogniser from ``recognisers``) until
    every source ends or ``stop`` is called."""

    def __init__(
        self,
        settings: Settings,
        watchlist: Watchlist | Path | None,
        cameras: Sequence[CameraConfig] | None = None,
        sink: AlertSink | None = None,
        recognisers: RecogniserFactory | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        if (watchlist is None) == (recognisers is None):
            raise ConfigError("a live run matches against a watchlist, or through recognisers: exactly one of them")
        self.settings = settings
        self._watchlist = watchlist
        self._recognisers = recognisers
        self.cameras = list(cameras if cameras is not None else settings.cameras)
        if not self.cameras:
            raise ConfigError("no cameras: give sources on the command line or [[cameras]] in the config file")
        ids = [c.id for c in self.cameras]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"camera ids must be unique, got {', '.join(ids)}")
        self._sink_override = sink
        self._outbox = outbox
        self.pipelines: list[CameraPipeline] = []
        self._embeddings: list[Embedding] = []
        self._sink: AlertSink | None = None
        self._metrics_server: object | None = None
        self._stop = threading.Event()
        self._logger: threading.Thread | None = None
        self._trimmer: threading.Thread | None = None
        self._uncalibrated = False

    def start(self) -> None:
        live = self.settings.live
        configs = [self.settings.embedder, *([self.settings.second_embedder] if self.settings.second_embedder else [])]
        made = [embedders.create(config) for config in configs]  # a second one: score fusion
        identities = [e.identity for e in made]
        recognisers = self._recognisers or self._local(identities[0], identities[1] if len(identities) > 1 else None)
        self._embeddings = [
            Embedding(e, start_service(config, e, live.embed_in_process))
            for config, e in zip(configs, made, strict=True)
        ]
        if self._sink_override is None:  # an outbox without a key keeps no face crops
            self._sink = FanOut([sinks.create(c) for c in live.sinks], self._outbox or Outbox(live.outbox))
        else:
            self._sink = self._sink_override
        turns = Turns(live.detect_slots or default_slots())  # shared by every camera
        for camera in self.cameras:
            source = open_source(camera, live.reconnect)
            detector = detectors.create(live.detector)
            recogniser = Recogniser(self._embeddings, recognisers(camera))
            self.pipelines.append(
                CameraPipeline(camera, source, self.settings, detector, recogniser, self._sink, turns)
            )
            self.pipelines[-1].metrics.uncalibrated = self._uncalibrated
        self._warm_up(made[0])
        for pipeline in self.pipelines:
            pipeline.start()
        if live.metrics_port is not None:
            self._metrics_server = serve_prometheus([p.metrics for p in self.pipelines], live.metrics_port)
        self._logger = threading.Thread(target=self._log_periodically, name="lfr-metrics-log", daemon=True)
        self._logger.start()
        if live.heap_trim_s > 0:
            self._trimmer = threading.Thread(target=self._trim_periodically, name="lfr-heap-trim", daemon=True)
            self._trimmer.start()

    def _warm_up(self, embedder: Embedder) -> None:
        """Load the alignment models and run each detector once before the cameras open, so that the
        first face seen is not kept waiting for a model to load (measured: 1.7 s instead of 0.2 s)."""
        embedder.load()
        blank = np.zeros((360, 640, 3), np.uint8)
        for pipeline in self.pipelines:
            pipeline.detector.detect(blank)

    def _local(self, identity: str, second: str | None) -> RecogniserFactory:
        """Each camera matches against the watchlist here, through its own alert gate."""
        watchlist = self._load_watchlist(identity, second)
        self._uncalibrated = watchlist.calibration_problem() is not None
        cooldown = self.settings.live.tracker.alert_cooldown_s
        return lambda camera: LocalRecogniser(camera.id, watchlist, cooldown)

    def _load_watchlist(self, identity: str, second: str | None) -> Watchlist:
        assert self._watchlist is not None  # checked in __init__: no recognisers, so a watchlist
        if isinstance(self._watchlist, Watchlist):
            watchlist = self._watchlist
            watchlist.require_embedder(identity, second)
        else:
            signing = FileSigning.from_settings(self.settings)
            watchlist = Watchlist.load(self._watchlist, embedder=identity, second=second, signing=signing)
        watchlist.fusion  # noqa: B018 - a fused watchlist must be normalised, override or not
        problem = watchlist.calibration_problem()
        if problem is None:
            return watchlist
        if not self.settings.live.allow_uncalibrated:
            raise UncalibratedError(
                f"watchlist '{watchlist.name}': {problem}; live matching refused (false alerts grow with watchlist "
                "size): calibrate it with 'lfr watchlist calibrate W --cohort C.lfrc', or start with "
                "--allow-uncalibrated (recorded in every alert)"
            )
        log.error(
            "UNCALIBRATED THRESHOLD, override given: watchlist %s: %s; every alert and the metrics record it",
            watchlist.name,
            problem,
        )
        return watchlist

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every camera has ended (files) or ``timeout``; True if all ended."""
        return all(p.join(timeout) for p in self.pipelines)

    def stop(self) -> None:
        """Stop every camera, flush the sinks, stop the workers (safe to call twice)."""
        self._stop.set()
        for pipeline in self.pipelines:
            pipeline.stop()
        for pipeline in self.pipelines:
            pipeline.join(10.0)
        if self._sink is not None:
            self._sink.close()
        for embedding in self._embeddings:
            embedding.service.close()
        self._embeddings = []
        if self._metrics_server is not None:
            self._metrics_server.shutdown()  # type: ignore[attr-defined]
            self._metrics_server = None

    def run(self) -> None:
        """Start, wait for every camera to end, stop."""
        self.start()
        try:
            self.wait()
        finally:
            self.stop()

    def delivery(self, final: bool = False) -> DeliveryReport | None:
        """Alerts raised, delivered and undelivered (None when the sink does not follow them)."""
        return self._sink.report(final) if isinstance(self._sink, Reporting) else None

    def snapshots(self) -> list[MetricsSnapshot]:
        return [p.metrics.snapshot() for p in self.pipelines]

    def _log_periodically(self) -> None:
        while not self._stop.wait(self.settings.live.log_interval_s):
            for snap in self.snapshots():
                log.info("%s", describe(snap))
            report = self.delivery()
            if report is not None and report.undelivered:
                log.warning("alerts: %s", report.describe())

    def _trim_periodically(self) -> None:
        """Hand freed heap back every ``live.heap_trim_s`` (see ``live.heap``): resident memory then follows
        the memory in use rather than the most ever freed."""
        while not self._stop.wait(self.settings.live.heap_trim_s):
            heap.trim()
