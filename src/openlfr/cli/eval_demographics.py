"""``lfr eval demographics``: error rates by group on the labelled sets of ../shared/data."""

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
    scoring_option,
    wrote,
)
from openlfr.cli.eval_options import (
    DEFAULT_SHARED,
    DEFAULT_WORKERS,
    CachePath,
    CohortTopK,
    FairClusters,
    KeepOverlap,
    Normalisation,
    OutDir,
    Seed,
    SharedData,
    Workers,
)
from openlfr.eval.demographics_report import demographics_report
from openlfr.eval.prepared import prepare


def demographics_command(
    watchlist_size: Annotated[int, typer.Option(min=1, help="Watchlist size to search at.")] = 1680,
    thresholds: Thresholds = "0.5,0.9,0.99,0.999",
    fpirs: Annotated[str, typer.Option(help="Also the thresholds at these overall FPIRs.")] = "0.1,0.01,0.001",
    pairs: Annotated[int, typer.Option(min=1, help="Most impostor pairs per group for 1:1 FMR.")] = 20_000,
    fmrs: Annotated[
        str, typer.Option(help="Also 1:1 FMR per group at the thresholds where each family's pooled FMR is these.")
    ] = "0.001",
    data: Data = "lfw,fairface,utkface",
    exclude_fallbacks: ExcludeFallbacks = True,
    shared_data: SharedData = DEFAULT_SHARED,
    cache: CachePath = None,
    workers: Workers = DEFAULT_WORKERS,
    out: OutDir = Path("eval-out/demographics"),
    seed: Seed = 0,
    normalisation: Normalisation = "none",
    cohort_top_k: CohortTopK = None,
    fair_clusters: FairClusters = None,
    keep_overlap: KeepOverlap = False,
) -> None:
    """FPIR and FNIR per group (sex, race, sex x race, age band, within each set) across a sweep of
    thresholds, with Wilson 95% intervals and max/min ratios; and 1:1 FMR within each group."""
    cfg = settings()
    scoring = scoring_option(cfg, normalisation, cohort_top_k, fair_clusters)
    prepared = prepare(
        data, shared_data, cfg, cache, workers, exclude_fallbacks, scoring, seed, keep_overlap, display=TERMINAL
    )
    report = demographics_report(
        prepared,
        cfg,
        watchlist_size,
        thresholds=floats(thresholds, "thresholds"),
        fpirs=floats(fpirs, "fpirs"),
        pairs=pairs,
        fmrs=floats(fmrs, "fmrs"),
        seed=seed,
        command=command_line(),
        display=TERMINAL,
    )
    wrote(report, out)
