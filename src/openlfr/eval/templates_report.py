"""``lfr eval templates``: which ways of making templates pay, measured as open-set identification and
written up as tables and a report (the measures themselves are in ``eval/templates.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from openlfr.config import ScoringConfig, Settings
from openlfr.errors import ConfigError, OpenLFRError
from openlfr.eval import protocol, templates
from openlfr.eval.cache import Embedded, EmbeddingCache, embed_shown
from openlfr.eval.datasets import load
from openlfr.eval.identify import Vector
from openlfr.eval.prepared import report_for, scoring_config
from openlfr.eval.report import SILENT, Display, Report, Section, Table
from openlfr.eval.tables import pct
from openlfr.eval.templates import ArmResult, Difference, Scoring, TemplateSplit
from openlfr.match.scoring import Scoring as Normaliser
from openlfr.match.scoring import build_scoring

SCORINGS = ("euclidean", "cosine", "config", "z", "t", "zt")
"""What ``--scoring`` takes."""
NORMALISED = ("config", "z", "t", "zt")


@dataclass(frozen=True, slots=True)
class TemplatesPlan:
    """What to measure: the data, the variants (name -> the settings embedding with it), the split, the
    target FPIRs and the scorings (of ``SCORINGS``)."""

    data: str
    shared_data: Path
    variants: dict[str, Settings]
    variant_identities: int
    variant_nonmated: int
    min_images: int
    enrol_images: int
    probes: int
    targets: list[float]
    scorings: list[str]
    timing_faces: int
    seed: int


def templates_report(
    cfg: Settings, plan: TemplatesPlan, cache: Path | None, workers: int, command: str, display: Display = SILENT
) -> Report:
    """Run every arm of ``plan`` (each table goes to ``display`` as it is measured), time each variant's
    embedding, and write it all up."""
    seed, k = plan.seed, plan.enrol_images
    samples = load([d.strip() for d in plan.data.split(",") if d.strip()], plan.shared_data)
    store = EmbeddingCache(cache)
    try:
        base = embed_shown([s.path for s in samples], cfg, store, workers, display, "embedding (default core)")
        cohort: list[Vector] = []
        if any(h in NORMALISED for h in plan.scorings):
            parts_of = protocol.cohort_split(samples, seed)
            samples = parts_of.rest
            cohort = [e.vector for s in parts_of.cohort if (e := base[s.path]).vector is not None and not e.fallback]

        def usable(path: Path) -> bool:
            return base[path].vector is not None and not base[path].fallback

        def split(identities: int | None = None, nonmated: int | None = None) -> TemplateSplit:
            return templates.template_split(
                samples, usable, seed, plan.min_images, k, plan.probes, identities=identities, nonmated=nonmated
            )

        full, wide = split(), split(plan.variant_identities)
        sub = split(plan.variant_identities, plan.variant_nonmated)
        embeddings = {"": _vectors(base)}
        for name, variant_cfg in plan.variants.items():
            embedded = embed_shown(sub.paths(), variant_cfg, store, workers, display, f"embedding ({name})")
            embeddings[name] = _vectors(embedded)
    finally:
        store.close()
    quality = {p: e.quality for p, e in base.items()}
    names = list(plan.variants)
    fused, fused_name = f"{k} images fused", f"{k} images, fused (mean)" if k > 1 else "1 image (baseline)"
    parts = [
        ("Several enrolment images and quality weighting", full, templates.enrolment_arms(k)),
        ("Variants on the enrolment side, 1 image", wide, templates.variant_arms(names, False)),
        (f"Variants on the enrolment side, {fused}", wide, templates.variant_arms(names, False, k, "fused")),
        ("Variants on both sides, 1 image", sub, templates.variant_arms(names, True)),
        (f"Variants on both sides, {fused}", sub, templates.variant_arms(names, True, k, "fused")),
    ][: 5 if names else 1]
    sections, results = [Section("Protocol", templates.__doc__ or "")], dict[str, object]()
    scorers = {h: _scorer(cfg, h, cohort) for h in plan.scorings}
    if cohort:
        sections.append(Section("Cohort", _cohort_note(cfg, plan.scorings, len(cohort), seed)))
    best: list[ArmResult] = []
    for how, scorer in scorers.items():
        for title, chosen, arms in parts[:1] if how in NORMALISED else parts:
            found = [templates.run_arm(arm, chosen, embeddings, quality, plan.targets, scorer) for arm in arms]
            _add(f"{title}; {how} scoring", found, chosen, sections, results, display)
            if chosen is full:
                best += [
                    ArmResult(replace(r.arm, name=f"{r.arm.name}; {how}"), r.result, r.searches)
                    for r in found
                    if r.arm.name in (arms[0].name, fused_name)
                ]
    if len(scorers) > 1:
        _add("Enrolment and scoring together", best, full, sections, results, display)
        for name in dict.fromkeys((parts[0][2][0].name, fused_name)):
            same = [r for r in best if r.arm.name.startswith(f"{name};")]
            _add(f"Scorings compared, {name}", same, full, sections, results, display)
    change = "Change: FNIR minus the first row's, in points, 95% paired bootstrap over the probes; * excludes 0."
    sections.insert(1, Section("Reading the tables", change))
    timed = [("default core", cfg), *plan.variants.items()]
    timing = _timing(timed, [s.path for s in sub.mated[: plan.timing_faces]])
    display.table("Cost per face (align + embed, one core)", timing)
    sections.append(Section("Cost per face", "Align and embed, one face at a time, on this machine.", [timing]))
    return report_for("Templates", command, cfg, samples, seed, results, sections)


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
        raise ConfigError(f"--scoring {how} is not a normalisation")
    return config


def _cohort_note(cfg: Settings, hows: Sequence[str], faces: int, seed: int) -> str:
    named = "; ".join(f"{h}: {_config(cfg, h).describe()}" for h in hows if h in NORMALISED)
    return (
        f"Normalised scorings ({named}) against a cohort of {faces} usable faces: a seeded half of the one-image "
        f"identities (protocol.cohort_split, seed {seed}), set aside before the split for every scoring, so "
        "every row is measured on the same probes."
    )


def _add(
    title: str,
    found: list[ArmResult],
    chosen: TemplateSplit,
    sections: list[Section],
    results: dict[str, object],
    display: Display,
) -> None:
    changes = _differences(found)
    table = _table(found, changes, chosen)
    display.table(title, table)
    sections.append(Section(title, _describe(chosen), [table]))
    results[title] = [
        {"arm": r.arm.name, **r.result.to_json(), "fnir_change": {str(t): asdict(d) for t, d in c.items()}}
        for r, c in zip(found, changes, strict=True)
    ]


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
