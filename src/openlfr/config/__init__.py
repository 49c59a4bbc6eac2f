"""The one configuration of openlfr.

Settings come from (highest first) keyword arguments, ``LFR_*`` environment variables (nested with
``__``, for example ``LFR_DETECTOR__UPSAMPLE=2``), then a TOML file given with ``--config``.
Unknown keys are refused everywhere, so that a typo never silently falls back to a default.

The sections live beside this file by the step of the flow they set: ``recognition`` (detection,
embedding, quality, images, matching), ``live`` (cameras, tracking, sinks), ``service`` (store, signing,
cluster, API, review); every name is importable from ``openlfr.config``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from openlfr.config.live import (
    CameraConfig,
    FileSinkConfig,
    LiveConfig,
    OutboxConfig,
    ReconnectConfig,
    ScanConfig,
    SinkConfig,
    StdoutSinkConfig,
    TrackerConfig,
    WebhookSinkConfig,
)
from openlfr.config.recognition import (
    BlazeFaceDetectorConfig,
    DetectorConfig,
    DlibEmbedderConfig,
    DlibOnnxEmbedderConfig,
    EmbedderConfig,
    HogDetectorConfig,
    ImageConfig,
    MatchConfig,
    MmodDetectorConfig,
    OnnxEmbedderConfig,
    QualityConfig,
    QualityRule,
    ScoringConfig,
)
from openlfr.config.service import (
    ApiConfig,
    ClusterConfig,
    RetentionConfig,
    ReviewConfig,
    SigningConfig,
    StoreConfig,
)
from openlfr.errors import ConfigError

__all__ = [
    "ApiConfig",
    "BlazeFaceDetectorConfig",
    "CameraConfig",
    "ClusterConfig",
    "DetectorConfig",
    "DlibEmbedderConfig",
    "DlibOnnxEmbedderConfig",
    "EmbedderConfig",
    "FileSinkConfig",
    "HogDetectorConfig",
    "ImageConfig",
    "LiveConfig",
    "MatchConfig",
    "MmodDetectorConfig",
    "OnnxEmbedderConfig",
    "OutboxConfig",
    "QualityConfig",
    "QualityRule",
    "ReconnectConfig",
    "RetentionConfig",
    "ReviewConfig",
    "ScanConfig",
    "ScoringConfig",
    "Settings",
    "SigningConfig",
    "SinkConfig",
    "StdoutSinkConfig",
    "StoreConfig",
    "TrackerConfig",
    "WebhookSinkConfig",
    "load_settings",
]


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
