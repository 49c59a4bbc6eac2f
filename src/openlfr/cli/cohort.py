"""``lfr cohort build|sign``: templates of people known not to be on any watchlist, for calibration."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

from openlfr.analysis import FaceAnalyzer
from openlfr.cli.common import console, file_signing, progress, settings
from openlfr.errors import OpenLFRError
from openlfr.ingest.images import iter_image_paths
from openlfr.match.cohort import Cohort, build_cohort
from openlfr.text import term

app = typer.Typer(
    help="Build cohorts: faces of people not on the watchlist, to calibrate thresholds.", no_args_is_help=True
)


@app.command(
    "build",
    epilog="Examples:\n\n  lfr cohort build faces/ -o cohort.lfrc --source 'FairFace val (CC BY 4.0), 5,000 faces'\n\n"
    "  lfr cohort build faces/ -o cohort.lfrc --source 'FairFace val' --labels groups.csv   (columns path, group)\n\n"
    "  lfr --config fused.toml cohort build faces/ -o both.lfrc --source 'FairFace val'   (score fusion: with "
    "a second_embedder table in fused.toml, each face embedded by both)",
)
def build(
    inputs: Annotated[
        list[Path], typer.Argument(help="Image files and/or folders of faces (one face used per image).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Cohort file to write (.lfrc).")],
    source: Annotated[str, typer.Option(help="Where the images came from (recorded with every calibration).")],
    limit: Annotated[int | None, typer.Option(min=1, help="Use at most this many images.")] = None,
    labels: Annotated[
        Path | None,
        typer.Option(
            help="CSV with columns path (or file name) and group: each face's group, so that calibration states "
            "the false-alert rate per group. Kept with the cohort; never used to score."
        ),
    ] = None,
) -> None:
    """Embed the largest face of each image into a cohort file, with each image's SHA-256 (calibration
    refuses a cohort sharing an image with the watchlist). The cohort must hold no one who is on the
    watchlists it will calibrate; its templates are biometric data, kept like the watchlist's. With
    second_embedder set in the config (score fusion), each face is embedded by both embedders, as a fused
    watchlist's calibration needs."""
    paths = list(iter_image_paths(inputs))[:limit]
    if not paths:
        raise OpenLFRError("no images found in the given inputs")
    groups = _read_groups(labels) if labels is not None else None
    signing = file_signing()
    signing.require_key()  # before embedding, not after
    analyzer = FaceAnalyzer(settings())
    with progress() as bar:
        task = bar.add_task("embedding cohort", total=len(paths))
        cohort, skipped = build_cohort(paths, analyzer, source, progress=lambda _: bar.advance(task), groups=groups)
    cohort.save(output, signing)
    console.print(f"wrote {term(output)}: {cohort.vectors.shape[0]} faces ({skipped} images without a face skipped)")


@app.command(
    "sign", epilog="Example:\n\n  lfr cohort sign fairface.lfrc   (one made before signing, or signed with another key)"
)
def sign(
    cohort: Annotated[Path, typer.Argument(help="A cohort file made by 'lfr cohort build'.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (default: in place).")] = None,
) -> None:
    """Sign a cohort file that you have checked with this machine's signing key: one written before files
    were signed, or signed with another key. It is read as --trust-unsigned reads it (logged)."""
    signing = file_signing(True)
    key = signing.require_key()
    path = Cohort.load(cohort, signing).save(output or cohort, signing)
    console.print(f"signed {term(path)} with key {key.key_id}")


def _read_groups(path: Path) -> dict[str, str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise OpenLFRError(f"cannot read labels {path}: {exc.strerror or exc}") from exc
    if not rows or not {"path", "group"} <= rows[0].keys():
        raise OpenLFRError(f"{path}: labels need the columns path and group")
    return {Path(r["path"]).name: r["group"] for r in rows if r["group"]}
