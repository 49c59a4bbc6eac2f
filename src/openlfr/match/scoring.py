"""A watchlist's scoring: cosine scores normalised against its cohort, then mapped to a similarity.

``Scoring`` holds what normalisation needs at search time (the cohort's unit templates, the fair
clusters) and what it is (``ScoringConfig``); ``ScoredGallery`` holds what is precomputed per watchlist
template (unit vector, Z-norm statistics, fair cluster), so that a live search costs one product with
the gallery and one with the cohort. The functions that compute scores are in ``normalise``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from openlfr.config import ScoringConfig
from openlfr.match import normalise as norm
from openlfr.match.normalise import Floats, Vectors

# Logistic map from a normalised score to a similarity in [0, 1]: (midpoint, scale) per method, fitted by
# `scripts/fit_similarity.py --normalisation <method>` on LFW View-2 folds 2-10 (5,400 pairs; fold 1 kept
# out) with the default top_k 400 and 25 fair clusters, against the evaluation cohort less every pair image
# (EVALUATION.md section 6), 2026-11-26. Monotone: it changes no ranking, FPIR or FNIR; a deployment's
# threshold comes from calibration on its own cohort, never from this map.
SCORE_MAPS: dict[str, tuple[float, float]] = {
    "cosine": (0.9118, 0.0069),
    "z": (0.4778, 0.6055),
    "t": (0.5319, 0.6026),
    "zt": (0.4795, 0.6018),
}


@dataclass(frozen=True, slots=True, eq=False)
class ScoredGallery:
    """Per template: unit vector, (mean, std) against the cohort, fair cluster (or -1)."""

    vectors: Vectors
    stats: Floats
    clusters: NDArray[np.int64]

    def rows(self, rows: NDArray[np.int64]) -> ScoredGallery:
        return ScoredGallery(self.vectors[rows], self.stats[rows], self.clusters[rows])


@dataclass(frozen=True, slots=True, eq=False)
class Scoring:
    """A cohort (unit templates) with its configuration and fair clusters; turns vectors into scores."""

    config: ScoringConfig
    cohort: Vectors
    fair: norm.FairClusters | None = None

    @property
    def checksum(self) -> str:
        """SHA-256 (first 16 hex) of the cohort templates: which cohort a calibration was made with."""
        return hashlib.sha256(np.ascontiguousarray(self.cohort, dtype=np.float32).tobytes()).hexdigest()[:16]

    @property
    def signature(self) -> str:
        """What a threshold is valid for: the method, its parameters and the cohort."""
        return f"{self.config.describe()} on cohort {self.checksum}"

    def stats(self, unit_vectors: Vectors, exclude_self: bool = False) -> Floats:
        """Cohort statistics of unit rows; ``exclude_self``: the rows *are* the cohort (leave each out)."""
        if self.config.method == "cosine":
            return np.tile(np.array([0.0, 1.0]), (len(unit_vectors), 1))
        if not exclude_self:
            return norm.cohort_stats(unit_vectors, self.cohort, self.config.top_k)
        out = []
        for start in range(0, len(unit_vectors), 1024):
            chunk = norm.cosine(unit_vectors[start : start + 1024], self.cohort)
            chunk[np.arange(len(chunk)), np.arange(start, start + len(chunk))] = -np.inf
            k = min(self.config.top_k or len(self.cohort), len(self.cohort) - 1)
            top = -np.partition(-chunk, k - 1, axis=1)[:, :k]
            out.append(np.stack([top.mean(axis=1), np.maximum(top.std(axis=1), norm.MIN_STD)], axis=1))
        return np.concatenate(out) if out else np.zeros((0, 2))

    def gallery(self, vectors: NDArray[np.float32], stats: Floats | None = None) -> ScoredGallery:
        """Precompute a gallery (``stats`` if already known, e.g. read from a watchlist file)."""
        unit = norm.unit(vectors) if len(vectors) else np.zeros((0, self.cohort.shape[1]), np.float32)
        found = stats if stats is not None and len(stats) == len(unit) else self.stats(unit)
        clusters = self.fair.assign(unit) if self.fair is not None else np.full(len(unit), -1, np.int64)
        return ScoredGallery(unit, found, clusters)

    def scores(self, probes: NDArray[np.float32], gallery: ScoredGallery) -> Floats:
        """P x G normalised scores of raw probe templates against a precomputed gallery."""
        p = norm.unit(probes)
        probe_stats = self.stats(p) if self.config.method in ("t", "zt") else None
        out = norm.normalise(norm.cosine(p, gallery.vectors), self.config.method, probe_stats, gallery.stats)
        if self.fair is not None:
            out = norm.fair_adjust(out, self.fair, self.fair.assign(p), gallery.clusters)
        return out

    def pair_scores(self, a: NDArray[np.float32], b: NDArray[np.float32]) -> Floats:
        """Normalised scores of aligned pairs of raw templates (``b`` the reference)."""
        ga, gb = self.gallery(a), self.gallery(b)
        raw = np.einsum("ij,ij->i", ga.vectors, gb.vectors).astype(np.float64)
        out = norm.pair_scores(ga.stats, gb.stats, raw, self.config.method)
        if self.fair is not None:
            out = out - 0.5 * (self.fair.offsets[ga.clusters] + self.fair.offsets[gb.clusters])
        return out

    def similarity(self, scores: Floats) -> Floats:
        """Normalised scores mapped to [0, 1] (``SCORE_MAPS``)."""
        midpoint, scale = SCORE_MAPS[self.config.method]
        z = np.clip((np.asarray(scores, dtype=np.float64) - midpoint) / scale, -700.0, 700.0)
        return np.asarray(1.0 / (1.0 + np.exp(-z)))


@dataclass(frozen=True, slots=True, eq=False)
class Fusion:
    """Several embedders' scorings (each with its own cohort templates of the same faces), fused."""

    scorings: tuple[Scoring, ...]

    def scores(self, probes: Sequence[NDArray[np.float32]], galleries: Sequence[ScoredGallery]) -> Floats:
        """P x G fused normalised scores: probes[i] and galleries[i] are embedder i's templates."""
        if not len(probes) == len(galleries) == len(self.scorings):
            raise ValueError(f"fusion of {len(self.scorings)} embedders needs that many probe and gallery sets")
        parts = [s.scores(p, g) for s, p, g in zip(self.scorings, probes, galleries, strict=True)]
        return norm.fuse(parts)


def build_scoring(config: ScoringConfig, cohort: NDArray[np.float32], seed: int = 0) -> Scoring:
    """A Scoring from raw cohort templates: unit vectors and, if configured, the fair clusters, fitted on
    the cohort's own (all impostor) normalised pair scores, each cohort face left out of its own stats."""
    unit = norm.unit(cohort)
    plain = Scoring(config, unit)
    if not config.fair_clusters:
        return plain
    sample = unit
    if len(unit) > 6000:  # the pair matrix is n^2: a seeded sample is plenty to place the offsets
        sample = unit[np.sort(np.random.default_rng(seed).choice(len(unit), 6000, replace=False))]
    fitted = Scoring(config, sample)
    stats = fitted.stats(sample, exclude_self=True)
    raw = norm.cosine(sample, sample)
    pair = norm.normalise(raw, config.method, stats, stats)
    pair = 0.5 * (pair + pair.T)  # a pair's score whichever side is the reference
    centroids = norm.kmeans(sample, config.fair_clusters, seed)
    labels = norm.FairClusters(centroids, np.zeros(len(centroids))).assign(sample)
    offsets = norm.fit_fair_clusters(pair, labels, len(centroids), config.fair_fmr)
    return Scoring(config, unit, norm.FairClusters(centroids, offsets))
