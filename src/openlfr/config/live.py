"""Settings of a live run: cameras, reconnection, tracking, alert sinks and outbox, scans."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from openlfr.config.base import Strict
from openlfr.config.recognition import BlazeFaceDetectorConfig, DetectorConfig

# -- live: cameras, tracking, alerts, metrics -------------------------------------------------------


class CameraConfig(Strict):
    """One camera: where its frames come from and how often to analyse them."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    source: str = Field(
        min_length=1,
        description="A file path, rtsp://, http(s):// (including MJPEG), /dev/videoN (V4L2), or a folder of images.",
    )
    analysis_fps: float = Field(10.0, gt=0.0, le=60.0, description="Frames per second to analyse (others are skipped).")
    realtime: bool = Field(True, description="Files: play at their native rate, as a camera would (else: flat out).")
    loop: bool = Field(False, description="Files: start again at the end.")
    decode_threads: int = Field(
        1,
        ge=0,
        le=16,
        description="FFmpeg's decoding threads for this camera (0: FFmpeg's choice, a frame thread per core). "
        "One costs the least CPU a frame where several cameras share the cores; more lower one large stream's delay.",
    )


class ReconnectConfig(Strict):
    initial_delay_s: float = Field(0.5, gt=0.0)
    max_delay_s: float = Field(10.0, gt=0.0)
    stall_timeout_s: float = Field(5.0, gt=0.0, description="No frame for this long: the stream has stalled.")
    max_attempts: int | None = Field(None, ge=1, description="Give up after this many failed attempts (None: never).")


class TrackerConfig(Strict):
    iou_threshold: float = Field(
        0.2, gt=0.0, lt=1.0, description="Least overlap of a detection and a track's prediction."
    )
    max_missed_s: float = Field(1.0, gt=0.0, description="A track survives this long without a detection (occlusion).")
    best_shots: int = Field(3, ge=1, le=20, description="Face crops a track keeps, best quality first.")
    rematch_gain: float = Field(
        0.15, ge=0.0, description="Embed again when a shot's quality beats the best embedded one by this share."
    )
    max_embeddings: int = Field(5, ge=1, le=50, description="At most this many embeddings per track.")
    alert_cooldown_s: float = Field(
        30.0, ge=0.0, description="Per camera, one alert per subject within this much stream time."
    )


class StdoutSinkConfig(Strict):
    type: Literal["stdout"] = "stdout"


class FileSinkConfig(Strict):
    type: Literal["file"] = "file"
    path: Path = Field(description="JSON lines file; the face images go beside it in <path stem>_images/.")


class WebhookSinkConfig(Strict):
    type: Literal["webhook"] = "webhook"
    url: str = Field(pattern=r"^https?://")
    secret: str | None = Field(None, min_length=16, description="HMAC-SHA256 key for the X-OpenLFR-Signature header.")
    timeout_s: float = Field(5.0, gt=0.0)
    retries: int = Field(5, ge=0, le=20)
    backoff_s: float = Field(0.5, gt=0.0)
    include_images: bool = True


SinkConfig = Annotated[StdoutSinkConfig | FileSinkConfig | WebhookSinkConfig, Field(discriminator="type")]


class OutboxConfig(Strict):
    """Where alerts that a sink could not deliver are kept and retried (``alert/outbox.py``)."""

    path: Path = Field(Path("lfr-outbox"), description="Folder of undelivered alerts (made when one is kept).")
    max_alerts: int = Field(1000, ge=1, le=1_000_000, description="At most this many kept; beyond, an alert is lost.")
    max_bytes: int = Field(256 * 2**20, ge=2**16, description="At most this many bytes kept.")
    backoff_s: float = Field(1.0, gt=0.0, description="First wait before a retry; doubled each time.")
    max_backoff_s: float = Field(60.0, gt=0.0, description="Longest wait between retries.")


def _default_sinks() -> list[SinkConfig]:
    return [StdoutSinkConfig()]


class ScanConfig(Strict):
    """Detection that costs what the scene needs: between full tiled scans, the detector runs only
    around live tracks and where the image changed (a tiled detector only: BlazeFace)."""

    full_every: int = Field(
        5,
        ge=1,
        le=50,
        description="A full tiled scan every this many analysed frames, so a face that no change reveals is found "
        "within that many frames; 1: a full scan on every frame (no partial scans).",
    )
    track_margin: float = Field(
        0.75, ge=0.0, le=4.0, description="Around a live track, this many face widths on each side are scanned."
    )
    diff_threshold: int = Field(
        14, ge=1, le=255, description="Grey levels a downscaled pixel must change by to count as changed."
    )
    diff_width: int = Field(160, ge=32, le=640, description="Width of the grey frame the differencing compares.")


class LiveConfig(Strict):
    detector: DetectorConfig = Field(
        default_factory=BlazeFaceDetectorConfig,
        description="The live detector (default BlazeFace, 3x3 tiles: ~27 ms a 720p frame, faces from ~32 px); "
        "[detector] stays the one for stills and enrolment.",
    )
    scan: ScanConfig = Field(default_factory=ScanConfig)
    detect_slots: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Frames detected at once across all cameras, handed out in turn (default: the cores).",
    )
    queue_frames: int = Field(4, ge=1, le=256, description="Frames waiting per camera; the oldest are dropped beyond.")
    reconnect: ReconnectConfig = Field(default_factory=ReconnectConfig)
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)
    sinks: list[SinkConfig] = Field(default_factory=_default_sinks)
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)
    embed_in_process: bool = Field(
        True, description="Embed in a worker process, so that detection and embedding use both cores."
    )
    metrics_port: int | None = Field(None, ge=1, le=65535, description="Serve Prometheus metrics on this port.")
    log_interval_s: float = Field(30.0, gt=0.0, description="Log each camera's metrics this often.")
    heap_trim_s: float = Field(
        20.0,
        ge=0.0,
        description="Hand the heap's freed pages back to the system this often (glibc; 0: never); without it "
        "resident memory creeps up for hours as freed frame buffers are kept.",
    )
    allow_uncalibrated: bool = Field(
        False,
        description="Run with a threshold not calibrated for this embedder and normalisation (refused otherwise); "
        "logged as an error and recorded in every alert and the metrics.",
    )
