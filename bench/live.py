"""One 720p camera, end to end: openlfr's live pipeline beside the face_recognition library.

The scene is a built walk-through (openlfr.eval.scenes): LFW faces, each from a photo other than the
one enrolled, walk towards the camera, growing from about 28-40 px to 120-160 px wide, two or three at
a time; about half of them are on the watchlist, which also holds ~100 LFW people who never pass
(distractors). Without ../shared/data the bundled 13 s demo scene and watchlist are used instead.
The scene and the watchlist are cached in bench/out/, keyed by the options.

Cases, each in a fresh process (so that memory and CPU are its own), one after the other:

1. openlfr realtime: LiveApp plays the file at its native rate, as a camera sends it, and analyses
   10 frames a second (CameraConfig.analysis_fps). Alert latency is capture to alert sent.
2. openlfr flat out: the same, as fast as the machine goes (throughput, in analysed frames/s).
3. openlfr flat out at the peer's threshold: the watchlist's threshold set to the similarity that
   openlfr's map gives face_recognition's tolerance (distance 0.6), so both decide alike.
4. face_recognition: openlfr.eval.live.run_peer (every frame decoded with PyAV, face_locations with
   its defaults, HOG and upsample 1, face_encodings, the nearest name within distance 0.6). An
   "alert" is its first naming per (person, pass) (first_per_face: deduplicated with the ground
   truth, which flatters the peer: it has no tracker). Its latency is from the frame's decoding to
   the naming. It runs 2-4 frames/s, so only the first --peer-seconds of the clip; its hits are
   compared on that stretch.

Scoring is openlfr.eval.live.score, as `lfr eval live` reports it: an alert belongs to the scene face
whose box overlaps its box (IoU > 0.3) at its frame time; it hits that pass if the face is the named
person (later ones are duplicates), otherwise it is a false alert. FPIR per face seen: passes of
people not enrolled that raised a false alert / such passes.
CPU is user + system seconds of the process and its children per second of clip (the peer's without
encoding its watchlist images); peak RSS is the largest sum of resident memory of the process and its
children, sampled every 0.1 s.
On a shared machine compare the ratios, which are measured in the same run, not absolute times.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import psutil

import openlfr
from _signing import throwaway_signing_key
from openlfr.eval.live import PEER_TOLERANCE, AlertEvent, LiveScore, first_per_face, run_peer, score
from openlfr.eval.scenes import Pass, SceneSpec, render

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
LFW = ROOT.parent / "shared" / "data" / "lfw"
DEMO = Path(openlfr.__file__).parent / "assets" / "demo"
SUBJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def _family_sum(measure: Callable[[psutil.Process], float]) -> float:
    me, total = psutil.Process(), 0.0
    for p in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a child may end between listing and measuring
            total += measure(p)
    return total


def mark() -> tuple[float, float, float]:
    """CPU seconds (user + system) of this process and its children, the whole machine's busy CPU seconds, now."""
    t = psutil.cpu_times()
    busy = t.user + t.nice + t.system + t.irq + t.softirq + t.steal
    return _family_sum(lambda p: sum(p.cpu_times()[:2])), busy, time.perf_counter()


def since(m0: tuple[float, float, float]) -> dict[str, float]:
    """Our CPU seconds since ``m0``, and how many cores other processes kept busy meanwhile (outside load)."""
    ours, busy, wall = (b - a for a, b in zip(m0, mark(), strict=True))
    return {"cpu_s": ours, "others_cores": max(0.0, busy - ours) / wall}


class PeakRSS:
    """The largest resident memory of this process and its children together, sampled every 0.1 s."""

    def __init__(self) -> None:
        self.mb, self._stop = 0.0, threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.mb = max(self.mb, _family_sum(lambda p: p.memory_info().rss / 2**20))

    def stop(self) -> float:
        self._stop.set()
        return self.mb


# -- the scene and the watchlist -------------------------------------------------------------------


def build(args: argparse.Namespace) -> dict[str, object]:
    """The scene video, the watchlist file, each subject's enrolment image, and what the scene is (cached)."""
    from openlfr.analysis import FaceAnalyzer
    from openlfr.match.enrol import enrol
    from openlfr.match.sources import EnrolItem, from_csv
    from openlfr.match.watchlist import Subject

    analyzer = FaceAnalyzer()
    OUT.mkdir(parents=True, exist_ok=True)
    if not (LFW / "manifest.csv").is_file():
        watchlist, report = enrol(from_csv(DEMO / "watchlist.csv"), analyzer, name="demo")
        known = {a.subject_id: a.image for a in report.accepted}
        desc = "../shared/data is ABSENT: the bundled demo scene instead (13 s, 15 fps, 3 passes, 2 watchlisted)"
        return {"video": str(DEMO / "video" / "walkthrough.mp4"), "watchlist": str(watchlist.save(OUT / "demo.lfrw")),
                "known": known, "description": desc}  # fmt: skip
    key = hashlib.sha256(json.dumps([args.seconds, args.passes, args.distractors, args.fps, args.seed]).encode())
    plan_path = OUT / f"live-{key.hexdigest()[:12]}.json"
    if plan_path.is_file():
        return json.loads(plan_path.read_text())  # type: ignore[no-any-return]
    rng = np.random.default_rng(args.seed)
    people: dict[str, dict[int, str]] = {}
    with (LFW / "manifest.csv").open() as fh:
        for row in csv.DictReader(fh):
            if SUBJECT_ID.match(row["identity"]):
                people.setdefault(row["identity"], {})[int(row["image_index"])] = str(LFW / row["path"])
    multi = list(rng.permutation([p for p in sorted(people) if {1, 2} <= people[p].keys()]))
    single = list(rng.permutation([p for p in sorted(people) if len(people[p]) == 1]))

    def with_face(names: list[str], index: int, n: int) -> list[str]:  # the first n whose photo has a face
        found: list[str] = []
        for p in names:
            if len(found) < n and analyzer.detector.detect(analyzer.load(Path(people[p][index]))):
                found.append(p)
        return found

    n_watch = args.passes // 2
    wanted = with_face(multi, 2, n_watch + 8)  # spares, in case enrolment refuses some; unused ones stay enrolled
    others = multi[len(multi) // 2 : len(multi) // 2 + args.distractors]
    items = [EnrolItem(Subject(subject_id=p, display_name=p.replace("_", " ")), Path(people[p][1])) for p in wanted]
    items += [EnrolItem(Subject(subject_id=p, display_name=p.replace("_", " ")), Path(people[p][1])) for p in others]
    watchlist, report = enrol(items, analyzer, name="bench-live")
    watched = [p for p in wanted if p in watchlist.subjects][:n_watch]  # enrolled from image 1, walk as image 2
    walkers = [(p, people[p][2]) for p in watched] + [(p, people[p][1]) for p in with_face(single, 1, n_watch)]
    w, h, lanes = 1280, 720, (0.17, 0.61, 0.39, 0.83)  # four lanes; passes one after another take lanes 2 apart
    gap = (args.seconds - 7.0) / max(1, len(walkers) - 1)  # passes last 5-7 s: two or three people at once
    passes = []
    for k, i in enumerate(rng.permutation(len(walkers))):
        t0 = max(0.2, 0.5 + k * gap + rng.uniform(-0.3, 0.3))
        x = lanes[k % 4] * w + rng.uniform(-40, 40)
        start = (x, rng.uniform(0.25, 0.35) * h, rng.uniform(28, 40))  # far away: high in the frame, small
        end = (x + rng.uniform(-60, 60), rng.uniform(0.55, 0.65) * h, rng.uniform(120, 160))
        t1 = min(t0 + rng.uniform(5.0, 7.0), args.seconds - 0.2)
        passes.append(Pass(walkers[i][0], walkers[i][1], round(t0, 2), round(t1, 2), start, end))
    spec = SceneSpec(width=w, height=h, fps=args.fps, duration_s=args.seconds, seed=args.seed, passes=passes)
    spec_key = hashlib.sha256(json.dumps(asdict(spec)).encode()).hexdigest()[:12]
    video = render(spec, OUT / f"scene-{spec_key}.mp4", analyzer)
    desc = (
        f"{args.seconds:.0f} s, {w}x{h} at {args.fps:.0f} fps, {len(passes)} passes ({len(watched)} watchlisted, "
        f"each enrolled from LFW image 1 and walking as image 2; the others LFW people with one image), faces "
        f"28-40 px growing to 120-160 px over 5-7 s, 2-3 at once; watchlist of {len(watchlist.subjects)} people "
        f"({len(watchlist.subjects) - len(watched)} never pass; {len(report.rejected)} images refused at "
        f"enrolment); seed {args.seed}"
    )
    plan = {"video": str(video), "watchlist": str(watchlist.save(OUT / f"watchlist-{spec_key}.lfrw")),
            "known": {a.subject_id: a.image for a in report.accepted}, "description": desc}  # fmt: skip
    plan_path.write_text(json.dumps(plan, indent=1))
    return plan


# -- the cases (each runs in its own process) --------------------------------------------------------


def openlfr_case(video: str, watchlist_path: str, realtime: bool, peer_threshold: bool) -> dict[str, object]:
    from openlfr.config import CameraConfig, LiveConfig, Settings
    from openlfr.live.app import LiveApp
    from openlfr.match.similarity import similarity_from_distance
    from openlfr.match.watchlist import Watchlist

    rss, alerts, watchlist = PeakRSS(), [], Watchlist.load(Path(watchlist_path))
    sink = SimpleNamespace(name="collect", send=alerts.append, close=lambda timeout=5.0: None)  # keeps every alert
    if peer_threshold:  # the similarity openlfr gives to face_recognition's tolerance, Euclidean distance 0.6
        sim = watchlist.manifest.similarity
        threshold = float(similarity_from_distance(PEER_TOLERANCE, sim.midpoint, sim.scale))
        watchlist.manifest = watchlist.manifest.model_copy(update={"threshold": threshold})
    camera = CameraConfig(id="bench", source=video, analysis_fps=10.0, realtime=realtime)
    # the bench measures speed and the uncalibrated threshold's false alerts, as BENCHMARKS.md reports them
    app = LiveApp(Settings(live=LiveConfig(allow_uncalibrated=True)), watchlist, [camera], sink=sink)
    app.start()  # loads the models and starts the embedding worker; the camera starts at its end
    m0, t0 = mark(), time.perf_counter()
    app.wait()
    wall, cpu = time.perf_counter() - t0, since(m0)
    [snap] = app.snapshots()
    app.stop()
    return {"wall_s": wall, **cpu, "rss_mb": rss.stop(), "analysed": snap.frames_analysed,
            "frames_in": snap.frames_in, "drops": snap.drops, "embeddings": snap.embeddings,
            "alerts": [(a.subject_id, a.frame_pts, a.raised_wall - a.frame_captured_wall, a.score, a.box.width,
                        a.track_id) for a in alerts],
            "events": [AlertEvent(a.subject_id, a.frame_pts, a.box, a.raised_wall - a.frame_captured_wall)
                       for a in alerts],
            "threshold": watchlist.threshold, "metrics_p50_s": snap.latency_p50_s,
            "metrics_p95_s": snap.latency_p95_s, "stage_ms": snap.stage_ms}  # fmt: skip


def peer_case(video: str, known_images: dict[str, str], seconds: float) -> dict[str, object]:
    rss, known, m0 = PeakRSS(), {k: Path(v) for k, v in known_images.items()}, mark()
    run_peer(Path(video), known, 0.0)  # only encodes the watchlist images: their CPU, to leave out below
    enrol_s, m1 = since(m0)["cpu_s"], mark()
    events, frames, spent = run_peer(Path(video), known, seconds)
    cpu = since(m1)
    return {"wall_s": spent, **cpu, "cpu_s": cpu["cpu_s"] - enrol_s, "rss_mb": rss.stop(), "analysed": frames,
            "events": events}  # fmt: skip


def main() -> None:
    throwaway_signing_key()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a 20 s scene, 8 passes, peer on 6 s (~2-3 min)")
    parser.add_argument("--peer-seconds", type=float, help="face_recognition on the first N s (default 24, quick 6)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the scene's people and paths (default 7)")
    parser.add_argument("--json", type=Path, help="also write the machine, the scene and every figure to this file")
    parser.add_argument(
        "--cameras", type=int, nargs="+", help="N cameras in one process, e.g. 1 2 4 8 (bench/cameras.py)"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="--cameras: each scene's length (default 20)")
    parser.add_argument("--base", default="aa3899f", help="--cameras: the commit to compare with (default aa3899f)")
    parser.add_argument("--no-base", action="store_true", help="--cameras: this tree only, no A/B")
    args = parser.parse_args()
    if args.cameras:
        import cameras

        args.peer_seconds = 6.0 if args.peer_seconds is None else args.peer_seconds
        cameras.main(args)
        return
    args.seconds, args.passes, args.fps, args.distractors = (
        (20.0, 8, 25.0, 100) if args.quick else (60.0, 22, 25.0, 100)
    )
    import av

    from embed import machine  # bench/embed.py's; imported here so that the case processes do not load dlib

    info = {**machine(), "openlfr": metadata.version("openlfr"), "av": av.__version__, "psutil": psutil.__version__}
    print(f"bench/live.py  {info['date']}\n  " + ", ".join(f"{k} {v}" for k, v in info.items() if k != "date"))
    load0, plan = psutil.getloadavg()[0], build(args)
    meta = json.loads(Path(plan["video"]).with_suffix(".json").read_text())
    spec, peer_s = meta["spec"], min(args.peer_seconds or (6.0 if args.quick else 24.0), meta["spec"]["duration_s"])
    print(f"  scene: {plan['description']}\n  {plan['video']}")
    results = {}
    runs = {
        "openlfr realtime": (openlfr_case, plan["watchlist"], True, False),
        "openlfr flat out": (openlfr_case, plan["watchlist"], False, False),
        "face_recognition": (peer_case, plan["known"], peer_s),  # between two flat-out runs: outside load shows
        "openlfr flat out, peer's threshold": (openlfr_case, plan["watchlist"], False, True),
    }
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), max_tasks_per_child=1) as pool:
        for name, (fn, *extra) in runs.items():
            print(f"  running {name} ...", flush=True)
            results[name] = pool.submit(fn, plan["video"], *extra).result()
    truth, peer, rows = {**meta, "watchlisted": sorted(plan["known"])}, results["face_recognition"], []
    for name, r in results.items():
        is_peer = name == "face_recognition"
        if is_peer:  # its per-frame namings, reduced to one alert per (person, pass)
            r["events"] = first_per_face(r["events"], truth)
            r["alerts"] = [(e.subject_id, e.t, e.latency_s, e.box.width) for e in r["events"]]
        rows.append({"case": name, "analysed_fps": r["analysed"] / r["wall_s"],
                     "cpu_ms_per_frame": 1000 * r["cpu_s"] / r["analysed"],
                     "ratio": r["analysed"] / r["wall_s"] / (peer["analysed"] / peer["wall_s"]),
                     "cpu_per_clip_s": r["cpu_s"] / (peer_s if is_peer else spec["duration_s"]),
                     "whole": None if is_peer else score(name, r["events"], truth),
                     "window": score(name, r["events"], truth, peer_s),
                     **r})  # fmt: skip
    report(rows, peer_s, load0)
    if args.json:
        out = {"machine": info, "scene": plan["description"], "peer_seconds": peer_s, "rows": rows}
        args.json.write_text(json.dumps(out, indent=1, default=asdict) + "\n")
        print(f"  wrote {args.json}")


def counts(s: LiveScore | None) -> list[str]:
    """Hits, false alerts, FPIR per face seen and duplicates, as printed ('-' where not scored)."""
    if s is None:
        return ["-"] * 4
    return [f"{s.hits}/{s.watchlisted_passes}", str(s.false_alerts), f"{s.fpir:.2f}", str(s.duplicates)]


def report(rows: list[dict], peer_s: float, load0: float) -> None:
    print(f"\n  hits = watchlisted passes alerted / watchlisted passes; 'win' = the first {peer_s:.0f} s, where the "
          f"peer ran; load average {load0:.2f} -> {psutil.getloadavg()[0]:.2f}")  # fmt: skip
    print("  case | analysed fps | x peer | latency p50/p95 s | CPU s per clip s | CPU ms per analysed frame | "
          "peak RSS MB | hits all | hits win | false all/win | FPIR per face all/win | dups all/win | "
          "pass start to alert s, win | other processes, cores")  # fmt: skip
    for r in rows:
        w, a = r["window"], r["whole"]
        lat = a.latencies_s if r["case"].endswith("realtime") else w.latencies_s if a is None else []
        text = f"{np.median(lat):.2f}/{np.percentile(lat, 95):.2f}" if lat else "-"
        (ha, fa, pa, da), (hw, fw, pw, dw) = counts(a), counts(w)
        print(f"  {r['case']} | {r['analysed_fps']:.1f} | {r['ratio']:.1f} | {text} | {r['cpu_per_clip_s']:.2f} | "
              f"{r['cpu_ms_per_frame']:.0f} | {r['rss_mb']:.0f} | {ha} | {hw} | {fa}/{fw} | {pa}/{pw} | {da}/{dw} | "
              f"{np.median(w.delays_s or [np.nan]):.2f} | {r['others_cores']:.2f}")  # fmt: skip
    rt = rows[0]
    print(f"\n  realtime: {rt['frames_in']} frames in, {rt['analysed']} analysed, {rt['drops']} dropped, "
          f"{rt['embeddings']} embeddings; the metrics' own alert latency p50/p95 {rt['metrics_p50_s'] or 0:.2f}/"
          f"{rt['metrics_p95_s'] or 0:.2f} s; stage ms "
          + ", ".join(f"{k} {v:.1f}" for k, v in rt["stage_ms"].items()))  # fmt: skip
    for r in rows:
        alerts = "; ".join(" ".join(f"{x:.2f}" if isinstance(x, float) else str(x) for x in a) for a in r["alerts"])
        what = "score, face px, track" if "threshold" in r else "face px"
        threshold = f"{r['threshold']:.3f}" if "threshold" in r else "distance 0.6"
        print(f"  {r['case']}, threshold {threshold}; alerts (subject, clip s, latency s, {what}): {alerts}")


if __name__ == "__main__":
    main()
