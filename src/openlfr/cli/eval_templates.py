"""``lfr eval templates``: which ways of making templates pay, measured as open-set identification."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from openlfr.cli.common import console, progress, settings
from openlfr.cli.eval_common import Data, floats, pct, rich_table, write_report
from openlfr.cli.eval_options import DEFAULT_SHARED, DEFAULT_WORKERS, CachePath, OutDir, Seed, SharedData, Workers
from openlfr.config import DlibEmbedderConfig, Settings
from openlfr.embed.dlib_resnet import with_variant
from openlfr.errors import OpenLFRError
from openlfr.eval import templates
from openlfr.eval.cache import Embedded, EmbeddingCache, embed_all
from openlfr.eval.datasets import load
from openlfr.eval.identify import Vector
from openlfr.eval.report import Section, Table
from openlfr.eval.templates import ArmResult, Difference, Scoring, TemplateSplit

EPILOG = (
    "Examples:\n\n"
    "  lfr eval templates --cache /tmp/evalcache.sqlite -o eval-out/templates\n\n"
    "  lfr eval templates --variants flip,lm68 --variant-identities 100 --variant-nonmated 1000\n\n"
    "Variants: flip (mirror TTA), jitterN (dlib's N random jitters), lm68 (68-point alignment; its training "
    "data is non-commercial), joined by + to combine (flip+lm68). Each embeds only the variant subset "
    "(--variant-identities x (enrol images + probes) + --variant-nonmated images) and is cached under its own key."
)


def templates_command(
    variants: Annotated[str, typer.Option(help="Comma-separated embedding variants to measure (see below).")] = (
        "flip,jitter5,lm68"
    ),
    variant_identities: Annotated[
        int, typer.Option(min=2, help="Watchlist identities drawn for the variant experiments.")
    ] = 250,
    variant_nonmated: Annotated[
        int, typer.Option(min=1, help="Non-mated probes drawn for the variant experiments on the probe side.")
    ] = 1300,
    min_images: Annotated[int, typer.Option(min=2, help="Identities with this many detected faces enrol.")] = 4,
    enrol_images: Annotated[int, typer.Option(min=1, help="Enrolment images per identity, at most.")] = 3,
    probes: Annotated[int, typer.Option(min=1, help="Mated probes per identity, at most.")] = 2,
    fpirs: Annotated[str, typer.Option(help="Comma-separated target FPIRs.")] = "0.01,0.001",
    scoring: Annotated[
        str, typer.Option(help="Comma-separated scorings to measure: euclidean (today's), cosine.")
    ] = "euclidean,cosine",
    timing_faces: Annotated[int, typer.Option(min=1, help="Faces to time each variant's embedding on.")] = 20,
    data: Data = "lfw,fairface,utkface",
    shared_data: SharedData = DEFAULT_SHARED,
    cache: CachePath = None,
    workers: Workers = DEFAULT_WORKERS,
    out: OutDir = Path("eval-out/templates"),
    seed: Seed = 0,
) -> None:
    """Better templates: several enrolment images kept apart or fused, quality weighting, and test-time
    augmentation (mirror, jitter) and 68-point alignment on the enrolment side or both sides; FNIR at
    FPIR 1e-2 and 1e-3 with Wilson 95% intervals, each row's change against its table's first row (95%
    paired bootstrap), and each variant's cost per face. Results: EVALUATION.md section 7."""
    cfg = settings()
    if not isinstance(cfg.embedder, DlibEmbedderConfig):
        raise OpenLFRError("lfr eval templates measures the dlib embedder's options; configure embedder.type dlib")
    if min_images < enrol_images + 1:
        raise typer.BadParameter("--min-images must exceed --enrol-images (each identity needs a mated probe)")
    names = [v.strip() for v in variants.split(",") if v.strip()]
    targets = floats(fpirs, "fpirs")
    configs = {v: cfg.model_copy(update={"embedder": _variant(cfg.embedder, v)}) for v in names}
    samples = load([d.strip() for d in data.split(",") if d.strip()], shared_data)
    store = EmbeddingCache(cache)
    try:
        base = _embed([s.path for s in samples], cfg, store, workers, "default core")

        def usable(path: Path) -> bool:
            return base[path].vector is not None and not base[path].fallback

        def split(identities: int | None = None, nonmated: int | None = None) -> TemplateSplit:
            return templates.template_split(
                samples, usable, seed, min_images, enrol_images, probes, identities=identities, nonmated=nonmated
            )

        full, wide, sub = split(), split(variant_identities), split(variant_identities, variant_nonmated)
        embeddings = {"": _vectors(base)}
        for name, variant_cfg in configs.items():
            embeddings[name] = _vectors(_embed(sub.paths(), variant_cfg, store, workers, name))
    finally:
        store.close()
    quality = {p: e.quality for p, e in base.items()}
    k = enrol_images
    fused = f"{k} images fused"
    parts = [
        ("Several enrolment images and quality weighting", full, templates.enrolment_arms(k)),
        ("Variants on the enrolment side, 1 image", wide, templates.variant_arms(names, False)),
        (f"Variants on the enrolment side, {fused}", wide, templates.variant_arms(names, False, k, "fused")),
        ("Variants on both sides, 1 image", sub, templates.variant_arms(names, True)),
        (f"Variants on both sides, {fused}", sub, templates.variant_arms(names, True, k, "fused")),
    ]
    sections, results = [Section("Protocol", templates.__doc__ or "")], {}
    for how in _scorings(scoring):
        for title, chosen, arms in parts:
            found = [templates.run_arm(arm, chosen, embeddings, quality, targets, how) for arm in arms]
            changes = _differences(found)
            table = _table(found, changes, chosen)
            console.print(rich_table(table, f"{title}; {how} scoring"))
            sections.append(Section(f"{title}; {how} scoring", _describe(chosen), [table]))
            results[f"{title}; {how} scoring"] = [
                {"arm": r.arm.name, **r.result.to_json(), "fnir_change": {str(t): asdict(d) for t, d in c.items()}}
                for r, c in zip(found, changes, strict=True)
            ]
    change = "Change: FNIR minus the first row's, in points, 95% paired bootstrap over the probes; * excludes 0."
    sections.insert(1, Section("Reading the tables", change))
    timing = _timing([("default core", cfg), *configs.items()], [s.path for s in sub.mated[:timing_faces]])
    console.print(rich_table(timing, "Cost per face (align + embed, one core)"))
    sections.append(Section("Cost per face", "Align and embed, one face at a time, on this machine.", [timing]))
    write_report(out, "Templates", cfg, samples, seed, results, sections)


def _scorings(text: str) -> list[Scoring]:
    chosen = [s.strip() for s in text.split(",") if s.strip()]
    if not chosen or any(s not in ("euclidean", "cosine") for s in chosen):
        raise typer.BadParameter(f"--scoring takes euclidean and/or cosine, got {text!r}")
    return chosen  # type: ignore[return-value]


def _variant(base: DlibEmbedderConfig, name: str) -> DlibEmbedderConfig:
    try:
        return with_variant(base, name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _embed(
    paths: Sequence[Path], cfg: Settings, store: EmbeddingCache, workers: int, label: str
) -> dict[Path, Embedded]:
    with progress() as bar:
        task = bar.add_task(f"embedding ({label})", total=len(paths))
        return embed_all(paths, cfg, store, workers, progress=lambda n: bar.advance(task, n))


def _vectors(embedded: dict[Path, Embedded]) -> dict[Path, Vector]:
    return {p: e.vector for p, e in embedded.items() if e.vector is not None}


def _describe(split: TemplateSplit) -> str:
    enrol = sum(len(g) for g in split.enrol.values())
    return (
        f"{len(split.enrol)} identities enrolled from {enrol} images, {len(split.mated)} mated probes, "
        f"{len(split.nonmated)} non-mated probes."
    )


def _differences(found: Sequence[ArmResult]) -> list[dict[float, Difference]]:
    """Per arm after the first, per measurable target FPIR, its FNIR minus the first arm's."""
    out: list[dict[float, Difference]] = [{}]
    for r in found[1:]:
        measured = [t.target_fpir for t in r.result.at_targets if t.point is not None]
        out.append({t: templates.paired_difference(found[0].searches, r.searches, t) for t in measured})
    return out


def _table(found: Sequence[ArmResult], changes: list[dict[float, Difference]], split: TemplateSplit) -> Table:
    rows: list[list[object]] = []
    targets = [t.target_fpir for t in found[0].result.at_targets] if found else []
    for i, (r, change) in enumerate(zip(found, changes, strict=True)):
        cells: list[object] = [r.arm.name]
        for t in r.result.at_targets:
            if t.point is None:
                cells += [f"cannot be measured with {len(split.nonmated)} probes", "-"]
                continue
            d = change.get(t.target_fpir)
            star = " *" if d and d.clear else ""
            shown = f"{100 * d.value:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}]{star}" if d else "-"
            cells += [pct(t.point.fnir), "(reference)" if i == 0 else shown]
        cells.append(pct(r.result.rank_hits[1]))
        rows.append(cells)
    columns = [c for t in targets for c in (f"FNIR at FPIR {t:g} [95% CI]", f"change at {t:g}, points [95%]")]
    return Table(["templates", *columns, "rank-1 hit rate"], rows)


def _timing(arms: Sequence[tuple[str, Settings]], paths: Sequence[Path]) -> Table:
    rows: list[list[object]] = [[name, f"{templates.cost_per_face(cfg, paths):.1f}"] for name, cfg in arms]
    return Table(["embedder", "ms per face"], rows)
