"""N 720p cameras in one process, in real time: ``bench/live.py --cameras 1 2 4 8``.

Each camera plays a different built scene (openlfr.eval.scenes: LFW people walking towards the camera,
faces 28-40 px growing to 120-160 px, two or three at once; about half on the watchlist), all against
one watchlist that holds every scene's listed people and ~100 distractors, normalised and calibrated
for FPIR 1e-2 on a FairFace cohort (first 1,100 validation images, people on no watchlist): the
watchlist a deployment runs, not the uncalibrated override. Scenes, watchlist and cohort are cached in
bench/out/.

For each N, in a fresh process: this tree's LiveApp with N cameras (realtime, 10 analysed frames a
second each), then the same with the tree of the base commit (``--base``, default the commit before
the multi-camera work: its src/ exported with git archive and put first on PYTHONPATH), one after the
other, so that the A/B shares the machine's load. Per camera: analysed fps after the first 5 s, drops
after the first 5 s, hits (``lfr eval live``'s scoring), alert latency p50/p95 (capture to sent); per
run: CPU ms per analysed frame (user + system of the process and its children) and peak RSS.
face_recognition runs on the first --peer-seconds of the first scene: its CPU ms per frame is the ratio.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np
import psutil

from live import LFW, OUT, ROOT, SUBJECT_ID, PeakRSS, mark, since

if TYPE_CHECKING:
    from openlfr.analysis import FaceAnalyzer

FAIRFACE = ROOT.parent / "shared" / "data" / "fairface_val"
COHORT_IMAGES = 1100
WARM_S = 5.0
TARGET_FPIR = 1e-2  # the 1,100 images give ~816 faces: enough to resolve 1e-2, not 1e-3


def _cohort(analyzer: FaceAnalyzer) -> Path:
    """The FairFace calibration cohort (cached)."""
    from openlfr.match.calibrate import build_cohort

    cohort_path = OUT / f"cohort-fairface-{COHORT_IMAGES}.lfrc"
    if not cohort_path.is_file():
        with (FAIRFACE / "manifest.csv").open() as fh:
            paths = [FAIRFACE / row["path"] for row in csv.DictReader(fh)][:COHORT_IMAGES]
        cohort, _ = build_cohort(paths, analyzer, f"fairface_val first {COHORT_IMAGES}")
        cohort.save(cohort_path)
    return cohort_path


def build(n: int, seconds: float, seed: int) -> dict[str, object]:
    """``n`` scenes and one calibrated watchlist for all of them (cached)."""
    from openlfr.analysis import FaceAnalyzer
    from openlfr.config import ScoringConfig
    from openlfr.eval.scenes import Pass, SceneSpec, render
    from openlfr.match.calibrate import Cohort, apply, calibrate, normalise
    from openlfr.match.enrol import enrol
    from openlfr.match.sources import EnrolItem
    from openlfr.match.watchlist import Subject

    plan_path = OUT / f"cameras-{n}-{seconds:g}-{seed}.json"
    if plan_path.is_file():
        return json.loads(plan_path.read_text())  # type: ignore[no-any-return]
    OUT.mkdir(parents=True, exist_ok=True)
    analyzer, rng = FaceAnalyzer(), np.random.default_rng(seed)
    cohort_path = _cohort(analyzer)
    people: dict[str, dict[int, str]] = {}
    with (LFW / "manifest.csv").open() as fh:
        for row in csv.DictReader(fh):
            if SUBJECT_ID.match(row["identity"]):
                people.setdefault(row["identity"], {})[int(row["image_index"])] = str(LFW / row["path"])
    multi = list(rng.permutation([p for p in sorted(people) if {1, 2} <= people[p].keys()]))
    single = list(rng.permutation([p for p in sorted(people) if len(people[p]) == 1]))

    def with_face(names: list[str], index: int, count: int) -> list[str]:
        found: list[str] = []
        for p in names:
            if len(found) < count and analyzer.detector.detect(analyzer.load(Path(people[p][index]))):
                found.append(p)
        return found

    per_scene = 4  # 8 passes a scene: 4 listed, 4 not
    wanted = with_face(multi, 2, per_scene * n + 8)
    others = multi[len(multi) // 2 : len(multi) // 2 + 100]
    items = [
        EnrolItem(Subject(subject_id=p, display_name=p.replace("_", " ")), Path(people[p][1])) for p in wanted + others
    ]
    watchlist, report = enrol(items, analyzer, name="bench-cameras")
    cohort = Cohort.load(cohort_path)
    watchlist = normalise(watchlist, cohort, ScoringConfig())
    watchlist = apply(watchlist, calibrate(watchlist, cohort, TARGET_FPIR))
    wl_path = watchlist.save(OUT / f"cameras-{n}-{seed}.lfrw")
    watched = [p for p in wanted if p in watchlist.subjects]
    strangers = with_face(single, 1, per_scene * n)
    scenes = []
    for i in range(n):
        walkers = [(p, people[p][2]) for p in watched[i * per_scene : (i + 1) * per_scene]]
        walkers += [(p, people[p][1]) for p in strangers[i * per_scene : (i + 1) * per_scene]]
        w, h, lanes = 1280, 720, (0.17, 0.61, 0.39, 0.83)
        gap = (seconds - 7.0) / max(1, len(walkers) - 1)
        passes = []
        for k, j in enumerate(rng.permutation(len(walkers))):
            t0 = max(0.2, 0.5 + k * gap + rng.uniform(-0.3, 0.3))
            x = lanes[k % 4] * w + rng.uniform(-40, 40)
            start = (x, rng.uniform(0.25, 0.35) * h, rng.uniform(28, 40))
            end = (x + rng.uniform(-60, 60), rng.uniform(0.55, 0.65) * h, rng.uniform(120, 160))
            t1 = min(t0 + rng.uniform(5.0, 7.0), seconds - 0.2)
            passes.append(Pass(walkers[j][0], walkers[j][1], round(t0, 2), round(t1, 2), start, end))
        spec = SceneSpec(width=w, height=h, fps=25.0, duration_s=seconds, seed=seed + i, passes=passes)
        scenes.append(str(render(spec, OUT / f"cameras-{seed}-{i}-{seconds:g}.mp4", analyzer)))
    plan = {
        "videos": scenes,
        "watchlist": str(wl_path),
        "threshold": watchlist.threshold,
        "known": {a.subject_id: a.image for a in report.accepted},
        "description": f"{n} scenes of {seconds:g} s, 1280x720 at 25 fps, 8 passes each (4 listed); watchlist "
        f"of {len(watchlist.subjects)} people, calibrated at FPIR {TARGET_FPIR:g} on {len(cohort.vectors)} "
        f"FairFace faces (threshold {watchlist.threshold:.4f})",
    }
    plan_path.write_text(json.dumps(plan, indent=1))
    return plan


def run_cameras(videos: list[str], watchlist_path: str) -> dict[str, object]:
    """LiveApp with one camera per video, in real time, with whatever openlfr is first on the path."""
    import openlfr
    from openlfr.config import CameraConfig, Settings
    from openlfr.live.app import LiveApp
    from openlfr.match.watchlist import Watchlist

    rss, alerts = PeakRSS(), []
    sink = SimpleNamespace(name="collect", send=alerts.append, close=lambda timeout=5.0: None)
    cameras = [CameraConfig(id=f"cam{i}", source=v, analysis_fps=10.0, realtime=True) for i, v in enumerate(videos)]
    app = LiveApp(Settings(), Watchlist.load(Path(watchlist_path)), cameras, sink=sink)
    app.start()
    m0, t0 = mark(), time.perf_counter()
    time.sleep(WARM_S)
    warm = {s.camera_id: (s.frames_analysed, s.drops) for s in app.snapshots()}
    t_warm = time.perf_counter()
    app.wait()
    wall, cpu, end = time.perf_counter() - t0, since(m0), time.perf_counter()
    snaps = app.snapshots()
    app.stop()
    cams = []
    for s in snaps:
        a0, d0 = warm[s.camera_id]
        cams.append(
            {
                "camera": s.camera_id,
                "analysed": s.frames_analysed,
                "drops": s.drops,
                "fps_after_5s": (s.frames_analysed - a0) / max(end - t_warm, 1e-6),
                "drops_after_5s": s.drops - d0,
                "full_scans": getattr(s, "full_scans", None),
                "memory_mb": getattr(s, "memory_bytes", 0) / 2**20,
            }
        )
    return {
        "openlfr": openlfr.__file__,
        "wall_s": wall,
        **cpu,
        "rss_mb": rss.stop(),
        "cameras": cams,
        "alerts": [
            {
                "camera": a.camera_id,
                "subject": a.subject_id,
                "t": a.frame_pts,
                "box": list(asdict(a.box).values()),
                "latency_s": a.raised_wall - a.frame_captured_wall,
            }
            for a in alerts
        ],
    }


def _child(src: Path, plan: dict[str, object], n: int) -> dict[str, object]:
    """``run_cameras`` in a fresh Python with ``src`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    job = json.dumps({"videos": plan["videos"][:n], "watchlist": plan["watchlist"]})  # type: ignore[index]
    out = subprocess.run(
        [sys.executable, __file__, "--child", job],
        env=env,
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def base_tree(commit: str) -> Path:
    """The base commit's src/, exported once into bench/out (never a checkout of this worktree)."""
    sha = subprocess.run(["git", "rev-parse", commit], cwd=ROOT, capture_output=True, text=True, check=True)
    dest = OUT / f"base-{sha.stdout.strip()[:10]}"
    if not (dest / "src" / "openlfr").is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", sha.stdout.strip(), "src"], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest / "src"


def score_run(run: dict[str, object], plan: dict[str, object]) -> list[dict[str, object]]:
    from openlfr.eval.live import AlertEvent, score
    from openlfr.types import BoundingBox

    rows = []
    for i, cam in enumerate(run["cameras"]):  # type: ignore[arg-type]
        video = Path(plan["videos"][i])  # type: ignore[index]
        truth = {**json.loads(video.with_suffix(".json").read_text()), "watchlisted": sorted(plan["known"])}  # type: ignore[arg-type]
        mine = [a for a in run["alerts"] if a["camera"] == cam["camera"]]  # type: ignore[attr-defined]
        events = [AlertEvent(a["subject"], a["t"], BoundingBox(*a["box"]), a["latency_s"]) for a in mine]
        s = score(cam["camera"], events, truth)
        lat = [a["latency_s"] for a in mine]
        rows.append(
            {
                **cam,
                "hits": f"{s.hits}/{s.watchlisted_passes}",
                "false": s.false_alerts,
                "p50": float(np.median(lat)) if lat else None,
                "p95": float(np.percentile(lat, 95)) if lat else None,
            }
        )
    return rows


def main(args: argparse.Namespace) -> None:
    from live import peer_case

    counts = sorted(set(args.cameras))
    plan = build(max(counts), args.seconds, args.seed)
    print(
        f"bench/live.py --cameras {' '.join(map(str, counts))}  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{psutil.cpu_count()} cores, load {psutil.getloadavg()[0]:.1f}\n  {plan['description']}"
    )
    trees = {"this": ROOT / "src"} | ({} if args.no_base else {f"base {args.base}": base_tree(args.base)})
    results: dict[str, object] = {"plan": plan, "runs": []}
    for n in counts:
        for name, src in trees.items():
            load = psutil.getloadavg()[0]
            run = _child(src, plan, n)
            rows = score_run(run, plan)
            analysed = sum(int(c["analysed"]) for c in run["cameras"])  # type: ignore[attr-defined]
            cpu_ms = 1000 * float(run["cpu_s"]) / max(1, analysed)  # type: ignore[arg-type]
            print(
                f"\n  {n} camera(s), {name} ({run['openlfr']}): CPU ms per analysed frame {cpu_ms:.1f}, peak RSS "
                f"{run['rss_mb']:.0f} MB, other processes {run['others_cores']:.2f} cores, load {load:.1f}"
            )
            print(
                "    camera | analysed fps after 5 s | drops after 5 s (all) | hits | false | latency p50/p95 s | "
                "full scans | memory MB"
            )
            for r in rows:
                lat = f"{r['p50']:.2f}/{r['p95']:.2f}" if r["p50"] is not None else "-"
                print(
                    f"    {r['camera']} | {r['fps_after_5s']:.1f} | {r['drops_after_5s']} ({r['drops']}) | "
                    f"{r['hits']} | {r['false']} | {lat} | {r['full_scans']}/{r['analysed']} | {r['memory_mb']:.1f}"
                )
            results["runs"].append(
                {
                    "cameras": n,
                    "tree": name,
                    "cpu_ms_per_frame": cpu_ms,
                    "load": load,  # type: ignore[attr-defined]
                    **{k: v for k, v in run.items() if k != "alerts"},
                    "rows": rows,
                }
            )
    if args.peer_seconds > 0:
        peer = peer_case(plan["videos"][0], plan["known"], args.peer_seconds)  # type: ignore[index]
        ms = 1000 * float(peer["cpu_s"]) / max(1, int(peer["analysed"]))
        print(
            f"\n  face_recognition, first {args.peer_seconds:g} s of scene 0: {peer['analysed']} frames, "
            f"{peer['analysed'] / peer['wall_s']:.1f} fps, CPU ms per frame {ms:.0f}"
        )
        results["peer_cpu_ms_per_frame"] = ms
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str) + "\n")


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    job = json.loads(sys.argv[2])
    print(json.dumps(run_cameras(job["videos"], job["watchlist"]), default=str))
