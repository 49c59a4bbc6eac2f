"""Edge bandwidth: bytes a camera sends per minute with ``lfr edge`` (templates, and a crop per hit),
against sending its frames (JPEG at the analysis rate) for central recognition.

    .venv/bin/python bench/edge.py [--seconds 60] [--fps 10] [--quality 80]

Serves the API in this process (uvicorn, loopback) over a fresh SQLite store holding one live
deployment whose watchlist is Lin-Manuel Miranda (../shared/data), and runs the edge device on the
Hamilton clip, looped in real time, for ``--seconds``, through a device token: the bytes of every
request the server answered (request line, headers, body). The frame baseline decodes the same clip,
keeps ``--fps`` frames a second as the live reader does, and encodes each as JPEG (``--quality``),
adding the same request overhead per frame. Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import cv2
import uvicorn
from pydantic import SecretStr

from _signing import throwaway_signing_key
from openlfr.analysis import FaceAnalyzer
from openlfr.api.app import create_app
from openlfr.auth.roles import Role
from openlfr.auth.tokens import Tokens
from openlfr.config import ApiConfig, CameraConfig, ReconnectConfig, Settings, StoreConfig
from openlfr.deploy.lifecycle import Deployments
from openlfr.edge.run import EdgeOptions, run_edge
from openlfr.ingest.video import open_source
from openlfr.match.enrol import enrol
from openlfr.match.sources import EnrolItem
from openlfr.match.watchlist import Subject
from openlfr.store.crypto import generate_key
from openlfr.store.db import Store
from openlfr.types import Category

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "data" / "videos" / "hamilton_whitehouse" / "short_hamilton_clip.mp4"
PHOTO = CLIP.parent / "enrol" / "lin-manuel-miranda.png"
REQUEST_OVERHEAD = 250
"""Bytes of request line and headers a frame upload would carry (the edge's requests measure ~230)."""


def _deployment(store: Store) -> str:
    subject = Subject(
        subject_id="lin-manuel-miranda",
        display_name="Lin-Manuel Miranda",
        category=Category.WANTED,
        reason="bench",
        image_source="bench",
        expires=date.today() + timedelta(days=7),
    )
    watchlist, _ = enrol([EnrolItem(subject, PHOTO)], FaceAnalyzer(), name="hamilton-lin")
    service = Deployments(store)
    now = datetime.now(UTC)
    dep = service.create(
        name="bench",
        location_name="bench",
        purpose="bench",
        legal_basis="bench",
        planned_start=now - timedelta(minutes=1),
        planned_end=now + timedelta(hours=3),
        cameras=[CameraConfig(id="placeholder", source=str(CLIP))],
        created_by="bench.creator",
    )
    service.set_watchlist(dep.id, watchlist, "bench.creator")
    service.set_threshold(dep.id, "bench.creator", value=0.5, justification="bench: the 1:1 threshold, for bytes only")
    service.authorise(dep.id, "bench.authoriser")
    service.start(dep.id, "bench.creator")  # in the store, not through the server: it runs no camera itself
    return dep.id


def _serve(settings: Settings, store: Store) -> tuple[str, uvicorn.Server, threading.Thread]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    app = create_app(settings, store, resume=False, close_store=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


def frames_baseline(fps: float, quality: int) -> tuple[float, int, int, tuple[int, int]]:
    """(clip seconds, frames kept, JPEG bytes with request overhead, frame size) for one pass of the clip."""
    camera = CameraConfig(id="frames", source=str(CLIP), realtime=False, analysis_fps=fps)
    period, next_due, kept, total, last, size = 1.0 / fps, float("-inf"), 0, 0, 0.0, (0, 0)
    for frame in open_source(camera, ReconnectConfig()).frames():
        last = frame.pts
        if frame.pts + 1e-6 < next_due:
            continue
        next_due = max(next_due + period, frame.pts)
        ok, buf = cv2.imencode(
            ".jpg", cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
        )
        assert ok
        kept += 1
        total += len(buf) + REQUEST_OVERHEAD
        size = (frame.image.shape[1], frame.image.shape[0])
    return last + period, kept, total, size


def main() -> None:
    throwaway_signing_key()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--quality", type=int, default=80)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = StoreConfig(data_dir=Path(tmp), key=SecretStr(generate_key()))
        store = Store.open(config)
        settings = Settings(store=config, api=ApiConfig(cookie_secure=False))
        dep = _deployment(store)
        _, token = Tokens(store, settings.api).create(
            "bench-box", Role.DEVICE, "local:bench", days=1, deployment_id=dep
        )
        url, server, thread = _serve(settings, store)
        camera = CameraConfig(id="van", source=str(CLIP), realtime=True, loop=True, analysis_fps=args.fps)
        stop = threading.Event()
        threading.Timer(args.seconds, stop.set).start()
        report = run_edge(Settings(), EdgeOptions(url, token, dep, (camera,)), stop)
        server.should_exit = True
        thread.join(30)
        store.close()
    [edge] = report.cameras
    seconds, kept, jpeg_bytes, size = frames_baseline(args.fps, args.quality)
    frames_per_min = jpeg_bytes * 60.0 / seconds
    h264_per_min = CLIP.stat().st_size * 60.0 / seconds
    print(f"bench/edge.py — {date.today()} — {platform.node()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(
        f"Hamilton clip ({size[0]}x{size[1]}, {seconds:.1f} s) looped for {edge.seconds:.0f} s, "
        f"analysed at {args.fps:g} fps\n"
    )
    print("| per camera | bytes per minute | vs edge |")
    print("|---|---:|---:|")
    print(f"| edge: templates + crop of each hit | {edge.bytes_per_minute / 1000:,.1f} kB | 1x |")
    ratio = frames_per_min / max(edge.bytes_per_minute, 1.0)
    print(
        f"| JPEG frames at {args.fps:g} fps, quality {args.quality} | {frames_per_min / 1e6:,.2f} MB | {ratio:,.0f}x |"
    )
    h264_ratio = h264_per_min / max(edge.bytes_per_minute, 1.0)
    print(f"| the clip's own H.264 stream (reference) | {h264_per_min / 1e6:,.2f} MB | {h264_ratio:,.0f}x |")
    print(
        f"\nedge: {edge.templates_sent} templates sent of {edge.templates_made} made, {edge.hits} hit(s), "
        f"{edge.crops_sent} crop(s), {edge.expired} expired; {edge.bytes_sent:,} bytes in {edge.seconds:.0f} s. "
        f"frames: {kept} JPEG frames in {seconds:.1f} s, {jpeg_bytes / max(kept, 1) / 1000:.1f} kB each."
    )


if __name__ == "__main__":
    main()
