"""``lfr demo``: openlfr end to end on bundled public-domain photos, with nothing to set up."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from openlfr.analysis import FaceAnalyzer
from openlfr.assets import demo_dir
from openlfr.cli.common import console, progress, settings
from openlfr.cli.enrol import print_report
from openlfr.cli.search import print_table
from openlfr.ingest.images import iter_image_paths
from openlfr.match.enrol import enrol
from openlfr.match.sources import from_csv
from openlfr.search.stills import search_images

EPILOG = "Example:\n\n  lfr demo            lfr demo --keep demo-out/"


def demo_command(
    keep: Annotated[Path | None, typer.Option(help="Keep the demo watchlist and face crops in this folder.")] = None,
) -> None:
    """Enrol a two-person watchlist from bundled public-domain portraits, then search bundled photos
    (one of a person not on the watchlist, who must not be named)."""
    root = demo_dir()
    analyzer = FaceAnalyzer(settings())
    with tempfile.TemporaryDirectory(prefix="lfr-demo-") as tmp:
        out = keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        console.rule("1. Enrol the demo watchlist")
        items = from_csv(root / "watchlist.csv")
        with progress() as bar:
            task = bar.add_task("enrolling", total=len(items))
            watchlist, report = enrol(items, analyzer, name="demo", progress=lambda _: bar.advance(task))
        watchlist.save(out / "demo.lfrw")
        print_report(report)
        console.rule("2. Search the probe photos")
        paths = list(iter_image_paths([root / "probes"]))
        with progress() as bar:
            task = bar.add_task("searching", total=len(paths))
            results = []
            for result in search_images(paths, analyzer, watchlist, k=2, save_crops=out / "crops"):
                results.append(result)
                bar.advance(task)
        print_table(results, 2)
        named = sorted({f.match.display_name for r in results for f in r.faces if f.match})
        faces = sum(len(r.faces) for r in results)
        console.print(
            f"{faces} faces in {len(paths)} photos; named: {', '.join(named) or 'nobody'}; "
            f"threshold {watchlist.threshold:.2f} (uncalibrated demo default). "
            "Eileen Collins is not on the watchlist and must not be named."
        )
        if keep:
            console.print(f"watchlist and face crops kept in {keep}")
