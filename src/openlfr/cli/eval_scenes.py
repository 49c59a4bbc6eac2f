"""``lfr eval scenes``: build a walk-through scene with ground truth from labelled stills."""

from __future__ import annotations

import csv
import json
import random
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from openlfr.app import LiveApp
from openlfr.cli.common import console, settings
from openlfr.cli.eval_options import DEFAULT_SHARED, OutDir, Seed, SharedData
from openlfr.config import CameraConfig
from openlfr.errors import OpenLFRError
from openlfr.eval import datasets
from openlfr.eval.live import COLUMNS, AlertEvent, first_per_face, run_peer, score
from openlfr.eval.report import Report, Section, data_checksum
from openlfr.eval.report import Table as ReportTable
from openlfr.eval.scenes import Person, plan, render
from openlfr.match.watchlist import Watchlist
from openlfr.types import Alert

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
    lfw = datasets.lfw(shared_data)
    by_id: dict[str, list[datasets.Sample]] = {}
    for s in lfw:
        by_id.setdefault(s.identity, []).append(s)
    rng = random.Random(seed)
    multi = sorted(i for i, g in by_id.items() if len(g) >= 2)
    if watchlisted > len(multi):
        raise OpenLFRError(f"only {len(multi)} LFW people have two photos; ask for fewer watchlisted")
    listed = rng.sample(multi, watchlisted)
    singles = sorted(i for i, g in by_id.items() if len(g) == 1)
    others = [by_id[i][0] for i in rng.sample(singles, min(len(singles), passes))]
    others += rng.sample(datasets.fairface(shared_data), min(5000, passes))
    people = [Person(i, str(sorted(by_id[i], key=lambda s: str(s.path))[1].path), True) for i in listed]
    people += [Person(s.identity, str(s.path), False) for s in others]
    # About a quarter of passes are watchlisted people (each listed person at least once where possible).
    n_listed = min(passes, max(watchlisted, passes // 4)) if watchlisted else 0
    walkers = [people[k % watchlisted] for k in range(n_listed)] + rng.sample(people[watchlisted:], passes - n_listed)
    spec = plan(walkers, duration_s=duration, seed=seed)
    render(spec, out)
    manifest = out.with_name(out.stem + "-watchlist.csv")
    with manifest.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["subject_id", "display_name", "category", "reason", "image_source", "expires", "image"])
        for identity in listed:
            enrol_image = sorted(by_id[identity], key=lambda s: str(s.path))[0].path
            writer.writerow(
                [
                    identity,
                    identity.replace("_", " "),
                    "other",
                    "evaluation scene",
                    "LFW",
                    "",
                    str(enrol_image.resolve()),
                ]
            )
    truth = json.loads(out.with_suffix(".json").read_text())
    truth["watchlisted"] = sorted(listed)
    out.with_suffix(".json").write_text(json.dumps(truth), encoding="utf-8")
    console.print(f"wrote {out} ({duration:.0f} s, {len(spec.passes)} passes), {out.with_suffix('.json')}, {manifest}")


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
) -> None:
    """Run the live pipeline over a scene and score it against the ground truth: per-pass TPIR, FPIR per
    face seen, alert delay and latency, duplicate alerts; with face_recognition on every frame beside it."""
    truth_path = scene.with_suffix(".json")
    if not truth_path.is_file():
        raise OpenLFRError(f"no ground truth beside the scene: {truth_path} (make scenes with 'lfr eval scenes')")
    truth = json.loads(truth_path.read_text())
    cfg = settings()
    wl = Watchlist.load(watchlist)
    # Score against who is really on the watchlist: a person whose enrolment photo was refused walks as
    # someone not listed.
    truth["watchlisted"] = sorted(set(truth.get("watchlisted", [])) & set(wl.subjects))
    events: list[AlertEvent] = []

    class Collect:
        name = "eval"

        def send(self, alert: Alert) -> None:
            events.append(
                AlertEvent(alert.subject_id, alert.frame_pts, alert.box, alert.raised_wall - alert.frame_captured_wall)
            )

        def close(self, timeout: float = 5.0) -> None:
            return None

    problem = wl.calibration_problem()
    if problem is not None:  # an evaluation measures the watchlist as given; a deployment would refuse it
        console.print(f"[yellow]note:[/] {problem}: measured as is (lfr watch would refuse it)")
        cfg = cfg.model_copy(update={"live": cfg.live.model_copy(update={"allow_uncalibrated": True})})
    console.print(f"openlfr: {scene.name} {'in real time' if realtime else 'flat out'} ...")
    app = LiveApp(cfg, wl, [CameraConfig(id="scene", source=str(scene), realtime=realtime)], sink=Collect())
    start = time.perf_counter()
    app.run()
    [snap] = app.snapshots()
    ours = score("openlfr", events, truth)
    ours.frames_analysed, ours.wall_s = snap.frames_analysed, time.perf_counter() - start
    rows = [ours]
    if peer:
        known = {s.subject_id: Path(_enrol_image(scene, s.subject_id)) for s in wl.manifest.subjects}
        console.print(f"face_recognition: every frame{f' of the first {peer_seconds:g} s' if peer_seconds else ''} ...")
        peer_events, frames, spent = run_peer(scene, known, peer_seconds)
        theirs = score("face_recognition (every frame)", first_per_face(peer_events, truth), truth, peer_seconds)
        theirs.frames_analysed, theirs.wall_s = frames, spent
        rows.append(theirs)
        if peer_seconds:  # the same window for openlfr, so the rows compare like with like
            window = score(f"openlfr, first {peer_seconds:g} s", events, truth, peer_seconds)
            window.frames_analysed, window.wall_s = ours.frames_analysed, ours.wall_s
            rows.insert(1, window)
    table = Table(title=f"Live evaluation: {scene.name}")
    for col in COLUMNS:
        table.add_column(col)
    for r in rows:
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.row()])
    console.print(table)
    report = Report(
        title=f"Live evaluation: {scene.name}",
        command=" ".join(["lfr eval live", str(scene), "-w", str(watchlist)]),
        configuration=cfg.model_dump(mode="json"),
        embedder=wl.embedder,
        data={"scene": data_checksum([scene]), "watchlist": f"{len(wl.manifest.subjects)} subjects, {wl.name}"},
        seed=seed,
        results={r.name: dict(zip(COLUMNS, r.row(), strict=True)) for r in rows},
        sections=[
            Section(
                "Per-pass scores",
                "Alerts matched to the scene's ground truth by place and time.",
                [ReportTable(COLUMNS, [r.row() for r in rows])],
            )
        ],
    )
    json_path, html_path = report.write(out)
    console.print(f"wrote {json_path} and {html_path}")


def _enrol_image(scene: Path, subject_id: str) -> str:
    manifest = scene.with_name(scene.stem + "-watchlist.csv")
    with manifest.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["subject_id"] == subject_id:
                return row["image"]
    raise OpenLFRError(f"{subject_id} is not in {manifest}")
