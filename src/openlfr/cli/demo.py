"""``lfr demo``: openlfr end to end on bundled public-domain material, with nothing to set up.

1. enrol a two-person watchlist from official portraits;
2. watch a bundled walk-through clip live, at its own pace, and alert as people are recognised
   (a third person, not on the watchlist, must raise nothing);
3. search the bundled still photos retrospectively.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live

from openlfr.analysis import FaceAnalyzer
from openlfr.assets import demo_dir
from openlfr.cli.common import console, progress, settings
from openlfr.cli.enrol import print_report
from openlfr.cli.search import print_table
from openlfr.cli.watch import status_table
from openlfr.config import CameraConfig, Settings
from openlfr.ingest.images import iter_image_paths
from openlfr.live.app import LiveApp
from openlfr.match.enrol import enrol
from openlfr.match.signing import FileSigning, SigningKey
from openlfr.match.sources import from_csv
from openlfr.match.watchlist import Watchlist
from openlfr.search.stills import search_images
from openlfr.text import term
from openlfr.types import Alert

EPILOG = "Examples:\n\n  lfr demo\n\n  lfr demo --fast --keep demo-out/"


class ConsoleSink:
    """Prints each alert as one readable line, as it happens (the demo's operator screen)."""

    name = "console"

    def __init__(self, out: Console) -> None:
        self._out = out

    def send(self, alert: Alert) -> None:
        latency = alert.raised_wall - alert.frame_captured_wall
        self._out.print(
            f"[bold red]ALERT[/] {term(alert.display_name)} ({term(alert.category)}) on {term(alert.camera_id)} at "
            f"{alert.frame_pts:.1f} s of the clip: similarity {alert.score:.4f} >= {alert.threshold:.4f}, "
            f"track {alert.track_id}, {latency * 1000:.0f} ms after capture",
            highlight=False,
        )

    def close(self, timeout: float = 5.0) -> None:
        return None


def demo_command(
    fast: Annotated[bool, typer.Option("--fast", help="Play the clip as fast as possible, not in real time.")] = False,
    keep: Annotated[Path | None, typer.Option(help="Keep the demo watchlist and face crops in this folder.")] = None,
) -> None:
    """Enrol a watchlist from bundled public-domain portraits, watch a bundled walk-through clip live
    against it, then search bundled photos. Eileen Collins is not on the watchlist and must not be named."""
    root = demo_dir()
    cfg = settings()
    analyzer = FaceAnalyzer(cfg)
    with tempfile.TemporaryDirectory(prefix="lfr-demo-") as tmp:
        out = keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        console.rule("1. Enrol the demo watchlist (official portraits)")
        items = from_csv(root / "watchlist.csv")
        with progress() as bar:
            task = bar.add_task("enrolling", total=len(items))
            watchlist, report = enrol(items, analyzer, name="demo", progress=lambda _: bar.advance(task))
        watchlist.save(out / "demo.lfrw", _demo_signing(cfg))
        print_report(report)
        alerts = _watch(cfg, watchlist, root / "video" / "walkthrough.mp4", fast)
        console.rule("3. Search the still photos (retrospective)")
        paths = list(iter_image_paths([root / "probes"]))
        with progress() as bar:
            task = bar.add_task("searching", total=len(paths))
            results = []
            for result in search_images(paths, analyzer, watchlist, k=2, save_crops=out / "crops"):
                results.append(result)
                bar.advance(task)
        print_table(results, 2)
        named = sorted({f.match.display_name for r in results for f in r.faces if f.match})
        console.rule("Summary")
        truth = json.loads((root / "video" / "walkthrough.json").read_text())
        people = sorted({p["identity"] for p in truth["spec"]["passes"]})
        console.print(
            f"live: {len(alerts)} alert(s) for {', '.join(sorted(term(a.display_name) for a in alerts)) or 'nobody'} "
            f"(people in the clip: {', '.join(people)}; on the watchlist: obama, biden)\n"
            f"stills: named {', '.join(map(term, named)) or 'nobody'}; threshold {watchlist.threshold:.2f} "
            "(the uncalibrated default)"
        )
        if keep:
            console.print(f"watchlist and face crops kept in {term(keep)}")


def _demo_signing(cfg: Settings) -> FileSigning:
    """The configured signing key, or (a fresh machine has none) a throwaway one, said so: the demo
    watchlist is used from memory, and a kept copy is then read only with --trust-unsigned."""
    signing = FileSigning.from_settings(cfg)
    if signing.key is not None:
        return signing
    console.print(
        "[bold yellow]DEMO:[/] no signing key is configured (\\[signing] key_file or LFR_SIGNING__KEY): the demo "
        "watchlist file is signed with a throwaway key"
    )
    return FileSigning(SigningKey.generate())


def _watch(cfg: Settings, watchlist: Watchlist, clip: Path, fast: bool) -> list[Alert]:
    console.rule(f"2. Watch {clip.name} live{'' if fast else ' (real time)'}")
    camera = CameraConfig(id="demo-cam", source=str(clip), realtime=not fast)
    # The demo's two-person watchlist is enrolled a moment ago and has no cohort to calibrate on: live
    # matching refuses such a threshold unless told otherwise, so the demo says so, visibly.
    console.print(
        "[bold yellow]DEMO OVERRIDE:[/] the demo watchlist's threshold is not calibrated (no cohort ships with "
        "openlfr); live matching runs with --allow-uncalibrated, and every alert records it"
    )
    cfg = cfg.model_copy(update={"live": cfg.live.model_copy(update={"allow_uncalibrated": True})})
    app = LiveApp(cfg, watchlist, [camera], sink=ConsoleSink(console))
    app.start()
    try:
        with Live(status_table(app), console=console, refresh_per_second=4, transient=True) as live:
            while not app.wait(0.25):
                live.update(status_table(app))
    finally:
        app.stop()
    for snap in app.snapshots():
        console.print(
            f"{term(snap.camera_id)}: {snap.frames_analysed} frames analysed, {snap.faces} faces, "
            f"{snap.tracks} tracks, "
            f"{snap.embeddings} embeddings, {snap.alerts} alerts"
        )
    return [a for p in app.pipelines for a in p.alerts]
