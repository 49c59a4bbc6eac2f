"""``lfr eval scenes``: build a walk-through scene with ground truth from labelled stills; ``lfr eval live``:
run the live pipeline over one and score it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from openlfr.cli.common import TrustUnsigned, console, file_signing, settings
from openlfr.cli.eval_common import TERMINAL, wrote
from openlfr.cli.eval_options import DEFAULT_SHARED, OutDir, Seed, SharedData
from openlfr.eval.live import COLUMNS
from openlfr.eval.live_report import live_report, read_truth
from openlfr.eval.scenes import write_scene
from openlfr.match.watchlist import Watchlist
from openlfr.text import term

SCENES_EPILOG = (
    "Example:\n\n"
    "  lfr eval scenes --out scene.mp4 --duration 150 --passes 60 --watchlisted 15\n\n"
    "  lfr enrol scene-watchlist.csv -o scene.lfrw && lfr eval live scene.mp4 -w scene.lfrw"
)


def scenes_command(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The video to write (.mp4); .json and -watchlist.csv beside it.")
    ],
    shared_data: SharedData = DEFAULT_SHARED,
    duration: Annotated[float, typer.Option(min=5, max=3600, help="Seconds of video.")] = 150.0,
    passes: Annotated[int, typer.Option(min=1, max=5000, help="People walking through.")] = 60,
    watchlisted: Annotated[int, typer.Option(min=0, help="How many distinct people are on the watchlist.")] = 15,
    seed: Seed = 0,
) -> None:
    """Write a 720p walk-through scene: faces of LFW people (a watchlisted person appears with a different
    photo from the one enrolled) and of LFW and FairFace people not listed, approaching the camera from
    about 24 to 200 px across, with motion blur, noise, lighting changes and H.264; plus the ground truth
    (who, where, when) and an enrolment manifest for the watchlist."""
    scene = write_scene(out, shared_data, duration, passes, watchlisted, seed)
    console.print(
        f"wrote {term(out)} ({duration:.0f} s, {scene.passes} passes), {term(scene.truth)}, {term(scene.manifest)}"
    )


LIVE_EPILOG = (
    "Example:\n\n"
    "  lfr eval live scene.mp4 -w scene.lfrw --peer-seconds 60 --out eval-out/live\n\n"
    "The scene's ground truth is read from scene.json beside the video (made by 'lfr eval scenes')."
)


def live_command(
    scene: Annotated[Path, typer.Argument(help="A scene video made by 'lfr eval scenes' (with its .json).")],
    watchlist: Annotated[Path, typer.Option("--watchlist", "-w", help="The scene's watchlist (lfr enrol).")],
    out: OutDir = Path("eval-out/live"),
    realtime: Annotated[bool, typer.Option(help="Play the scene at its own pace, as a camera.")] = True,
    peer: Annotated[bool, typer.Option(help="Also run face_recognition on every frame, as a reference row.")] = True,
    peer_seconds: Annotated[
        float | None, typer.Option(help="Run the peer on the first N seconds only (it manages 2-4 fps).")
    ] = None,
    seed: Seed = 0,
    trust_unsigned: TrustUnsigned = False,
) -> None:
    """Run the live pipeline over a scene and score it against the ground truth: per-pass TPIR, FPIR per
    face seen, alert delay and latency, duplicate alerts; with face_recognition on every frame beside it."""
    truth = read_truth(scene)
    cfg = settings()
    wl = Watchlist.load(watchlist, signing=file_signing(trust_unsigned))
    problem = wl.calibration_problem()
    if problem is not None:  # an evaluation measures the watchlist as given; a deployment would refuse it
        console.print(f"[yellow]note:[/] {term(problem)}: measured as is (lfr watch would refuse it)")
    run = live_report(scene, watchlist, wl, truth, cfg, realtime, peer, peer_seconds, seed, TERMINAL)
    table = Table(title=f"Live evaluation: {scene.name}")
    for col in COLUMNS:
        table.add_column(col)
    for r in run.rows:
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.row()])
    console.print(table)
    wrote(run.report, out)
