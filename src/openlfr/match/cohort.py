"""A cohort: templates of faces of people known not to be on any watchlist, from which a watchlist's
threshold is calibrated and its scores normalised (match/calibrate.py).

A cohort file is a signed zip like a watchlist (``Cohort.save``/``load``). A cohort must count each
stranger's face once and must be able to measure the target rate: ``check_cohort`` refuses duplicate
images (by SHA-256) and the same photo twice (two faces within ``SAME_PHOTO_DISTANCE``), ``check_size``
a cohort too small for the target FPIR (``MIN_FALSE_ALERTS``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field, ValidationError

from openlfr.analysis import FaceAnalyzer
from openlfr.errors import ImageError, WatchlistError
from openlfr.ingest.budget import load_within
from openlfr.match.archive import ARCHIVE_ERRORS, npy_bytes, read_json, read_members, read_npy, write_members
from openlfr.match.signing import SIGNATURE_MEMBER, FileSigning

log = logging.getLogger("openlfr.match")

COHORT_FORMAT = "openlfr-cohort"
COHORT_VERSION = 1
"""Version 1 files from before the version was recorded have no ``format_version`` (and no signature)."""
# A cohort face this close to a watchlist template is the same photo: the cohort must hold no one listed.
# Two cohort faces this close are the same photo too: a cohort must count each stranger's face once.
SAME_PHOTO_DISTANCE = 0.05
MIN_FALSE_ALERTS = 1
"""A cohort of n faces resolves an FPIR no finer than 1/n: calibrating for ``target`` is refused unless
n * target >= MIN_FALSE_ALERTS (at least one false alert is allowed, so the target is measured, not
guessed), and the CLI warns below WARN_FALSE_ALERTS (fewer than 10 false alerts: the 95% interval is
wider than about +-60% of the rate)."""
WARN_FALSE_ALERTS = 10


@dataclass(frozen=True, slots=True, eq=False)
class Cohort:
    """Templates of faces of people who are not on the watchlist, and where they came from."""

    vectors: NDArray[np.float32]
    embedder: str
    source: str
    created_at: datetime
    image_sha256: tuple[str, ...] = ()
    """Per face, the SHA-256 of its image file (checked against the watchlist's; empty if unknown)."""
    groups: tuple[str, ...] = ()
    """Per face, a group label (e.g. "female East Asian") for per-group false-alert rates; empty if none."""
    second: NDArray[np.float32] | None = None
    """The second embedder's templates of the same faces (score fusion; None: one embedder)."""
    second_embedder: str = ""

    def save(self, path: Path, signing: FileSigning | None = None) -> Path:
        """Write the cohort to ``path`` atomically (a temporary file moved over it) and signed (``signing``;
        default: the key the ``LFR_*`` settings name)."""
        path = Path(path)
        signing = signing or FileSigning.from_environment()
        meta: dict[str, object] = {
            "format": COHORT_FORMAT,
            "format_version": COHORT_VERSION,
            "embedder": self.embedder,
            "source": self.source,
            "created_at": self.created_at.isoformat(),
            "count": int(self.vectors.shape[0]),
            "image_sha256": list(self.image_sha256),
            "groups": list(self.groups),
        }
        members = {"vectors.npy": npy_bytes(self.vectors.astype(np.float32))}
        if self.second is not None:
            meta["second_embedder"] = self.second_embedder
            members["second_vectors.npy"] = npy_bytes(self.second.astype(np.float32))
        members["cohort.json"] = json.dumps(meta, indent=2).encode("utf-8")
        members[SIGNATURE_MEMBER] = signing.sign(members, COHORT_FORMAT, COHORT_VERSION)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            write_members(tmp, members)
            os.replace(tmp, path)
        except OSError as exc:
            raise WatchlistError(f"cannot write cohort {path}: {exc.strerror or exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        return path

    @classmethod
    def load(cls, path: Path, signing: FileSigning | None = None) -> Cohort:
        """Read a cohort file, refusing it unless its signature verifies (``signing``; default: the key the
        ``LFR_*`` settings name)."""
        path = Path(path)
        signing = signing or FileSigning.from_environment()
        try:
            members = read_members(path)
            signing.verify(members, COHORT_FORMAT, path)
            meta = read_json(members, "cohort.json")
            vectors = read_npy(members, "vectors.npy")
            second = None
            if isinstance(meta, dict) and "second_embedder" in meta:
                second = read_npy(members, "second_vectors.npy")
        except FileNotFoundError as exc:
            raise WatchlistError(f"cohort file not found: {path}") from exc
        except ARCHIVE_ERRORS as exc:  # IsADirectoryError too
            raise WatchlistError(f"{path} is not an openlfr cohort file (make one with 'lfr cohort build')") from exc
        if not isinstance(meta, dict) or meta.get("format") != COHORT_FORMAT:
            raise WatchlistError(f"{path} is not an openlfr cohort file")
        try:
            m = _CohortMeta.model_validate(meta)
        except ValidationError as exc:
            raise WatchlistError(f"{path}: damaged cohort metadata ({exc.error_count()} errors)") from exc
        problem = _cohort_problem(vectors, second, m)
        if problem is not None:
            raise WatchlistError(f"{path}: damaged cohort ({problem})")
        if m.format_version != COHORT_VERSION:
            raise WatchlistError(
                f"{path} is cohort format version {m.format_version}; this openlfr reads {COHORT_VERSION}"
            )
        return cls(
            vectors.astype(np.float32),
            m.embedder,
            m.source,
            m.created_at,
            tuple(m.image_sha256),
            tuple(m.groups),
            None if second is None else second.astype(np.float32),
            m.second_embedder,
        )


class _CohortMeta(BaseModel):
    """cohort.json as ``Cohort.save`` writes it."""

    embedder: str
    source: str
    created_at: datetime
    image_sha256: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    second_embedder: str = ""
    format_version: int = COHORT_VERSION


def _cohort_problem(vectors: NDArray[np.generic], second: NDArray[np.generic] | None, m: _CohortMeta) -> str | None:
    """What is wrong with a loaded cohort's arrays against its metadata (None: nothing)."""
    n = len(vectors) if vectors.ndim == 2 else -1
    if n < 0 or np.iscomplexobj(vectors) or not np.isfinite(vectors).all():
        return "its templates are not a finite real matrix"
    if second is not None and (second.shape[:1] != (n,) or second.ndim != 2 or np.iscomplexobj(second)
                               or not np.isfinite(second).all()):  # fmt: skip
        return "its second templates are not a finite real matrix, one row per face"
    if len(m.image_sha256) not in (0, n) or len(m.groups) not in (0, n):
        return f"{n} faces but {len(m.image_sha256)} image hashes and {len(m.groups)} group labels"
    return None


def build_cohort(
    paths: Sequence[Path],
    analyzer: FaceAnalyzer,
    source: str,
    progress: Callable[[Path], None] | None = None,
    groups: dict[str, str] | None = None,
) -> tuple[Cohort, int]:
    """The largest face of each image as a cohort template; also how many images gave no face.
    ``groups``: a group label by file name, recorded per face (faces without one get "unlabelled")."""
    vectors, seconds, hashes, labels, skipped = [], [], [], [], 0
    for path in paths:
        try:
            faces = analyzer.analyze(load_within(path, analyzer.settings.images))
        except ImageError as exc:  # one bad image is skipped, with its reason, and the build goes on
            log.warning("cohort image skipped: %s", exc)
            faces = []
        if faces:
            largest = max(faces, key=lambda f: f.detection.box.area)
            vectors.append(largest.template.vector)
            if largest.second is not None:
                seconds.append(largest.second.vector)
            hashes.append(hashlib.sha256(path.read_bytes()).hexdigest())
            labels.append((groups or {}).get(path.name, "unlabelled"))
        else:
            skipped += 1
        if progress is not None:
            progress(path)
    if not vectors:
        raise WatchlistError("no face found in any cohort image")
    cohort = Cohort(
        np.stack(vectors).astype(np.float32),
        analyzer.embedder.identity,
        source,
        datetime.now(UTC),
        tuple(hashes),
        tuple(labels) if groups else (),
        np.stack(seconds).astype(np.float32) if seconds else None,
        analyzer.second_identity or "",
    )
    return cohort, skipped


def check_cohort(cohort: Cohort) -> None:
    """Refuse a cohort that cannot measure a false-alert rate: non-finite templates, the same image twice
    (by SHA-256) or the same photo twice (two faces within ``SAME_PHOTO_DISTANCE``: one face counted many
    times, the case of 12 copies of one photo)."""
    vectors = cohort.vectors
    if vectors.ndim != 2 or not len(vectors):
        raise WatchlistError(f"cohort ({cohort.source}) holds no face templates")
    if not np.isfinite(vectors).all():
        raise WatchlistError(f"cohort ({cohort.source}) holds non-finite templates (damaged)")
    hashes = [h for h in cohort.image_sha256 if h]
    if len(set(hashes)) != len(hashes):
        raise WatchlistError(
            f"cohort ({cohort.source}) holds {len(hashes) - len(set(hashes))} duplicate image(s) (same SHA-256); "
            "each stranger's photo must count once"
        )
    pair = _closest_pair(vectors)
    if pair is not None:
        i, j, d = pair
        raise WatchlistError(
            f"cohort ({cohort.source}) holds the same photo twice: faces {i} and {j} are {d:.3f} apart "
            f"(under {SAME_PHOTO_DISTANCE}); each stranger's photo must count once"
        )


def check_size(faces: int, target_fpir: float) -> None:
    """Refuse a cohort too small to measure ``target_fpir`` (``MIN_FALSE_ALERTS``)."""
    if faces * target_fpir < MIN_FALSE_ALERTS:
        raise WatchlistError(
            f"a cohort of {faces} faces cannot measure an FPIR of {target_fpir:g} (it resolves 1/{faces}); "
            f"use at least {math.ceil(MIN_FALSE_ALERTS / target_fpir)} faces, or a higher target"
        )


def _closest_pair(vectors: NDArray[np.float32], block: int = 2048) -> tuple[int, int, float] | None:
    """Two rows closer than ``SAME_PHOTO_DISTANCE`` (the first found), in blocks so memory stays bounded."""
    v = vectors.astype(np.float64)
    sq = np.einsum("ij,ij->i", v, v)
    for start in range(0, len(v), block):
        part = slice(start, start + block)
        d2 = sq[part, None] + sq[None, :] - 2.0 * (v[part] @ v.T)
        rows = np.arange(start, min(start + block, len(v)))
        d2[np.arange(len(rows)), rows] = np.inf  # a face and itself
        d2[:, :start] = np.inf  # pairs already seen from the other side
        hit = np.argwhere(d2 < SAME_PHOTO_DISTANCE**2)
        if len(hit):
            a, b = hit[0]
            return int(rows[a]), int(b), float(np.sqrt(max(d2[a, b], 0.0)))
    return None
