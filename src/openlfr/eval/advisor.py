"""The threshold advisor: the threshold for a deployment's false-alert budget, with what to expect.

Given the non-mated best scores measured at the deployment's watchlist size (``protocol.search`` of
faces of people who are not on it against a gallery of that many identities) and a target FPIR
(false alerts allowed per face seen, e.g. 1 in 10,000 faces), the advisor recommends the lowest
threshold at which at most that share of the measured faces alert (``threshold_at_fpir``), and states:

- the FPIR measured there on those probes, ``k`` of ``n``, with its Wilson 95% interval: where the
  true FPIR at that threshold lies;
- the false alerts to expect among ``faces_per_deployment`` faces, and the 95% *prediction* interval
  of the FPIR a deployment (or any fresh set) of that many faces will measure. It is exact, not
  approximate: the threshold sits just above the (k+1)-th highest of n non-mated scores, so the true
  FPIR there is distributed Beta(k+1, n-k) whatever the score distribution (order statistics), and
  the count among F new faces is Binomial(F, FPIR): together a beta-binomial, whose 2.5% and 97.5%
  quantiles are the interval;
- the 95% bootstrap interval of the threshold itself (non-mated probes resampled with the seed): how
  much the recommendation would move on another sample of faces;
- the TPIR to expect (mated probes whose mate is first and reaches the threshold), and each group's
  FPIR there.
A target below 1 / n cannot be measured on n probes: the advice then says so (``measurable`` False)
and its threshold is just above the highest score seen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from openlfr.eval.demographics import Disparity, Families, fpir_by_group
from openlfr.eval.identify import Rate, measurable, rate
from openlfr.eval.protocol import Searches, threshold_at_fpir

BOOTSTRAP = 1000


@dataclass(frozen=True, slots=True)
class Advice:
    watchlist_size: int
    target_fpir: float
    faces_per_deployment: int
    threshold: float
    measurable: bool
    """False where the target is below 1 / (non-mated probes): then no figure supports it."""
    fpir: Rate
    """False alerts among the non-mated probes at ``threshold``, with the Wilson 95% interval."""
    alerts_expected: float
    """FPIR x faces per deployment (every face taken to be of someone not on the watchlist)."""
    alerts_interval: tuple[int, int]
    """95% prediction interval of the false alerts among ``faces_per_deployment`` faces (beta-binomial)."""
    threshold_interval: tuple[float, float]
    """95% bootstrap percentile interval of the threshold."""
    tpir: Rate | None
    """Mated probes found (first, at or above the threshold); None without mated probes."""
    groups: list[Disparity]
    bootstrap: int
    seed: int

    @property
    def fpir_interval(self) -> tuple[float, float]:
        """95% prediction interval of the FPIR measured over ``faces_per_deployment`` fresh faces."""
        low, high = self.alerts_interval
        return (low / self.faces_per_deployment, high / self.faces_per_deployment)

    def to_json(self) -> dict[str, object]:
        return {
            "watchlist_size": self.watchlist_size,
            "target_fpir": self.target_fpir,
            "faces_per_deployment": self.faces_per_deployment,
            "threshold": self.threshold,
            "measurable": self.measurable,
            "fpir_on_probes": self.fpir.to_json(),
            "fpir_prediction_interval": self.fpir_interval,
            "alerts_expected": self.alerts_expected,
            "alerts_prediction_interval": self.alerts_interval,
            "threshold_bootstrap_interval": self.threshold_interval,
            "tpir": self.tpir.to_json() if self.tpir else None,
            "groups": [g.to_json() for g in self.groups],
            "bootstrap": self.bootstrap,
            "seed": self.seed,
        }


def advise(
    searches: Searches,
    target_fpir: float,
    faces_per_deployment: int,
    watchlist_size: int,
    families: Families | None = None,
    seed: int = 0,
    bootstrap: int = BOOTSTRAP,
) -> Advice:
    """Recommend a threshold for ``target_fpir`` from ``searches`` (see the module docstring);
    ``families`` (aligned with the non-mated probes) adds each group's FPIR at the threshold."""
    if not 0.0 < target_fpir < 1.0:
        raise ValueError(f"target FPIR must be between 0 and 1, got {target_fpir}")
    if faces_per_deployment < 1:
        raise ValueError(f"faces per deployment must be at least 1, got {faces_per_deployment}")
    top = searches.nonmated_top
    n = len(top)
    if n == 0:
        raise ValueError("no non-mated probes to set a threshold on")
    threshold = threshold_at_fpir(top, target_fpir)
    k = int(np.sum(top >= threshold))
    mated = len(searches.mated_mate_score)
    hits = int(np.sum((searches.mated_mate_rank == 1) & (searches.mated_mate_score >= threshold)))
    return Advice(
        watchlist_size=watchlist_size,
        target_fpir=target_fpir,
        faces_per_deployment=faces_per_deployment,
        threshold=threshold,
        measurable=measurable(target_fpir, n),
        fpir=rate(k, n),
        alerts_expected=k / n * faces_per_deployment,
        alerts_interval=beta_binomial_interval(faces_per_deployment, k + 1.0, float(n - k)),
        threshold_interval=bootstrap_threshold(top, target_fpir, bootstrap, seed),
        tpir=rate(hits, mated) if mated else None,
        groups=fpir_by_group(top, families, [threshold]) if families else [],
        bootstrap=bootstrap,
        seed=seed,
    )


def beta_binomial_interval(trials: int, a: float, b: float, level: float = 0.95) -> tuple[int, int]:
    """Equal-tailed ``level`` interval of a beta-binomial count (``trials``, Beta(a, b) success rate)."""
    tail = (1.0 - level) / 2
    # log P(K = 0) = log B(a, trials + b) - log B(a, b); then P(K = j + 1) / P(K = j) step by step.
    log_p = math.lgamma(trials + b) + math.lgamma(a + b) - math.lgamma(b) - math.lgamma(trials + a + b)
    cdf, low = 0.0, None
    for j in range(trials + 1):
        cdf += math.exp(log_p)
        if low is None and cdf >= tail:
            low = j
        if cdf >= 1.0 - tail:
            return (low if low is not None else j, j)
        if j < trials:
            log_p += math.log((trials - j) * (j + a)) - math.log((j + 1) * (trials - j - 1 + b))
    return (low if low is not None else trials, trials)


def bootstrap_threshold(top: np.ndarray, target_fpir: float, resamples: int, seed: int) -> tuple[float, float]:
    """95% percentile interval of ``threshold_at_fpir`` over resamples (with replacement) of ``top``."""
    if resamples < 1:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    found = [threshold_at_fpir(top[rng.integers(0, len(top), len(top))], target_fpir) for _ in range(resamples)]
    low, high = np.quantile(found, [0.025, 0.975])
    return (float(low), float(high))
