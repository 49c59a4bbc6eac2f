"""Scores: pure functions from embedding distance to a similarity in [0, 1].

The map is a logistic curve in Euclidean distance ``d`` between two templates::

    similarity(d) = 1 / (1 + exp((d - MIDPOINT) / SCALE))

It is monotone (a smaller distance always gives a higher similarity), equals 0.5 at ``MIDPOINT``
and is fitted by logistic regression to LFW View-2 folds 2-10 (5,400 pairs; fold 1 is kept out
for the accuracy test), so that on pairs like LFW's, with as many mated as non-mated pairs, the
similarity reads as the probability that the two faces are one person. It is *not* that
probability in a 1:N search, where non-mated comparisons outnumber mated ones by the watchlist
size: there the threshold must come from calibration at the real watchlist size.
``scripts/fit_similarity.py`` refits the constants.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# Fitted for dlib-resnet-v1 by scripts/fit_similarity.py on LFW folds 2-10 (5,400 pairs, HOG upsample 1,
# 35 of 7,701 images on the centre-box fallback), 2026-11-26. Accuracy there at similarity 0.5: 98.89%.
MIDPOINT = 0.6275
SCALE = 0.0228


def similarity_from_distance(
    distance: NDArray[np.floating] | float, midpoint: float = MIDPOINT, scale: float = SCALE
) -> NDArray[np.float64]:
    """Similarity in [0, 1] for Euclidean distance(s) ``distance`` (monotone decreasing)."""
    z = np.clip((np.asarray(distance, dtype=np.float64) - midpoint) / scale, -700.0, 700.0)  # no overflow
    return np.asarray(1.0 / (1.0 + np.exp(z)))


def distance_from_similarity(similarity: float, midpoint: float = MIDPOINT, scale: float = SCALE) -> float:
    """The distance at which ``similarity_from_distance`` gives ``similarity`` (its inverse)."""
    s = min(max(similarity, 1e-12), 1.0 - 1e-12)
    return float(midpoint + scale * np.log((1.0 - s) / s))


def euclidean_distances(probes: NDArray[np.float32], gallery: NDArray[np.float32]) -> NDArray[np.float32]:
    """P x G matrix of Euclidean distances between the rows of ``probes`` and of ``gallery``."""
    p2 = np.einsum("ij,ij->i", probes, probes)[:, None]
    g2 = np.einsum("ij,ij->i", gallery, gallery)[None, :]
    sq = np.maximum(p2 + g2 - 2.0 * (probes @ gallery.T), 0.0)
    out: NDArray[np.float32] = np.sqrt(sq).astype(np.float32, copy=False)
    return out
