"""What ``lfr eval identify``, ``lfr eval demographics`` and ``lfr eval threshold`` share: the options, the
protocol, embedding the labelled sets of ../shared/data with a progress bar, the report, tables and figures."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from numpy.typing import NDArray
from rich.table import Table as RichTable

from openlfr.analysis import FaceAnalyzer
from openlfr.cli.common import console, progress
from openlfr.config import ScoringConfig, Settings
from openlfr.errors import OpenLFRError
from openlfr.eval import demographics, identify, overlap
from openlfr.eval.cache import CENTRE_BOX, EmbeddingCache, embed_all
from openlfr.eval.datasets import Sample, load
from openlfr.eval.identify import Rate, SearchedSplit, Vector
from openlfr.eval.protocol import cohort_split, open_set_split
from openlfr.eval.report import Report, Section, Table, data_checksum, new_figure, png
from openlfr.match.scoring import Scoring, build_scoring
from openlfr.match.similarity import MIDPOINT, SCALE

EPILOG = (
    "Examples:\n\n"
    "  lfr eval identify --cache /tmp/evalcache.sqlite -o out/identify\n\n"
    "  lfr eval demographics --watchlist-size 1680 -o out/demographics\n\n"
    "  lfr eval threshold --watchlist-size 1000 --faces-per-deployment 10000 --max-false-alerts 1"
)
Data = Annotated[
    str, typer.Option(help="Comma-separated sets: lfw, fairface, utkface, or manifest .csv paths (see datasets.py).")
]
Thresholds = Annotated[str, typer.Option(help="Comma-separated similarity thresholds to report at.")]
ExcludeFallbacks = Annotated[
    bool,
    typer.Option(
        "--exclude-fallbacks/--keep-fallbacks",
        help="Leave out images in which no face was detected (the cache embeds the central box of those): a "
        "deployment never searches a face it did not detect, and enrolment refuses one. --keep-fallbacks "
        "searches them too.",
    ),
]
PROTOCOL = (
    "Watchlist (gallery): N identities drawn with the seed from those with two or more images, each enrolled "
    "with its first image; their other images are mated probes. Every image of anyone not enrolled (the rest "
    "of LFW, all of FairFace and UTKFace) is a non-mated probe. FPIR: non-mated searches whose best score "
    "reaches the threshold. FNIR: mated searches whose mate is not first or is below the threshold. Intervals "
    "are Wilson 95%. A target FPIR below 1/(non-mated probes) cannot be measured and is not reported."
)


# -- data --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prepared:
    """The samples, each image's template (None if unreadable), the images embedded from the central box
    (no face detected), whether to leave those out, and a line saying all this for the report."""

    samples: list[Sample]
    templates: dict[Path, Vector | None]
    fallbacks: set[Path]
    exclude_fallbacks: bool
    note: str
    scoring: Scoring | None = None
    cohort: tuple[Sample, ...] = ()

    def usable(self, sample: Sample) -> Vector | None:
        excluded = self.exclude_fallbacks and sample.path in self.fallbacks
        return None if excluded else self.templates.get(sample.path)

    def search(self, size: int, seed: int, enrol_images: int = 1) -> SearchedSplit:
        split = open_set_split(self.samples, size, seed, enrol_images)
        left_out = self.fallbacks if self.exclude_fallbacks else ()
        return identify.search_split(split, self.templates, left_out, self.scoring)

    def families(self, samples: list[Sample]) -> dict[str, list[str | None]]:
        """The demographic families, and per set whether each face was detected or taken from the centre."""
        fams = demographics.families(samples)
        if not self.exclude_fallbacks:
            for dataset in sorted({s.dataset for s in samples}):
                values = [
                    None if s.dataset != dataset else "centre box" if s.path in self.fallbacks else "detected"
                    for s in samples
                ]
                if len(set(values) - {None}) == 2:
                    fams[f"{dataset} face detection"] = values
        return fams


def scoring_config(cfg: Settings, name: str, top_k: int | None, fair: int | None) -> ScoringConfig | None:
    """The normalisation asked for by ``--normalisation`` (None for none) with the overrides applied."""
    if name == "none":
        return None
    base = cfg.match.normalisation
    if name != "config":
        if name not in ("cosine", "z", "t", "zt"):
            raise typer.BadParameter(f"--normalisation takes none, config, cosine, z, t or zt, got {name!r}")
        base = base.model_copy(update={"method": name})
    if top_k is not None:
        base = base.model_copy(update={"top_k": top_k or None})
    if fair is not None:
        base = base.model_copy(update={"fair_clusters": fair})
    return ScoringConfig.model_validate(base.model_dump())


def prepare(
    data: str,
    shared: Path,
    cfg: Settings,
    cache_path: Path | None,
    workers: int,
    exclude_fallbacks: bool,
    normalisation: ScoringConfig | None = None,
    seed: int = 0,
    keep_overlap: bool = False,
) -> Prepared:
    samples = load([d.strip() for d in data.split(",") if d.strip()], shared)
    cleaned = None if keep_overlap else overlap.drop_same(samples, shared)
    samples = samples if cleaned is None else cleaned.kept
    missing = [s.path for s in samples if not s.path.is_file()]
    if missing:
        raise OpenLFRError(f"{len(missing)} image(s) missing, first {missing[0]} (give --shared-data)")
    store = EmbeddingCache(cache_path)
    try:
        with progress() as bar:
            task = bar.add_task("embedding", total=len(samples))
            paths = [s.path for s in samples]
            embedded = embed_all(paths, cfg, store, workers, progress=lambda n: bar.advance(task, n))
    finally:
        store.close()
    fallbacks = {p for p, e in embedded.items() if e.fallback}
    unreadable = sum(1 for e in embedded.values() if e.vector is None)
    low, high = CENTRE_BOX
    by_set = ", ".join(
        f"{d} {sum(1 for s in samples if s.dataset == d and s.path in fallbacks)}"
        for d in sorted({s.dataset for s in samples})
    )
    note = (
        f"{len(embedded)} images embedded; in {len(fallbacks)} ({by_set}) no face was detected and the central "
        f"box ({low:.0%}-{high:.0%} of the image) was embedded instead: "
        + ("those are left out" if exclude_fallbacks else "those are kept (--keep-fallbacks)")
        + f"; {unreadable} unreadable."
        + ("" if cleaned is None else " " + cleaned.note())
    )
    templates = {p: e.vector for p, e in embedded.items()}
    prepared = Prepared(samples, templates, fallbacks, exclude_fallbacks, note)
    if normalisation is not None:
        prepared = with_cohort(prepared, normalisation, seed)
    console.print(prepared.note)
    return prepared


def with_cohort(prepared: Prepared, config: ScoringConfig, seed: int) -> Prepared:
    """Set the cohort aside (``cohort_split``) and normalise by ``config`` against its usable templates."""
    split = cohort_split(prepared.samples, seed)
    vectors = [v for s in split.cohort if (v := prepared.usable(s)) is not None]
    if not vectors:
        raise OpenLFRError("no usable cohort face: normalisation needs one-image identities in the data")
    by_set = ", ".join(
        f"{d} {sum(1 for s in split.cohort if s.dataset == d)}" for d in sorted({s.dataset for s in split.cohort})
    )
    note = (
        f"{prepared.note} Normalisation {config.describe()}: cohort of {len(vectors)} usable faces out of "
        f"{len(split.cohort)} images ({by_set}), a seeded half of the one-image identities (seed {seed}), never "
        "searched or enrolled."
    )
    scoring = build_scoring(config, np.stack(vectors).astype(np.float32))
    return Prepared(
        split.rest,
        prepared.templates,
        prepared.fallbacks,
        prepared.exclude_fallbacks,
        note,
        scoring,
        tuple(split.cohort),
    )


def floats(text: str, name: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"--{name} takes comma-separated numbers, got {text!r}") from exc


def ints(text: str, name: str) -> list[int]:
    return [int(x) for x in floats(text, name)]


def counts(searched: SearchedSplit) -> str:
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


def write_report(
    out: Path,
    title: str,
    cfg: Settings,
    samples: list[Sample],
    seed: int,
    results: dict[str, Any],
    sections: list[Section],
) -> None:
    sets = sorted({s.dataset for s in samples})
    report = Report(
        title=title,
        command=shlex.join(["lfr", *sys.argv[1:]]),
        configuration=cfg.model_dump(mode="json"),
        embedder=FaceAnalyzer(cfg).embedder.identity,
        data={d: data_checksum([s.path for s in samples if s.dataset == d]) for d in sets},
        seed=seed,
        results=results,
        sections=sections,
    )
    json_path, html_path = report.write(out)
    console.print(f"wrote {json_path} and {html_path}")


# -- tables ------------------------------------------------------------------------------------------


def pct(r: Rate) -> str:
    return f"{percent(r.value)} ({r.k}/{r.n}) [{percent(r.low)}, {percent(r.high)}]"


def percent(x: float) -> str:
    return f"{100 * x:.3g}%"


def distance(similarity: float | NDArray[np.float64]) -> Any:
    """The Euclidean distance of a similarity: easier to read than similarities close to 1."""
    s = np.clip(np.asarray(similarity, dtype=np.float64), 1e-300, 1.0)
    return np.round(MIDPOINT + SCALE * np.log(np.maximum(1.0 - s, 1e-300) / s), 4)


def groups_table(found: Sequence[demographics.Disparity], names: dict[float, str]) -> Table:
    rows: list[list[object]] = [
        [d.measure, d.family, d.label or names.get(d.threshold, f"{d.threshold:g}"), g.group, pct(g.rate)]
        for d in found
        for g in d.groups
    ]
    return Table(["measure", "family", "threshold", "group", "rate (k/n) [95% CI]"], rows)


def rich_table(table: Table, title: str) -> RichTable:
    shown = RichTable(title=title)
    for c in table.columns:
        shown.add_column(c, overflow="fold")
    for row in table.rows:
        shown.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
    return shown


# -- figures -----------------------------------------------------------------------------------------


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
