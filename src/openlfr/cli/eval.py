"""``lfr eval``: measure accuracy and equitability the way NIST FRTE and NPL do, on your own data.

Each sub-command lives in its own module (``cli/eval_<name>.py``) and is registered below.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Evaluate accuracy and equitability: verify (LFW protocol), identify (open-set 1:N), demographics, "
    "threshold (the advisor), scenes and live. Results go to a JSON file and an HTML report.",
    no_args_is_help=True,
)

# Options every evaluation command shares.
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

# -- sub-commands (each module adds one line here) --------------------------------------------------
