"""1:1 verification as the LFW View-2 protocol measures it: pure functions over pair scores.

Inputs are three aligned arrays, one entry per pair: ``scores`` (a similarity, higher = more alike),
``same`` (True for a mated pair) and ``folds`` (the pair's fold label). A pair is *accepted* at
threshold T when its score is >= T.

- 10-fold accuracy: for each fold, the threshold that maximises accuracy on the *other* folds is
  applied to it; the mean and the standard deviation (ddof=1) of the fold accuracies are reported.
  LFW's "standard error" is that deviation / sqrt(10). The search is exact: every midpoint between
  consecutive distinct training scores, plus "accept all" and "reject all".
- ROC: FAR (share of non-mated pairs accepted) against TAR (share of mated pairs accepted) at every
  distinct score; the DET curve is the same points as FMR against FNMR = 1 - TAR.
- TAR at a target FAR: the lowest threshold at which at most ``far`` of the non-mated pairs are
  accepted (ties are rejected together, so the FAR reached may be below the target, never above);
  the rule ``match.calibrate.threshold_at_fpir`` applies to 1:N best scores.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

Floats = NDArray[np.float64]
Bools = NDArray[np.bool_]


class TenFold(NamedTuple):
    mean: float
    std: float
    """Over the fold accuracies, ddof=1."""
    thresholds: dict[int, float]
    """Fold -> the threshold chosen on the other folds and applied to it."""


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Every verification figure of one set of pairs."""

    pairs: int
    mated: int
    mean_accuracy: float
    std_accuracy: float
    fold_thresholds: dict[int, float]
    fold_accuracies: dict[int, float]
    threshold: float
    """The operating threshold given (a deployment's, not learnt from these pairs)."""
    accuracy_at_threshold: float
    tar_at_far: dict[float, tuple[float, float]]
    """Target FAR -> (TAR, threshold)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "mated": self.mated,
            "ten_fold_accuracy": {"mean": self.mean_accuracy, "std": self.std_accuracy},
            "folds": [
                {"fold": f, "threshold": self.fold_thresholds[f], "accuracy": self.fold_accuracies[f]}
                for f in sorted(self.fold_thresholds)
            ],
            "threshold": self.threshold,
            "accuracy_at_threshold": self.accuracy_at_threshold,
            "tar_at_far": [
                {"far": far, "tar": tar, "threshold": t} for far, (tar, t) in sorted(self.tar_at_far.items())
            ],
        }


def evaluate(
    scores: ArrayLike, same: ArrayLike, folds: ArrayLike, threshold: float, fars: Sequence[float] = (1e-2, 1e-3)
) -> VerifyResult:
    """All the figures: 10-fold accuracy, accuracy at ``threshold``, TAR at each of ``fars``."""
    s, y, f = _check(scores, same, folds)
    tenfold = ten_fold_accuracy(s, y, f)
    return VerifyResult(
        pairs=len(s),
        mated=int(y.sum()),
        mean_accuracy=tenfold.mean,
        std_accuracy=tenfold.std,
        fold_thresholds=tenfold.thresholds,
        fold_accuracies=fold_accuracies(s, y, f, tenfold.thresholds),
        threshold=threshold,
        accuracy_at_threshold=accuracy_at(s, y, threshold),
        tar_at_far={far: tar_at_far(s, y, far) for far in fars},
    )


def accuracy_at(scores: ArrayLike, same: ArrayLike, threshold: float) -> float:
    """Share of pairs decided rightly when pairs scoring >= ``threshold`` are accepted."""
    s, y = _check_pair(scores, same)
    return float(np.mean((s >= threshold) == y))


def best_threshold(scores: ArrayLike, same: ArrayLike) -> float:
    """The threshold of highest accuracy on these pairs, searched exactly (see the module doc).

    Where several tie, the middle one of them (the upper middle of an even number) is taken, so that a
    plateau gives its centre."""
    s, y = _check_pair(scores, same)
    unique, inverse = np.unique(s, return_inverse=True)
    mated = np.bincount(inverse, weights=y, minlength=len(unique))
    nonmated = np.bincount(inverse, weights=~y, minlength=len(unique))
    # Candidate j sits just below unique[j] (j = len(unique): above them all): it rejects unique[:j].
    rejected_nonmated = np.concatenate([[0.0], np.cumsum(nonmated)])
    accepted_mated = mated.sum() - np.concatenate([[0.0], np.cumsum(mated)])
    correct = rejected_nonmated + accepted_mated
    best = np.flatnonzero(correct == correct.max())
    return _candidate(unique, int(best[len(best) // 2]))


def _candidate(unique: Floats, j: int) -> float:
    if j == 0:
        return float(np.nextafter(unique[0], -np.inf))
    if j == len(unique):
        return float(np.nextafter(unique[-1], np.inf))
    low, high = unique[j - 1], unique[j]
    # The midpoint, kept strictly above ``low`` where the two are adjacent floats.
    return float(max(low + (high - low) / 2, np.nextafter(low, np.inf)))


def ten_fold_accuracy(scores: ArrayLike, same: ArrayLike, folds: ArrayLike) -> TenFold:
    """Mean and standard deviation of the held-out fold accuracies, and each fold's threshold, which is
    learnt on the other folds only."""
    s, y, f = _check(scores, same, folds)
    thresholds = {int(k): best_threshold(s[f != k], y[f != k]) for k in np.unique(f)}
    accuracies = list(fold_accuracies(s, y, f, thresholds).values())
    return TenFold(float(np.mean(accuracies)), float(np.std(accuracies, ddof=1)), thresholds)


def fold_accuracies(
    scores: ArrayLike, same: ArrayLike, folds: ArrayLike, thresholds: dict[int, float]
) -> dict[int, float]:
    """Each fold's accuracy at its own threshold from ``thresholds``."""
    s, y, f = _check(scores, same, folds)
    return {k: accuracy_at(s[f == k], y[f == k], t) for k, t in sorted(thresholds.items())}


def roc(scores: ArrayLike, same: ArrayLike) -> tuple[Floats, Floats, Floats]:
    """(FAR, TAR, thresholds), one point per distinct score from the highest down, after a first point
    (0, 0) at threshold +inf."""
    s, y = _check_pair(scores, same)
    n_mated, n_nonmated = int(y.sum()), int((~y).sum())
    if n_mated == 0 or n_nonmated == 0:
        raise ValueError(f"a ROC needs mated and non-mated pairs, got {n_mated} and {n_nonmated}")
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last index of each distinct score
    tar = np.r_[0.0, np.cumsum(y)[last] / n_mated]
    far = np.r_[0.0, np.cumsum(~y)[last] / n_nonmated]
    return far, tar, np.r_[np.inf, s[last]]


def det(scores: ArrayLike, same: ArrayLike) -> tuple[Floats, Floats, Floats]:
    """(FMR, FNMR, thresholds): the ROC's points as a DET curve plots them (FNMR = 1 - TAR)."""
    far, tar, thresholds = roc(scores, same)
    return far, 1.0 - tar, thresholds


def tar_at_far(scores: ArrayLike, same: ArrayLike, far: float) -> tuple[float, float]:
    """(TAR, threshold) at the lowest threshold that accepts at most ``far`` of the non-mated pairs."""
    if not 0.0 <= far < 1.0:
        raise ValueError(f"target FAR must be in [0, 1), got {far}")
    s, y = _check_pair(scores, same)
    nonmated = np.sort(s[~y])[::-1]
    if len(nonmated) == 0 or not y.any():
        raise ValueError("TAR at FAR needs mated and non-mated pairs")
    allowed = math.floor(far * len(nonmated))
    threshold = float(np.nextafter(nonmated[allowed], np.inf))  # just above the first one not allowed
    return float(np.mean(s[y] >= threshold)), threshold


def _check_pair(scores: ArrayLike, same: ArrayLike) -> tuple[Floats, Bools]:
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(same)
    if s.ndim != 1 or y.shape != s.shape:
        raise ValueError(f"expected scores and same as two 1-D arrays of one length, got {s.shape} and {y.shape}")
    if y.dtype != np.bool_:
        if not np.isin(y, (0, 1)).all():
            raise ValueError("same must hold only True/False (or 1/0)")
        y = y.astype(bool)
    if len(s) == 0:
        raise ValueError("no pairs")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite")
    return s, y


def _check(scores: ArrayLike, same: ArrayLike, folds: ArrayLike) -> tuple[Floats, Bools, NDArray[Any]]:
    s, y = _check_pair(scores, same)
    f = np.asarray(folds)
    if f.shape != s.shape:
        raise ValueError(f"expected folds of shape {s.shape} (one per pair), got {f.shape}")
    if len(np.unique(f)) < 2:
        raise ValueError("cross-validation needs at least two folds")
    return s, y, f
