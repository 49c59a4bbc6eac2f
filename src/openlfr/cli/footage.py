"""``lfr footage index|search`` and ``lfr search-video``: recorded video, indexed by track, searched by face."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from openlfr.analysis import FaceAnalyzer
from openlfr.cli.common import console, settings
from openlfr.errors import OpenLFRError
from openlfr.footage.search import FootageResult, search_footage
from openlfr.footage.sheet import footage_sheet
from openlfr.footage.store import DEFAULT_THRESHOLD, index_video, open_footage
from openlfr.footage.video import search_video
from openlfr.ingest.images import iter_image_paths
from openlfr.match.watchlist import Watchlist
from openlfr.text import term

app = typer.Typer(help="Recorded footage: index every track, then find every appearance of a person.")
FootageOpt = Annotated[Path, typer.Option("--footage", "-f", help="The footage folder.")]
FpsOpt = Annotated[float, typer.Option("--fps", min=0.5, max=60.0, help="Frames analysed per second of video.")]


class Format(StrEnum):
    TABLE = "table"
    JSONL = "jsonl"
    HTML = "html"


@app.command("index", epilog="Example: lfr footage index cam1.mp4 cam2.mp4 -o case-123-footage/ --retain-days 31")
def index(
    videos: Annotated[list[Path], typer.Argument(help="Video files.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The footage folder (made if new).")],
    retain_days: Annotated[int, typer.Option(min=1, max=3650, help="Days each track is kept.")] = 31,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="Cosine an appearance must reach.")] = (
        DEFAULT_THRESHOLD
    ),
    camera: Annotated[str | None, typer.Option(help="Camera name (default: each file's name).")] = None,
    fps: FpsOpt = 10.0,
) -> None:
    """Every track of each video (one fused template, its time span, best crop), encrypted, flat out."""
    cfg = settings()
    footage = open_footage(output, cfg, FaceAnalyzer(cfg).embedder.identity, threshold)
    stopped = []
    try:
        for video in videos:
            report = index_video(footage, cfg, video, retain_days, camera, fps)
            if report.already_indexed:
                console.print(f"{term(str(video))}: already indexed")
                continue
            console.print(f"{term(str(video))}: {report.tracks} tracks, {report.added} added ({term(report.camera)})")
            if not report.complete:
                kept = f"its {report.added} track(s) so far are kept"
                stopped.append(f"{video}: stopped half way ({report.problem}); {kept}")
    finally:
        footage.close()
    if stopped:
        raise OpenLFRError("; ".join(stopped))


@app.command("search", epilog="Example: lfr footage search suspect.jpg -f case-123-footage/ --reason 'case 123'")
def search(
    probes: Annotated[list[Path], typer.Argument(help="Probe images and/or folders.")],
    footage_path: FootageOpt,
    reason: Annotated[str, typer.Option(help="Why this search is made (required, audited).")],
    top: Annotated[int, typer.Option("--top", "-k", min=1, max=1000, help="Appearances per face, at most.")] = 50,
    everything: Annotated[bool, typer.Option("--all", help="List the top tracks below the threshold too.")] = False,
    output_format: Annotated[Format, typer.Option("--format")] = Format.TABLE,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Every appearance of each probe face in the footage, ranked, with time spans: for review."""
    cfg = settings()
    analyzer = FaceAnalyzer(cfg)
    footage = open_footage(footage_path, cfg, analyzer.embedder.identity, create=False)
    try:
        paths = list(iter_image_paths(probes))
        if not paths:
            raise OpenLFRError("no probe images found")
        results = search_footage(footage, analyzer, paths, reason, top, everything)
        if output_format is Format.TABLE:
            _table(results)
            return
        text = (
            "".join(json.dumps(r.to_json()) + "\n" for r in results)
            if output_format is Format.JSONL
            else footage_sheet(results, footage, reason)
        )
        if output is not None:
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    finally:
        footage.close()


def _table(results: list[FootageResult]) -> None:
    table = Table(title="Appearances for review (not matches)")
    for col in ("probe", "face", "rank", "score", "camera", "video", "from s", "to s"):
        table.add_column(col, overflow="fold")
    for r in results:
        name = term(Path(r.source).name)
        if r.error or not r.faces:
            table.add_row(name, "-", "-", "-", term(r.error or "no face found"), "", "", "")
        for f in r.faces:
            if not f.appearances:
                table.add_row(name, str(f.index), "-", "-", f"none at or above {r.threshold:.4f}", "", "", "")
            for a in f.appearances:
                table.add_row(
                    name, str(f.index), str(a.rank), f"{a.score:.4f}", term(a.camera), term(a.video),
                    f"{a.start_s:.1f}", f"{a.end_s:.1f}",
                )  # fmt: skip
    console.print(table)


def search_video_command(
    video: Annotated[Path, typer.Argument(help="A video file.")],
    watchlist: Annotated[Path, typer.Option("--watchlist", "-w", help="Watchlist file made by 'lfr enrol'.")],
    output_format: Annotated[Format, typer.Option("--format", help="table or jsonl.")] = Format.TABLE,
    fps: FpsOpt = 10.0,
) -> None:
    """Every track of one video against a watchlist (its threshold), best first; nothing is kept."""
    cfg = settings()
    analyzer = FaceAnalyzer(cfg)
    wl = Watchlist.load(watchlist, embedder=analyzer.embedder.identity)
    found = search_video(cfg, video, wl, fps)
    if output_format is Format.JSONL:
        sys.stdout.write(json.dumps({**found.__dict__, "hits": [h.__dict__ for h in found.hits]}) + "\n")
    else:
        table = Table(title=f"{term(video.name)}: {found.tracks} tracks, threshold {found.threshold:.4f}")
        for col in ("rank", "subject", "name", "score", "from s", "to s", "track"):
            table.add_column(col)
        for h in found.hits:
            table.add_row(
                str(h.rank), term(h.subject_id), term(h.display_name), f"{h.score:.4f}",
                f"{h.start_s:.1f}", f"{h.end_s:.1f}", str(h.track_id),
            )  # fmt: skip
        console.print(table)
        if found.uncalibrated:
            console.print(f"note: the threshold is not calibrated: {term(found.uncalibrated)}")
    if not found.complete:
        raise OpenLFRError(f"{video}: stopped half way ({found.problem}); the tracks so far were searched")
