"""Better templates, measured: several enrolment images per subject (kept apart, fused, both), quality
weighting of the fused template, and embedding variants (mirror and jitter test-time augmentation,
68-point alignment) on the enrolment side only or on both sides.

The split (``template_split``), fixed by the seed and the same for every variant: identities with at
least ``min_images`` images in which a face was detected are the watchlist candidates (``identities``
of them drawn, or all); each enrols from its first ``enrol_images`` such images (in file-name order)
and is searched for by its next ``probes_per_identity`` images (mated probes: the same probes whatever
the number of enrolment images). Every detected face of an identity that is not a candidate is a
non-mated probe (``nonmated`` of them drawn, or all). Images with no face detected are left out, as
enrolment and a live camera would.

A subject's score is its best template's (a fused template is one more template); scores are today's
Euclidean similarity (``match/similarity.py``), cosine similarity, or cosine normalised against a cohort
(``match/scoring.py``, as section 6 of EVALUATION.md). With a cohort, the split is made on what
``protocol.cohort_split`` leaves: cohort faces (a seeded half of the one-image identities) are never
probes and never enrolled, and every scoring is measured on the same probes. Figures: FNIR at target
FPIRs with Wilson 95% intervals (``identify.measure``), and the change between two ways on the same
probes with a paired bootstrap interval (``paired_difference``).
"""

from __future__ import annotations

import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from openlfr.analysis import FaceAnalyzer
from openlfr.config import Settings
from openlfr.eval import protocol
from openlfr.eval.datasets import Sample
from openlfr.eval.identify import IdentifyResult, Vector, measure, normalised_scorer
from openlfr.eval.protocol import Searches, distance_scorer
from openlfr.match.enrol import fuse
from openlfr.match.scoring import Scoring as Normaliser

Mode = Literal["separate", "fused", "both"]
Weighting = Literal["none", "quality"]
Scoring = Literal["euclidean", "cosine"]
FPIR_TARGETS = (1e-2, 1e-3)


@dataclass(frozen=True, slots=True)
class TemplateSplit:
    """Enrolment images per identity (best-first is file-name order), mated and non-mated probes."""

    enrol: dict[str, list[Sample]]
    mated: list[Sample]
    nonmated: list[Sample]

    def paths(self) -> list[Path]:
        return [s.path for group in self.enrol.values() for s in group] + [
            s.path for s in (*self.mated, *self.nonmated)
        ]


def template_split(
    samples: Sequence[Sample],
    usable: Callable[[Path], bool],
    seed: int,
    min_images: int = 4,
    enrol_images: int = 3,
    probes_per_identity: int = 2,
    identities: int | None = None,
    nonmated: int | None = None,
) -> TemplateSplit:
    """The split of the module docstring; ``usable`` says whether a face was detected in an image."""
    if enrol_images < 1 or probes_per_identity < 1 or min_images < enrol_images + 1:
        raise ValueError("need enrol_images >= 1, probes_per_identity >= 1, min_images > enrol_images")
    by_identity: dict[str, list[Sample]] = defaultdict(list)
    for s in sorted(samples, key=lambda s: str(s.path)):
        if usable(s.path):
            by_identity[s.identity].append(s)
    candidates = sorted(i for i, group in by_identity.items() if len(group) >= min_images)
    rng = random.Random(seed)
    chosen = sorted(candidates if identities is None else rng.sample(candidates, min(identities, len(candidates))))
    enrol = {i: by_identity[i][:enrol_images] for i in chosen}
    mated = [s for i in chosen for s in by_identity[i][enrol_images : enrol_images + probes_per_identity]]
    pool = set(candidates)
    others = [s for i, group in sorted(by_identity.items()) if i not in pool for s in group]
    if nonmated is not None:
        others = sorted(rng.sample(others, min(nonmated, len(others))), key=lambda s: str(s.path))
    return TemplateSplit(enrol, mated, others)


@dataclass(frozen=True, slots=True)
class Gallery:
    """Templates and, for each row, the identity it belongs to (several rows may share one)."""

    vectors: NDArray[np.float32]
    owners: list[str]


def build_gallery(
    split: TemplateSplit,
    vectors: Mapping[Path, Vector],
    k: int,
    mode: Mode = "separate",
    weighting: Weighting = "none",
    quality: Mapping[Path, float] | None = None,
) -> Gallery:
    """Each identity's templates from its first ``k`` enrolment images: one per image (``separate``),
    one fused (``fused``, quality-weighted if asked), or both."""
    rows: list[Vector] = []
    owners: list[str] = []
    for identity, group in split.enrol.items():
        chosen = group[:k]
        stack = np.stack([vectors[s.path] for s in chosen]).astype(np.float32)
        if mode in ("separate", "both") or len(chosen) == 1:
            rows.extend(stack)
            owners.extend([identity] * len(chosen))
        if mode in ("fused", "both") and len(chosen) > 1:
            weights = None
            if weighting == "quality":
                if quality is None:
                    raise ValueError("quality weighting needs each image's quality score")
                # A floor keeps a template whose quality reads 0 in the mean rather than dropping it.
                weights = np.array([max(quality[s.path], 0.05) for s in chosen])
            rows.append(fuse(stack, weights))
            owners.append(identity)
    return Gallery(np.stack(rows).astype(np.float32), owners)


def search(
    gallery: Gallery,
    mated: NDArray[np.float32],
    mated_ids: Sequence[str],
    nonmated: NDArray[np.float32],
    chunk: int = 2048,
    scorer: Callable[[NDArray[np.float32]], Callable[[NDArray[np.float32]], NDArray[np.float64]]] = distance_scorer,
) -> Searches:
    """Every probe against every template; a subject's score is its best template's. ``scorer`` as in
    ``protocol.search``: from the templates to the function from probes to their similarities."""
    identities = sorted(set(gallery.owners))
    column = {identity: i for i, identity in enumerate(identities)}
    owner_col = np.array([column[o] for o in gallery.owners])
    order = np.argsort(owner_col, kind="stable")
    starts = np.searchsorted(owner_col[order], np.arange(len(identities)))
    ordered = gallery.vectors[order]
    score = scorer(ordered)

    def best(probes: NDArray[np.float32]) -> NDArray[np.float64]:
        out: NDArray[np.float64] = np.maximum.reduceat(score(probes), starts, axis=1)
        return out

    # One column per subject (its best template): protocol.search does the rest.
    return protocol.search(ordered, identities, mated, list(mated_ids), nonmated, chunk, scorer=lambda _: best)


@dataclass(frozen=True, slots=True)
class Arm:
    """One way of making templates: enrolment images and how they combine, and which embedding variant
    the enrolment side and the probe side use (``""`` is the default core)."""

    name: str
    k: int = 1
    mode: Mode = "separate"
    weighting: Weighting = "none"
    enrol_variant: str = ""
    probe_variant: str = ""


@dataclass(frozen=True, slots=True)
class ArmResult:
    arm: Arm
    result: IdentifyResult
    searches: Searches


def run_arm(
    arm: Arm,
    split: TemplateSplit,
    embeddings: Mapping[str, Mapping[Path, Vector]],
    quality: Mapping[Path, float],
    targets: Sequence[float] = FPIR_TARGETS,
    scoring: Scoring | Normaliser = "euclidean",
) -> ArmResult:
    """The identification figures of ``arm`` on ``split``, scored by today's Euclidean similarity, by
    cosine, or normalised against a cohort (a ``match.scoring.Scoring``; issue 6, item 1); ``embeddings``
    maps each variant to its templates."""
    gallery = build_gallery(split, embeddings[arm.enrol_variant], arm.k, arm.mode, arm.weighting, quality)
    probes = embeddings[arm.probe_variant]

    def rows(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
        # On unit vectors, Euclidean distance ranks exactly as cosine similarity, and FNIR at a target
        # FPIR depends on the ranking only.
        return unit(vectors) if scoring == "cosine" else vectors

    searches = search(
        Gallery(rows(gallery.vectors), gallery.owners),
        rows(np.stack([probes[s.path] for s in split.mated]).astype(np.float32)),
        [s.identity for s in split.mated],
        rows(np.stack([probes[s.path] for s in split.nonmated]).astype(np.float32)),
        scorer=normalised_scorer(scoring) if isinstance(scoring, Normaliser) else distance_scorer,
    )
    return ArmResult(arm, measure(searches, len(split.enrol), targets, thresholds=(), ranks=(1,)), searches)


@dataclass(frozen=True, slots=True)
class Difference:
    """FNIR(b) - FNIR(a) at a target FPIR, with its 95% paired bootstrap interval [low, high]."""

    value: float
    low: float
    high: float

    @property
    def clear(self) -> bool:
        """Whether the interval excludes 0: b differs from a beyond what resampling the probes explains."""
        return self.high < 0.0 or self.low > 0.0


def paired_difference(a: Searches, b: Searches, target: float, rounds: int = 1000, seed: int = 0) -> Difference:
    """FNIR(b) - FNIR(a) at ``target`` FPIR for two ways of making templates searched with the same probes.

    The probes are resampled (mated and non-mated apart, with replacement) and each resample scored for
    both, so the interval is that of the difference: tighter than two Wilson intervals side by side,
    since most probes fare alike either way. Probes are treated as independent (LFW gives two per person)."""
    if a.mated_mate_score.shape != b.mated_mate_score.shape or a.nonmated_top.shape != b.nonmated_top.shape:
        raise ValueError("a paired difference needs the same probes searched both ways")
    n_mated, n_non = len(a.mated_mate_score), len(a.nonmated_top)
    allowed = math.floor(target * n_non)
    if n_mated == 0 or target * n_non < 1.0 or allowed >= n_non:
        raise ValueError(f"FPIR {target:g} cannot be measured with {n_non} non-mated probes")

    def fnir(s: Searches, mated: NDArray[np.int64], nonmated: NDArray[np.int64]) -> float:
        top = s.nonmated_top[nonmated]
        # the threshold of calibrate.threshold_at_fpir: just above the (allowed + 1)-th highest score
        kth = np.partition(top, n_non - 1 - allowed)[n_non - 1 - allowed]
        hit = (s.mated_mate_rank[mated] == 1) & (s.mated_mate_score[mated] > kth)
        return 1.0 - float(np.mean(hit))

    every_mated, every_non = np.arange(n_mated), np.arange(n_non)
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(rounds):
        m, n = rng.integers(0, n_mated, n_mated), rng.integers(0, n_non, n_non)
        diffs.append(fnir(b, m, n) - fnir(a, m, n))
    low, high = np.percentile(diffs, [2.5, 97.5])
    return Difference(fnir(b, every_mated, every_non) - fnir(a, every_mated, every_non), float(low), float(high))


def unit(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    out: NDArray[np.float32] = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    return out


def enrolment_arms(most: int = 3) -> list[Arm]:
    """One image, then 2 to ``most`` images kept separately, fused or both, and quality-weighted fusion."""
    arms = [Arm("1 image (baseline)")]
    for k in range(2, most + 1):
        arms += [
            Arm(f"{k} images, kept separately (max)", k, "separate"),
            Arm(f"{k} images, fused (mean)", k, "fused"),
            Arm(f"{k} images, fused + separate", k, "both"),
        ]
    if most > 1:
        arms += [
            Arm(f"{most} images, fused, quality-weighted", most, "fused", "quality"),
            Arm(f"{most} images, fused + separate, quality-weighted", most, "both", "quality"),
        ]
    return arms


def variant_arms(variants: Sequence[str], probe_side: bool, k: int = 1, mode: Mode = "separate") -> list[Arm]:
    """The baseline and each variant on the enrolment side only or, with ``probe_side``, on both sides."""
    where = "enrolment and probes" if probe_side else "enrolment only"
    images = "1 image" if k == 1 else f"{k} images, {mode}"
    arms = [Arm(f"{images}, default core", k, mode)]
    for v in variants:
        arms.append(Arm(f"{images}, {v} ({where})", k, mode, enrol_variant=v, probe_variant=v if probe_side else ""))
    return arms


def cost_per_face(settings: Settings, paths: Sequence[Path]) -> float:
    """Milliseconds to align and embed one face with ``settings``' embedder on this machine, one face at
    a time as a live camera sends them (detection left out: it is the same for every variant)."""
    analyzer = FaceAnalyzer(settings)
    embedder = analyzer.embedder
    work = []
    for path in paths:
        image = analyzer.load(path)
        if found := analyzer.detector.detect(image):
            work.append((image, found[:1]))
    if not work:
        raise ValueError("no face found in the images given for timing")
    embedder.embed(embedder.align(*work[0]))  # load the models first
    start = time.perf_counter()
    for image, detections in work:
        embedder.embed(embedder.align(image, detections))
    return 1000.0 * (time.perf_counter() - start) / len(work)
