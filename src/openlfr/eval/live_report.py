"""``lfr eval live``: the live pipeline run over a scene (eval/scenes.py), with face_recognition on every
frame beside it, scored against the scene's ground truth (eval/live.py) and written up as a report."""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openlfr.config import CameraConfig, Settings
from openlfr.errors import OpenLFRError
from openlfr.eval.live import COLUMNS, AlertEvent, LiveScore, first_per_face, run_peer, score
from openlfr.eval.report import SILENT, Display, Report, Section, Table, data_checksum
from openlfr.live.app import LiveApp
from openlfr.match.watchlist import Watchlist
from openlfr.types import Alert


class CollectingSink:
    """An alert sink that keeps what scoring needs of each alert: who, when, where and how late."""

    name = "eval"

    def __init__(self) -> None:
        self.events: list[AlertEvent] = []

    def send(self, alert: Alert) -> None:
        latency = alert.raised_wall - alert.frame_captured_wall
        self.events.append(AlertEvent(alert.subject_id, alert.frame_pts, alert.box, latency))

    def close(self, timeout: float = 5.0) -> None:
        return None


@dataclass(frozen=True, slots=True)
class LiveRun:
    """Each system's scores (openlfr first), and the report."""

    rows: list[LiveScore]
    report: Report


def read_truth(scene: Path) -> dict[str, Any]:
    """The scene's ground truth: the .json beside it (made by ``lfr eval scenes``)."""
    truth_path = scene.with_suffix(".json")
    if not truth_path.is_file():
        raise OpenLFRError(f"no ground truth beside the scene: {truth_path} (make scenes with 'lfr eval scenes')")
    truth: dict[str, Any] = json.loads(truth_path.read_text())
    return truth


def live_report(
    scene: Path,
    watchlist_path: Path,
    wl: Watchlist,
    truth: dict[str, Any],
    cfg: Settings,
    realtime: bool,
    peer: bool,
    peer_seconds: float | None,
    seed: int,
    display: Display = SILENT,
) -> LiveRun:
    """Run openlfr over the scene (a watchlist that is not calibrated is measured as given: a deployment
    would refuse it), then the peer if asked (on its first ``peer_seconds`` only, if given, with openlfr
    scored on the same window beside it), and score both."""
    # Score against who is really on the watchlist: a person whose enrolment photo was refused walks as
    # someone not listed.
    truth = {**truth, "watchlisted": sorted(set(truth.get("watchlisted", [])) & set(wl.subjects))}
    if wl.calibration_problem() is not None:
        cfg = cfg.model_copy(update={"live": cfg.live.model_copy(update={"allow_uncalibrated": True})})
    display.line(f"openlfr: {scene.name} {'in real time' if realtime else 'flat out'} ...")
    sink = CollectingSink()
    app = LiveApp(cfg, wl, [CameraConfig(id="scene", source=str(scene), realtime=realtime)], sink=sink)
    start = time.perf_counter()
    app.run()
    [snap] = app.snapshots()
    events = sink.events
    ours = score("openlfr", events, truth)
    ours.frames_analysed, ours.wall_s = snap.frames_analysed, time.perf_counter() - start
    rows = [ours]
    if peer:
        known = {s.subject_id: Path(enrol_image(scene, s.subject_id)) for s in wl.manifest.subjects}
        display.line(f"face_recognition: every frame{f' of the first {peer_seconds:g} s' if peer_seconds else ''} ...")
        peer_events, frames, spent = run_peer(scene, known, peer_seconds)
        theirs = score("face_recognition (every frame)", first_per_face(peer_events, truth), truth, peer_seconds)
        theirs.frames_analysed, theirs.wall_s = frames, spent
        rows.append(theirs)
        if peer_seconds:  # the same window for openlfr, so the rows compare like with like
            window = score(f"openlfr, first {peer_seconds:g} s", events, truth, peer_seconds)
            window.frames_analysed, window.wall_s = ours.frames_analysed, ours.wall_s
            rows.insert(1, window)
    report = Report(
        title=f"Live evaluation: {scene.name}",
        command=" ".join(["lfr eval live", str(scene), "-w", str(watchlist_path)]),
        configuration=cfg.model_dump(mode="json"),
        embedder=wl.embedder,
        data={"scene": data_checksum([scene]), "watchlist": f"{len(wl.manifest.subjects)} subjects, {wl.name}"},
        seed=seed,
        results={r.name: dict(zip(COLUMNS, r.row(), strict=True)) for r in rows},
        sections=[
            Section(
                "Per-pass scores",
                "Alerts matched to the scene's ground truth by place and time.",
                [Table(COLUMNS, [r.row() for r in rows])],
            )
        ],
    )
    return LiveRun(rows, report)


def enrol_image(scene: Path, subject_id: str) -> str:
    """The image ``subject_id`` was enrolled from, as the scene's manifest (-watchlist.csv) names it."""
    manifest = scene.with_name(scene.stem + "-watchlist.csv")
    with manifest.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["subject_id"] == subject_id:
                return row["image"]
    raise OpenLFRError(f"{subject_id} is not in {manifest}")
