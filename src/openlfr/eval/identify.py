"""Open-set 1:N identification figures as NIST FRTE reports them, from the searches of ``protocol``.

For a watchlist of N identities (see ``protocol.open_set_split``) the figures are:
- FNIR (and TPIR = 1 - FNIR) at a target FPIR: the threshold is set on the non-mated best scores
  (``threshold_at_fpir``); a target below 1 / (number of non-mated probes) *cannot be measured* on
  the data (no threshold distinguishes it from zero), and is reported as such, never as a figure;
- FPIR and FNIR at given thresholds;
- rank-k hit rates (the mate among the top k, whatever its score);
- the DET curve: FNIR against FPIR over every threshold the non-mated scores give.
Every rate carries its count and a Wilson 95% interval. FPIR grows with N: each non-mated probe has
N chances to reach the threshold, so figures hold only for the watchlist size they were measured at.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from openlfr.eval.datasets import Sample
from openlfr.eval.protocol import (
    OpenSetSplit,
    Searches,
    distance_scorer,
    search,
    threshold_at_fpir,
    wilson_interval,
)
from openlfr.match.enrol import fuse
from openlfr.match.scoring import Scoring

FPIR_TARGETS = (1e-2, 1e-3, 1e-4)
THRESHOLDS = (0.5, 0.9, 0.99, 0.999)
RANKS = (1, 5, 10, 20)
WATCHLIST_SIZES = (100, 500, 1680)

Vector = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Rate:
    """``k`` events in ``n`` trials, with the Wilson 95% interval [low, high]."""

    k: int
    n: int
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.k / self.n if self.n else float("nan")

    def overlaps(self, other: Rate) -> bool:
        return self.low <= other.high and other.low <= self.high

    def to_json(self) -> dict[str, float | int]:
        return {"k": self.k, "n": self.n, "value": self.value, "low": self.low, "high": self.high}


def rate(k: int, n: int) -> Rate:
    low, high = wilson_interval(int(k), int(n))
    # exact bounds at the ends (the formula leaves rounding residues such as 4e-19 for 0 of n)
    return Rate(int(k), int(n), 0.0 if k == 0 else low, 1.0 if k == n else high)


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    threshold: float
    fpir: Rate
    fnir: Rate

    @property
    def tpir(self) -> float:
        return 1.0 - self.fnir.value


@dataclass(frozen=True, slots=True)
class AtTarget:
    """The operating point for a target FPIR, or None where the target is below 1 / non-mated probes."""

    target_fpir: float
    point: OperatingPoint | None


@dataclass(frozen=True, slots=True)
class IdentifyResult:
    watchlist_size: int
    mated: int
    nonmated: int
    at_targets: list[AtTarget]
    at_thresholds: list[OperatingPoint]
    rank_hits: dict[int, Rate]

    @property
    def min_measurable_fpir(self) -> float:
        return 1.0 / self.nonmated if self.nonmated else float("nan")

    def to_json(self) -> dict[str, object]:
        def point(p: OperatingPoint) -> dict[str, object]:
            return {"threshold": p.threshold, "fpir": p.fpir.to_json(), "fnir": p.fnir.to_json(), "tpir": p.tpir}

        return {
            "watchlist_size": self.watchlist_size,
            "mated_probes": self.mated,
            "nonmated_probes": self.nonmated,
            "min_measurable_fpir": self.min_measurable_fpir,
            "at_target_fpir": [
                {"target_fpir": t.target_fpir, "measurable": t.point is not None} | (point(t.point) if t.point else {})
                for t in self.at_targets
            ],
            "at_threshold": [point(p) for p in self.at_thresholds],
            "rank_hit_rate": {str(k): r.to_json() for k, r in self.rank_hits.items()},
        }


def measurable(target_fpir: float, nonmated: int) -> bool:
    """Whether ``nonmated`` probes can measure ``target_fpir``: at least one false alert must be allowed."""
    return nonmated > 0 and target_fpir * nonmated >= 1.0


def operating_point(s: Searches, threshold: float) -> OperatingPoint:
    false_alerts = int(np.sum(s.nonmated_top >= threshold))
    hits = int(np.sum((s.mated_mate_rank == 1) & (s.mated_mate_score >= threshold)))
    mated = len(s.mated_mate_score)
    return OperatingPoint(threshold, rate(false_alerts, len(s.nonmated_top)), rate(mated - hits, mated))


def at_target(s: Searches, target_fpir: float) -> AtTarget:
    if not measurable(target_fpir, len(s.nonmated_top)):
        return AtTarget(target_fpir, None)
    return AtTarget(target_fpir, operating_point(s, threshold_at_fpir(s.nonmated_top, target_fpir)))


def measure(
    s: Searches,
    watchlist_size: int,
    targets: Sequence[float] = FPIR_TARGETS,
    thresholds: Sequence[float] = THRESHOLDS,
    ranks: Sequence[int] = RANKS,
) -> IdentifyResult:
    mated = len(s.mated_mate_rank)
    return IdentifyResult(
        watchlist_size=watchlist_size,
        mated=mated,
        nonmated=len(s.nonmated_top),
        at_targets=[at_target(s, t) for t in targets],
        at_thresholds=[operating_point(s, t) for t in thresholds],
        rank_hits={k: rate(int(np.sum(s.mated_mate_rank <= k)), mated) for k in ranks},
    )


def det_curve(s: Searches) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(thresholds, FPIR, FNIR) at each distinct non-mated best score, highest threshold first."""
    thresholds = np.unique(s.nonmated_top)[::-1]
    top = np.sort(s.nonmated_top)
    fpir = (len(top) - np.searchsorted(top, thresholds, side="left")) / max(len(top), 1)
    hits = np.sort(s.mated_mate_score[s.mated_mate_rank == 1])
    tpir = (len(hits) - np.searchsorted(hits, thresholds, side="left")) / max(len(s.mated_mate_score), 1)
    return thresholds, fpir.astype(np.float64), (1.0 - tpir).astype(np.float64)


@dataclass(frozen=True, slots=True)
class SearchedSplit:
    """A split and its searches, aligned: ``searches.mated_*[i]`` is ``split.mated[i]``, and so on.

    An unreadable probe is kept and scored as a failure (a non-mated one raises no alert, a mated one
    is missed); an identity whose enrolment image is unreadable is left out, with its probes. Images
    in ``left_out`` (e.g. those in which no face was detected) are removed after the split, so that the
    split itself does not change: a probe is dropped, an enrolment image takes its identity with it."""

    split: OpenSetSplit
    searches: Searches
    unreadable_probes: int
    unenrollable: int
    left_out: int = 0


def normalised_scorer(scoring: Scoring) -> Callable[[Vector], Callable[[Vector], NDArray[np.float64]]]:
    """Scores normalised by ``scoring`` (gallery statistics computed once), as similarities."""

    def for_gallery(gallery: Vector) -> Callable[[Vector], NDArray[np.float64]]:
        prepared = scoring.gallery(gallery)
        return lambda probes: scoring.similarity(scoring.scores(probes, prepared))

    return for_gallery


def _enrolled(
    gallery: Sequence[Sample],
    more: Sequence[Sample],
    templates: Mapping[Path, Vector | None],
    stack: Callable[[Sequence[Path]], Vector],
) -> Vector:
    """One template per gallery identity: its image's, or fused (``match.enrol.fuse``) with its others
    (``more``: only enrolled identities' images, so the gallery is not empty when ``more`` is not)."""
    by_identity: dict[str, list[Path]] = {}
    for s in more:
        by_identity.setdefault(s.identity, []).append(s.path)
    if not by_identity:
        return stack([g.path for g in gallery])
    return np.stack([fuse(stack([g.path, *by_identity.get(g.identity, [])])) for g in gallery]).astype(np.float32)


def search_split(
    split: OpenSetSplit,
    templates: Mapping[Path, Vector | None],
    left_out: Collection[Path] = frozenset(),
    scoring: Scoring | None = None,
) -> SearchedSplit:
    """Search every probe of ``split`` against its gallery, with templates looked up by image path
    (scores normalised by ``scoring`` if given)."""
    listed = [*split.gallery, *split.mated, *split.nonmated]
    dropped = {s.path for s in listed if s.path in left_out}
    gallery = [g for g in split.gallery if g.path not in dropped and templates.get(g.path) is not None]
    enrolled = {g.identity for g in gallery}
    mated = [m for m in split.mated if m.identity in enrolled and m.path not in dropped]
    nonmated = [p for p in split.nonmated if p.path not in dropped]
    more = tuple(
        s
        for s in split.more_enrolment
        if s.identity in enrolled and s.path not in dropped and templates.get(s.path) is not None
    )
    split_kept = OpenSetSplit(gallery, mated, nonmated, more)
    m_ok = np.array([templates.get(m.path) is not None for m in mated], dtype=bool)
    n_ok = np.array([templates.get(p.path) is not None for p in nonmated], dtype=bool)

    dim = next((len(v) for v in templates.values() if v is not None), 128)

    def stack(paths: Sequence[Path]) -> Vector:
        vectors = [v for p in paths if (v := templates[p]) is not None]
        return np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32)

    readable_mated = [m for m, good in zip(mated, m_ok, strict=True) if good]
    found = search(
        _enrolled(gallery, more, templates, stack),
        [g.identity for g in gallery],
        stack([m.path for m in readable_mated]),
        [m.identity for m in readable_mated],
        stack([p.path for p, good in zip(nonmated, n_ok, strict=True) if good]),
        scorer=distance_scorer if scoring is None else normalised_scorer(scoring),
    )
    mate_score = np.zeros(len(mated))
    mate_rank = np.full(len(mated), len(gallery) + 1, dtype=np.int64)
    top = np.zeros(len(nonmated))
    mate_score[m_ok], mate_rank[m_ok], top[n_ok] = found.mated_mate_score, found.mated_mate_rank, found.nonmated_top
    return SearchedSplit(
        split_kept,
        Searches(mate_score, mate_rank, top),
        unreadable_probes=int((~m_ok).sum() + (~n_ok).sum()),
        unenrollable=sum(1 for g in split.gallery if g.path not in dropped and templates.get(g.path) is None),
        left_out=len(dropped),
    )
