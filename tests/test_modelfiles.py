"""The model catalogue: BlazeFace's file comes from openlfr's own package, as its SOURCES.md says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import openlfr
from openlfr import modelfiles
from openlfr.errors import ModelNotFoundError

MODELS = Path(openlfr.__file__).parent / "assets" / "models"


def test_blazeface_resolves_inside_openlfrs_package() -> None:
    path = modelfiles.resolve("blazeface_full")
    assert path == MODELS / "face_detection_full_range.tflite"
    [row] = [r for r in modelfiles.installed() if r.model == "blazeface_full"]
    assert row.package == "openlfr" and row.licence.startswith("Apache-2.0")


def test_every_carried_model_file_has_its_checksum_source_and_licence_listed() -> None:
    sources = (MODELS / "SOURCES.md").read_text(encoding="utf-8")
    assert (MODELS / "LICENSE-Apache-2.0.txt").read_text(encoding="utf-8").count("Apache License") >= 1
    carried = sorted(p for p in MODELS.iterdir() if p.suffix == ".tflite")
    assert carried
    for path in carried:
        [row] = [line for line in sources.splitlines() if line.startswith(f"| {path.name} |")]
        assert re.search(r"\b0\.6\.0\b", row) and "Apache-2.0" in row
        assert modelfiles.sha256(path) in row, f"{path.name}: SOURCES.md has another SHA-256"


def test_a_missing_override_names_the_package_that_ships_the_default(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="ships in the 'openlfr' package"):
        modelfiles.resolve("blazeface_full", tmp_path / "none.tflite")
