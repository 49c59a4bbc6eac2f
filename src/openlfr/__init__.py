"""openlfr: open live facial recognition, as a library.

The names below are the public surface (``tests/test_public_api.py`` pins it); everything else is
reached through its module (``openlfr.match.normalise``, ...) and may change. They load on first use
(PEP 562 ``__getattr__``), so ``import openlfr`` imports nothing: not numpy, not dlib, not LiteRT,
and the CLI's start-up pays only for what a command uses.

    from openlfr import FaceAnalyzer, Watchlist, search_images
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what type checkers and editors see; at run time ``__getattr__`` imports on demand
    from openlfr.analysis import FaceAnalyzer
    from openlfr.config import CameraConfig, Settings, load_settings
    from openlfr.deploy.lifecycle import Deployments
    from openlfr.deploy.live import RunSummary, run_deployment
    from openlfr.deploy.records import DeploymentRecord, records
    from openlfr.deploy.views import DeploymentView
    from openlfr.errors import (
        AuditChainError,
        ConfigError,
        DeploymentError,
        DeploymentNotReadyError,
        DeploymentStateError,
        EmbedderMismatchError,
        EnrolmentError,
        FileSignatureError,
        FusionNotStoredError,
        GalleryError,
        ImageError,
        ModelCorruptError,
        ModelError,
        ModelNotFoundError,
        OpenLFRError,
        ReviewError,
        SigningKeyError,
        SourceError,
        StoreError,
        StoreKeyError,
        UncalibratedError,
        WatchlistError,
        WatchlistFormatError,
    )
    from openlfr.live.app import LiveApp
    from openlfr.match.calibrate import calibrate
    from openlfr.match.cohort import Cohort, build_cohort
    from openlfr.match.enrol import EnrolmentReport, enrol
    from openlfr.match.sources import EnrolItem, collect
    from openlfr.match.watchlist import Calibration, Watchlist
    from openlfr.review.alerts import AlertDetail, Alerts, AlertSummary
    from openlfr.search.stills import FaceResult, ImageResult, search_images
    from openlfr.status import DeploymentStatus
    from openlfr.store.db import Store
    from openlfr.types import (
        Alert,
        AlignedFace,
        AnalyzedFace,
        BoundingBox,
        Category,
        FaceDetection,
        FaceQuality,
        Frame,
        ImageFaces,
        Match,
        Template,
        TemplateSet,
        Track,
    )

__all__ = [
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

# Each public name -> the module that defines it (tests/test_public_api.py checks that all resolve).
_WHERE: dict[str, str] = {
    # settings and errors
    "Settings": "openlfr.config",
    "CameraConfig": "openlfr.config",
    "load_settings": "openlfr.config",
    **dict.fromkeys(
        [
            "OpenLFRError",
            "ConfigError",
            "ModelError",
            "ModelNotFoundError",
            "ModelCorruptError",
            "ImageError",
            "WatchlistError",
            "WatchlistFormatError",
            "EmbedderMismatchError",
            "UncalibratedError",
            "EnrolmentError",
            "SourceError",
            "StoreError",
            "StoreKeyError",
            "AuditChainError",
            "DeploymentError",
            "DeploymentStateError",
            "DeploymentNotReadyError",
            "FusionNotStoredError",
            "ReviewError",
            "SigningKeyError",
            "FileSignatureError",
            "GalleryError",
        ],
        "openlfr.errors",
    ),
    # the objects that cross the flow's boundaries
    **dict.fromkeys(
        [
            "Frame",
            "BoundingBox",
            "FaceDetection",
            "Track",
            "AlignedFace",
            "FaceQuality",
            "Template",
            "TemplateSet",
            "Category",
            "Match",
            "AnalyzedFace",
            "ImageFaces",
            "Alert",
        ],
        "openlfr.types",
    ),
    # stills: analyse, enrol, calibrate, search
    "FaceAnalyzer": "openlfr.analysis",
    "Watchlist": "openlfr.match.watchlist",
    "Calibration": "openlfr.match.watchlist",
    "EnrolItem": "openlfr.match.sources",
    "collect": "openlfr.match.sources",
    "enrol": "openlfr.match.enrol",
    "EnrolmentReport": "openlfr.match.enrol",
    "Cohort": "openlfr.match.calibrate",
    "build_cohort": "openlfr.match.calibrate",
    "calibrate": "openlfr.match.calibrate",
    "search_images": "openlfr.search.stills",
    "ImageResult": "openlfr.search.stills",
    "FaceResult": "openlfr.search.stills",
    # live
    "LiveApp": "openlfr.live.app",
    # deployments, their store and the review of their alerts
    "Store": "openlfr.store.db",
    "DeploymentStatus": "openlfr.status",
    "Deployments": "openlfr.deploy.lifecycle",
    "DeploymentView": "openlfr.deploy.views",
    "run_deployment": "openlfr.deploy.live",
    "RunSummary": "openlfr.deploy.live",
    "records": "openlfr.deploy.records",
    "DeploymentRecord": "openlfr.deploy.records",
    "Alerts": "openlfr.review.alerts",
    "AlertSummary": "openlfr.review.alerts",
    "AlertDetail": "openlfr.review.alerts",
}


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'openlfr' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # once resolved, a plain attribute: later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
