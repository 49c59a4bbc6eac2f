"""``lfr enrol``: build a watchlist file from a folder or a CSV manifest."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from openlfr.analysis import FaceAnalyzer
from openlfr.cli.common import console, err_console, file_signing, progress, settings
from openlfr.match.enrol import EnrolmentReport, enrol
from openlfr.match.sources import collect
from openlfr.match.watchlist import SUFFIX
from openlfr.text import term
from openlfr.types import Category

EPILOG = (
    "Examples:\n\n"
    "  lfr enrol photos/ -o event.lfrw --category wanted --reason 'warrant 123' --image-source custody\n\n"
    "  lfr enrol manifest.csv -o event.lfrw   (columns: subject_id, display_name, category, reason, "
    "image_source, expires, image[, box])\n\n"
    "  lfr --config fused.toml enrol photos/ -o event.lfrw   (score fusion: with a second_embedder table in "
    "fused.toml, e.g. type = 'onnx' and path = 'model.onnx', each face is embedded by both embedders)"
)


def enrol_command(
    source: Annotated[Path, typer.Argument(help="A folder with one subfolder per subject, or a CSV manifest.")],
    output: Annotated[Path, typer.Option("--output", "-o", help=f"Watchlist file to write ({SUFFIX}).")],
    name: Annotated[str | None, typer.Option(help="Watchlist name (default: the output file's stem).")] = None,
    category: Annotated[Category, typer.Option(help="Folder sources: category of every subject.")] = Category.OTHER,
    reason: Annotated[str, typer.Option(help="Folder sources: why every subject is on the watchlist.")] = "",
    image_source: Annotated[str, typer.Option(help="Folder sources: where the images came from.")] = "",
    expires: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Folder sources: expiry date (YYYY-MM-DD).")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Match threshold (similarity); default: the config's."),
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Also write the enrolment report as JSON here.")] = None,
    allow_outside: Annotated[
        bool,
        typer.Option(
            "--allow-outside", help="CSV manifests: accept image paths outside the manifest's folder (else refused)."
        ),
    ] = False,
) -> None:
    """Enrol subjects' images into a watchlist, rejecting each unusable image with its reason."""
    expiry: date | None = expires.date() if expires else None
    items = collect(source, allow_outside, category=category, reason=reason, image_source=image_source, expires=expiry)
    signing = file_signing()
    signing.require_key()  # before enrolling, not after
    analyzer = FaceAnalyzer(settings())
    with progress() as bar:
        task = bar.add_task("enrolling", total=len(items))
        watchlist, result = enrol(
            items,
            analyzer,
            name=name or output.stem,
            threshold=threshold,
            progress=lambda _: bar.advance(task),
        )
    path = watchlist.save(output, signing)
    print_report(result)
    if report is not None:
        report.write_text(json.dumps(asdict(result), indent=2), encoding="utf-8")
    console.print(
        f"wrote {term(path)}: {len(watchlist.manifest.subjects)} subjects, "
        f"{len(watchlist.manifest.templates)} templates, "
        f"threshold {watchlist.threshold:.4f} ({watchlist.manifest.threshold_source})"
    )


def print_report(report: EnrolmentReport) -> None:
    table = Table(title=f"Enrolment: {len(report.accepted)} accepted, {len(report.rejected)} rejected")
    for col in ("subject", "image", "result"):
        table.add_column(col)
    for a in report.accepted:
        table.add_row(
            term(a.subject_id),
            term(a.image),
            f"[green]accepted[/] as {term(a.template_id)} (quality {a.quality_score:.2f})",
        )
    for r in report.rejected:
        table.add_row(term(r.subject_id), term(r.image), f"[red]rejected[/]: {term(r.reason)}")
    console.print(table)
    for subject in report.subjects_without_images:
        err_console.print(
            f"[yellow]warning:[/] subject {term(subject)} has no usable image and is not on the watchlist"
        )
