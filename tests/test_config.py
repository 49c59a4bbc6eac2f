"""The one configuration: defaults, environment, TOML, and refusal of anything unknown or out of range."""

from __future__ import annotations

from pathlib import Path

import pytest

from openlfr.config import (
    BlazeFaceDetectorConfig,
    DlibEmbedderConfig,
    HogDetectorConfig,
    OnnxEmbedderConfig,
    Settings,
    load_settings,
)
from openlfr.errors import ConfigError


def test_defaults() -> None:
    s = Settings()
    assert isinstance(s.detector, HogDetectorConfig) and s.detector.upsample == 1
    assert s.embedder.type == "dlib_onnx"  # dlib's network on ONNX Runtime (equal to dlib within 5e-7)
    assert s.quality.enrol.min_eye_distance_px > s.quality.probe.min_eye_distance_px


def test_toml_selects_a_detector_by_type(tmp_path: Path) -> None:
    path = tmp_path / "lfr.toml"
    path.write_text("[detector]\ntype = 'blazeface'\ntile_grid = 4\n\n[match]\ntop_k = 3\n")
    s = load_settings(path)
    assert isinstance(s.detector, BlazeFaceDetectorConfig) and s.detector.tile_grid == 4
    assert s.match.top_k == 3


def test_a_second_embedder_is_off_by_default_and_any_embedder_type(tmp_path: Path) -> None:
    assert Settings().second_embedder is None
    path = tmp_path / "lfr.toml"
    path.write_text("[second_embedder]\ntype = 'onnx'\npath = 'arcface.onnx'\n")
    second = load_settings(path).second_embedder
    assert isinstance(second, OnnxEmbedderConfig) and second.path == Path("arcface.onnx")
    path.write_text("[second_embedder]\nflip = true\n")  # no type: dlib, as for [embedder]
    assert load_settings(path).second_embedder == DlibEmbedderConfig(flip=True)


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LFR_DETECTOR__UPSAMPLE", "2")
    assert load_settings().detector.upsample == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[detector]\ntype = 'hog'\nupsampel = 2\n", "detector.hog.upsampel: Extra inputs are not permitted"),
        ("[detectr]\ntype = 'hog'\n", "detectr: Extra inputs are not permitted"),
        ("[second_embedder]\ntype = 'onnx'\npath = 'a.onnx'\npth = 1\n", "second_embedder.onnx.pth: Extra inputs"),
        ("[detector]\ntype = 'yolo'\n", "detector: Input tag 'yolo'"),
        ("[detector]\ntype = 'hog'\nupsample = 9\n", "upsample: Input should be less than or equal to 3"),
        ("[match]\ndefault_threshold = 1.5\n", "default_threshold"),
        ("not toml ===", "cannot read config file"),
    ],
)
def test_bad_config_is_refused_clearly(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "lfr.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_settings(path)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "none.toml")
