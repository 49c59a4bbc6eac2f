"""Per-camera metrics: counted once here, read by the status line, the periodic log and Prometheus.

Rates (frames in and analysed per second) are computed over a sliding window of recent events;
alert latency (frame capture to alert sent) keeps the last 1,000 values for its percentiles.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from openlfr.types import SourceState

STAGES = ("decode", "detect", "align", "embed", "match")
_WINDOW_S = 5.0


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    camera_id: str
    state: str
    frames_in: int
    frames_analysed: int
    frames_skipped: int
    drops: int
    faces: int
    tracks: int
    alerts: int
    embeddings: int
    reconnects: int
    fps_in: float
    fps_analysed: float
    stage_ms: dict[str, float]
    """Mean milliseconds per call of each stage."""
    stage_seconds: dict[str, float]
    latency_p50_s: float | None
    latency_p95_s: float | None
    queue_depth: int
    uncalibrated: bool = False
    """The watchlist's threshold is not calibrated for this embedder and normalisation (override given)."""
    full_scans: int = 0
    """Analysed frames the detector scanned whole (the others: around tracks and changes only)."""
    scan_windows: int = 0
    """Windows the detector ran on, all frames together (a full 3 x 3 BlazeFace scan is 10)."""
    memory_bytes: int = 0
    """What the camera holds now: queued frames, its tracks' crops, chips and templates."""
    node: str | None = None
    """The cluster node the camera runs on (``lfr serve --cluster``); None in the service's own process."""


@dataclass
class CameraMetrics:
    """Counters of one camera, safe to update from its reader and analysis threads."""

    camera_id: str
    state: SourceState = SourceState.CONNECTING
    frames_in: int = 0
    frames_analysed: int = 0
    frames_skipped: int = 0
    drops: int = 0
    faces: int = 0
    tracks: int = 0
    alerts: int = 0
    embeddings: int = 0
    reconnects: int = 0
    queue_depth: int = 0
    uncalibrated: bool = False
    full_scans: int = 0
    scan_windows: int = 0
    memory_bytes: int = 0
    source_probe: Callable[[], tuple[SourceState, int]] | None = None
    """Reads the source's current state and reconnect count at each snapshot."""
    _stage_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    _stage_n: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    _latencies: deque[float] = field(default_factory=lambda: deque(maxlen=1000))
    _in_times: deque[float] = field(default_factory=lambda: deque(maxlen=2000))
    _analysed_times: deque[float] = field(default_factory=lambda: deque(maxlen=2000))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, **increments: int) -> None:
        """Add to counters by name, e.g. ``count(faces=3, tracks=1)``."""
        with self._lock:
            for name, n in increments.items():
                setattr(self, name, getattr(self, name) + n)
            now = time.monotonic()
            self._in_times.extend([now] * min(increments.get("frames_in", 0), 100))
            self._analysed_times.extend([now] * min(increments.get("frames_analysed", 0), 100))

    def stage(self, name: str, seconds: float, calls: int = 1) -> None:
        with self._lock:
            self._stage_s[name] += seconds
            self._stage_n[name] += calls

    def latency(self, seconds: float) -> None:
        with self._lock:
            self._latencies.append(seconds)

    def snapshot(self) -> MetricsSnapshot:
        if self.source_probe is not None:
            self.state, self.reconnects = self.source_probe()
        with self._lock:
            now = time.monotonic()
            lat = np.array(self._latencies) if self._latencies else None
            return MetricsSnapshot(
                camera_id=self.camera_id,
                state=self.state.value,
                frames_in=self.frames_in,
                frames_analysed=self.frames_analysed,
                frames_skipped=self.frames_skipped,
                drops=self.drops,
                faces=self.faces,
                tracks=self.tracks,
                alerts=self.alerts,
                embeddings=self.embeddings,
                reconnects=self.reconnects,
                fps_in=_rate(self._in_times, now),
                fps_analysed=_rate(self._analysed_times, now),
                stage_ms={k: 1000 * self._stage_s[k] / self._stage_n[k] if self._stage_n[k] else 0.0 for k in STAGES},
                stage_seconds=dict(self._stage_s),
                latency_p50_s=float(np.percentile(lat, 50)) if lat is not None else None,
                latency_p95_s=float(np.percentile(lat, 95)) if lat is not None else None,
                queue_depth=self.queue_depth,
                uncalibrated=self.uncalibrated,
                full_scans=self.full_scans,
                scan_windows=self.scan_windows,
                memory_bytes=self.memory_bytes,
            )


def _rate(times: deque[float], now: float) -> float:
    recent = [t for t in times if now - t <= _WINDOW_S]
    if len(recent) < 2:
        return 0.0
    span = max(now - recent[0], 1e-3)
    return len(recent) / span


def describe(s: MetricsSnapshot) -> str:
    """One line for the status display and the periodic log."""
    p50, p95 = s.latency_p50_s, s.latency_p95_s
    lat = f"{p50 * 1000:.0f}/{p95 * 1000:.0f} ms" if p50 is not None and p95 is not None else "-"
    return ("UNCALIBRATED THRESHOLD " if s.uncalibrated else "") + (
        f"{s.camera_id} [{s.state}] in {s.fps_in:.1f} fps, analysed {s.fps_analysed:.1f} fps, drops {s.drops}, "
        f"faces {s.faces}, tracks {s.tracks}, alerts {s.alerts}, latency p50/p95 {lat}, "
        f"detect {s.stage_ms['detect']:.0f} ms, embed {s.stage_ms['embed']:.0f} ms, "
        f"full scans {s.full_scans}/{s.frames_analysed}, memory {s.memory_bytes / 2**20:.1f} MiB"
    )


class PrometheusCollector:
    """A prometheus_client collector that reads the cameras' metrics at each scrape."""

    def __init__(self, cameras: Iterable[CameraMetrics] | Callable[[], list[MetricsSnapshot]]) -> None:
        """``cameras``: a fixed set of cameras, or a function giving the snapshots of whatever runs now
        (the service, whose deployments start and stop)."""
        if callable(cameras):
            self._snapshots = cameras
        else:
            fixed = list(cameras)
            self._snapshots = lambda: [c.snapshot() for c in fixed]

    def collect(self) -> Iterator[object]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        snaps = self._snapshots()
        counters = (
            "frames_in",
            "frames_analysed",
            "frames_skipped",
            "drops",
            "faces",
            "tracks",
            "alerts",
            "embeddings",
            "reconnects",
            "full_scans",
            "scan_windows",
        )
        for name in counters:
            fam = CounterMetricFamily(
                f"openlfr_{name}", f"openlfr {name.replace('_', ' ')} per camera", labels=["camera"]
            )
            for s in snaps:
                fam.add_metric([s.camera_id], getattr(s, name))
            yield fam
        stage = CounterMetricFamily(
            "openlfr_stage_seconds", "seconds spent per pipeline stage", labels=["camera", "stage"]
        )
        gauges: dict[str, tuple[str, Callable[[MetricsSnapshot], float]]] = {
            "openlfr_fps_in": ("frames received per second", lambda s: s.fps_in),
            "openlfr_fps_analysed": ("frames analysed per second", lambda s: s.fps_analysed),
            "openlfr_queue_depth": ("frames waiting for analysis", lambda s: s.queue_depth),
            "openlfr_memory_bytes": ("bytes a camera holds: queued frames, tracks' crops", lambda s: s.memory_bytes),
            "openlfr_alert_latency_p50_seconds": (
                "median alert latency, capture to sent",
                lambda s: s.latency_p50_s or 0.0,
            ),
            "openlfr_alert_latency_p95_seconds": ("95th percentile alert latency", lambda s: s.latency_p95_s or 0.0),
            "openlfr_uncalibrated_threshold": (
                "1 when running on a threshold not calibrated for this embedder and normalisation (override)",
                lambda s: 1.0 if s.uncalibrated else 0.0,
            ),
        }
        for s in snaps:
            for k, v in s.stage_seconds.items():
                stage.add_metric([s.camera_id, k], v)
        yield stage
        for name, (doc, get) in gauges.items():
            g = GaugeMetricFamily(name, doc, labels=["camera"])
            for s in snaps:
                g.add_metric([s.camera_id], float(get(s)))
            yield g
        states = GaugeMetricFamily(
            "openlfr_source_state", "1 for the source's current state", labels=["camera", "state"]
        )
        for s in snaps:
            for st in SourceState:
                states.add_metric([s.camera_id, st.value], 1.0 if s.state == st.value else 0.0)
        yield states
        placed = GaugeMetricFamily(
            "openlfr_camera_node",
            "1 for the cluster node a camera runs on (count by node: cameras per node)",
            labels=["camera", "node"],
        )
        for s in snaps:
            if s.node is not None:
                placed.add_metric([s.camera_id, s.node], 1.0)
        yield placed


def serve_prometheus(cameras: Iterable[CameraMetrics], port: int, addr: str = "127.0.0.1") -> object:
    """Serve ``/metrics`` on ``addr:port`` from a daemon thread; returns the server (``.shutdown()``)."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(PrometheusCollector(cameras))  # type: ignore[arg-type]
    server, _thread = start_http_server(port, addr=addr, registry=registry)
    return server
