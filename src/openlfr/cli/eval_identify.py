"""``lfr eval identify``: open-set 1:N search figures on the labelled sets of ../shared/data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openlfr.cli.common import settings
from openlfr.cli.eval_common import (
    TERMINAL,
    Data,
    ExcludeFallbacks,
    Thresholds,
    command_line,
    floats,
    ints,
    scoring_option,
    wrote,
)
from openlfr.cli.eval_options import (
    DEFAULT_SHARED,
    DEFAULT_WORKERS,
    CachePath,
    CohortTopK,
    EnrolImages,
    FairClusters,
    KeepOverlap,
    Normalisation,
    OutDir,
    Seed,
    SharedData,
    Workers,
)
from openlfr.eval.identify_report import identify_report
from openlfr.eval.prepared import prepare


def identify_command(
    sizes: Annotated[str, typer.Option(help="Comma-separated watchlist sizes.")] = "100,500,1680",
    thresholds: Thresholds = "0.5,0.9,0.99,0.999",
    fpirs: Annotated[str, typer.Option(help="Comma-separated target FPIRs.")] = "0.01,0.001,0.0001",
    ranks: Annotated[str, typer.Option(help="Comma-separated ranks for hit rates.")] = "1,5,10,20",
    data: Data = "lfw,fairface,utkface",
    exclude_fallbacks: ExcludeFallbacks = True,
    shared_data: SharedData = DEFAULT_SHARED,
    cache: CachePath = None,
    workers: Workers = DEFAULT_WORKERS,
    out: OutDir = Path("eval-out/identify"),
    seed: Seed = 0,
    normalisation: Normalisation = "none",
    cohort_top_k: CohortTopK = None,
    fair_clusters: FairClusters = None,
    keep_overlap: KeepOverlap = False,
    enrol_images: EnrolImages = 1,
) -> None:
    """Open-set 1:N search (NIST FRTE style): FNIR at target FPIRs, FPIR and FNIR at thresholds, rank-k
    hit rates and DET curves, for each watchlist size."""
    cfg = settings()
    scoring = scoring_option(cfg, normalisation, cohort_top_k, fair_clusters)
    prepared = prepare(
        data, shared_data, cfg, cache, workers, exclude_fallbacks, scoring, seed, keep_overlap, display=TERMINAL
    )
    targets, at, ks = floats(fpirs, "fpirs"), floats(thresholds, "thresholds"), ints(ranks, "ranks")
    report = identify_report(
        prepared, cfg, ints(sizes, "sizes"), targets, at, ks, seed, enrol_images, command_line(), TERMINAL
    )
    wrote(report, out)
