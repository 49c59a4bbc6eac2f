"""The options every ``lfr eval`` sub-command shares, and their defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

SharedData = Annotated[
    Path,
    typer.Option(
        "--shared-data",
        envvar="LFR_SHARED_DATA",
        help="Folder holding lfw/, fairface_val/, utkface_part1_subset/ (default ../shared/data).",
    ),
]
CachePath = Annotated[
    Path | None, typer.Option("--cache", help="Embedding cache (default ~/.cache/openlfr/embeddings.sqlite).")
]
Workers = Annotated[int, typer.Option(min=1, max=64, help="Worker processes for embedding (one per core).")]
OutDir = Annotated[Path, typer.Option("--out", "-o", help="Folder for results.json and report.html.")]
Seed = Annotated[int, typer.Option(help="Seed for every random choice (splits, sampling).")]

DEFAULT_SHARED = Path(os.environ.get("LFR_SHARED_DATA", "../shared/data"))
DEFAULT_WORKERS = max(1, min(2, os.cpu_count() or 1))
Normalisation = Annotated[
    str,
    typer.Option(
        "--normalisation",
        help="none: similarity from Euclidean distance, as sections 1-3 of EVALUATION.md; config: the configured "
        "\\[match.normalisation]; cosine, z, t or zt: that method. With any but none, a seeded half of the one-image "
        "identities becomes the cohort and is never searched (protocol.cohort_split).",
    ),
]
CohortTopK = Annotated[int | None, typer.Option("--cohort-top-k", min=0, help="Override top_k (0: all cohort scores).")]
FairClusters = Annotated[
    int | None, typer.Option("--fair-clusters", min=0, help="Override fair_clusters (0: no fair normalisation).")
]
KeepOverlap = Annotated[
    bool,
    typer.Option(
        "--keep-overlap",
        help="Keep the images reviewed as showing a watchlist person under another identity (a UTKFace crop of "
        "an LFW celebrity; eval/identity_overlap.csv). Left out by default: searched as non-mated probes they "
        "count as false alerts, and at FPIR 1e-3 a few of them set the threshold.",
    ),
]
EnrolImages = Annotated[
    int,
    typer.Option(
        "--enrol-images",
        min=1,
        help="Enrol each watchlist identity from up to this many images, fused into one template (never all of "
        "its images: at least one stays a mated probe). 1: one image, as NIST's and NPL's single-image tests.",
    ),
]
