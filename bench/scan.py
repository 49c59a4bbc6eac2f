"""Partial scans against full scans on built walk-through scenes: cost, time to first detection by face
size, and per-pass hits.

On each scene of ``bench/live.py --cameras`` (bench/out, built there), at 10 analysed frames a second:

1. Detection only (BlazeFace 3 x 3 tiles and the whole frame; a tracker feeding the scanner its live
   tracks): windows run and detect ms per frame; for each pass, the delay from the first frame its face
   is in the scene to the first analysed frame on which a detection overlaps it (IoU > 0.3), by the
   face's width in its first frame; with ``live.scan.full_every`` = 1 (every frame scanned whole, what
   openlfr did before) and = the default.
2. Per-pass hits: LiveApp flat out (no drops) with the scene's calibrated watchlist, scored as
   ``lfr eval live`` scores (openlfr.eval.live.score), with full_every 1 and the default.

    PYTHONPATH=src python bench/scan.py [--scenes 8] [--no-hits]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np

from _signing import throwaway_signing_key
from live import OUT

SIZES = ((0, 32), (32, 36), (36, 41), (41, 1000))


def batch_check(tiles: int = 9, repeats: int = 10) -> str:
    """Whether LiteRT runs BlazeFace on a batch of tiles in one invoke, equal to one at a time, and faster."""
    from ai_edge_litert.interpreter import Interpreter

    from openlfr import modelfiles

    path = str(modelfiles.resolve("blazeface_full", None))
    batched, single = Interpreter(model_path=path, num_threads=1), Interpreter(model_path=path, num_threads=1)
    index = single.get_input_details()[0]["index"]
    batched.resize_tensor_input(index, [tiles, 192, 192, 3])
    batched.allocate_tensors()
    single.allocate_tensors()
    x = np.random.default_rng(0).uniform(-1, 1, (tiles, 192, 192, 3)).astype(np.float32)
    t0 = time.perf_counter()
    for _ in range(repeats):
        batched.set_tensor(index, x)
        batched.invoke()
    t1 = time.perf_counter()
    for _ in range(repeats):
        for i in range(tiles):
            single.set_tensor(index, x[i : i + 1])
            single.invoke()
    t2 = time.perf_counter()
    worst = 0.0
    for i in range(tiles):
        single.set_tensor(index, x[i : i + 1])
        single.invoke()
        for a, b in zip(single.get_output_details(), batched.get_output_details(), strict=True):
            got = batched.get_tensor(b["index"]).reshape(tiles, -1)[i]
            worst = max(worst, float(np.abs(single.get_tensor(a["index"]).ravel() - got).max()))
    return (
        f"batch of {tiles} in one invoke {1000 * (t1 - t0) / repeats:.1f} ms, {tiles} invokes of one "
        f"{1000 * (t2 - t1) / repeats:.1f} ms, max abs difference {worst:g}"
    )


def detection(video: Path, every: int) -> dict[str, object]:
    from openlfr.config import BlazeFaceDetectorConfig, ScanConfig
    from openlfr.detect.blazeface import BlazeFaceDetector
    from openlfr.detect.scan import Scanner
    from openlfr.track.tracker import Tracker
    from openlfr.types import BoundingBox

    truth = json.loads(video.with_suffix(".json").read_text())
    fps = float(truth["spec"]["fps"])
    first: dict[int, tuple[float, float]] = {}  # pass -> (t of its first frame, face width then)
    by_frame: dict[int, list[tuple[int, BoundingBox]]] = {}
    for f in truth["faces"]:
        box = BoundingBox(*map(float, f["box"]))
        first.setdefault(f["pass_index"], (f["t"], box.width))
        by_frame.setdefault(round(f["t"] * fps), []).append((f["pass_index"], box))
    scanner = Scanner(BlazeFaceDetector(BlazeFaceDetectorConfig()), ScanConfig(full_every=every))
    tracker, found, windows, spent, frames = Tracker("bench"), {}, 0, 0.0, 0
    next_due = -1.0
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            t = float(frame.time or 0.0)
            if t + 1e-6 < next_due:
                continue
            next_due = max(next_due + 0.1, t)
            image = frame.to_ndarray(format="rgb24")
            t0 = time.perf_counter()
            scan = scanner.detect(image, [tr.box for tr in tracker.tracks])
            spent += time.perf_counter() - t0
            tracker.update(scan.detections, t, t)
            windows, frames = windows + scan.windows, frames + 1
            for p, box in by_frame.get(round(t * fps), []):
                if p not in found and any(box.iou(d.box) > 0.3 for d in scan.detections):
                    found[p] = t
    delays = [(w, found[p] - t0 if p in found else None) for p, (t0, w) in first.items()]
    return {"windows": windows / frames, "ms": 1000 * spent / frames, "delays": delays}


def hits(video: Path, watchlist: Path, known: list[str], every: int) -> str:
    from openlfr.config import CameraConfig, LiveConfig, ScanConfig, Settings
    from openlfr.eval.live import AlertEvent, score
    from openlfr.live.app import LiveApp
    from openlfr.match.watchlist import Watchlist

    alerts: list[object] = []
    sink = SimpleNamespace(name="collect", send=alerts.append, close=lambda timeout=5.0: None)
    settings = Settings(live=LiveConfig(scan=ScanConfig(full_every=every)))
    camera = CameraConfig(id="scan", source=str(video), analysis_fps=10.0, realtime=False)
    LiveApp(settings, Watchlist.load(watchlist), [camera], sink=sink).run()  # type: ignore[arg-type]
    truth = {**json.loads(video.with_suffix(".json").read_text()), "watchlisted": known}
    events = [AlertEvent(a.subject_id, a.frame_pts, a.box, 0.0) for a in alerts]  # type: ignore[attr-defined]
    s = score(f"every {every}", events, truth)
    return f"{s.hits}/{s.watchlisted_passes} hits, {s.false_alerts} false"


def main() -> None:
    from openlfr.config import ScanConfig

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=8)
    parser.add_argument("--no-hits", action="store_true")
    args = parser.parse_args()
    throwaway_signing_key()  # the scenes' watchlist is signed with bench/out's throwaway key
    # the 8-camera scenes, or the 4-camera ones (the first four of the same seed) if only those are built
    [plan_path] = (sorted(OUT.glob("cameras-8-*.json")) or sorted(OUT.glob("cameras-4-*.json")))[:1] or [None]
    if plan_path is None:
        raise SystemExit("build the scenes first: python bench/live.py --cameras 8 (or 4)")
    plan = json.loads(plan_path.read_text())
    default = ScanConfig().full_every
    print(f"bench/scan.py  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {plan['description']}")
    print(f"  LiteRT, BlazeFace, one thread: {batch_check()}", flush=True)
    delays: dict[int, list[tuple[float, float | None]]] = {1: [], default: []}
    for video in [Path(v) for v in plan["videos"][: args.scenes]]:
        for every in (1, default):
            d = detection(video, every)
            delays[every] += d["delays"]  # type: ignore[arg-type]
            line = f"  {video.name} full_every {every}: {d['windows']:.2f} windows, {d['ms']:.1f} ms a frame"
            if not args.no_hits:
                line += "; " + hits(video, Path(plan["watchlist"]), sorted(plan["known"]), every)
            print(line, flush=True)
    print("  first frame of a face to its first detection, s (median / max; passes never found)")
    for lo, hi in SIZES:
        cells = []
        for every, ds in delays.items():
            got = [d for w, d in ds if lo <= w < hi and d is not None]
            lost = sum(1 for w, d in ds if lo <= w < hi and d is None)
            text = f"{np.median(got):.2f} / {max(got):.2f}" if got else "-"
            cells.append(f"full_every {every}: {text} ({lost} not found, {len(got) + lost} passes)")
        print(f"  face {lo}-{hi} px at its first frame: " + "; ".join(cells))


if __name__ == "__main__":
    main()
