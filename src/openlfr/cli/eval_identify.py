"""``lfr eval identify``: open-set 1:N search figures on the labelled sets of ../shared/data."""

from __future__ import annotations

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
    ints,
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
    EnrolImages,
    FairClusters,
    KeepOverlap,
    Normalisation,
    OutDir,
    Seed,
    SharedData,
    Workers,
)
from openlfr.eval import identify
from openlfr.eval.identify import SearchedSplit
from openlfr.eval.report import Section, Table, new_figure, png


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
    scoring = scoring_config(cfg, normalisation, cohort_top_k, fair_clusters)
    prepared = prepare(data, shared_data, cfg, cache, workers, exclude_fallbacks, scoring, seed, keep_overlap)
    targets, at, ks = floats(fpirs, "fpirs"), floats(thresholds, "thresholds"), ints(ranks, "ranks")
    results: list[tuple[SearchedSplit, identify.IdentifyResult]] = []
    sections = [Section("Protocol", f"{PROTOCOL} {prepared.note}")]
    for size in ints(sizes, "sizes"):
        searched = prepared.search(size, seed, enrol_images)
        result = identify.measure(searched.searches, len(searched.split.gallery), targets, at, ks)
        results.append((searched, result))
        table = _identify_table(result)
        console.print(rich_table(table, f"Watchlist of {result.watchlist_size}"), counts(searched))
        sections.append(Section(f"Watchlist of {result.watchlist_size}", counts(searched), [table]))
    sections.append(Section("DET, score distributions and threshold sweep", "", figures=_identify_figures(results)))
    write_report(
        out,
        "Open-set identification",
        cfg,
        prepared.samples,
        seed,
        {"sizes": [r.to_json() for _, r in results]},
        sections,
    )


def _identify_table(result: identify.IdentifyResult) -> Table:
    rows: list[list[object]] = []
    for t in result.at_targets:
        if t.point is None:
            note = f"cannot be measured: below 1/{result.nonmated} = {result.min_measurable_fpir:.3g}"
            rows.append([f"FPIR <= {t.target_fpir:g}", "-", "-", note, "-", "-"])
        else:
            p = t.point
            rows.append(
                [
                    f"FPIR <= {t.target_fpir:g}",
                    f"{p.threshold:.8f}",
                    float(distance(p.threshold)),
                    pct(p.fpir),
                    pct(p.fnir),
                    percent(p.tpir),
                ]
            )
    for p in result.at_thresholds:
        rows.append(
            [
                f"threshold {p.threshold:g}",
                f"{p.threshold:.8f}",
                float(distance(p.threshold)),
                pct(p.fpir),
                pct(p.fnir),
                percent(p.tpir),
            ]
        )
    for k, r in result.rank_hits.items():
        rows.append([f"rank-{k} hit rate", "any", "-", "-", "-", pct(r)])
    return Table(
        ["operating point", "threshold", "distance", "FPIR [95% CI]", "FNIR [95% CI]", "TPIR / hit rate"], rows
    )


# -- figures -----------------------------------------------------------------------------------------


def _identify_figures(results: list[tuple[SearchedSplit, identify.IdentifyResult]]) -> list[bytes]:
    det, dist, sweep = new_figure(), new_figure(), new_figure()
    for searched, result in results:
        s, label = searched.searches, f"N = {result.watchlist_size}"
        thresholds, fpir, fnir = identify.det_curve(s)
        floor = 1.0 / max(1, len(s.mated_mate_score))  # a log axis cannot show 0: drawn at 1 / mated probes
        det[1].plot(fpir, np.maximum(fnir, floor), drawstyle="steps-post", label=label)
        sweep[1].plot(distance(thresholds), fpir, label=f"FPIR, {label}")
        sweep[1].plot(distance(thresholds), fnir, linestyle="--", label=f"FNIR, {label}")
        dist[1].hist(distance(s.nonmated_top), bins=80, histtype="step", density=True, label=f"non-mated best, {label}")
    largest = results[-1][0].searches
    dist[1].hist(
        distance(largest.mated_mate_score),
        bins=80,
        histtype="step",
        density=True,
        color="k",
        label=f"mated (mate's score), N = {results[-1][1].watchlist_size}",
    )
    det[1].set(
        xscale="log",
        yscale="log",
        xlabel="FPIR",
        ylabel="FNIR",
        title="DET per watchlist size (log-log; FNIR 0 drawn at 1/mated)",
    )
    dist[1].set(xlabel="distance (lower = more alike)", ylabel="density", title="Score distributions")
    sweep[1].set(yscale="log", xlabel="threshold as a distance", ylabel="rate", title="FPIR and FNIR by threshold")
    for _fig, ax in (det, dist, sweep):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    return [png(det[0]), png(dist[0]), png(sweep[0])]
