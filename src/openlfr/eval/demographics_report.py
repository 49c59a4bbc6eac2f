"""``lfr eval demographics``: error rates by group across a sweep of thresholds, as tables, figures and a
report."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from openlfr.config import Settings
from openlfr.eval import demographics, identify
from openlfr.eval.prepared import PROTOCOL, Prepared, report_for
from openlfr.eval.protocol import threshold_at_fpir
from openlfr.eval.report import SILENT, Display, Report, Section, Table
from openlfr.eval.tables import counts, distance, group_figures, groups_table, pct


def demographics_report(
    prepared: Prepared,
    cfg: Settings,
    watchlist_size: int,
    thresholds: Sequence[float],
    fpirs: Sequence[float],
    pairs: int,
    fmrs: Sequence[float],
    seed: int,
    command: str,
    display: Display = SILENT,
) -> Report:
    """FPIR and FNIR per group at the thresholds and at those meeting the overall FPIRs, and 1:1 FMR
    within each group; the max/min table goes to ``display``."""
    searched = prepared.search(watchlist_size, seed)
    s, split = searched.searches, searched.split
    sweep = [
        (f"FPIR {f:g}", threshold_at_fpir(s.nonmated_top, f))
        for f in fpirs
        if identify.measurable(f, len(s.nonmated_top))
    ]
    sweep += [(f"{t:g}", t) for t in thresholds]
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
            list(fmrs),
        )
    names = {t: name for name, t in sweep}
    summary = disparity_table(found, names)
    display.table(f"Max/min across groups, watchlist of {len(split.gallery)}", summary)
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
    return report_for(
        "Demographic differentials",
        command,
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


def disparity_table(found: Sequence[demographics.Disparity], names: dict[float, str]) -> Table:
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
