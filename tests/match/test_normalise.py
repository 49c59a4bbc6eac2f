"""Score normalisation: the pure functions, on small arrays whose answers are known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.match import normalise as norm

RAW = np.array([[0.9, 0.5], [0.2, 0.6]])
PROBE = np.array([[0.5, 0.1], [0.1, 0.2]])  # (mean, std) per probe
GALLERY = np.array([[0.3, 0.2], [0.4, 0.05]])  # per template


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("cosine", RAW),
        ("z", (RAW - GALLERY[:, 0]) / GALLERY[:, 1]),
        ("t", (RAW - PROBE[:, :1]) / PROBE[:, 1:]),
        ("zt", 0.5 * ((RAW - GALLERY[:, 0]) / GALLERY[:, 1] + (RAW - PROBE[:, :1]) / PROBE[:, 1:])),
    ],
)
def test_normalise_by_hand(method: norm.Method, expected: np.ndarray) -> None:
    np.testing.assert_allclose(norm.normalise(RAW, method, PROBE, GALLERY), expected)


def test_a_side_without_statistics_is_refused() -> None:
    with pytest.raises(ValueError, match="cohort statistics"):
        norm.normalise(RAW, "t", None, GALLERY)
    np.testing.assert_allclose(norm.normalise(RAW, "z", None, GALLERY), (RAW - GALLERY[:, 0]) / GALLERY[:, 1])


def test_pair_scores_agree_with_the_matrix_diagonal() -> None:
    for method in norm.METHODS:
        full = norm.normalise(RAW, method, PROBE, GALLERY)
        np.testing.assert_allclose(norm.pair_scores(PROBE, GALLERY, np.diag(RAW), method), np.diag(full))


def test_cohort_stats_top_k_uses_the_highest_scores() -> None:
    cohort = norm.unit(np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [1.0, 1.0]]))
    probe = norm.unit(np.array([[1.0, 0.0]]))
    scores = np.array([1.0, 0.0, -1.0, np.sqrt(0.5)])
    np.testing.assert_allclose(norm.cohort_stats(probe, cohort)[0], [scores.mean(), scores.std()], atol=1e-6)
    top = np.array([1.0, np.sqrt(0.5)])
    np.testing.assert_allclose(norm.cohort_stats(probe, cohort, top_k=2)[0], [top.mean(), top.std()], atol=1e-6)


def test_kmeans_finds_two_separate_clusters() -> None:
    rng = np.random.default_rng(0)
    a = norm.unit(np.array([1.0, 0.0, 0.0]) + rng.normal(0, 0.05, (30, 3)))
    b = norm.unit(np.array([0.0, 1.0, 0.0]) + rng.normal(0, 0.05, (30, 3)))
    centroids = norm.kmeans(np.vstack([a, b]), 2, seed=0)
    labels = norm.FairClusters(centroids, np.zeros(2)).assign(np.vstack([a, b]))
    assert len(set(labels[:30])) == 1 and len(set(labels[30:])) == 1 and labels[0] != labels[30]


def test_a_crowded_cluster_gets_a_positive_offset() -> None:
    """Impostor pairs within cluster 0 score higher than within cluster 1: its offset is higher."""
    rng = np.random.default_rng(1)
    n = 120
    labels = np.repeat([0, 1], n // 2)
    scores = rng.normal(0.0, 1.0, (n, n))
    scores[np.ix_(labels == 0, labels == 0)] += 2.0
    scores = 0.5 * (scores + scores.T)
    offsets = norm.fit_fair_clusters(scores, labels, 2, 0.01)
    assert offsets[0] > 0.0 > offsets[1]
    assert 1.5 < offsets[0] - offsets[1] < 2.5  # the shift of 2 between the clusters, sampled
    clusters = norm.FairClusters(np.eye(2, dtype=np.float32), offsets)
    adjusted = norm.fair_adjust(np.zeros((1, 2)), clusters, np.array([0]), np.array([0, 1]))
    np.testing.assert_allclose(adjusted, [[-offsets[0], -(offsets[0] + offsets[1]) / 2]])


def test_fuse_is_the_mean_and_refuses_mismatched_shapes() -> None:
    np.testing.assert_allclose(norm.fuse([RAW, 3 * RAW]), 2 * RAW)
    with pytest.raises(ValueError, match="one shape"):
        norm.fuse([RAW, RAW[:1]])
