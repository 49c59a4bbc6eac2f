"""The threshold advisor: known answers on synthetic scores, the coverage of its interval in simulation,
and the acceptance test on real faces: its stated interval holds on held-out non-mated probes."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from openlfr.config import Settings
from openlfr.eval.advisor import advise, beta_binomial_interval, bootstrap_threshold
from openlfr.eval.cache import EmbeddingCache, embed_all
from openlfr.eval.datasets import load
from openlfr.eval.identify import search_split
from openlfr.eval.protocol import OpenSetSplit, Searches, open_set_split


def nonmated_only(top: np.ndarray) -> Searches:
    return Searches(np.zeros(0), np.zeros(0, dtype=np.int64), np.asarray(top, dtype=np.float64))


def test_beta_binomial_interval_uniform_case() -> None:
    # Beta(1, 1) is uniform, so the count among 39 trials is uniform on 0..39 (1/40 each)
    assert beta_binomial_interval(39, 1.0, 1.0) == (0, 38)


def test_beta_binomial_interval_matches_the_pmf() -> None:
    trials, a, b = 50, 3.0, 40.0

    def log_beta(x: float, y: float) -> float:
        return math.lgamma(x) + math.lgamma(y) - math.lgamma(x + y)

    pmf = [math.comb(trials, j) * math.exp(log_beta(j + a, trials - j + b) - log_beta(a, b)) for j in range(trials + 1)]
    assert sum(pmf) == pytest.approx(1.0)
    cdf = np.cumsum(pmf)
    expected = (int(np.argmax(cdf >= 0.025)), int(np.argmax(cdf >= 0.975)))
    assert beta_binomial_interval(trials, a, b) == expected


def test_advice_on_known_scores() -> None:
    top = np.arange(10_000) / 10_000  # distinct: the 10 highest are 0.9990 .. 0.9999
    mated = Searches(np.array([0.99995, 0.9995, 0.9999]), np.array([1, 1, 2]), top)
    advice = advise(mated, 1e-3, faces_per_deployment=10_000, watchlist_size=100, bootstrap=200, seed=1)
    assert advice.measurable
    assert 0.9989 < advice.threshold <= 0.9990
    assert (advice.fpir.k, advice.fpir.n) == (10, 10_000)
    assert advice.alerts_expected == pytest.approx(10.0)
    low, high = advice.alerts_interval
    assert 2 <= low < 10 < high <= 25
    assert advice.fpir_interval == (low / 10_000, high / 10_000)
    t_low, t_high = advice.threshold_interval
    assert t_low <= advice.threshold <= t_high
    assert advice.tpir is not None and (advice.tpir.k, advice.tpir.n) == (2, 3)  # rank 2 is a miss
    assert advice.to_json()["measurable"] is True


def test_a_target_below_one_probe_is_flagged() -> None:
    advice = advise(nonmated_only(np.linspace(0, 0.9, 500)), 1e-3, 1000, 50, bootstrap=0)
    assert not advice.measurable
    assert advice.fpir.k == 0 and advice.threshold > 0.9
    assert advice.tpir is None


def test_advice_gives_each_groups_fpir() -> None:
    top = np.array([0.99, 0.1, 0.2, 0.98, 0.97, 0.3, 0.1, 0.2, 0.3, 0.4])
    fams = {"set sex": ["f", "f", "f", "f", "f", "m", "m", "m", "m", "m"]}
    advice = advise(nonmated_only(top), 0.2, 100, 10, fams, bootstrap=0)
    (groups,) = advice.groups
    assert [(g.group, g.rate.k, g.rate.n) for g in groups.groups] == [("f", 2, 5), ("m", 0, 5)]


@pytest.mark.parametrize(("target", "faces"), [(0.0, 10), (1.0, 10), (0.1, 0)])
def test_advise_refuses_nonsense(target: float, faces: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        advise(nonmated_only(np.arange(10.0)), target, faces, 1)


def test_prediction_interval_covers_fresh_measurements_in_simulation() -> None:
    """The interval is exact (order statistics + binomial): in 400 simulated calibrations of 4,000 faces,
    the FPIR then measured on 4,000 fresh faces falls inside it about 95% of the time."""
    rng = np.random.default_rng(7)
    inside = 0
    for _ in range(400):
        calibration, fresh = rng.normal(size=4000), rng.normal(size=4000)
        advice = advise(nonmated_only(calibration), 1e-3, len(fresh), 1, bootstrap=0)
        low, high = advice.fpir_interval
        inside += low <= float(np.mean(fresh >= advice.threshold)) <= high
    assert 0.93 <= inside / 400 <= 0.995


def test_bootstrap_threshold_is_seeded() -> None:
    top = np.random.default_rng(0).normal(size=2000)
    assert bootstrap_threshold(top, 0.01, 100, 5) == bootstrap_threshold(top, 0.01, 100, 5)


# -- the acceptance test ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RealScores:
    top: np.ndarray
    """Each non-mated probe's best score against the watchlist of ``enrolled`` LFW identities."""
    identities: np.ndarray
    enrolled: int


@pytest.fixture(scope="module")
def real_scores(shared_data: Path, eval_cache: Path) -> RealScores:
    """1,000 LFW identities drawn with seed 0, enrolled; the non-mated probes are every other LFW image and
    all of FairFace, less the images in which no face was detected (as ``lfr eval`` does by default).
    To bound CI time UTKFace is left out and the mated probes are not embedded (FPIR needs none): 11,261
    images, embedded once into the session's cache."""
    split = open_set_split(load(["lfw", "fairface"], shared_data), 1000, seed=0)
    split = OpenSetSplit(split.gallery, [], split.nonmated)
    store = EmbeddingCache(eval_cache)
    try:
        paths = [s.path for s in split.gallery + split.nonmated]
        embedded = embed_all(paths, Settings(), store, workers=max(1, min(2, os.cpu_count() or 1)))
    finally:
        store.close()
    no_face = {p for p, e in embedded.items() if e.fallback}
    found = search_split(split, {p: e.vector for p, e in embedded.items()}, left_out=no_face)
    assert len(found.split.gallery) >= 990 and found.unreadable_probes == 0
    identities = np.array([s.identity for s in found.split.nonmated])
    return RealScores(found.searches.nonmated_top, identities, len(found.split.gallery))


def halves(scores: RealScores, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded 50/50 split of the non-mated probes by person, so that no one is in both halves (LFW
    has up to 6 images of a person not enrolled; FairFace one per person)."""
    people = np.unique(scores.identities)
    chosen = np.random.default_rng(seed).permutation(people)[: len(people) // 2]
    first = np.isin(scores.identities, chosen)
    return scores.top[first], scores.top[~first]


def test_advised_fpir_holds_on_held_out_probes(real_scores: RealScores) -> None:
    """THE ACCEPTANCE TEST. The advisor, asked for FPIR 1e-3 at a watchlist of 1,000, recommends a
    threshold; on held-out non-mated probes not used for the recommendation, the measured FPIR lies
    within the interval it stated.

    The probes (see ``real_scores``; 999 identities enrolled, as one enrolment image shows no face found)
    are split 50/50 by person with seed 0 into calibration and held-out halves (4,564 and 4,357 images).
    The stated interval is the advisor's 95% prediction interval for the FPIR measured over
    ``faces_per_deployment`` fresh faces, here the held-out half. Being 95%, it fails on some splits by
    design (it did on seed 0 split by image rather than by person: 14 of 4,461 against [0, 12]);
    the next test measures how often over many splits."""
    calibration, held_out = halves(real_scores, seed=0)
    assert len(calibration) >= 3000 and len(held_out) >= 3000
    advice = advise(nonmated_only(calibration), 1e-3, len(held_out), real_scores.enrolled, seed=0)
    measured = float(np.mean(held_out >= advice.threshold))
    low, high = advice.fpir_interval
    assert advice.measurable
    assert low <= measured <= high, (
        f"held-out FPIR {measured:.5f} ({int(np.sum(held_out >= advice.threshold))}/{len(held_out)}) outside "
        f"the stated [{low:.5f}, {high:.5f}] at threshold {advice.threshold:.8f}; "
        f"calibration {advice.fpir.k}/{advice.fpir.n}"
    )


def test_advised_interval_covers_held_out_fpir_over_many_splits(real_scores: RealScores) -> None:
    """The same on 200 seeded splits by person: the held-out FPIR lies inside the stated 95% interval in
    at least 90% of them (2,000 splits gave 97.7% here, while the Wilson interval of the calibration
    FPIR held only 82%: it is an interval for the true FPIR, not for a fresh measurement)."""
    inside = 0
    for seed in range(200):
        calibration, held_out = halves(real_scores, seed)
        advice = advise(nonmated_only(calibration), 1e-3, len(held_out), real_scores.enrolled, bootstrap=0)
        low, high = advice.fpir_interval
        inside += low <= float(np.mean(held_out >= advice.threshold)) <= high
    assert inside / 200 >= 0.90, f"covered {inside} of 200 splits"
