"""``lfr eval threshold``: the threshold advisor, on the labelled sets of ../shared/data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openlfr.cli.common import console, settings
from openlfr.cli.eval_common import TERMINAL, Data, ExcludeFallbacks, command_line, scoring_option, wrote
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
from openlfr.eval.prepared import prepare
from openlfr.eval.threshold_report import target_fpir, threshold_report


def threshold_command(
    watchlist_size: Annotated[int, typer.Option(min=1, help="Identities on the watchlist.")],
    faces_per_deployment: Annotated[int, typer.Option(min=1, help="Faces a deployment will see.")],
    max_false_alerts: Annotated[float, typer.Option(min=0.0, help="False alerts allowed per deployment.")] = 1.0,
    bootstrap: Annotated[int, typer.Option(min=0, help="Bootstrap resamples for the threshold.")] = 1000,
    data: Data = "lfw,fairface,utkface",
    exclude_fallbacks: ExcludeFallbacks = True,
    shared_data: SharedData = DEFAULT_SHARED,
    cache: CachePath = None,
    workers: Workers = DEFAULT_WORKERS,
    out: OutDir = Path("eval-out/threshold"),
    seed: Seed = 0,
    normalisation: Normalisation = "none",
    cohort_top_k: CohortTopK = None,
    fair_clusters: FairClusters = None,
    keep_overlap: KeepOverlap = False,
) -> None:
    """Recommend a threshold for a false-alert budget (max false alerts per faces seen) at a watchlist
    size, from measured non-mated searches, with its intervals, the TPIR to expect and each group's FPIR."""
    target = target_fpir(max_false_alerts, faces_per_deployment)  # refuses an impossible budget before any work
    cfg = settings()
    scoring = scoring_option(cfg, normalisation, cohort_top_k, fair_clusters)
    prepared = prepare(
        data, shared_data, cfg, cache, workers, exclude_fallbacks, scoring, seed, keep_overlap, display=TERMINAL
    )
    advice, report = threshold_report(
        prepared,
        cfg,
        watchlist_size,
        faces_per_deployment,
        max_false_alerts,
        bootstrap,
        seed,
        command_line(),
        TERMINAL,
    )
    if not advice.measurable:
        console.print(
            f"[yellow]target FPIR {target:g} is below 1/{advice.fpir.n}: it cannot be measured on "
            "these probes; the threshold is just above the highest non-mated score[/]"
        )
    wrote(report, out)
