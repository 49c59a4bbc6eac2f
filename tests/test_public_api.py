"""The public Python API: ``openlfr.__all__`` is pinned here, so that a name is added or taken away on
purpose; and ``import openlfr`` stays cheap (the names load on first use)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import openlfr

PUBLIC = [
    "Alert",
    "AlertDetail",
    "AlertSummary",
    "Alerts",
    "AlignedFace",
    "AnalyzedFace",
    "AuditChainError",
    "BoundingBox",
    "Calibration",
    "CameraConfig",
    "Category",
    "Cohort",
    "ConfigError",
    "DeploymentError",
    "DeploymentNotReadyError",
    "DeploymentRecord",
    "DeploymentStateError",
    "DeploymentStatus",
    "DeploymentView",
    "Deployments",
    "EmbedderMismatchError",
    "EnrolItem",
    "EnrolmentError",
    "EnrolmentReport",
    "FaceAnalyzer",
    "FaceDetection",
    "FaceQuality",
    "FaceResult",
    "FileSignatureError",
    "Frame",
    "FusionNotStoredError",
    "GalleryError",
    "ImageError",
    "ImageFaces",
    "ImageResult",
    "LiveApp",
    "Match",
    "ModelCorruptError",
    "ModelError",
    "ModelNotFoundError",
    "OpenLFRError",
    "ReviewError",
    "RunSummary",
    "Settings",
    "SigningKeyError",
    "SourceError",
    "Store",
    "StoreError",
    "StoreKeyError",
    "Template",
    "TemplateSet",
    "Track",
    "UncalibratedError",
    "Watchlist",
    "WatchlistError",
    "WatchlistFormatError",
    "build_cohort",
    "calibrate",
    "collect",
    "enrol",
    "load_settings",
    "records",
    "run_deployment",
    "search_images",
]
HEAVY = ("dlib", "ai_edge_litert", "onnxruntime")


def test_the_public_names_are_pinned() -> None:
    assert openlfr.__all__ == PUBLIC
    assert sorted(PUBLIC) == PUBLIC


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_resolves(name: str) -> None:
    value = getattr(openlfr, name)
    assert getattr(value, "__name__", name) == name
    assert name in dir(openlfr)


def test_an_unknown_name_is_an_attribute_error_and_submodules_still_import() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = openlfr.nothing_here
    from openlfr import modelfiles

    assert modelfiles.__name__ == "openlfr.modelfiles"


def loaded_after(code: str) -> list[str]:
    """The modules a fresh interpreter holds after ``code`` (a subprocess: this one has imported much)."""
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    return list(json.loads(out.stdout))


def test_import_openlfr_imports_nothing_heavy() -> None:
    loaded = loaded_after("import openlfr")
    assert [m for m in loaded if m.split(".")[0] in (*HEAVY, "numpy")] == []
    assert [m for m in loaded if m.startswith("openlfr.")] == []


def test_resolving_every_public_name_loads_no_model_runtime() -> None:
    """Models load on first use, not when their classes are imported."""
    loaded = loaded_after("import openlfr\nfor name in openlfr.__all__: getattr(openlfr, name)")
    assert [m for m in loaded if m.split(".")[0] in HEAVY] == []
