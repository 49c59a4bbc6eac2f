"""``lfr gallery``: create, import into, inspect, remove from, rebuild and search a gallery (openlfr.gallery)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from openlfr.analysis import FaceAnalyzer
from openlfr.cli.common import console, err_console, settings
from openlfr.errors import GalleryError, OpenLFRError
from openlfr.gallery.gallery import Gallery, open_for_rebuild
from openlfr.gallery.importer import import_items, iter_source
from openlfr.gallery.index import COMPACT_LIMIT, EXACT_LIMIT
from openlfr.gallery.search import ProbeResult, search_probes
from openlfr.gallery.sheet import review_sheet
from openlfr.gallery.views import GallerySearchRequest, ProbeView
from openlfr.ingest.images import iter_image_paths
from openlfr.match.cohort import Cohort
from openlfr.text import term

app = typer.Typer(help="Galleries of enrolled images (custody records) for investigative search.", no_args_is_help=True)
GalleryOpt = Annotated[Path, typer.Option("--gallery", "-g", help="The gallery folder.")]


class Format(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"
    HTML = "html"


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.1f}/s" if task.speed else "-/s")


def _embedder() -> str:
    return FaceAnalyzer(settings()).embedder.identity


@app.command("create", epilog="Example: lfr gallery create custody/")
def create(
    path: Annotated[Path, typer.Argument(help="A new or empty folder.")],
    exact_limit: Annotated[int, typer.Option(min=1, help="Exact index below this many records, IVF above.")] = (
        EXACT_LIMIT
    ),
    compact_limit: Annotated[
        int, typer.Option(min=1, help="IVF lists of 8-bit codes (re-ranked exactly) from this many records.")
    ] = COMPACT_LIMIT,
) -> None:
    """Make an empty gallery for the configured embedder, encrypted with the store's key."""
    gallery = Gallery.create(
        path, settings().store, _embedder(), exact_limit=exact_limit, compact_limit=max(compact_limit, exact_limit)
    )
    console.print(f"gallery {path} made ({gallery.embedder})")
    gallery.close()


@app.command("import", epilog="Example: lfr gallery import people/ -g custody/ --workers 2")
def import_command(
    source: Annotated[Path, typer.Argument(help="A folder of one subfolder per person, or a manifest .csv.")],
    gallery_path: GalleryOpt,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 2,
    rejections: Annotated[Path | None, typer.Option(help="Write every rejected image and its reason (CSV).")] = None,
) -> None:
    """Add images (resumable: re-run the same command after a crash or Ctrl-C)."""
    cfg = settings()
    gallery = Gallery.open(gallery_path, cfg.store, _embedder())
    items = list(iter_source(source))
    bar = Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
    with bar:
        task = bar.add_task("import", total=len(items))
        report = import_items(gallery, items, cfg, workers, progress=lambda n: bar.advance(task, n))
    if rejections is not None:
        rejections.write_text("path,reason\n" + "".join(f'"{p}",{r}\n' for p, r in report.rejected), encoding="utf-8")
    console.print(
        f"added {report.added}, already in the gallery {report.known}, duplicates {report.duplicates}, "
        f"rejected {len(report.rejected)} {report.reasons() or ''}; gallery now {gallery.records.count()} records, "
        f"index {gallery.index.params.kind}"
    )
    gallery.close()


@app.command("info")
def info(gallery_path: GalleryOpt) -> None:
    """The gallery's size, index kind and parameters, import journal and audit chain."""
    gallery = Gallery.open(gallery_path, settings().store)
    console.print_json(json.dumps(asdict(gallery.info())))
    gallery.close()


@app.command("remove", epilog="Example: lfr gallery remove CUST-0042 -g custody/ --reason 'no further action'")
def remove(
    records: Annotated[list[str], typer.Argument(help="Record ids.")],
    gallery_path: GalleryOpt,
    reason: Annotated[str, typer.Option(help="Why (audited).")] = "removal requested",
) -> None:
    """Remove records: gone from the index file and the records (overwritten), never returned again."""
    gallery = Gallery.open(gallery_path, settings().store)
    n = gallery.remove(records, reason)
    console.print(f"removed {n} of {len(records)} record(s)")
    gallery.close()


@app.command("normalise", epilog="Example: lfr gallery normalise -g custody/ --cohort strangers.lfrc")
def normalise_command(
    gallery_path: GalleryOpt,
    cohort: Annotated[Path, typer.Option(help="A cohort file made by 'lfr cohort build' (people not in it).")],
) -> None:
    """Score searches with [match.normalisation] against COHORT, as watchlists do (kept encrypted; audited)."""
    cfg = settings()
    gallery = Gallery.open(gallery_path, cfg.store, _embedder())
    scoring = gallery.normalise(Cohort.load(cohort), cfg.match.normalisation)
    console.print(f"gallery {gallery_path} now scores by {scoring.signature}")
    gallery.close()


@app.command("rebuild")
def rebuild(gallery_path: GalleryOpt) -> None:
    """Make the index file again from the encrypted templates (after it was lost or corrupted)."""
    gallery = open_for_rebuild(gallery_path, settings().store)
    n = gallery.rebuild()
    console.print(f"index rebuilt: {n} records, {gallery.index.params.kind}")
    gallery.close()


@app.command("search", epilog="Example: lfr gallery search probe.jpg -g custody/ --top 50 --reason 'case 123'")
def search(
    probes: Annotated[list[Path], typer.Argument(help="Probe images and/or folders.")],
    gallery_path: GalleryOpt,
    reason: Annotated[str, typer.Option(help="Why this search is made (required, audited).")],
    top: Annotated[int, typer.Option("--top", "-k", min=1, max=1000, help="Candidates per face.")] = 20,
    output_format: Annotated[Format, typer.Option("--format", "-f")] = Format.TABLE,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    threshold: Annotated[float | None, typer.Option(help="Mark candidates at or above this cosine.")] = None,
) -> None:
    """Every face of the probes with its top candidates: for a trained person to review, never a match."""
    cfg = settings()
    analyzer = FaceAnalyzer(cfg)
    gallery = Gallery.open(gallery_path, cfg.store, analyzer.embedder.identity)
    paths = list(iter_image_paths(probes))
    if not paths:
        raise OpenLFRError("no probe images found")
    if not reason.strip():
        raise GalleryError("a gallery search needs its reason (--reason)")
    request = GallerySearchRequest(reason=reason, top=top, threshold=threshold)
    results = list(search_probes(gallery, analyzer, paths, request.top, request.reason, request.threshold))
    if output_format is Format.JSONL:
        text = "".join(ProbeView.of(r).model_dump_json() + "\n" for r in results)
    elif output_format is Format.HTML:
        text = review_sheet(results, gallery, reason)
    else:
        _table(results)
        text = ""
    if text:
        if output is not None:
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    gallery.close()


def _table(results: list[ProbeResult]) -> None:
    table = Table(title="Candidates for review (not matches)")
    for col in ("probe", "face", "rank", "score", "subject", "record", "date"):
        table.add_column(col, overflow="fold")
    for r in results:
        if r.error or not r.faces:
            table.add_row(term(Path(r.source).name), "-", "-", "-", term(r.error or "no face found"), "", "")
        for f in r.faces:
            for c in f.candidates:
                table.add_row(
                    term(Path(r.source).name), str(f.index), str(c.rank), f"{c.score:.4f}",
                    term(c.subject_id), term(c.record_id), term(c.date or ""),
                )  # fmt: skip
    console.print(table)
