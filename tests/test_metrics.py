"""Metrics: counted once, read as a snapshot, a log line and Prometheus text."""

from __future__ import annotations

import socket

import httpx

from openlfr.metrics import CameraMetrics, describe, serve_prometheus
from openlfr.types import SourceState


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_snapshot_counts_and_percentiles() -> None:
    m = CameraMetrics("cam", source_probe=lambda: (SourceState.LIVE, 2))
    m.count(frames_in=10, frames_analysed=8, frames_skipped=1, drops=1, faces=5, tracks=2)
    m.stage("detect", 0.030)
    m.stage("detect", 0.010)
    for ms in range(1, 101):
        m.latency(ms / 1000)
    s = m.snapshot()
    assert (s.frames_in, s.frames_analysed, s.drops, s.faces, s.tracks) == (10, 8, 1, 5, 2)
    assert s.state == "live" and s.reconnects == 2
    assert abs(s.stage_ms["detect"] - 20.0) < 1e-6
    assert abs((s.latency_p50_s or 0) - 0.0505) < 1e-3 and abs((s.latency_p95_s or 0) - 0.09505) < 1e-3
    assert "cam [live]" in describe(s) and "latency p50/p95 50/95 ms" in describe(s)


def test_prometheus_serves_every_camera() -> None:
    a, b = CameraMetrics("door"), CameraMetrics("hall")
    a.count(frames_in=3, alerts=1)
    b.count(frames_in=7)
    b.uncalibrated = True  # running on an uncalibrated threshold, by override
    port = _port()
    server = serve_prometheus([a, b], port)
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        server.shutdown()  # type: ignore[attr-defined]
    assert 'openlfr_frames_in_total{camera="door"} 3.0' in text
    assert 'openlfr_frames_in_total{camera="hall"} 7.0' in text
    assert 'openlfr_alerts_total{camera="door"} 1.0' in text
    assert 'openlfr_source_state{camera="door",state="connecting"} 1.0' in text
    assert 'openlfr_stage_seconds_total{camera="hall",stage="detect"} 0.0' in text
    assert 'openlfr_uncalibrated_threshold{camera="hall"} 1.0' in text
    assert 'openlfr_uncalibrated_threshold{camera="door"} 0.0' in text
    assert describe(b.snapshot()).startswith("UNCALIBRATED THRESHOLD hall")
