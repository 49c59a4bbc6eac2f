"""``lfr eval demographics``: error rates by group on the labelled sets of ../shared/data."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from openlfr.cli.common import console, settings
from openlfr.cli.eval_common import (
    PROTOCOL,
    Data,
    ExcludeFallbacks,
    Thresholds,
    counts,
    distance,
    floats,
    group_figures,
    groups_table,
    pct,
    prepare,
    rich_table,
    scoring_config,
    write_report,
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
from openlfr.eval import demographics, identify
from openlfr.eval.protocol import threshold_at_fpir
from openlfr.eval.report import Section, Table


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
    scoring = scoring_config(cfg, normalisation, cohort_top_k, fair_clusters)
    prepared = prepare(data, shared_data, cfg, cache, workers, exclude_fallbacks, scoring, seed, keep_overlap)
    searched = prepared.search(watchlist_size, seed)
    s, split = searched.searches, searched.split
    sweep = [
        (f"FPIR {f:g}", threshold_at_fpir(s.nonmated_top, f))
        for f in floats(fpirs, "fpirs")
        if identify.measurable(f, len(s.nonmated_top))
    ]
    sweep += [(f"{t:g}", t) for t in floats(thresholds, "thresholds")]
    ts = [t for _, t in sweep]
    found = demographics.fpir_by_group(s.nonmated_top, prepared.families(split.nonmated), ts)
    found += demographics.fnir_by_group(s.mated_mate_score, s.mated_mate_rank, prepared.families(split.mated), ts)
    # 1:1 within each group, over every image (impostor pairs only: a pair of one identity is skipped)
    one_to_one = [(x, v) for x in prepared.samples if (v := prepared.usable(x)) is not None]
    if len(one_to_one) >= 2:
        found += demographics.within_group_fmr(
            np.stack([v for _, v in one_to_one]),
            [x.identity for x, _ in one_to_one],
            prepared.families([x for x, _ in one_to_one]),
            ts,
            pairs,
            seed,
            prepared.scoring,
            floats(fmrs, "fmrs"),
        )
    names = {t: name for name, t in sweep}
    summary = _disparity_table(found, names)
    console.print(rich_table(summary, f"Max/min across groups, watchlist of {len(split.gallery)}"))
    sections = [
        Section("Protocol", f"{PROTOCOL} {prepared.note} " + (demographics.__doc__ or "").split("\n\n", 1)[1]),
        Section(
            "Operating thresholds",
            counts(searched),
            [Table(["operating point", "threshold", "distance"], [[n, t, distance(t)] for n, t in sweep])],
        ),
        Section(
            "Max/min ratio across groups",
            "max/min: highest over lowest group's rate; [range]: the ratio over the two groups' Wilson 95% "
            "intervals (a conservative interval). Significant: pairs of groups whose Wilson 95% intervals do not "
            "overlap. p: two-proportion z-test, highest against lowest group.",
            [summary],
        ),
    ]
    for measure in ("FPIR", "FNIR", "FMR"):
        of = [d for d in found if d.measure == measure]
        if of:
            sections.append(Section(f"{measure} per group", "", [groups_table(of, names)], group_figures(of, names)))
    write_report(
        out,
        "Demographic differentials",
        cfg,
        prepared.samples,
        seed,
        {"disparities": [d.to_json() for d in found]},
        sections,
    )


def _ratio(d: demographics.Disparity) -> str:
    if d.highest.rate.k == 0:
        return "- (no events)"
    low, high = d.ratio_range
    bounds = f"[{low:.3g}, {high:.3g}]"
    if d.ratio is None:
        return f"undefined (lowest 0 of {d.lowest.rate.n}) {bounds}"
    return f"{d.ratio:.3g} {bounds}"


def _disparity_table(found: Sequence[demographics.Disparity], names: dict[float, str]) -> Table:
    rows: list[list[object]] = [
        [
            d.measure,
            d.family,
            d.label or names.get(d.threshold, f"{d.threshold:g}"),
            f"{d.highest.group}: {pct(d.highest.rate)}",
            f"{d.lowest.group}: {pct(d.lowest.rate)}",
            _ratio(d),
            len(d.significant),
            f"{d.p_value:.2g}",
        ]
        for d in found
    ]
    columns = ["measure", "family", "threshold", "highest", "lowest", "max/min [range]", "significant pairs", "p"]
    return Table(columns, rows)
