"""``lfr eval threshold``: the threshold advisor, on the labelled sets of ../shared/data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openlfr.cli.common import console, settings
from openlfr.cli.eval_common import (
    Data,
    ExcludeFallbacks,
    counts,
    distance,
    group_figures,
    groups_table,
    pct,
    percent,
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
from openlfr.errors import OpenLFRError
from openlfr.eval import advisor, identify
from openlfr.eval.identify import SearchedSplit
from openlfr.eval.protocol import open_set_split
from openlfr.eval.report import Section, Table, new_figure, png


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
    target = max_false_alerts / faces_per_deployment
    if not 0.0 < target < 1.0:
        raise OpenLFRError("--max-false-alerts must be above 0 and below --faces-per-deployment")
    cfg = settings()
    scoring = scoring_config(cfg, normalisation, cohort_top_k, fair_clusters)
    prepared = prepare(data, shared_data, cfg, cache, workers, exclude_fallbacks, scoring, seed, keep_overlap)
    available = len(open_set_split(prepared.samples, None, seed).gallery)
    if available < watchlist_size:
        raise OpenLFRError(
            f"the data hold only {available} identities with two or more images; cannot build a watchlist of "
            f"{watchlist_size}"
        )
    searched = prepared.search(watchlist_size, seed)
    fams = prepared.families(searched.split.nonmated)
    enrolled = len(searched.split.gallery)  # fewer where an enrolment image is unreadable or left out
    advice = advisor.advise(searched.searches, target, faces_per_deployment, enrolled, fams, seed, bootstrap)
    table = _advice_table(advice)
    console.print(
        rich_table(table, f"Threshold for {max_false_alerts:g} false alert(s) in {faces_per_deployment} faces")
    )
    if not advice.measurable:
        console.print(
            f"[yellow]target FPIR {target:g} is below 1/{advice.fpir.n}: it cannot be measured on "
            "these probes; the threshold is just above the highest non-mated score[/]"
        )
    names = {advice.threshold: "recommended"}
    sections = [
        Section(
            "Recommendation",
            f"{counts(searched)} {prepared.note} " + (advisor.__doc__ or "").split("\n\n", 1)[1],
            [table],
        ),
        Section(
            "FPIR per group at the threshold",
            "",
            [groups_table(advice.groups, names)],
            group_figures(advice.groups, names),
        ),
        Section("Non-mated best scores", "", figures=[_advice_figure(searched, advice)]),
    ]
    write_report(out, "Threshold advice", cfg, prepared.samples, seed, {"advice": advice.to_json()}, sections)


def _advice_table(a: advisor.Advice) -> Table:
    low, high = a.alerts_interval
    return Table(
        ["quantity", "value", "how it was found"],
        [
            ["target FPIR", f"{a.target_fpir:g}", f"watchlist of {a.watchlist_size}; {a.faces_per_deployment} faces"],
            [
                "recommended threshold",
                f"{a.threshold:.8f} (distance {float(distance(a.threshold))})",
                "lowest threshold that at most the target share of non-mated probes reach",
            ],
            [
                "threshold 95% interval",
                f"{a.threshold_interval[0]:.8f} to {a.threshold_interval[1]:.8f}",
                f"bootstrap over the non-mated probes, {a.bootstrap} resamples, seed {a.seed}",
            ],
            ["FPIR measured there", pct(a.fpir), "Wilson 95% interval: the true FPIR at this threshold"],
            [
                "FPIR a deployment will measure",
                f"{percent(a.fpir_interval[0])} to {percent(a.fpir_interval[1])}",
                f"95% prediction interval over {a.faces_per_deployment} faces (beta-binomial)",
            ],
            [
                "false alerts per deployment",
                f"{a.alerts_expected:.3g} expected, {low} to {high}",
                "expected, and the 95% prediction interval",
            ],
            [
                "TPIR to expect",
                pct(a.tpir) if a.tpir else "no mated probes",
                "mated probes found first, at or above it",
            ],
            ["measurable", "yes" if a.measurable else f"no: target below 1/{a.fpir.n}", ""],
        ],
    )


def _advice_figure(searched: SearchedSplit, a: advisor.Advice) -> bytes:
    thresholds, fpir, _ = identify.det_curve(searched.searches)
    fig, ax = new_figure()
    ax.plot(distance(thresholds), fpir, drawstyle="steps-post", label="FPIR measured")
    ax.axhline(a.target_fpir, color="r", linestyle=":", label=f"target {a.target_fpir:g}")
    ax.axvline(float(distance(a.threshold)), color="k", label="recommended")
    lo, hi = sorted(float(distance(t)) for t in a.threshold_interval)
    ax.axvspan(lo, hi, color="k", alpha=0.15, label="bootstrap 95%")
    ax.set(
        yscale="log",
        xlabel="threshold as a distance",
        ylabel="FPIR",
        title=f"Non-mated best scores, watchlist of {a.watchlist_size}",
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return png(fig)
