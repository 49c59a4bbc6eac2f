"""The LFW View-2 verification protocol: the pure measures on constructed scores with known answers,
then the full 6,000 pairs against dlib's published accuracy, and ``lfr eval verify`` as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from openlfr.config import Settings
from openlfr.eval import lfw, verify
from openlfr.eval.cache import EmbeddingCache, embed_all
from openlfr.match.similarity import similarity_from_distance

DLIB_PUBLISHED_LFW = 0.9938  # dlib_face_recognition_resnet_model_v1, 10-fold LFW View-2


def labelled(mated: list[float], nonmated: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Scores and labels: the mated pairs' scores first."""
    return np.array(mated + nonmated, dtype=np.float64), np.array([True] * len(mated) + [False] * len(nonmated))


# -- accuracy and the exact threshold search ------------------------------------------------------


@pytest.mark.parametrize(
    ("mated", "nonmated", "threshold", "accuracy"),
    [
        ([0.9, 0.8], [0.1, 0.2], 0.5, 1.0),
        ([0.9, 0.8], [0.1, 0.2], 0.85, 0.75),
        ([0.9, 0.5], [0.1, 0.2], 0.5, 1.0),  # a score equal to the threshold is accepted
        ([0.9, 0.8], [0.1, 0.2], 0.0, 0.5),
    ],
)
def test_accuracy_at(mated: list[float], nonmated: list[float], threshold: float, accuracy: float) -> None:
    assert verify.accuracy_at(*labelled(mated, nonmated), threshold) == accuracy


@pytest.mark.parametrize(
    ("mated", "nonmated", "expected"),
    [
        ([0.9, 0.31], [0.1, 0.2], 0.255),  # the exact midpoint of the gap, not a grid point
        ([0.7, 0.8, 0.9], [0.1, 0.2, 0.3], 0.5),
        ([0.9, 0.5], [0.5, 0.1], 0.7),  # 0.3 and 0.7 tie; of an even number tied, the upper middle one
        ([0.6, 0.9], [0.1, 0.7], 0.8),  # 0.35 and 0.8 tie, with a worse threshold (0.65) between them
        ([0.5, 0.5], [0.5, 0.1], 0.3),  # tied scores cannot be split
    ],
)
def test_best_threshold(mated: list[float], nonmated: list[float], expected: float) -> None:
    assert verify.best_threshold(*labelled(mated, nonmated)) == pytest.approx(expected)


def test_perfectly_separable_pairs_give_accuracy_one_and_a_threshold_between_the_classes() -> None:
    rng = np.random.default_rng(1)
    folds = np.repeat(np.arange(1, 11), 60)
    same = np.tile(np.r_[np.ones(30, bool), np.zeros(30, bool)], 10)
    scores = np.where(same, rng.uniform(0.7, 0.95, 600), rng.uniform(0.05, 0.3, 600))
    mean, std, thresholds = verify.ten_fold_accuracy(scores, same, folds)
    assert (mean, std) == (1.0, 0.0)
    assert sorted(thresholds) == list(range(1, 11))
    top_nonmated, bottom_mated = scores[~same].max(), scores[same].min()
    assert all(top_nonmated < t < bottom_mated for t in thresholds.values())


def test_the_fold_threshold_never_sees_its_own_fold() -> None:
    # Folds 1 and 2 are separable at 0.5; fold 3's mated pairs score 0.45. Learnt with fold 3 in view,
    # the threshold would drop below 0.45 and fold 3 would score 1.0; held out, it scores 0.5.
    scores, same = labelled([0.7, 0.8, 0.7, 0.8, 0.45, 0.45], [0.3, 0.2, 0.3, 0.2, 0.1, 0.1])
    folds = np.array([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3])
    result = verify.evaluate(scores, same, folds, threshold=0.5)
    assert result.fold_thresholds[3] == pytest.approx(0.5)
    assert result.fold_accuracies == {1: 1.0, 2: 1.0, 3: 0.5}
    assert verify.best_threshold(scores, same) < 0.45  # what peeking would have chosen
    # Whatever fold 3 holds, its threshold stays the same.
    moved = scores.copy()
    moved[folds == 3] = [0.99, 0.01, 0.98, 0.02]
    assert verify.ten_fold_accuracy(moved, same, folds).thresholds[3] == result.fold_thresholds[3]


def test_ten_fold_mean_and_std_are_over_the_held_out_folds() -> None:
    # Two folds of four pairs: fold 2 holds one error at the threshold learnt on fold 1 (0.5).
    scores, same = labelled([0.9, 0.8, 0.9, 0.4], [0.1, 0.2, 0.1, 0.2])
    folds = np.array([1, 1, 2, 2, 1, 1, 2, 2])
    mean, std, thresholds = verify.ten_fold_accuracy(scores, same, folds)
    assert thresholds[2] == pytest.approx(0.5)
    assert mean == pytest.approx((1.0 + 0.75) / 2)
    assert std == pytest.approx(np.std([1.0, 0.75], ddof=1))


# -- ROC, DET and TAR at FAR ----------------------------------------------------------------------


def test_roc_has_one_point_per_distinct_score() -> None:
    scores, same = labelled([0.9, 0.7, 0.7], [0.7, 0.2])
    far, tar, thresholds = verify.roc(scores, same)
    np.testing.assert_allclose(thresholds, [np.inf, 0.9, 0.7, 0.2])
    np.testing.assert_allclose(tar, [0.0, 1 / 3, 1.0, 1.0])
    np.testing.assert_allclose(far, [0.0, 0.0, 0.5, 1.0])
    fmr, fnmr, det_thresholds = verify.det(scores, same)
    np.testing.assert_allclose(fmr, far)
    np.testing.assert_allclose(fnmr, 1.0 - tar)
    np.testing.assert_allclose(det_thresholds, thresholds)


def test_tar_at_far_on_a_constructed_distribution() -> None:
    # 1,000 non-mated scores 0.000, 0.001, ..., 0.999; mated: half at 0.995, half at 0.98.
    scores, same = labelled([0.995] * 50 + [0.98] * 50, list(np.arange(1000) / 1000))
    tar, threshold = verify.tar_at_far(scores, same, 1e-2)
    assert 0.989 < threshold <= np.nextafter(0.989, 1.0)  # accepts exactly 0.990-0.999: FAR 10/1000
    assert np.mean(scores[~same] >= threshold) == 1e-2
    assert tar == 0.5
    tar, threshold = verify.tar_at_far(scores, same, 1e-3)
    assert 0.998 < threshold <= np.nextafter(0.998, 1.0)
    assert tar == 0.0


def test_tar_at_far_is_conservative_where_scores_tie() -> None:
    scores, same = labelled([0.6, 0.4], [0.5] * 100)
    tar, threshold = verify.tar_at_far(scores, same, 1e-2)  # one non-mated pair allowed, but all 100 tie
    assert np.mean(scores[~same] >= threshold) == 0.0
    assert tar == 0.5


@pytest.mark.parametrize("far", [1e-1, 1e-2, 1e-3, 0.0])
def test_tar_at_far_never_exceeds_the_target(far: float) -> None:
    rng = np.random.default_rng(7)
    scores, same = labelled(list(rng.normal(0.8, 0.1, 500)), list(rng.normal(0.3, 0.15, 3000)))
    tar, threshold = verify.tar_at_far(scores, same, far)
    reached = np.mean(scores[~same] >= threshold)
    assert reached <= far
    assert np.mean(scores[~same] >= np.nextafter(threshold, 0.0)) > far  # and it is the lowest such
    assert tar == np.mean(scores[same] >= threshold)


# -- the result object and refused inputs ---------------------------------------------------------


def test_evaluate_gives_every_figure_and_serialises() -> None:
    scores, same = labelled([0.9, 0.8, 0.9, 0.4], [0.1, 0.2, 0.1, 0.6])
    result = verify.evaluate(scores, same, [1, 1, 2, 2, 1, 1, 2, 2], threshold=0.5)
    assert (result.pairs, result.mated, result.accuracy_at_threshold) == (8, 4, 0.75)
    assert set(result.tar_at_far) == {1e-2, 1e-3}
    data = json.loads(json.dumps(result.to_json()))
    assert [f["fold"] for f in data["folds"]] == [1, 2]
    assert data["ten_fold_accuracy"]["mean"] == result.mean_accuracy


@pytest.mark.parametrize(
    ("scores", "same", "folds", "message"),
    [
        ([0.1, 0.2], [True], [1, 2], "expected scores and same"),
        ([0.1, 0.2], [True, False], [1], "expected folds of shape"),
        ([0.1, 0.2], [True, False], [1, 1], "at least two folds"),
        ([0.1, 0.2], [2, 0], [1, 2], "True/False"),
        ([0.1, np.nan], [True, False], [1, 2], "finite"),
    ],
)
def test_refuses_inconsistent_inputs(scores: list[float], same: list[int], folds: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        verify.ten_fold_accuracy(scores, same, folds)


# -- LFW: the acceptance test and the command -----------------------------------------------------


@pytest.fixture(scope="session")
def lfw_cache(eval_cache: Path) -> Path:
    """The session's evaluation cache (tests/eval/conftest.py): empty when the session starts, so the
    figures are computed from cold."""
    return eval_cache


def test_full_lfw_ten_fold_accuracy_is_within_half_a_point_of_dlibs(shared_data: Path, lfw_cache: Path) -> None:
    root = shared_data / "lfw"
    pairs = lfw.read_pairs(root / "pairs.txt")
    assert len(pairs) == 6000
    keys = sorted({k for p in pairs for k in (p.a, p.b)})
    paths = [lfw.image_path(root, k) for k in keys]
    settings = Settings()
    cache = EmbeddingCache(lfw_cache)
    try:
        embedded = embed_all(paths, settings, cache, workers=2)
    finally:
        cache.close()
    items = {k: embedded[p] for k, p in zip(keys, paths, strict=True)}
    assert not [k for k, e in items.items() if e.vector is None], "unreadable LFW images"
    fallbacks = sum(e.fallback for e in items.values())
    assert fallbacks < 50, f"the detector missed {fallbacks} of {len(items)} LFW faces"
    templates = {k: e.vector for k, e in items.items() if e.vector is not None}
    scores = similarity_from_distance(lfw.pair_distances(pairs, templates))
    result = verify.evaluate(scores, [p.same for p in pairs], [p.fold for p in pairs], settings.match.default_threshold)
    assert result.mean_accuracy >= DLIB_PUBLISHED_LFW - 0.005, f"10-fold accuracy {result.mean_accuracy:.4f}"
    assert result.accuracy_at_threshold >= 0.98, f"accuracy at the default threshold {result.accuracy_at_threshold}"


def lfr(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openlfr", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_verify_help_has_an_example() -> None:
    out = lfr("eval", "verify", "--help")
    assert out.returncode == 0, out.stderr
    assert "Example" in out.stdout


def test_verify_command_writes_results_and_report(shared_data: Path, lfw_cache: Path, tmp_path: Path) -> None:
    # Two folds of 3 mated + 3 non-mated pairs, taken from the real pairs.txt's folds 1 and 2.
    rows = (shared_data / "lfw" / "pairs.txt").read_text().splitlines()[1:]
    small = [*rows[0:3], *rows[300:303], *rows[600:603], *rows[900:903]]
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("2\t3\n" + "\n".join(small) + "\n")
    out_dir = tmp_path / "out"
    out = lfr("eval", "verify", "--pairs", pairs, "--shared-data", shared_data, "--cache", lfw_cache, "--out", out_dir)
    assert out.returncode == 0, out.stderr
    assert "2-fold accuracy" in out.stdout and "TAR at FAR 0.01" in out.stdout
    results = json.loads((out_dir / "results.json").read_text())
    images = {k for p in lfw.read_pairs(pairs) for k in (p.a, p.b)}
    assert results["results"]["pairs"] == 12 and results["results"]["images"] == len(images)
    assert [f["fold"] for f in results["results"]["folds"]] == [1, 2]
    assert results["meta"]["embedder"].startswith("dlib")
    page = (out_dir / "report.html").read_text()
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert page.count("data:image/png;base64,") == 2 and "nearest the image centre" in page
