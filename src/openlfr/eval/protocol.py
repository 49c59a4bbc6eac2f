"""Open-set identification as NIST FRTE (and NPL) measure it: a gallery, mated and non-mated probes.

The split: identities with at least two images are candidates for the watchlist; ``n`` of them are
drawn (seeded), each enrolled with its first image (in file-name order), its other images becoming
*mated* probes. With ``enrol_images`` k > 1, each enrols from its first min(k, n - 1) images (a fused
template, as ``match.enrol`` makes it), so that every candidate keeps at least one mated probe.
Every image of an identity not enrolled is a *non-mated* probe (LFW's one-image
people, LFW people not drawn, and every FairFace and UTKFace face).

The measures, for a threshold T (on the similarity scale):
- FPIR(T): share of non-mated searches whose best score reaches T (a false alert);
- FNIR(T): share of mated searches whose mate is not the top candidate with a score reaching T
  (a miss); TPIR = 1 - FNIR;
- FNIR at a target FPIR: T is set on the non-mated best scores so that FPIR(T) <= target;
- rank-k hit rate: share of mated searches whose mate is among the top k, whatever the score
  (retrospective, investigative use, where a person reviews a candidate list).

With score normalisation, a *cohort* is set aside first (``cohort_split``): a fixed, seeded half of
the identities that can never be on the watchlist (every FairFace and UTKFace face, LFW's one-image
people), chosen by a hash of the identity, the same for every watchlist size. Cohort images are
never probes, never enrolled, and the rest is split as above.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from openlfr.eval.datasets import Sample
from openlfr.match.calibrate import threshold_at_fpir, wilson_interval
from openlfr.match.similarity import euclidean_distances, similarity_from_distance

__all__ = [
    "CohortSplit",
    "OpenSetSplit",
    "Searches",
    "cohort_split",
    "fnir",
    "fpir",
    "open_set_split",
    "rank_hit_rate",
    "search",
    "threshold_at_fpir",
    "wilson_interval",
]


@dataclass(frozen=True, slots=True)
class OpenSetSplit:
    gallery: list[Sample]
    mated: list[Sample]
    nonmated: list[Sample]
    more_enrolment: tuple[Sample, ...] = ()
    """Enrolment images after each identity's first (``enrol_images`` > 1), fused with it."""


def open_set_split(samples: list[Sample], n_enrolled: int | None, seed: int, enrol_images: int = 1) -> OpenSetSplit:
    """Enrol ``n_enrolled`` identities with two or more images (all of them if None), each from its first
    min(``enrol_images``, n - 1) images; see the module doc."""
    if enrol_images < 1:
        raise ValueError(f"enrol_images must be 1 or more, got {enrol_images}")
    by_identity: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_identity[s.identity].append(s)
    multi = sorted(i for i, group in by_identity.items() if len(group) >= 2)
    rng = random.Random(seed)
    chosen = set(multi if n_enrolled is None else rng.sample(multi, min(n_enrolled, len(multi))))
    gallery, mated, nonmated, more = [], [], [], []
    for identity, unsorted in by_identity.items():
        group = sorted(unsorted, key=lambda s: str(s.path))
        if identity in chosen:
            k = min(enrol_images, len(group) - 1)
            gallery.append(group[0])
            more.extend(group[1:k])
            mated.extend(group[k:])
        else:
            nonmated.extend(group)
    return OpenSetSplit(sorted(gallery, key=lambda s: s.identity), mated, nonmated, tuple(more))


@dataclass(frozen=True, slots=True)
class CohortSplit:
    cohort: list[Sample]
    rest: list[Sample]


def cohort_split(samples: list[Sample], seed: int) -> CohortSplit:
    """Half of the identities that are never watchlist candidates (one image in their set), chosen by
    the parity of SHA-256(seed, set, identity): stable whatever else is in ``samples``."""
    images: dict[tuple[str, str], int] = defaultdict(int)
    for s in samples:
        images[s.dataset, s.identity] += 1

    def in_cohort(s: Sample) -> bool:
        digest = hashlib.sha256(f"{seed}|{s.dataset}|{s.identity}".encode()).digest()
        return images[s.dataset, s.identity] == 1 and digest[0] % 2 == 0

    cohort = [s for s in samples if in_cohort(s)]
    chosen = {id(s) for s in cohort}
    return CohortSplit(cohort, [s for s in samples if id(s) not in chosen])


def distance_scorer(gallery: NDArray[np.float32]) -> Callable[[NDArray[np.float32]], NDArray[np.float64]]:
    """The default scores: similarity from Euclidean distance (version-1 watchlists)."""
    return lambda probes: similarity_from_distance(euclidean_distances(probes, gallery))


@dataclass(frozen=True, slots=True)
class Searches:
    """Results of searching probes against a gallery: what every measure is computed from."""

    mated_mate_score: NDArray[np.float64]
    """For each mated probe, the score of its own identity's template."""
    mated_mate_rank: NDArray[np.int64]
    """For each mated probe, the rank (1 = best) of its mate among all gallery identities."""
    nonmated_top: NDArray[np.float64]
    """For each non-mated probe, its best score against the gallery."""


def search(
    gallery: NDArray[np.float32],
    gallery_ids: list[str],
    mated: NDArray[np.float32],
    mated_ids: list[str],
    nonmated: NDArray[np.float32],
    chunk: int = 2048,
    scorer: Callable[[NDArray[np.float32]], Callable[[NDArray[np.float32]], NDArray[np.float64]]] = distance_scorer,
) -> Searches:
    """Exhaustive search of every probe against every gallery template (one template per identity);
    ``scorer(gallery)`` gives the function from probes to their P x G similarities."""
    index = {identity: i for i, identity in enumerate(gallery_ids)}
    score = scorer(gallery)
    mate_score, mate_rank, top = [], [], []
    for start in range(0, len(mated), chunk):
        sims = score(mated[start : start + chunk])
        cols = np.array([index[i] for i in mated_ids[start : start + chunk]])
        own = sims[np.arange(len(cols)), cols]
        mate_score.append(own)
        mate_rank.append(1 + np.sum(sims > own[:, None], axis=1))
    for start in range(0, len(nonmated), chunk):
        sims = score(nonmated[start : start + chunk])
        top.append(sims.max(axis=1))
    empty = np.zeros(0)
    return Searches(
        np.concatenate(mate_score) if mate_score else empty,
        np.concatenate(mate_rank).astype(np.int64) if mate_rank else empty.astype(np.int64),
        np.concatenate(top) if top else empty,
    )


def fpir(s: Searches, threshold: float) -> float:
    return float(np.mean(s.nonmated_top >= threshold)) if len(s.nonmated_top) else float("nan")


def fnir(s: Searches, threshold: float) -> float:
    if not len(s.mated_mate_score):
        return float("nan")
    hit = (s.mated_mate_rank == 1) & (s.mated_mate_score >= threshold)
    return float(1.0 - np.mean(hit))


def rank_hit_rate(s: Searches, k: int) -> float:
    return float(np.mean(s.mated_mate_rank <= k)) if len(s.mated_mate_rank) else float("nan")
