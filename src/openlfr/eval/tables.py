"""How the evaluation reports write their numbers: rates with intervals, similarities as distances, the
counts of a split, and the per-group table and figures that demographics and threshold share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from openlfr.eval import demographics
from openlfr.eval.identify import Rate, SearchedSplit
from openlfr.eval.report import Table, new_figure, png
from openlfr.match.similarity import MIDPOINT, SCALE


def pct(r: Rate) -> str:
    return f"{percent(r.value)} ({r.k}/{r.n}) [{percent(r.low)}, {percent(r.high)}]"


def percent(x: float) -> str:
    return f"{100 * x:.3g}%"


def distance(similarity: float | NDArray[np.float64]) -> Any:
    """The Euclidean distance of a similarity: easier to read than similarities close to 1."""
    s = np.clip(np.asarray(similarity, dtype=np.float64), 1e-300, 1.0)
    return np.round(MIDPOINT + SCALE * np.log(np.maximum(1.0 - s, 1e-300) / s), 4)


def counts(searched: SearchedSplit) -> str:
    """One line on what was searched: enrolled identities, probes by set, what was left out and why."""
    split = searched.split
    by_set = {d: sum(1 for s in split.nonmated if s.dataset == d) for d in sorted({s.dataset for s in split.nonmated})}
    fused = (
        f" ({len(split.more_enrolment) + len(split.gallery)} enrolment images, fused per identity)"
        if split.more_enrolment
        else ""
    )
    return (
        f"{len(split.gallery)} enrolled identities{fused}, {len(split.mated)} mated probes, {len(split.nonmated)} "
        f"non-mated probes ({', '.join(f'{d} {n}' for d, n in by_set.items())}); "
        f"{searched.unreadable_probes} unreadable probe(s) counted as failures, "
        f"{searched.unenrollable} identity(ies) left out for an unreadable enrolment image; "
        f"{searched.left_out} image(s) of the split left out (no face detected)."
    )


def groups_table(found: Sequence[demographics.Disparity], names: dict[float, str]) -> Table:
    rows: list[list[object]] = [
        [d.measure, d.family, d.label or names.get(d.threshold, f"{d.threshold:g}"), g.group, pct(g.rate)]
        for d in found
        for g in d.groups
    ]
    return Table(["measure", "family", "threshold", "group", "rate (k/n) [95% CI]"], rows)


def group_figures(found: Sequence[demographics.Disparity], names: dict[float, str]) -> list[bytes]:
    """Per family: each group's rate with its interval, one bar per threshold (log scale)."""
    figures = []
    for family in dict.fromkeys(d.family for d in found):
        of = [d for d in found if d.family == family][:4]
        groups = [g.group for g in of[0].groups]
        fig, ax = new_figure(max(7.0, 0.6 * len(groups) * len(of)), 4.5)
        width = 0.8 / len(of)
        for i, d in enumerate(of):
            rates = [g.rate for g in d.groups]
            x = np.arange(len(groups)) + i * width
            value = np.array([r.value for r in rates])
            low, high = np.array([r.low for r in rates]), np.array([r.high for r in rates])
            err = np.maximum(np.stack([value - low, high - value]), 0.0)  # rounding can put a bound past 0 of n
            ax.bar(x, value, width, yerr=err, capsize=2, label=names.get(d.threshold, f"{d.threshold:g}"))
        ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, groups, rotation=30, ha="right")
        ax.set(ylabel=of[0].measure, title=f"{of[0].measure} by group: {family} (Wilson 95%)")
        ax.set_yscale("symlog", linthresh=1e-4)  # a log scale that can show 0
        ax.legend(fontsize="small", title="threshold")
        ax.grid(True, axis="y", which="both", alpha=0.3)
        figures.append(png(fig))
    return figures
