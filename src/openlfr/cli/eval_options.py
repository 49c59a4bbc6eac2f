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
