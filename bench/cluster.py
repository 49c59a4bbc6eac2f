"""Cameras on a Ray cluster: analysed frames per second with one worker node vs two, on this machine,
and the bytes a camera's node sends the service (template sets with their best shots) against
streaming its frames.

    .venv/bin/python bench/cluster.py [--cameras 4] [--fps 10] [--seconds 30]

Starts a local cluster (``cluster.local``: a head with no camera capacity and one, then two, worker
nodes, each its own process group on loopback) and runs ``--cameras`` cameras of the bundled clip
(720p, 15 fps, looped in real time) at ``--fps`` analysed frames a second against the demo watchlist,
matched in this process. After every camera analyses, it counts frames analysed over ``--seconds``.
Both nodes share this machine's cores, so two nodes cannot add compute here: the ratio shows what
placing costs, not what a second machine would give. Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2

from openlfr.analysis import FaceAnalyzer
from openlfr.assets import demo_dir
from openlfr.cluster.app import ClusterApp
from openlfr.cluster.local import LocalCluster
from openlfr.config import CameraConfig, ClusterConfig, Settings
from openlfr.match.enrol import enrol
from openlfr.match.sources import from_csv
from openlfr.match.watchlist import Watchlist
from openlfr.types import Alert

CLIP = demo_dir() / "video" / "walkthrough.mp4"
JPEG_QUALITY = 80


class _Count:
    name = "count"

    def __init__(self) -> None:
        self.alerts = 0

    def send(self, alert: Alert) -> None:
        self.alerts += 1

    def close(self, timeout: float = 5.0) -> None:
        return None


@dataclass
class Result:
    nodes: int
    spread: dict[str, int]
    fps_total: float
    fps_per_camera: list[float]
    bytes_per_min: float
    alerts: int


def run(nodes: int, cameras: int, fps: float, seconds: float, watchlist: Watchlist) -> Result:
    import ray

    root = Path(tempfile.mkdtemp(prefix="lfr-bench-", dir="/tmp"))
    cluster = LocalCluster(root)
    try:
        cluster.start_head()
        for i in range(nodes):
            cluster.add_worker(f"w{i}", cameras=-(-cameras // nodes))  # room for an even share each
        settings = Settings(cluster=ClusterConfig(address=cluster.address))
        settings = settings.model_copy(update={"live": settings.live.model_copy(update={"allow_uncalibrated": True})})
        cams = [CameraConfig(id=f"cam-{i}", source=str(CLIP), analysis_fps=fps, loop=True) for i in range(cameras)]
        sink = _Count()
        app = ClusterApp(settings, watchlist, cams, sink, "bench/1")
        app.start()
        try:
            deadline = time.monotonic() + 300
            while len([s for s in app.snapshots() if s.frames_analysed > 0]) < cameras:
                if time.monotonic() > deadline:
                    raise RuntimeError("the cameras did not all start in 300 s")
                time.sleep(0.5)
            time.sleep(5.0)  # past the first second's warm-up
            start = {s.camera_id: s.frames_analysed for s in app.snapshots()}
            bytes0 = sum(app.counts.message_bytes.values())
            t0 = time.monotonic()
            time.sleep(seconds)
            elapsed = time.monotonic() - t0
            end = {s.camera_id: s.frames_analysed for s in app.snapshots()}
            sent = sum(app.counts.message_bytes.values()) - bytes0
            placed = app.placements()
        finally:
            app.stop()
            ray.shutdown()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    per = [(end[c] - start[c]) / elapsed for c in sorted(end)]
    spread: dict[str, int] = {}
    for node in placed.values():
        spread[str(node)[:8]] = spread.get(str(node)[:8], 0) + 1
    return Result(nodes, spread, sum(per), per, sent / elapsed * 60 / cameras, sink.alerts)


def streaming_bytes_per_min(fps: float) -> tuple[float, float]:
    """Per camera per minute: the clip's own H.264 stream, and JPEG frames at ``fps`` (quality 80)."""
    capture = cv2.VideoCapture(str(CLIP))
    native = capture.get(cv2.CAP_PROP_FPS)
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    every = max(1, round(native / fps))
    sizes = []
    for i in range(frames):
        ok, frame = capture.read()
        if not ok:
            break
        if i % every == 0:
            ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            sizes.append(len(buf))
    capture.release()
    duration = frames / native
    h264 = CLIP.stat().st_size / duration * 60
    jpeg = sum(sizes) / len(sizes) * (native / every) * 60
    return h264, jpeg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ["RAY_AUTH_MODE"] = "disabled"  # the local cluster's nodes run without tokens (loopback)
    watchlist, _ = enrol(from_csv(demo_dir() / "watchlist.csv"), FaceAnalyzer(), name="demo")
    results = [run(n, args.cameras, args.fps, args.seconds, watchlist) for n in (1, 2)]
    h264, jpeg = streaming_bytes_per_min(args.fps)
    load = os.getloadavg()
    print(
        f"{platform.node()}: {os.cpu_count()} cores, load {load[0]:.1f}; {args.cameras} cameras at {args.fps} fps asked"
    )
    print()
    print("| worker nodes | cameras per node | analysed fps, all cameras | per camera (min-max) | alerts |")
    print("|---|---|---|---|---|")
    for r in results:
        spread = ", ".join(str(n) for n in sorted(r.spread.values()))
        lo, hi = min(r.fps_per_camera), max(r.fps_per_camera)
        print(f"| {r.nodes} | {spread} | {r.fps_total:.1f} | {lo:.1f}-{hi:.1f} | {r.alerts} |")
    print(f"\nratio 2 nodes / 1 node: {results[1].fps_total / results[0].fps_total:.2f}")
    node_bytes = sum(r.bytes_per_min for r in results) / len(results)
    print()
    print("| per camera | bytes per minute | vs the node's messages |")
    print("|---|---|---|")
    print(f"| node -> service: template sets with their best shot (pickled) | {node_bytes / 1e3:.1f} kB | 1x |")
    print(f"| the clip's H.264 stream | {h264 / 1e3:.1f} kB | {h264 / node_bytes:.1f}x |")
    print(f"| JPEG frames at {args.fps:g} fps (q{JPEG_QUALITY}) | {jpeg / 1e3:.1f} kB | {jpeg / node_bytes:.1f}x |")


if __name__ == "__main__":
    main()
