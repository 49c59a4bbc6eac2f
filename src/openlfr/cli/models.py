"""``lfr models``: which model files are installed, from which package, under which licence."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from openlfr import modelfiles
from openlfr.cli.common import console

EPILOG = "Examples:\n\n  lfr models\n\n  lfr models --json"


def models_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the model files openlfr can use: package, version, licence, size and SHA-256 checksum."""
    rows = modelfiles.installed()
    if as_json:
        console.print_json(json.dumps([asdict(r) for r in rows]))
        return
    table = Table(title="Model files (loaded only from installed packages or paths you give; never downloaded)")
    for col in ("model", "purpose", "package", "licence", "size", "sha256"):
        table.add_column(col, overflow="fold")
    for r in rows:
        size = f"{r.bytes / 1e6:.1f} MB" if r.bytes else "[red]not installed[/]"
        sha = r.sha256[:16] + "…" if r.sha256 else "-"
        table.add_row(r.model, r.purpose, f"{r.package} {r.version or ''}", r.licence, size, sha)
    console.print(table)
