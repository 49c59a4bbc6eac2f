"""A watchlist's second embedder (score fusion): its templates of the same faces and its normalisation.

With ``second_embedder`` configured, every enrolled face is also embedded by a second model (any
registered embedder type; the ONNX one is what users bring). A fused watchlist file (format version 3)
then holds, beside the first embedder's members::

    second/vectors.npy          N x D2 float32 templates, row i of the same face as row i of vectors.npy
    second/cohort.npy           once calibrated: the second embedder's unit templates of the cohort faces
    second/template_stats.npy   and each template's (mean, std) against them (Z-norm)
    second/fair_centroids.npy, second/fair_offsets.npy   its fair clusters, where configured

and ``manifest.second_embedder`` names the embedder and its normalisation. At search time each
embedder's scores are normalised against its own cohort templates and averaged (``scoring.Fusion``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from openlfr.config import ScoringConfig
from openlfr.match import normalise as norm
from openlfr.match.archive import shape_problem
from openlfr.match.scoring import ScoredGallery, Scoring

PREFIX = "second/"


@dataclass(eq=False)
class SecondSet:
    """The second embedder's identity, its templates (row-aligned with the first's) and normalisation."""

    identity: str
    vectors: NDArray[np.float32]
    scoring: Scoring | None = None
    """Its normalisation against its own templates of the cohort (None until calibrated with a cohort)."""
    template_stats: NDArray[np.float64] | None = None

    @cached_property
    def scored(self) -> ScoredGallery | None:
        """The precomputed gallery of every template, when normalised."""
        if self.scoring is None:
            return None
        gallery = self.scoring.gallery(self.vectors, self.template_stats)
        self.template_stats = gallery.stats
        return gallery

    def normalised(self, scoring: Scoring) -> SecondSet:
        """A copy scored by ``scoring``, its templates' cohort statistics computed now."""
        out = SecondSet(self.identity, self.vectors, scoring)
        out.scored  # noqa: B018 - precompute now, not at the first search
        return out

    def arrays(self) -> dict[str, NDArray[np.generic]]:
        """Its templates and normalisation by zip member name (``from_arrays`` reads them back)."""
        arrays: dict[str, NDArray[np.generic]] = {f"{PREFIX}vectors.npy": self.vectors.astype(np.float32)}
        if self.scoring is not None:
            self.scored  # noqa: B018 - computes template_stats if absent
            assert self.template_stats is not None
            arrays[f"{PREFIX}cohort.npy"] = self.scoring.cohort
            arrays[f"{PREFIX}template_stats.npy"] = self.template_stats
            if self.scoring.fair is not None:
                arrays[f"{PREFIX}fair_centroids.npy"] = self.scoring.fair.centroids
                arrays[f"{PREFIX}fair_offsets.npy"] = self.scoring.fair.offsets
        return arrays


def problem(fused_version: bool, expected: tuple[int, int] | None, second: SecondSet | None) -> str | None:
    """What is wrong with a watchlist's second set, given whether its format version is the fused one and
    the (rows, dimension) its manifest gives the second templates (None: no second embedder)."""
    if fused_version != (expected is not None) or (expected is None) != (second is None):
        return (
            f"a {'fused' if fused_version else 'one-embedder'} format version with"
            f"{'' if expected else 'out'} a second embedder in its manifest and "
            f"{'its' if second else 'no'} second templates (damaged)"
        )
    if second is not None and second.vectors.shape != expected:
        return f"second templates of shape {second.vectors.shape}, expected {expected}"
    return None


def mismatch(first: str, enrolled: str | None, configured: str | None) -> str | None:
    """Why a watchlist of embedder ``first`` and second embedder ``enrolled`` cannot be used with the
    ``configured`` second embedder (None for none), or None when it can."""
    if configured == enrolled:
        return None
    if enrolled is None:
        why = f"was enrolled with embedder {first} alone, but second embedder {configured} is configured"
    elif configured is None:
        why = f"fuses the scores of embedders {first} and {enrolled}, but no second embedder is configured"
    else:
        why = f"was enrolled with second embedder {enrolled}, but the configured second embedder is {configured}"
    return f"{why}; set second_embedder in the config to the same model, or re-enrol it"


def from_arrays(
    identity: str, config: ScoringConfig | None, checksum: str, arrays: Mapping[str, NDArray[np.generic]]
) -> SecondSet:
    """The second set from the members ``SecondSet.arrays`` wrote; ``config`` None: not normalised.
    ValueError when its cohort is not the one ``checksum`` names (a damaged file)."""
    expected = {f"{PREFIX}vectors.npy": (None, None), f"{PREFIX}cohort.npy": (None, None),
                f"{PREFIX}template_stats.npy": (None, 2), f"{PREFIX}fair_centroids.npy": (None, None),
                f"{PREFIX}fair_offsets.npy": (None,)}  # fmt: skip
    problem = shape_problem(arrays, expected, PREFIX)
    if problem is not None:
        raise ValueError(problem)
    vectors = arrays[f"{PREFIX}vectors.npy"].astype(np.float32)
    if config is None:
        return SecondSet(identity, vectors)
    fair = None
    if f"{PREFIX}fair_centroids.npy" in arrays:
        fair = norm.FairClusters(
            arrays[f"{PREFIX}fair_centroids.npy"].astype(np.float32),
            arrays[f"{PREFIX}fair_offsets.npy"].astype(np.float64),
        )
    scoring = Scoring(config, arrays[f"{PREFIX}cohort.npy"].astype(np.float32), fair)
    if scoring.checksum != checksum:
        raise ValueError("the second embedder's cohort does not match its manifest")
    return SecondSet(identity, vectors, scoring, arrays[f"{PREFIX}template_stats.npy"].astype(np.float64))
