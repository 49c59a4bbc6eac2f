"""``lfr eval verify``: the LFW View-2 protocol (1:1 verification, 10-fold) from a pairs file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from openlfr.cli.common import console, settings
from openlfr.cli.eval_common import TERMINAL, command_line, scoring_option, wrote
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
from openlfr.eval.verify_report import Verified, verify_report

EPILOG = (
    "Examples:\n\n"
    "  lfr eval verify\n\n"
    "  lfr eval verify --pairs my_pairs.txt --shared-data ../shared/data --cache /tmp/evalcache.sqlite -o out/verify"
)


def verify_command(
    pairs: Annotated[
        Path | None,
        typer.Option(
            help="An LFW-format pairs file (default <shared-data>/lfw/pairs.txt); images come from "
            "<shared-data>/lfw/lfw/."
        ),
    ] = None,
    shared_data: SharedData = DEFAULT_SHARED,
    cache: CachePath = None,
    workers: Workers = DEFAULT_WORKERS,
    out: OutDir = Path("eval-out/verify"),
    seed: Seed = 0,
    normalisation: Normalisation = "none",
    cohort_top_k: CohortTopK = None,
    fair_clusters: FairClusters = None,
    keep_overlap: KeepOverlap = False,
) -> None:
    """Measure 1:1 verification on LFW pairs: 10-fold accuracy, accuracy at the configured threshold,
    TAR at FAR 1e-2 and 1e-3, ROC and DET curves.

    A pair with an unreadable image counts as a non-match at every threshold (it is never dropped)."""
    cfg = settings()
    config = scoring_option(cfg, normalisation, cohort_top_k, fair_clusters)
    found = verify_report(cfg, shared_data, pairs, cache, workers, config, seed, keep_overlap, command_line(), TERMINAL)
    _print(found)
    wrote(found.report, out)


def _print(found: Verified) -> None:
    result = found.result
    title = f"LFW verification: {result.pairs} pairs ({result.mated} mated), {found.images} images"
    table = RichTable(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("threshold", justify="right")
    table.add_row(
        f"{len(result.fold_thresholds)}-fold accuracy",
        f"{result.mean_accuracy:.2%} ± {result.std_accuracy:.2%}",
        "learnt per fold",
    )
    table.add_row("accuracy at the configured threshold", f"{result.accuracy_at_threshold:.2%}", f"{result.threshold}")
    for far, (tar, threshold) in sorted(result.tar_at_far.items(), reverse=True):
        table.add_row(f"TAR at FAR {far:g}", f"{tar:.2%}", f"{threshold:.4f}")
    table.add_row("images on the centre-box fallback", str(found.fallbacks), "")
    table.add_row("unreadable images", f"{found.unreadable} ({found.broken_pairs} pair(s) scored as non-matches)", "")
    console.print(table)
