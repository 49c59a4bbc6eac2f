"""The distance-to-similarity map is monotone, bounded, and inverted exactly."""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.match.similarity import (
    MIDPOINT,
    distance_from_similarity,
    euclidean_distances,
    similarity_from_distance,
)


def test_similarity_is_monotone_decreasing_and_in_unit_interval() -> None:
    d = np.linspace(0.0, 1.5, 500)  # the range dlib distances fall in
    s = similarity_from_distance(d)
    assert np.all((s >= 0.0) & (s <= 1.0))
    assert np.all(np.diff(s) < 0)
    far = similarity_from_distance(np.linspace(1.5, 100.0, 500))
    assert np.all(np.diff(far) <= 0) and np.all(far >= 0.0)
    assert similarity_from_distance(MIDPOINT) == pytest.approx(0.5)


def test_extreme_distances_do_not_overflow() -> None:
    s = similarity_from_distance(np.array([-1e6, 1e6]))
    assert s[0] == pytest.approx(1.0)
    assert s[1] == pytest.approx(0.0)


@pytest.mark.parametrize("score", [0.01, 0.3, 0.5, 0.9, 0.999])
def test_inverse(score: float) -> None:
    assert similarity_from_distance(distance_from_similarity(score)) == pytest.approx(score)


def test_euclidean_distances_match_numpy() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(7, 128)).astype(np.float32)
    b = rng.normal(size=(11, 128)).astype(np.float32)
    expected = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    np.testing.assert_allclose(euclidean_distances(a, b), expected, rtol=1e-4, atol=1e-4)
    assert np.all(np.diag(euclidean_distances(a, a)) < 1e-2)
