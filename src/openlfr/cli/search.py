"""``lfr search``: every face in still images against a watchlist, as a table or JSON lines."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from openlfr.analysis import FaceAnalyzer
from openlfr.cli.common import TrustUnsigned, console, file_signing, progress, settings
from openlfr.errors import OpenLFRError
from openlfr.ingest.images import iter_image_paths
from openlfr.match.watchlist import Watchlist
from openlfr.search.stills import ImageResult, search_images
from openlfr.text import term

EPILOG = (
    "Examples:\n\n"
    "  lfr search crowd.jpg --watchlist event.lfrw\n\n"
    "  lfr search photos/ --watchlist event.lfrw --format jsonl --top-k 10 --save-crops crops/"
)


class OutputFormat(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"


def search_command(
    inputs: Annotated[list[Path], typer.Argument(help="Image files and/or folders (searched recursively).")],
    watchlist: Annotated[Path, typer.Option("--watchlist", "-w", help="Watchlist file made by 'lfr enrol'.")],
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=100, help="Candidates per face.")] = 5,
    output_format: Annotated[OutputFormat, typer.Option("--format", "-f", help="table or jsonl.")] = OutputFormat.TABLE,
    save_crops: Annotated[Path | None, typer.Option(help="Save each face's crop into this folder.")] = None,
    trust_unsigned: TrustUnsigned = False,
) -> None:
    """Find every face in the images and rank the watchlist subjects it may be.

    A face is named only when its best candidate reaches the watchlist's threshold and the face passes
    the probe quality rule; candidates are listed anyway, for a person to review."""
    cfg = settings()
    analyzer = FaceAnalyzer(cfg)
    identity, second = analyzer.embedder.identity, analyzer.second_identity
    wl = Watchlist.load(watchlist, embedder=identity, second=second, signing=file_signing(trust_unsigned))
    paths = list(iter_image_paths(inputs))
    if not paths:
        raise OpenLFRError("no images found in the given inputs")
    results: list[ImageResult] = []
    with progress() as bar:
        task = bar.add_task("searching", total=len(paths))
        for result in search_images(paths, analyzer, wl, k=top_k, save_crops=save_crops):
            if output_format is OutputFormat.JSONL:
                sys.stdout.write(json.dumps(result.to_json()) + "\n")  # stdout: the data; the bar is on stderr
                sys.stdout.flush()
            else:
                results.append(result)
            bar.advance(task)
    if output_format is OutputFormat.TABLE:
        print_table(results, top_k)
    faces = sum(len(r.faces) for r in results)
    errors = sum(1 for r in results if r.error)
    if output_format is OutputFormat.TABLE:
        console.print(
            f"{len(paths)} image(s), {faces} face(s), {errors} unusable image(s); "
            f"watchlist {term(wl.name)}, threshold {wl.threshold:.4f}"
        )


def print_table(results: list[ImageResult], top_k: int) -> None:
    table = Table(title="Search results")
    for col in ("image", "face", "box", "quality", "decision", f"top {top_k} candidates (similarity)"):
        table.add_column(col, overflow="fold")
    for r in results:
        name = term(Path(r.source).name)
        if r.error:
            table.add_row(name, "-", "-", "-", f"[red]unusable[/]: {term(r.error.split(': ', 1)[-1])}", "")
            continue
        if not r.faces:
            table.add_row(name, "-", "-", "-", "no face found", "")
        for f in r.faces:
            q = f"{f.quality.score:.2f}" + ("" if f.quality_ok else f" [yellow]({term(f.quality_reason)})[/]")
            decision = f"[bold green]{term(f.match.display_name)}[/] {f.match.score:.4f}" if f.match else "nobody"
            cands = ", ".join(f"{term(c.display_name)} {c.score:.4f}" for c in f.candidates)
            table.add_row(name, str(f.index), " ".join(map(str, f.box)), q, decision, cands)
    console.print(table)
