"""``lfr eval templates``: which ways of making templates pay, measured as open-set identification."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openlfr.cli.common import settings
from openlfr.cli.eval_common import TERMINAL, Data, command_line, floats, wrote
from openlfr.cli.eval_options import DEFAULT_SHARED, DEFAULT_WORKERS, CachePath, OutDir, Seed, SharedData, Workers
from openlfr.config import DlibEmbedderConfig, DlibOnnxEmbedderConfig
from openlfr.embed.dlib_resnet import with_variant
from openlfr.errors import OpenLFRError
from openlfr.eval.templates_report import SCORINGS, TemplatesPlan, templates_report

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
    if isinstance(cfg.embedder, DlibOnnxEmbedderConfig):  # the same network: its options are the dlib embedder's
        paths = {"model_path": cfg.embedder.model_path, "shape_predictor_path": cfg.embedder.shape_predictor_path}
        cfg = cfg.model_copy(update={"embedder": DlibEmbedderConfig(**paths)})
    if not isinstance(cfg.embedder, DlibEmbedderConfig):
        raise OpenLFRError("lfr eval templates measures the dlib embedder's options; configure embedder.type dlib")
    if min_images < enrol_images + 1:
        raise typer.BadParameter("--min-images must exceed --enrol-images (each identity needs a mated probe)")
    names = [v.strip() for v in variants.split(",") if v.strip()]
    targets, hows = floats(fpirs, "fpirs"), _scorings(scoring)
    configs = {v: cfg.model_copy(update={"embedder": _variant(cfg.embedder, v)}) for v in names}
    plan = TemplatesPlan(
        data=data,
        shared_data=shared_data,
        variants=configs,
        variant_identities=variant_identities,
        variant_nonmated=variant_nonmated,
        min_images=min_images,
        enrol_images=enrol_images,
        probes=probes,
        targets=targets,
        scorings=hows,
        timing_faces=timing_faces,
        seed=seed,
    )
    wrote(templates_report(cfg, plan, cache, workers, command_line(), TERMINAL), out)


def _scorings(text: str) -> list[str]:
    chosen = list(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    if not chosen or any(s not in SCORINGS for s in chosen):
        raise typer.BadParameter(f"--scoring takes euclidean, cosine, config, z, t or zt, got {text!r}")
    return chosen


def _variant(base: DlibEmbedderConfig, name: str) -> DlibEmbedderConfig:
    try:
        return with_variant(base, name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
