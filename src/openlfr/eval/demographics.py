"""Error rates by demographic group, as NPL's equitability study reports them.

A *family* is one label of one data set, e.g. ``fairface race`` or ``utkface age_band``: groups are
compared only within a family, because the sets differ in their labels (FairFace has 7 race groups,
UTKFace 5) and in their photographs, which would otherwise be mistaken for group differences.

- FPIR per group: each non-mated probe counts in the groups of its *own* labels;
- FNIR per group: each mated probe counts in the groups of its own labels (LFW gives sex only);
- FMR per group (1:1): impostor pairs drawn *within* the group (both faces from it), sampled with
  the seed; the share whose similarity reaches the threshold.

Each rate has its count and a Wilson 95% interval. The disparity of a family is the ratio of its
highest to its lowest rate (undefined where the lowest is 0 of n; then the highest is divided by
the lowest group's upper bound, a conservative floor on the ratio). Two groups differ *significantly*
when their Wilson 95% intervals do not overlap: a conservative rule (non-overlap implies p < 0.01 in
a two-proportion test); the two-sided p of the two-proportion z-test of highest against lowest is
given beside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from openlfr.eval.datasets import Sample
from openlfr.eval.identify import Rate, Vector, rate
from openlfr.match import normalise as norm
from openlfr.match.scoring import Scoring
from openlfr.match.similarity import similarity_from_distance

LABELS = ("sex", "race", "sex_race", "age_band")
FPIR_SWEEP = (1e-1, 1e-2, 1e-3)
MAX_PAIRS = 20_000

Families = Mapping[str, Sequence[str | None]]
Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class GroupRate:
    group: str
    rate: Rate


@dataclass(frozen=True, slots=True)
class Disparity:
    """One measure of one family at one threshold: every group's rate, and how far apart they are."""

    family: str
    measure: str
    """"FPIR", "FNIR" or "FMR"."""
    threshold: float
    groups: list[GroupRate]
    label: str | None = None
    """How the threshold was set, where it is not one of the sweep's (e.g. "FMR 0.001 pooled")."""

    def _ordered(self) -> list[GroupRate]:
        """Lowest rate first; among equal rates, the larger group first (the better measured)."""
        return sorted(self.groups, key=lambda g: (g.rate.value, -g.rate.n))

    @property
    def highest(self) -> GroupRate:
        return self._ordered()[-1]

    @property
    def lowest(self) -> GroupRate:
        return self._ordered()[0]

    @property
    def ratio(self) -> float | None:
        """Highest over lowest rate; None where the lowest is 0 (see ``ratio_floor``)."""
        low = self.lowest.rate
        return self.highest.rate.value / low.value if low.k else None

    @property
    def ratio_floor(self) -> float:
        """Highest rate over the lowest group's Wilson upper bound: the ratio is at least about this."""
        high = self.lowest.rate.high
        return self.highest.rate.value / high if high else float("nan")

    @property
    def ratio_range(self) -> tuple[float, float]:
        """The ratio's range over the two groups' Wilson intervals (highest's low over lowest's high, and
        highest's high over lowest's low, infinite where that is 0): a conservative interval for it."""
        hi, lo = self.highest.rate, self.lowest.rate
        return (hi.low / lo.high if lo.high else float("nan"), hi.high / lo.low if lo.low else float("inf"))

    @property
    def significant(self) -> list[tuple[str, str]]:
        """Pairs of groups (higher first) whose Wilson 95% intervals do not overlap."""
        ordered = sorted(self.groups, key=lambda g: -g.rate.value)
        return [
            (a.group, b.group) for i, a in enumerate(ordered) for b in ordered[i + 1 :] if not a.rate.overlaps(b.rate)
        ]

    @property
    def p_value(self) -> float:
        """Two-proportion z-test, highest against lowest group (two-sided)."""
        return two_proportion_p(self.highest.rate, self.lowest.rate)

    def to_json(self) -> dict[str, object]:
        return {
            "family": self.family,
            "measure": self.measure,
            "threshold": self.threshold,
            "label": self.label,
            "groups": {g.group: g.rate.to_json() for g in self.groups},
            "highest": self.highest.group,
            "lowest": self.lowest.group,
            "ratio": self.ratio,
            "ratio_floor": self.ratio_floor,
            "ratio_range": self.ratio_range,
            "significant_pairs": self.significant,
            "p_value_highest_vs_lowest": self.p_value,
        }


def two_proportion_p(a: Rate, b: Rate) -> float:
    """Two-sided p-value of the pooled two-proportion z-test of a.k/a.n against b.k/b.n."""
    if not a.n or not b.n:
        return float("nan")
    pooled = (a.k + b.k) / (a.n + b.n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n))
    if se == 0:
        return 1.0
    z = (a.value - b.value) / se
    return math.erfc(abs(z) / math.sqrt(2))


def families(samples: Sequence[Sample], labels: Sequence[str] = LABELS) -> dict[str, list[str | None]]:
    """``"<data set> <label>"`` -> each sample's value of that label (None outside the set or unlabelled),
    for every set and label that has at least two groups among ``samples``."""
    out: dict[str, list[str | None]] = {}
    for dataset in sorted({s.dataset for s in samples}):
        for label in labels:
            values = [s.label(label) if s.dataset == dataset else None for s in samples]
            if len({v for v in values if v is not None}) >= 2:
                out[f"{dataset} {label}"] = values
    return out


def group_rates(events: NDArray[np.bool_], labels: Sequence[str | None], min_n: int = 1) -> list[GroupRate]:
    """The rate of ``events`` within each group of ``labels`` (groups with fewer than ``min_n`` left out)."""
    by_group: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        if label is not None:
            by_group.setdefault(label, []).append(i)
    return [
        GroupRate(group, rate(int(events[idx].sum()), len(idx)))
        for group, idx in sorted(by_group.items())
        if len(idx) >= min_n
    ]


def by_group(
    measure: str, events_at: Mapping[float, NDArray[np.bool_]], fams: Families, min_n: int = 1
) -> list[Disparity]:
    """One Disparity per threshold and family, from the events (alerts, misses...) at each threshold."""
    out = []
    for threshold, events in events_at.items():
        for family, labels in fams.items():
            groups = group_rates(events, labels, min_n)
            if len(groups) >= 2:
                out.append(Disparity(family, measure, threshold, groups))
    return out


def fpir_by_group(nonmated_top: NDArray[np.float64], fams: Families, thresholds: Sequence[float]) -> list[Disparity]:
    """FPIR per group of the non-mated probes' own labels (``fams`` aligned with ``nonmated_top``)."""
    return by_group("FPIR", {t: nonmated_top >= t for t in thresholds}, fams)


def fnir_by_group(
    mate_score: NDArray[np.float64], mate_rank: NDArray[np.int64], fams: Families, thresholds: Sequence[float]
) -> list[Disparity]:
    """FNIR per group of the mated probes' own labels: a miss is a mate not first or below threshold."""
    return by_group("FNIR", {t: ~((mate_rank == 1) & (mate_score >= t)) for t in thresholds}, fams)


def impostor_pairs(n: int, max_pairs: int, rng: np.random.Generator) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Index pairs i < j among ``n`` items: all of them, or ``max_pairs`` distinct ones drawn uniformly."""
    total = n * (n - 1) // 2
    if total <= max_pairs:
        i, j = np.triu_indices(n, k=1)
        return i.astype(np.int64), j.astype(np.int64)
    keys = np.zeros(0, dtype=np.int64)
    while len(keys) < max_pairs:
        a, b = rng.integers(0, n, size=(2, 2 * max_pairs))
        a, b = np.minimum(a, b)[a != b], np.maximum(a, b)[a != b]
        keys = np.unique(np.concatenate([keys, a * n + b]))
    keys = np.sort(rng.choice(keys, size=max_pairs, replace=False))
    return keys // n, keys % n


def within_group_fmr(
    vectors: Vector,
    identities: Sequence[str],
    fams: Families,
    thresholds: Sequence[float],
    max_pairs: int = MAX_PAIRS,
    seed: int = 0,
    scoring: Scoring | None = None,
    fmrs: Sequence[float] = (),
) -> list[Disparity]:
    """1:1 false-match rate per group: impostor pairs within each group (at most ``max_pairs`` each),
    at each of ``thresholds`` and, per family, at the threshold where the FMR of the family's pairs
    pooled is each of ``fmrs`` (the same overall FMR for every method: an operating point to compare
    group spreads at). With ``scoring``, pairs are scored as a search would score them."""
    rng = np.random.default_rng(seed)
    pair_score = _pair_scorer(vectors, scoring)
    scores: dict[tuple[str, str], NDArray[np.float64]] = {}
    for family, labels in fams.items():
        for group in sorted({v for v in labels if v is not None}):
            idx = np.array([k for k, v in enumerate(labels) if v == group], dtype=np.int64)
            i, j = impostor_pairs(len(idx), max_pairs, rng)
            a, b = idx[i], idx[j]
            keep = np.array([identities[x] != identities[y] for x, y in zip(a, b, strict=True)], dtype=bool)
            scores[family, group] = pair_score(a[keep], b[keep])
    out = []
    for fmr in fmrs:
        for family in fams:
            pooled = np.concatenate([s for (f, _), s in scores.items() if f == family] or [np.zeros(0)])
            if not len(pooled):
                continue
            t = float(np.quantile(pooled, 1.0 - fmr, method="higher"))
            t = float(np.nextafter(t, 1.0))  # at most fmr of the pooled pairs reach it
            groups = [GroupRate(g, rate(int(np.sum(s >= t)), len(s))) for (f, g), s in scores.items() if f == family]
            if len(groups) >= 2:
                out.append(Disparity(family, "FMR", t, groups, f"FMR {fmr:g} pooled"))
    for threshold in thresholds:
        for family in fams:
            groups = [
                GroupRate(g, rate(int(np.sum(s >= threshold)), len(s))) for (f, g), s in scores.items() if f == family
            ]
            if len(groups) >= 2:
                out.append(Disparity(family, "FMR", threshold, groups))
    return out


def _pair_scorer(vectors: Vector, scoring: Scoring | None) -> Callable[[NDArray[np.int64], NDArray[np.int64]], Floats]:
    """Similarity of pairs (a[i], b[i]) of rows of ``vectors``: from distance, or normalised (b the reference)."""
    if scoring is None:
        return lambda a, b: similarity_from_distance(np.linalg.norm(vectors[a] - vectors[b], axis=1))
    gallery = scoring.gallery(vectors)

    def score(a: NDArray[np.int64], b: NDArray[np.int64]) -> Floats:
        raw = np.einsum("ij,ij->i", gallery.vectors[a], gallery.vectors[b]).astype(np.float64)
        s = norm.pair_scores(gallery.stats[a], gallery.stats[b], raw, scoring.config.method)
        if scoring.fair is not None:
            s = s - 0.5 * (scoring.fair.offsets[gallery.clusters[a]] + scoring.fair.offsets[gallery.clusters[b]])
        return scoring.similarity(s)

    return score
