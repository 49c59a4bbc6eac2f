"""What ``lfr eval identify``, ``demographics``, ``threshold`` and ``verify`` share: the labelled sets of
../shared/data embedded once (with the cache), the normalisation asked for and its cohort, and the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openlfr.analysis import FaceAnalyzer
from openlfr.config import ScoringConfig, Settings
from openlfr.errors import OpenLFRError
from openlfr.eval import demographics, identify, overlap
from openlfr.eval.cache import CENTRE_BOX, embed_paths
from openlfr.eval.datasets import Sample, load
from openlfr.eval.identify import SearchedSplit, Vector
from openlfr.eval.protocol import cohort_split, open_set_split
from openlfr.eval.report import SILENT, Display, Report, Section, data_checksum
from openlfr.match.scoring import Scoring, build_scoring

PROTOCOL = (
    "Watchlist (gallery): N identities drawn with the seed from those with two or more images, each enrolled "
    "with its first image; their other images are mated probes. Every image of anyone not enrolled (the rest "
    "of LFW, all of FairFace and UTKFace) is a non-mated probe. FPIR: non-mated searches whose best score "
    "reaches the threshold. FNIR: mated searches whose mate is not first or is below the threshold. Intervals "
    "are Wilson 95%. A target FPIR below 1/(non-mated probes) cannot be measured and is not reported."
)
NORMALISATIONS = ("none", "config", "cosine", "z", "t", "zt")
"""What ``--normalisation`` takes: none, the configured one, or a method."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """The samples, each image's template (None if unreadable), the images embedded from the central box
    (no face detected), whether to leave those out, and a line saying all this for the report."""

    samples: list[Sample]
    templates: dict[Path, Vector | None]
    fallbacks: set[Path]
    exclude_fallbacks: bool
    note: str
    scoring: Scoring | None = None
    cohort: tuple[Sample, ...] = ()

    def usable(self, sample: Sample) -> Vector | None:
        excluded = self.exclude_fallbacks and sample.path in self.fallbacks
        return None if excluded else self.templates.get(sample.path)

    def search(self, size: int, seed: int, enrol_images: int = 1) -> SearchedSplit:
        split = open_set_split(self.samples, size, seed, enrol_images)
        left_out = self.fallbacks if self.exclude_fallbacks else ()
        return identify.search_split(split, self.templates, left_out, self.scoring)

    def families(self, samples: list[Sample]) -> dict[str, list[str | None]]:
        """The demographic families, and per set whether each face was detected or taken from the centre."""
        fams = demographics.families(samples)
        if not self.exclude_fallbacks:
            for dataset in sorted({s.dataset for s in samples}):
                values = [
                    None if s.dataset != dataset else "centre box" if s.path in self.fallbacks else "detected"
                    for s in samples
                ]
                if len(set(values) - {None}) == 2:
                    fams[f"{dataset} face detection"] = values
        return fams


def scoring_config(cfg: Settings, name: str, top_k: int | None, fair: int | None) -> ScoringConfig | None:
    """The normalisation named (one of ``NORMALISATIONS``; None for none) with the overrides applied.
    ValueError for another name (the CLI turns it into a usage error)."""
    if name == "none":
        return None
    base = cfg.match.normalisation
    if name != "config":
        if name not in NORMALISATIONS:
            raise ValueError(f"--normalisation takes none, config, cosine, z, t or zt, got {name!r}")
        base = base.model_copy(update={"method": name})
    if top_k is not None:
        base = base.model_copy(update={"top_k": top_k or None})
    if fair is not None:
        base = base.model_copy(update={"fair_clusters": fair})
    return ScoringConfig.model_validate(base.model_dump())


def prepare(
    data: str,
    shared: Path,
    cfg: Settings,
    cache_path: Path | None,
    workers: int,
    exclude_fallbacks: bool,
    normalisation: ScoringConfig | None = None,
    seed: int = 0,
    keep_overlap: bool = False,
    display: Display = SILENT,
) -> Prepared:
    """Load the comma-separated sets ``data`` (datasets.py), less the reviewed overlap unless
    ``keep_overlap``, embed every image (the cache fills what it lacks) and, with a normalisation, set
    its cohort aside (``with_cohort``). The note saying what was done goes to ``display``."""
    samples = load([d.strip() for d in data.split(",") if d.strip()], shared)
    cleaned = None if keep_overlap else overlap.drop_same(samples, shared)
    samples = samples if cleaned is None else cleaned.kept
    missing = [s.path for s in samples if not s.path.is_file()]
    if missing:
        raise OpenLFRError(f"{len(missing)} image(s) missing, first {missing[0]} (give --shared-data)")
    embedded = embed_paths([s.path for s in samples], cfg, cache_path, workers, display)
    fallbacks = {p for p, e in embedded.items() if e.fallback}
    unreadable = sum(1 for e in embedded.values() if e.vector is None)
    low, high = CENTRE_BOX
    by_set = ", ".join(
        f"{d} {sum(1 for s in samples if s.dataset == d and s.path in fallbacks)}"
        for d in sorted({s.dataset for s in samples})
    )
    note = (
        f"{len(embedded)} images embedded; in {len(fallbacks)} ({by_set}) no face was detected and the central "
        f"box ({low:.0%}-{high:.0%} of the image) was embedded instead: "
        + ("those are left out" if exclude_fallbacks else "those are kept (--keep-fallbacks)")
        + f"; {unreadable} unreadable."
        + ("" if cleaned is None else " " + cleaned.note())
    )
    templates = {p: e.vector for p, e in embedded.items()}
    prepared = Prepared(samples, templates, fallbacks, exclude_fallbacks, note)
    if normalisation is not None:
        prepared = with_cohort(prepared, normalisation, seed)
    display.line(prepared.note)
    return prepared


def with_cohort(prepared: Prepared, config: ScoringConfig, seed: int) -> Prepared:
    """Set the cohort aside (``cohort_split``) and normalise by ``config`` against its usable templates."""
    split = cohort_split(prepared.samples, seed)
    vectors = [v for s in split.cohort if (v := prepared.usable(s)) is not None]
    if not vectors:
        raise OpenLFRError("no usable cohort face: normalisation needs one-image identities in the data")
    by_set = ", ".join(
        f"{d} {sum(1 for s in split.cohort if s.dataset == d)}" for d in sorted({s.dataset for s in split.cohort})
    )
    note = (
        f"{prepared.note} Normalisation {config.describe()}: cohort of {len(vectors)} usable faces out of "
        f"{len(split.cohort)} images ({by_set}), a seeded half of the one-image identities (seed {seed}), never "
        "searched or enrolled."
    )
    scoring = build_scoring(config, np.stack(vectors).astype(np.float32))
    return Prepared(
        split.rest,
        prepared.templates,
        prepared.fallbacks,
        prepared.exclude_fallbacks,
        note,
        scoring,
        tuple(split.cohort),
    )


def report_for(
    title: str,
    command: str,
    cfg: Settings,
    samples: list[Sample],
    seed: int,
    results: dict[str, Any],
    sections: list[Section],
) -> Report:
    """The report of a measurement on ``samples``: the command, settings, embedder and data checksums."""
    sets = sorted({s.dataset for s in samples})
    return Report(
        title=title,
        command=command,
        configuration=cfg.model_dump(mode="json"),
        embedder=FaceAnalyzer(cfg).embedder.identity,
        data={d: data_checksum([s.path for s in samples if s.dataset == d]) for d in sets},
        seed=seed,
        results=results,
        sections=sections,
    )
