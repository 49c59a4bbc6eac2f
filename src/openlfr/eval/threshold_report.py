"""``lfr eval threshold``: the threshold advisor's recommendation, as tables, figures and a report."""

from __future__ import annotations

from openlfr.config import Settings
from openlfr.errors import OpenLFRError
from openlfr.eval import advisor, identify
from openlfr.eval.identify import SearchedSplit
from openlfr.eval.prepared import Prepared, report_for
from openlfr.eval.protocol import open_set_split
from openlfr.eval.report import SILENT, Display, Report, Section, Table, new_figure, png
from openlfr.eval.tables import counts, distance, group_figures, groups_table, pct, percent


def target_fpir(max_false_alerts: float, faces_per_deployment: int) -> float:
    """The FPIR a false-alert budget asks for; OpenLFRError unless it is above 0 and below 1."""
    target = max_false_alerts / faces_per_deployment
    if not 0.0 < target < 1.0:
        raise OpenLFRError("--max-false-alerts must be above 0 and below --faces-per-deployment")
    return target


def threshold_report(
    prepared: Prepared,
    cfg: Settings,
    watchlist_size: int,
    faces_per_deployment: int,
    max_false_alerts: float,
    bootstrap: int,
    seed: int,
    command: str,
    display: Display = SILENT,
) -> tuple[advisor.Advice, Report]:
    """Recommend a threshold for the budget at a watchlist size (the table goes to ``display``); the advice
    (whose ``measurable`` says whether the target could be measured at all) and the report."""
    target = target_fpir(max_false_alerts, faces_per_deployment)
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
    table = advice_table(advice)
    display.table(f"Threshold for {max_false_alerts:g} false alert(s) in {faces_per_deployment} faces", table)
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
        Section("Non-mated best scores", "", figures=[advice_figure(searched, advice)]),
    ]
    report = report_for(
        "Threshold advice", command, cfg, prepared.samples, seed, {"advice": advice.to_json()}, sections
    )
    return advice, report


def advice_table(a: advisor.Advice) -> Table:
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


def advice_figure(searched: SearchedSplit, a: advisor.Advice) -> bytes:
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
