"""Score normalisation against a cohort: pure functions from templates to normalised scores.

A raw score is the cosine similarity of two templates. The same raw score means different things for
different faces: some templates sit in a crowded part of the embedding space (many faces look alike to
the model there: East Asian faces and children, for dlib's ResNet) and score high against everyone.
A *cohort* of faces of people on no watchlist measures that crowding, per face:

- Z-norm (reference side): ``(s - mu_t) / sd_t``, with ``mu_t, sd_t`` the mean and standard deviation
  of the template's scores against the cohort (computed once, at enrolment or calibration);
- T-norm (probe side): ``(s - mu_p) / sd_p``, the same for the probe (computed at search time: one
  cohort-size x D product per face);
- ZT (symmetric, also called S-norm): the mean of the two, as the issue's experiment summed them;
- with ``top_k``, the statistics use only the ``top_k`` highest cohort scores of each face (adaptive
  S-norm): the cohort faces that look most like it, which is what a false match competes with.

With a second embedder, each embedder's scores are normalised against its own cohort (its templates
of the same cohort faces) and the normalised scores averaged (``fuse``).

Fair score normalisation (Terhoerst et al., 2020) then subtracts, for a pair, the mean of two
per-cluster offsets: the clusters are k-means clusters of the cohort's templates, the probe's and the
reference's clusters are their nearest centroids (no group label is used), and each cluster's offset is
its own threshold at a target false-match rate (impostor pairs within it) minus the global one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray

Method = Literal["cosine", "z", "t", "zt"]
METHODS: tuple[Method, ...] = get_args(Method)
Floats = NDArray[np.float64]
Vectors = NDArray[np.float32]
MIN_STD = 1e-6


def unit(vectors: NDArray[np.floating]) -> Vectors:
    """Rows scaled to length 1 (a zero row stays zero)."""
    v = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    out: Vectors = (v / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return out


def cosine(probes: Vectors, gallery: Vectors) -> Floats:
    """P x G cosine similarities between the rows of ``probes`` and ``gallery`` (both already unit)."""
    return np.asarray(probes @ gallery.T, dtype=np.float64)


def cohort_stats(vectors: Vectors, cohort: Vectors, top_k: int | None = None) -> Floats:
    """N x 2 (mean, std) of each unit row's cosine scores against the unit ``cohort`` (top ``top_k`` only)."""
    scores = cosine(vectors, cohort)
    if top_k is not None and top_k < scores.shape[1]:
        scores = -np.partition(-scores, top_k - 1, axis=1)[:, :top_k]
    return np.stack([scores.mean(axis=1), np.maximum(scores.std(axis=1), MIN_STD)], axis=1)


def normalise(raw: Floats, method: Method, probe_stats: Floats | None, gallery_stats: Floats | None) -> Floats:
    """P x G normalised scores from raw cosine scores, the probes' and the gallery's cohort statistics."""
    if method == "cosine":
        return raw
    if (method != "t" and gallery_stats is None) or (method != "z" and probe_stats is None):
        raise ValueError(f"normalisation {method!r} needs the cohort statistics of its side(s)")
    z = raw if gallery_stats is None else (raw - gallery_stats[None, :, 0]) / gallery_stats[None, :, 1]
    t = raw if probe_stats is None else (raw - probe_stats[:, 0, None]) / probe_stats[:, 1, None]
    return z if method == "z" else t if method == "t" else 0.5 * (z + t)


def pair_scores(a: Floats, b: Floats, raw: Floats, method: Method) -> Floats:
    """Normalised scores of aligned pairs (``a``, ``b``: each side's N x 2 statistics; ``b`` the reference)."""
    if method == "cosine":
        return raw
    z = (raw - b[:, 0]) / b[:, 1]
    t = (raw - a[:, 0]) / a[:, 1]
    return z if method == "z" else t if method == "t" else 0.5 * (z + t)


def fuse(scores: Sequence[Floats]) -> Floats:
    """Fusion of several embedders' normalised scores of the same probes and references: their mean.
    Normalised scores of different embedders share a scale (deviations from each one's own cohort),
    which raw scores do not."""
    if not scores:
        raise ValueError("nothing to fuse")
    shapes = {s.shape for s in scores}
    if len(shapes) != 1:
        raise ValueError(f"scores to fuse must have one shape, got {sorted(shapes)}")
    return np.asarray(np.mean(np.stack(scores), axis=0))


# -- fair score normalisation ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class FairClusters:
    """k-means centroids of cohort templates (unit) and each cluster's score offset."""

    centroids: Vectors
    offsets: Floats

    def assign(self, vectors: Vectors) -> NDArray[np.int64]:
        """The nearest centroid of each unit row."""
        if not len(vectors):
            return np.zeros(0, np.int64)
        return np.asarray(np.argmax(vectors @ self.centroids.T, axis=1), dtype=np.int64)


def kmeans(vectors: Vectors, k: int, seed: int = 0, iterations: int = 30) -> Vectors:
    """Spherical k-means (cosine) of unit rows: k unit centroids, seeded k-means++ start."""
    rng = np.random.default_rng(seed)
    n = len(vectors)
    k = min(k, n)
    first = int(rng.integers(n))
    centroids = [vectors[first]]
    closest = 1.0 - vectors @ vectors[first]
    for _ in range(1, k):
        p = np.maximum(closest, 0.0) ** 2
        pick = int(rng.choice(n, p=p / p.sum())) if p.sum() > 0 else int(rng.integers(n))
        centroids.append(vectors[pick])
        closest = np.minimum(closest, 1.0 - vectors @ vectors[pick])
    c = np.stack(centroids)
    for _ in range(iterations):
        label = np.argmax(vectors @ c.T, axis=1)
        moved = np.stack([vectors[label == j].sum(axis=0) if np.any(label == j) else c[j] for j in range(k)])
        moved = unit(moved)
        if np.allclose(moved, c, atol=1e-6):
            break
        c = moved
    return unit(c)


def fit_fair_clusters(scores: Floats, labels: NDArray[np.int64], k: int, target_fmr: float) -> Floats:
    """Per-cluster offsets from an all-impostor square score matrix of the cohort (``labels``: each row's
    cluster): the threshold at ``target_fmr`` within the cluster minus the threshold over all pairs.
    A cluster with too few pairs to measure the target gets offset 0 (it is left as it is)."""
    upper = np.triu_indices(len(scores), k=1)
    overall = _quantile_threshold(scores[upper], target_fmr)
    offsets = np.zeros(k)
    for j in range(k):
        idx = np.flatnonzero(labels == j)
        within = scores[np.ix_(idx, idx)][np.triu_indices(len(idx), k=1)]
        if within.size * target_fmr >= 1.0:
            offsets[j] = _quantile_threshold(within, target_fmr) - overall
    return offsets


def _quantile_threshold(values: Floats, fmr: float) -> float:
    return float(np.quantile(values, 1.0 - fmr))


def fair_adjust(
    scores: Floats, clusters: FairClusters, probe_cluster: NDArray[np.int64], gallery_cluster: NDArray[np.int64]
) -> Floats:
    """P x G scores less the mean of the probe's and the reference's cluster offsets."""
    off = clusters.offsets
    return scores - 0.5 * (off[probe_cluster][:, None] + off[gallery_cluster][None, :])
