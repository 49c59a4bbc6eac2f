"""``lfr eval templates``: which ways of making templates pay, measured as open-set identification."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from openlfr.cli.common import console, progress, settings
from openlfr.cli.eval_common import Data, floats, pct, rich_table, scoring_config, write_report
from openlfr.cli.eval_options import DEFAULT_SHARED, DEFAULT_WORKERS, CachePath, OutDir, Seed, SharedData, Workers
from openlfr.config import DlibEmbedderConfig, ScoringConfig, Settings
from openlfr.embed.dlib_resnet import with_variant
from openlfr.errors import OpenLFRError
from openlfr.eval import protocol, templates
from openlfr.eval.cache import Embedded, EmbeddingCache, embed_all
from openlfr.eval.datasets import load
from openlfr.eval.identify import Vector
from openlfr.eval.report import Section, Table
from openlfr.eval.templates import ArmResult, Difference, Scoring, TemplateSplit
from openlfr.match.scoring import Scoring as Normaliser
from openlfr.match.scoring import build_scoring

EPILOG = (
    "Examples:\n\n"
    "  lfr eval templates --cache /tmp/evalcache.sqlite -o eval-out/templates\n\n"
    "  lfr eval templates --variants flip,lm68 --variant-identities 100 --variant-nonmated 1000\n\n"
    "  lfr eval templates --scoring cosine,config --variants '' --fpirs 0.01,0.003,0.001\n\n"
    "Variants: flip (mirror TTA), jitterN (dlib's N random jitters), lm68 (68-point alignment; its training "
    "data is non-commercial), joined by + to combine (flip+lm68). Each embeds only the variant subset "
    "(--variant-identities x (enrol images + probes) + --variant-nonmated images) and is cached under its own key.\n\n"
    "Scorings: euclidean (today's), cosine, config (the configured match.normalisation), z, t or zt (that "
    "method with the configured top-k and fair clusters). With any normalised scoring, a seeded half of the "
    "one-image identities becomes the cohort (protocol.cohort_split) and is never searched, for every scoring "
    "alike; normalised scorings measure the enrolment table only (the variants have no cohort of their own), "
    "and the last tables compare 1 image and the fused images across scorings (paired). --variants '' "
    "leaves the variant tables out."
)
NORMALISED = ("config", "z", "t", "zt")


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
        str, typer.Option(help="Comma-separated scorings: euclidean (today's), cosine, config, z, t, zt (see below).")
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
    paired bootstrap), and each variant's cost per face; with a normalised scoring, against a cohort as in
    section 6. Results: EVALUATION.md section 7."""
    cfg = settings()
    if not isinstance(cfg.embedder, DlibEmbedderConfig):
        raise OpenLFRError("lfr eval templates measures the dlib embedder's options; configure embedder.type dlib")
    if min_images < enrol_images + 1:
        raise typer.BadParameter("--min-images must exceed --enrol-images (each identity needs a mated probe)")
    names = [v.strip() for v in variants.split(",") if v.strip()]
    targets, hows = floats(fpirs, "fpirs"), _scorings(scoring)
    configs = {v: cfg.model_copy(update={"embedder": _variant(cfg.embedder, v)}) for v in names}
    samples = load([d.strip() for d in data.split(",") if d.strip()], shared_data)
    store = EmbeddingCache(cache)
    try:
        base = _embed([s.path for s in samples], cfg, store, workers, "default core")
        cohort: list[Vector] = []
        if any(h in NORMALISED for h in hows):
            parts_of = protocol.cohort_split(samples, seed)
            samples = parts_of.rest
            cohort = [e.vector for s in parts_of.cohort if (e := base[s.path]).vector is not None and not e.fallback]

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
    fused, fused_name = f"{k} images fused", f"{k} images, fused (mean)" if k > 1 else "1 image (baseline)"
    parts = [
        ("Several enrolment images and quality weighting", full, templates.enrolment_arms(k)),
        ("Variants on the enrolment side, 1 image", wide, templates.variant_arms(names, False)),
        (f"Variants on the enrolment side, {fused}", wide, templates.variant_arms(names, False, k, "fused")),
        ("Variants on both sides, 1 image", sub, templates.variant_arms(names, True)),
        (f"Variants on both sides, {fused}", sub, templates.variant_arms(names, True, k, "fused")),
    ][: 5 if names else 1]
    sections, results = [Section("Protocol", templates.__doc__ or "")], dict[str, object]()
    scorers = {h: _scorer(cfg, h, cohort) for h in hows}
    if cohort:
        sections.append(Section("Cohort", _cohort_note(cfg, hows, len(cohort), seed)))
    best: list[ArmResult] = []
    for how, scorer in scorers.items():
        for title, chosen, arms in parts[:1] if how in NORMALISED else parts:
            found = [templates.run_arm(arm, chosen, embeddings, quality, targets, scorer) for arm in arms]
            _add(f"{title}; {how} scoring", found, chosen, sections, results)
            if chosen is full:
                best += [
                    ArmResult(replace(r.arm, name=f"{r.arm.name}; {how}"), r.result, r.searches)
                    for r in found
                    if r.arm.name in (arms[0].name, fused_name)
                ]
    if len(scorers) > 1:
        _add("Enrolment and scoring together", best, full, sections, results)
        for name in dict.fromkeys((parts[0][2][0].name, fused_name)):
            same = [r for r in best if r.arm.name.startswith(f"{name};")]
            _add(f"Scorings compared, {name}", same, full, sections, results)
    change = "Change: FNIR minus the first row's, in points, 95% paired bootstrap over the probes; * excludes 0."
    sections.insert(1, Section("Reading the tables", change))
    timing = _timing([("default core", cfg), *configs.items()], [s.path for s in sub.mated[:timing_faces]])
    console.print(rich_table(timing, "Cost per face (align + embed, one core)"))
    sections.append(Section("Cost per face", "Align and embed, one face at a time, on this machine.", [timing]))
    write_report(out, "Templates", cfg, samples, seed, results, sections)


def _scorings(text: str) -> list[str]:
    chosen = list(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    if not chosen or any(s not in ("euclidean", "cosine", *NORMALISED) for s in chosen):
        raise typer.BadParameter(f"--scoring takes euclidean, cosine, config, z, t or zt, got {text!r}")
    return chosen


def _scorer(cfg: Settings, how: str, cohort: Sequence[Vector]) -> Scoring | Normaliser:
    plain: dict[str, Scoring] = {"euclidean": "euclidean", "cosine": "cosine"}
    if how in plain:
        return plain[how]
    if not cohort:
        raise OpenLFRError("no usable cohort face: normalisation needs one-image identities in the data")
    return build_scoring(_config(cfg, how), np.stack(cohort).astype(np.float32))


def _config(cfg: Settings, how: str) -> ScoringConfig:
    config = scoring_config(cfg, how, None, None)
    if config is None:  # "none" is not a scoring this command takes
        raise typer.BadParameter(f"--scoring {how} is not a normalisation")
    return config


def _cohort_note(cfg: Settings, hows: Sequence[str], faces: int, seed: int) -> str:
    named = "; ".join(f"{h}: {_config(cfg, h).describe()}" for h in hows if h in NORMALISED)
    return (
        f"Normalised scorings ({named}) against a cohort of {faces} usable faces: a seeded half of the one-image "
        f"identities (protocol.cohort_split, seed {seed}), set aside before the split for every scoring, so "
        "every row is measured on the same probes."
    )


def _add(
    title: str, found: list[ArmResult], chosen: TemplateSplit, sections: list[Section], results: dict[str, object]
) -> None:
    changes = _differences(found)
    table = _table(found, changes, chosen)
    console.print(rich_table(table, title))
    sections.append(Section(title, _describe(chosen), [table]))
    results[title] = [
        {"arm": r.arm.name, **r.result.to_json(), "fnir_change": {str(t): asdict(d) for t, d in c.items()}}
        for r, c in zip(found, changes, strict=True)
    ]


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
