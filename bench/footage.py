"""Footage indexing speed: a recorded video through ``openlfr.footage.tracks.collect_tracks`` (the live
pipeline flat out), wall time against the video's own duration, and the same run's stages.

Each run starts a fresh ``LiveApp`` (models loaded, embedding worker spawned), as ``lfr footage index``
does for each video; ``--runs`` repeats it. Reported: wall seconds, video seconds (last frame's time),
their ratio (above 1: faster than real time), frames read and analysed, tracks found.

Usage: python bench/footage.py [VIDEO] [--runs 3] [--fps 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import av

from openlfr.config import DlibOnnxEmbedderConfig, Settings
from openlfr.footage.tracks import collect_tracks
from openlfr.ingest.avreader import stated_frames

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CLIP = SHARED / "videos" / "hamilton_whitehouse" / "short_hamilton_clip.mp4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=CLIP)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fps", type=float, default=10.0)
    args = parser.parse_args()
    settings = Settings(embedder=DlibOnnxEmbedderConfig())
    with av.open(str(args.video)) as container:
        duration = float(container.duration or 0) / 1e6
    rows = []
    for run in range(args.runs):
        t0 = time.perf_counter()
        found = collect_tracks(settings, args.video, fps=args.fps)
        wall = time.perf_counter() - t0
        rows.append({"run": run + 1, "wall_s": round(wall, 2), "tracks": len(found.tracks), "complete": found.complete})
        print(json.dumps(rows[-1]), flush=True)
    print(
        json.dumps(
            {
                "video": args.video.name,
                "frames_stated": stated_frames(str(args.video)),
                "fps_analysed": args.fps,
                "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
                "video_s": round(duration, 2),
                "median_wall_s": (median := sorted(float(str(r["wall_s"])) for r in rows)[len(rows) // 2]),
                "realtime_ratio": round(duration / median, 2) if median else None,
            }
        )
    )


if __name__ == "__main__":
    main()
