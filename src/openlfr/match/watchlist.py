"""Watchlists: who is searched for, why, on whose authority, and their templates.

A watchlist file (``.lfrw``) is a zip archive holding::

    manifest.json   format name and version, embedder identity, threshold, subjects, template records
    vectors.npy     N x D float32 templates, row i belongs to manifest.templates[i]
    faces/<id>.jpg  the aligned enrolment face of each template (shown beside an alert)
    signature.json  an HMAC-SHA256 over every other member under the operator's key (match/signing.py)

and, once calibrated with a cohort (version 2, ``manifest.normalisation``; see match/scoring.py)::

    cohort.npy          C x D unit cohort templates (T-norm of each probe at search time)
    template_stats.npy  N x 2 (mean, std) of each template's scores against the cohort (Z-norm)
    fair_centroids.npy  K x D fair-normalisation cluster centroids, fair_offsets.npy their K offsets

Version 1 files (no normalisation; scores from Euclidean distance) are still read. A watchlist that
fuses a second embedder's scores is version 3 (``manifest.second_embedder`` and ``second/``, see
match/second.py); every other watchlist is written as version 2, exactly as before fusion existed.

The embedder identity (name and model checksum) is recorded, and loading a watchlist for another
embedder is refused: distances between templates of different models mean nothing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openlfr.config import ScoringConfig
from openlfr.errors import EmbedderMismatchError, WatchlistError, WatchlistFormatError
from openlfr.match import normalise as norm
from openlfr.match import second as second_set
from openlfr.match.archive import (
    ARCHIVE_ERRORS,
    npy_bytes,
    read_json,
    read_members,
    read_npy,
    shape_problem,
    write_members,
)
from openlfr.match.index import ExactIndex
from openlfr.match.scoring import Fusion, ScoredGallery, Scoring
from openlfr.match.second import SecondSet
from openlfr.match.signing import SIGNATURE_MEMBER, FileSigning
from openlfr.match.similarity import MIDPOINT, SCALE
from openlfr.types import Category

FORMAT: Literal["openlfr-watchlist"] = "openlfr-watchlist"
FORMAT_VERSION = 2
FUSED_FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
DISTANCE_SCORING = "euclidean distance (no normalisation)"
SUFFIX = ".lfrw"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Subject(_Record):
    """One person on the watchlist and the grounds for it."""

    subject_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    display_name: str = Field(min_length=1, max_length=256)
    category: Category = Category.OTHER
    reason: str = ""
    image_source: str = ""
    expires: date | None = None

    def is_expired(self, today: date) -> bool:
        return self.expires is not None and self.expires < today


class TemplateRecord(_Record):
    """Where one template came from and how good its face was."""

    template_id: str
    subject_id: str
    image: str
    image_sha256: str
    box: tuple[float, float, float, float]
    quality_score: float
    eye_distance_px: float
    sharpness: float
    sources: tuple[str, ...] = Field(
        (), description="A fused template's images ('name sha256:digest' each); empty for one image's template."
    )


class Similarity(_Record):
    midpoint: float = MIDPOINT
    scale: float = SCALE


class Calibration(_Record):
    """How the threshold was measured (match/calibrate.py): the target and what the cohort showed."""

    target_fpir: float
    threshold: float
    cohort_size: int
    cohort_source: str
    false_alerts: int
    fpir: float
    fpir_low: float
    fpir_high: float
    subjects: int
    calibrated_at: datetime
    embedder: str = ""
    """The embedder the threshold was measured with ("" in files from before it was recorded)."""
    scoring: str = DISTANCE_SCORING
    """``Scoring.signature`` of the normalisation it was measured with: a threshold is valid for no other."""
    expected_tpir: float | None = None
    """Share of mated searches found at the threshold, where mated data was given."""
    group_fpir: dict[str, float] = Field(default_factory=dict)
    """False-alert rate per cohort group at the threshold, where the cohort has group labels."""


class Normalisation(_Record):
    """How this watchlist's scores are normalised, and the cohort's provenance."""

    config: ScoringConfig
    cohort_source: str
    cohort_size: int
    cohort_checksum: str
    fair_offsets: list[float] = Field(default_factory=list)


class SecondEmbedder(_Record):
    """A fused watchlist's second embedder: its identity, template size and normalisation."""

    embedder: str
    dimension: int
    normalisation: Normalisation | None = None


class Manifest(_Record):
    format: Literal["openlfr-watchlist"] = FORMAT
    format_version: int = FORMAT_VERSION
    name: str
    created_at: datetime
    embedder: str
    dimension: int
    threshold: float = Field(ge=0.0, le=1.0)
    threshold_source: str
    similarity: Similarity = Field(default_factory=Similarity)
    calibration: Calibration | None = None
    normalisation: Normalisation | None = None
    subjects: list[Subject]
    templates: list[TemplateRecord]
    second_embedder: SecondEmbedder | None = None
    """Score fusion (version 3 only; left out of the file when None, so version 2 files stay as they were)."""


@dataclass(eq=False)
class Watchlist:
    """A watchlist in memory: its manifest, its template matrix and its enrolment faces."""

    manifest: Manifest
    vectors: NDArray[np.float32]
    faces: dict[str, bytes] = field(default_factory=dict)
    scoring: Scoring | None = None
    """The normalisation (None: similarity from Euclidean distance, as version 1)."""
    template_stats: NDArray[np.float64] | None = None
    """Each template's cohort statistics, precomputed (computed on first use if absent)."""
    second: SecondSet | None = None
    """The second embedder's templates and normalisation (score fusion; None: one embedder)."""

    def __post_init__(self) -> None:
        n, m = len(self.manifest.templates), self.manifest
        if self.vectors.shape != (n, m.dimension):
            raise WatchlistFormatError(
                f"watchlist '{m.name}' has {n} template records but a vector matrix of shape "
                f"{self.vectors.shape} (expected ({n}, {m.dimension}))"
            )
        fused = m.second_embedder
        problem = second_set.problem(
            m.format_version >= FUSED_FORMAT_VERSION, None if fused is None else (n, fused.dimension), self.second
        )
        if problem is not None:
            raise WatchlistFormatError(f"watchlist '{m.name}': {problem}")
        ids = {s.subject_id for s in self.manifest.subjects}
        if len(ids) != len(self.manifest.subjects):
            raise WatchlistFormatError(f"watchlist '{self.manifest.name}' lists a subject twice")
        orphans = {t.subject_id for t in self.manifest.templates} - ids
        if orphans:
            raise WatchlistFormatError(f"templates refer to unknown subjects: {', '.join(sorted(orphans))}")
        problem = _template_problem(self.vectors) or _threshold_problem(m)
        if problem is not None:
            raise WatchlistFormatError(f"watchlist '{m.name}': {problem}")

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def embedder(self) -> str:
        return self.manifest.embedder

    @property
    def threshold(self) -> float:
        return self.manifest.threshold

    @cached_property
    def subjects(self) -> dict[str, Subject]:
        return {s.subject_id: s for s in self.manifest.subjects}

    @property
    def scoring_signature(self) -> str:
        """What a calibration of this watchlist must have been measured with."""
        first = DISTANCE_SCORING if self.scoring is None else self.scoring.signature
        if self.second is None:
            return first
        second = DISTANCE_SCORING if self.second.scoring is None else self.second.scoring.signature
        return f"{first}, fused with {self.second.identity}: {second}"

    @property
    def fusion(self) -> Fusion | None:
        """Both embedders' scorings (None: one embedder); WatchlistError if not normalised yet."""
        if self.second is None:
            return None
        if self.scoring is None or self.second.scoring is None:
            raise WatchlistError(
                f"watchlist '{self.name}' fuses two embedders' scores, which needs them normalised against a "
                "cohort: calibrate it first (lfr watchlist calibrate W --cohort C.lfrc, a cohort built with both)"
            )
        return Fusion((self.scoring, self.second.scoring))

    @cached_property
    def scored(self) -> ScoredGallery | None:
        """The precomputed gallery of every template (``ScoredGallery``), when normalised."""
        if self.scoring is None:
            return None
        gallery = self.scoring.gallery(self.vectors, self.template_stats)
        self.template_stats = gallery.stats
        return gallery

    @cached_property
    def template_subjects(self) -> NDArray[np.int64]:
        """For each template row, the index of its subject in ``manifest.subjects``."""
        order = {s.subject_id: i for i, s in enumerate(self.manifest.subjects)}
        return np.array([order[t.subject_id] for t in self.manifest.templates], dtype=np.int64)

    def active_rows(self, today: date | None = None) -> NDArray[np.int64]:
        """Template rows whose subject has not expired (expired entries are never searched)."""
        today = today or datetime.now(UTC).date()
        live = np.array([not s.is_expired(today) for s in self.manifest.subjects], dtype=bool)
        return np.flatnonzero(live[self.template_subjects]) if len(self.manifest.templates) else np.zeros(0, np.int64)

    def index(self, today: date | None = None) -> tuple[ExactIndex, NDArray[np.int64]]:
        """An index over the active templates, and the watchlist row of each index row."""
        rows = self.active_rows(today)
        return ExactIndex(self.vectors[rows]), rows

    def calibration_problem(self) -> str | None:
        """Why this watchlist's threshold is not calibrated for its embedder and normalisation (None if it is)."""
        cal = self.manifest.calibration
        if cal is None:
            return f"threshold {self.threshold:.3f} was never calibrated"
        if cal.embedder != self.embedder:
            return f"threshold was calibrated for embedder {cal.embedder or 'unrecorded'}, not {self.embedder}"
        if cal.scoring != self.scoring_signature:
            return f"threshold was calibrated for scoring '{cal.scoring}', not '{self.scoring_signature}'"
        if cal.subjects != len(self.manifest.subjects):
            return (
                f"threshold was calibrated at {cal.subjects} subjects; the watchlist has {len(self.manifest.subjects)}"
            )
        return None

    def require_embedder(self, identity: str, second: str | None = None) -> None:
        """Refuse to use this watchlist with an embedder (or second embedder: ``second``, None when none is
        configured) whose templates are not comparable with its own."""
        if identity != self.embedder:
            raise EmbedderMismatchError(
                f"watchlist '{self.name}' was enrolled with embedder {self.embedder}, but the configured "
                f"embedder is {identity}; re-enrol it from its images with the configured embedder"
            )
        why = second_set.mismatch(self.embedder, None if self.second is None else self.second.identity, second)
        if why is not None:
            raise EmbedderMismatchError(f"watchlist '{self.name}' {why}")

    def save(self, path: Path, signing: FileSigning | None = None) -> Path:
        """Write the watchlist to ``path`` atomically, signed (``signing``; default: the key the ``LFR_*``
        settings name), and only what ``load`` accepts: it is written to a temporary file in the same
        folder, read back by ``load``, then moved over ``path``; a crash or a refusal leaves the old file
        as it was."""
        path = Path(path)
        signing = signing or FileSigning.from_environment()
        unfused = {"second_embedder"} if self.second is None else None
        members = {
            "manifest.json": self.manifest.model_dump_json(indent=2, exclude=unfused).encode("utf-8"),
            "vectors.npy": npy_bytes(self.vectors.astype(np.float32)),
            **{f"faces/{template_id}.jpg": jpeg for template_id, jpeg in self.faces.items()},
            **{name: npy_bytes(array) for name, array in self.scoring_arrays().items()},
            **{name: npy_bytes(array) for name, array in (self.second.arrays() if self.second else {}).items()},
        }
        members[SIGNATURE_MEMBER] = signing.sign(members, FORMAT, self.manifest.format_version)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            write_members(tmp, members)
            Watchlist.load(tmp, signing=FileSigning(signing.key))  # what the reader would refuse is never written
            os.replace(tmp, path)
        except OSError as exc:
            raise WatchlistError(f"cannot write watchlist {path}: {exc.strerror or exc}") from exc
        except WatchlistError as exc:
            raise WatchlistError(f"watchlist not written to {path}, it would not load: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def scoring_arrays(self) -> dict[str, NDArray[np.generic]]:
        """The normalisation's arrays by file name (empty when not normalised); ``scoring_from_arrays`` reads them."""
        if self.scoring is None:
            return {}
        self.scored  # noqa: B018 - computes template_stats if absent
        assert self.template_stats is not None
        arrays: dict[str, NDArray[np.generic]] = {
            "cohort.npy": self.scoring.cohort,
            "template_stats.npy": self.template_stats,
        }
        if self.scoring.fair is not None:
            arrays["fair_centroids.npy"] = self.scoring.fair.centroids
            arrays["fair_offsets.npy"] = self.scoring.fair.offsets
        return arrays

    @classmethod
    def load(
        cls, path: Path, embedder: str | None = None, second: str | None = None, signing: FileSigning | None = None
    ) -> Watchlist:
        """Read a watchlist file, refusing it unless its signature verifies (``signing``; default: the key
        the ``LFR_*`` settings name); with ``embedder``, refuse one enrolled by another embedder (or another
        second embedder than ``second``, None: none configured)."""
        path = Path(path)
        signing = signing or FileSigning.from_environment()
        try:
            members = read_members(path)
            signing.verify(members, FORMAT, path)
            raw = read_json(members, "manifest.json")
            _check_format(raw, path)
            manifest = Manifest.model_validate(raw)
            vectors = read_npy(members, "vectors.npy")
            faces = {Path(n).stem: b for n, b in members.items() if n.startswith("faces/") and n.endswith(".jpg")}
            scoring, stats = _read_scoring(members, manifest)
            fused = _read_second(members, manifest)
        except FileNotFoundError as exc:
            raise WatchlistError(f"watchlist file not found: {path}") from exc
        except IsADirectoryError as exc:
            raise WatchlistError(f"{path} is a folder, not a watchlist file (enrol it first with 'lfr enrol')") from exc
        except ARCHIVE_ERRORS as exc:
            raise WatchlistFormatError(f"{path} is not an openlfr watchlist file ({exc})") from exc
        except ValidationError as exc:
            raise WatchlistFormatError(f"{path}: damaged watchlist manifest ({exc.error_count()} errors)") from exc
        watchlist = cls(
            manifest=manifest,
            vectors=vectors.astype(np.float32, copy=False),
            faces=faces,
            scoring=scoring,
            template_stats=stats,
            second=fused,
        )
        if embedder is not None:
            watchlist.require_embedder(embedder, second)
        return watchlist


TEMPLATE_LENGTH = (0.5, 2.0)
"""The Euclidean length a stored template must have: unit-length embedders give 1.0, dlib's ResNet
1.29-1.58 (86 faces of FairFace and LFW); a zero, tiny or huge row is a damaged or edited file (a zero
row sits at the same distance from every face, a huge one never matches: neither says so)."""
THRESHOLD_TOLERANCE = 1e-9
"""How far a calibrated watchlist's threshold may lie from its calibration record's (a JSON round trip)."""


def _template_problem(vectors: NDArray[np.float32]) -> str | None:
    """Why these templates cannot be trusted (None when they can): non-finite values or a length outside
    ``TEMPLATE_LENGTH``."""
    if not len(vectors):
        return None
    if not np.isfinite(vectors).all():
        bad = int(np.sum(~np.isfinite(vectors).all(axis=1)))
        return f"{bad} template(s) hold non-finite values (damaged or edited)"
    lengths = np.linalg.norm(vectors.astype(np.float64), axis=1)
    low, high = TEMPLATE_LENGTH
    outside = np.flatnonzero((lengths < low) | (lengths > high))
    if len(outside):
        return (
            f"{len(outside)} template(s) have a length outside {low}-{high} (row {int(outside[0])}: "
            f"{lengths[outside[0]]:.3g}; damaged or edited)"
        )
    return None


def _threshold_problem(m: Manifest) -> str | None:
    """Why the threshold cannot be trusted (None when it can): not finite, or not the threshold its
    calibration record measured (an edit after calibration)."""
    if not math.isfinite(m.threshold):
        return f"threshold {m.threshold} is not a number"
    cal = m.calibration
    if cal is None:
        return None
    if not math.isfinite(cal.threshold) or abs(m.threshold - cal.threshold) > THRESHOLD_TOLERANCE:
        return (
            f"threshold {m.threshold:.6f} disagrees with its calibration record ({cal.threshold:.6f}): the file "
            "was edited after calibration; calibrate it again (lfr watchlist calibrate)"
        )
    return None


def _check_format(raw: object, path: Path) -> None:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise WatchlistFormatError(f"{path} is not an openlfr watchlist file")
    version = raw.get("format_version")
    if version not in READABLE_VERSIONS:
        raise WatchlistFormatError(
            f"{path} is watchlist format version {version}; this openlfr reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}"
        )


def _read_scoring(
    members: Mapping[str, bytes], manifest: Manifest
) -> tuple[Scoring | None, NDArray[np.float64] | None]:
    if manifest.normalisation is None:
        return None, None
    names = [n for n in members if n.endswith(".npy") and n != "vectors.npy" and "/" not in n]
    arrays = {n: read_npy(members, n) for n in names}
    return scoring_from_arrays(manifest, arrays)


def _read_second(members: Mapping[str, bytes], manifest: Manifest) -> SecondSet | None:
    fused = manifest.second_embedder
    if fused is None:
        return None
    names = [n for n in members if n.startswith(second_set.PREFIX) and n.endswith(".npy")]
    arrays = {n: read_npy(members, n) for n in names}
    n = fused.normalisation
    config, checksum = (None, "") if n is None else (n.config, n.cohort_checksum)
    return second_set.from_arrays(fused.embedder, config, checksum, arrays)


def scoring_from_arrays(
    manifest: Manifest, arrays: Mapping[str, NDArray[np.generic]]
) -> tuple[Scoring | None, NDArray[np.float64] | None]:
    """The normalisation of ``manifest`` from the arrays ``Watchlist.scoring_arrays`` gave (None if it has none)."""
    n = manifest.normalisation
    if n is None:
        return None, None
    d = manifest.dimension
    # template_stats: any number of rows (a deployment's stored set keeps rows of templates since removed)
    expected = {"cohort.npy": (None, d), "template_stats.npy": (None, 2),
                "fair_centroids.npy": (None, d), "fair_offsets.npy": (None,)}  # fmt: skip
    problem = shape_problem(arrays, expected)
    if problem is not None:
        raise WatchlistFormatError(f"watchlist '{manifest.name}': {problem} (damaged)")
    fair = None
    if "fair_centroids.npy" in arrays:
        fair = norm.FairClusters(
            arrays["fair_centroids.npy"].astype(np.float32), arrays["fair_offsets.npy"].astype(np.float64)
        )
    scoring = Scoring(n.config, arrays["cohort.npy"].astype(np.float32), fair)
    if scoring.checksum != n.cohort_checksum:
        raise WatchlistFormatError(f"watchlist '{manifest.name}': its cohort does not match its manifest (damaged)")
    return scoring, arrays["template_stats.npy"].astype(np.float64)
