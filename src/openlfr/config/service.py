"""Settings of what keeps and serves: the store and its retention, signing, the cluster, the API."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from openlfr.config.base import Strict

# -- store -----------------------------------------------------------------------------------------


class RetentionConfig(Strict):
    """How long alert data is kept (days) unless a legal hold names it; then ``lfr retention purge`` deletes it."""

    alert_images_days: int = Field(31, ge=0, description="Camera and watchlist images of an alert.")
    alert_data_days: int = Field(31, ge=0, description="Who an alert named (subject, name, box, times).")
    purge_interval_s: float = Field(3600.0, gt=0.0, description="How often a live run purges what has expired.")


class StoreConfig(Strict):
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


class SigningConfig(Strict):
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


class ClusterConfig(Strict):
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


class ApiConfig(Strict):
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


class ReviewConfig(Strict):
    separate_stages: bool = Field(
        True,
        description="Separation of duties: the operator's decision and the engagement decision on one alert "
        "must be recorded by two different people (actor names compared after Unicode, case and whitespace "
        "normalisation).",
    )
