"""``lfr eval identify``: open-set 1:N search per watchlist size, as tables, figures and a report."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from openlfr.config import Settings
from openlfr.eval import identify
from openlfr.eval.identify import SearchedSplit
from openlfr.eval.prepared import PROTOCOL, Prepared, report_for
from openlfr.eval.report import SILENT, Display, Report, Section, Table, new_figure, png
from openlfr.eval.tables import counts, distance, pct, percent


def identify_report(
    prepared: Prepared,
    cfg: Settings,
    sizes: Sequence[int],
    targets: Sequence[float],
    thresholds: Sequence[float],
    ranks: Sequence[int],
    seed: int,
    enrol_images: int,
    command: str,
    display: Display = SILENT,
) -> Report:
    """Search each watchlist size: FNIR at the target FPIRs, FPIR and FNIR at the thresholds, rank-k hit
    rates (each size's table goes to ``display`` as it is measured), then DET, score and sweep figures."""
    results: list[tuple[SearchedSplit, identify.IdentifyResult]] = []
    sections = [Section("Protocol", f"{PROTOCOL} {prepared.note}")]
    for size in sizes:
        searched = prepared.search(size, seed, enrol_images)
        result = identify.measure(searched.searches, len(searched.split.gallery), targets, thresholds, ranks)
        results.append((searched, result))
        table = identify_table(result)
        display.table(f"Watchlist of {result.watchlist_size}", table, counts(searched))
        sections.append(Section(f"Watchlist of {result.watchlist_size}", counts(searched), [table]))
    sections.append(Section("DET, score distributions and threshold sweep", "", figures=identify_figures(results)))
    return report_for(
        "Open-set identification",
        command,
        cfg,
        prepared.samples,
        seed,
        {"sizes": [r.to_json() for _, r in results]},
        sections,
    )


def identify_table(result: identify.IdentifyResult) -> Table:
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


def identify_figures(results: list[tuple[SearchedSplit, identify.IdentifyResult]]) -> list[bytes]:
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
