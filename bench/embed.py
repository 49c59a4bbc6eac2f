"""Speed of openlfr's detectors, alignment and embedding, beside the face_recognition library.

Times, in milliseconds per frame or per face (median and p90 over repeats), on frames built from the
public-domain portraits bundled in openlfr (no shared data needed):

1. detection at 480p, 720p and 1080p: hog upsample 0 and 1, blazeface with 1 and 3x3 tiles, mmod
   (480p only, few repeats), and face_recognition.face_locations (hog upsample 0 and 1, cnn at 480p);
2. alignment (5-point landmarks + 150 px chip) and embedding per face, one chip per call and in
   batches of 8 and 16, beside face_recognition.face_encodings for the same face boxes;
3. one worker thread against two (does dlib release the GIL?), and LiteRT num_threads 1 against 2;
4. dlib's ResNet under dlib and under ONNX Runtime (``dlib_onnx`` fp32 and int8), batch 1 and 8, ONNX
   Runtime with 1 and 2 intra-op threads, on the same chips, with the largest difference in their vectors.

Every case of a section runs once per repeat, in rotating order, so that load from other processes
falls on all of them alike: on a busy machine compare the ratios, not the absolute figures.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from hashlib import sha256
from importlib import metadata
from pathlib import Path

import cv2
import dlib
import face_recognition as fr
import numpy as np

import openlfr
from openlfr.config import (
    BlazeFaceDetectorConfig,
    DlibEmbedderConfig,
    DlibOnnxEmbedderConfig,
    HogDetectorConfig,
    MmodDetectorConfig,
)
from openlfr.detect.base import detectors
from openlfr.embed.base import embedders
from openlfr.ingest.images import load_image
from openlfr.types import AlignedFace, RGBImage

DEMO = Path(openlfr.__file__).parent / "assets" / "demo"
PORTRAITS = (
    "watchlist/biden.jpg",
    "watchlist/obama.jpg",
    "probes/obama_congress_2009.jpg",
    "probes/biden_blue_room_2010.jpg",
)
SIZES = {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080)}
Case = tuple[Callable[[], object], int]  # the call, and how many frames or faces it handles
ROWS: list[dict[str, object]] = []


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    return {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "dlib": dlib.__version__,
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "face_recognition": metadata.version("face_recognition"),
        "onnxruntime": metadata.version("onnxruntime"),
    }


def frames() -> dict[str, RGBImage]:
    """The four portraits side by side on a blurred backdrop at 1080p (faces about 190 px across),
    then shrunk to 720p and 480p (about 125 and 85 px)."""
    width, height = SIZES["1080p"]
    slot = width // len(PORTRAITS)
    finder = dlib.get_frontal_face_detector()
    images = [load_image(DEMO / name) for name in PORTRAITS]
    canvas = cv2.GaussianBlur(cv2.resize(images[3], (width, height)), (0, 0), 25)
    for i, img in enumerate(images):
        face = max(finder(img, 0), key=lambda r: r.area())
        side = round(2.5 * face.width())  # head and shoulders, the face 40% of the slot
        padded = cv2.copyMakeBorder(img, side, side, side, side, cv2.BORDER_REPLICATE)
        cx, cy = face.center().x + side, face.center().y + side
        x0, y0 = round(cx - side / 2), round(cy - side * 0.45)
        crop = padded[y0 : y0 + side, x0 : x0 + side]
        top = (height - slot) // 2
        canvas[top : top + slot, i * slot : (i + 1) * slot] = cv2.resize(
            crop, (slot, slot), interpolation=cv2.INTER_AREA
        )
    return {res: cv2.resize(canvas, size, interpolation=cv2.INTER_AREA) for res, size in SIZES.items()}


def run(cases: dict[str, Case], repeats: int) -> dict[str, dict[str, float]]:
    """Each case once to warm up, then ``repeats`` rounds in rotating order; ms per item."""
    names = list(cases)
    times: dict[str, list[float]] = {n: [] for n in names}
    found = {}
    for name, (fn, _) in cases.items():
        result = fn()
        found[name] = len(result) if isinstance(result, list) else 0
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            fn, items = cases[name]
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1000.0 / items)
    out = {}
    for name in names:
        t = times[name]
        out[name] = {
            "median_ms": statistics.median(t),
            "p90_ms": float(np.percentile(t, 90)),
            "n": len(t),
            "found": found[name],
        }
    return out


def gil_share(pool: ThreadPoolExecutor, fn: Callable[[], object]) -> float:
    """How fast a pure-Python loop in this thread runs while ``fn`` runs in a worker, as a share of its
    speed alone: near 0 if ``fn`` holds the GIL, about 0.5 (one free core) to 1 (two) if it lets go."""

    def spin(done: Callable[[], bool]) -> float:
        t0, k = time.perf_counter(), 0
        while not done():
            for _ in range(1000):  # the same work per check in both loops
                k += 1
        return k / (time.perf_counter() - t0)

    end = time.perf_counter() + 0.25
    alone = spin(lambda: time.perf_counter() > end)
    return spin(pool.submit(fn).done) / alone


def table(
    title: str,
    unit: str,
    res: str,
    stats: dict[str, dict[str, float]],
    ratios: dict[str, tuple[str, str]] | None = None,
    *,
    label: str = "peer/ours",
) -> None:
    """Print one block of rows; ``ratios`` maps a row to (row a, row b): ``label`` is a's median over b's."""
    ratios = ratios or {}
    for name, s in stats.items():
        row: dict[str, object] = {"section": title, "case": name, "res": res, "unit": unit, **s}
        text = f"  {res:>5}  {name:<44} {s['median_ms']:9.1f} {s['p90_ms']:9.1f} {s['n']:4d}"
        text += f" {s['found']:5d}" if title == "detection" else " " * 6
        if name in ratios:
            peer, ours = ratios[name]
            row[label] = stats[peer]["median_ms"] / stats[ours]["median_ms"]
            text += f"  {label} {row[label]:.2f}"
        print(text)
        ROWS.append(row)


def header(title: str, unit: str, found: str = "") -> None:
    print(f"\n{title} ({unit})\n  {'res':>5}  {'case':<44} {'median':>9} {'p90':>9} {'n':>4} {found:>5}")


def detection(frame_set: dict[str, RGBImage], repeats: int, mmod_repeats: int) -> None:
    header("detection", "ms per frame", "faces")
    ours = {
        "openlfr hog upsample 0": detectors.create(HogDetectorConfig(upsample=0)),
        "openlfr hog upsample 1": detectors.create(HogDetectorConfig(upsample=1)),
        "openlfr blazeface tile_grid 1": detectors.create(BlazeFaceDetectorConfig(tile_grid=1)),
        "openlfr blazeface tile_grid 3": detectors.create(BlazeFaceDetectorConfig(tile_grid=3)),
    }
    pairs = {
        "face_recognition hog upsample 0": ("face_recognition hog upsample 0", "openlfr hog upsample 0"),
        "face_recognition hog upsample 1": ("face_recognition hog upsample 1", "openlfr hog upsample 1"),
    }
    for res, frame in frame_set.items():
        cases: dict[str, Case] = {name: (lambda d=d, f=frame: d.detect(f), 1) for name, d in ours.items()}
        for up in (0, 1):
            cases[f"face_recognition hog upsample {up}"] = (
                lambda f=frame, u=up: fr.face_locations(f, number_of_times_to_upsample=u, model="hog"),
                1,
            )
        table("detection", "ms/frame", res, run(cases, repeats), pairs)
    mmod = detectors.create(MmodDetectorConfig(upsample=0))
    frame = frame_set["480p"]
    cases = {
        "openlfr mmod upsample 0": (lambda: mmod.detect(frame), 1),
        "face_recognition cnn upsample 0": (lambda: fr.face_locations(frame, 0, model="cnn"), 1),
    }
    table(
        "detection",
        "ms/frame",
        "480p",
        run(cases, mmod_repeats),
        {"face_recognition cnn upsample 0": ("face_recognition cnn upsample 0", "openlfr mmod upsample 0")},
    )


def embedding(frame: RGBImage, repeats: int) -> list[AlignedFace]:
    """Per-face alignment and embedding on the faces hog upsample 1 finds in ``frame``; returns 16 of them."""
    header("alignment and embedding, same faces", "ms per face")
    dets = detectors.create(HogDetectorConfig(upsample=1)).detect(frame)
    embedder = embedders.create(DlibEmbedderConfig())
    aligned = embedder.align(frame, dets)
    n = len(dets)
    # face_recognition's "css" order: top, right, bottom, left
    locations = [(b[1], b[2], b[3], b[0]) for b in (d.box.as_ints() for d in dets)]
    ours = np.stack([t.vector for t in embedder.embed(aligned)])
    peer = np.stack(fr.face_encodings(frame, known_face_locations=locations, model="small"))
    print(f"  {n} faces; largest |openlfr - face_recognition| in vectors: {np.abs(ours - peer).max():.2g}")
    batch16 = [aligned[i % n] for i in range(16)]

    def each(faces: list[AlignedFace]) -> None:
        for face in faces:
            embedder.embed([face])

    cases: dict[str, Case] = {
        "openlfr align (5 points + 150 px chip)": (lambda: embedder.align(frame, dets), n),
        "openlfr embed, 1 chip per call": (lambda: each(aligned), n),
        "openlfr embed, batch of 8": (lambda: embedder.embed(batch16[:8]), 8),
        "openlfr embed, batch of 16": (lambda: embedder.embed(batch16), 16),
        "openlfr align + embed (1 call for the frame)": (
            lambda: embedder.embed(embedder.align(frame, dets)),
            n,
        ),
        "face_recognition face_encodings": (
            lambda: fr.face_encodings(frame, known_face_locations=locations, model="small"),
            n,
        ),
    }
    pair = ("face_recognition face_encodings", "openlfr align + embed (1 call for the frame)")
    table("embedding", "ms/face", "1080p", run(cases, repeats), {pair[0]: pair})
    return batch16


def sixteen(frame: RGBImage) -> list[AlignedFace]:
    """16 aligned faces from ``frame`` (the faces hog upsample 1 finds, repeated), as ``embedding`` returns."""
    dets = detectors.create(HogDetectorConfig(upsample=1)).detect(frame)
    aligned = embedders.create(DlibEmbedderConfig()).align(frame, dets)
    return [aligned[i % len(aligned)] for i in range(16)]


def threads(frame_set: dict[str, RGBImage], faces: list[AlignedFace], repeats: int) -> None:
    header("threads", "ms per face or frame, wall clock")
    # One embedder or detector per worker: each serialises its own calls with a lock.
    embs = [embedders.create(DlibEmbedderConfig()) for _ in range(2)]
    hogs = [detectors.create(HogDetectorConfig(upsample=0)) for _ in range(2)]
    pool = ThreadPoolExecutor(max_workers=2)
    frame, n, half = frame_set["720p"], len(faces), len(faces) // 2
    blocks = [bytes(32 << 20)] * 4  # control: hashlib releases the GIL, so 2 threads can use 2 cores

    def two(jobs: list[Callable[[], object]]) -> list[object]:
        return [future.result() for future in [pool.submit(job) for job in jobs]]

    cases: dict[str, Case] = {
        f"embed {n} faces, 1 thread": (lambda: embs[0].embed(faces), n),
        f"embed {n} faces, 2 threads x {half}": (
            lambda: two([lambda: embs[0].embed(faces[:half]), lambda: embs[1].embed(faces[half:])]),
            n,
        ),
        "hog u0, 4 frames 720p, 1 thread": (lambda: [hogs[0].detect(frame) for _ in range(4)], 4),
        "hog u0, 4 frames 720p, 2 threads x 2": (
            lambda: two([lambda h=h: [h.detect(frame) for _ in range(2)] for h in hogs]),
            4,
        ),
        "control: sha256 of 4 x 32 MB, 1 thread": (lambda: [sha256(b).digest() for b in blocks], 4),
        "control: sha256 of 4 x 32 MB, 2 threads x 2": (
            lambda: two([lambda i=i: [sha256(b).digest() for b in blocks[i::2]] for i in (0, 1)]),
            4,
        ),
    }
    pairs = [k for k in cases if "2 threads" in k]
    speedup = {k: (k.replace("2 threads", "1 thread").rsplit(" x ", 1)[0], k) for k in pairs}
    table("threads", "ms/item", "", run(cases, repeats), speedup, label="speed-up")
    print("  GIL probe: a Python loop in the main thread keeps this share of its speed while a worker runs")
    blaze = detectors.create(BlazeFaceDetectorConfig(tile_grid=3))
    probes = {
        f"embed {n} faces": lambda: embs[0].embed(faces),
        "hog u0, 4 frames 720p": lambda: [hogs[0].detect(frame) for _ in range(4)],
        "blazeface tile_grid 3, 4 frames 720p": lambda: [blaze.detect(frame) for _ in range(4)],
        "control: sha256 of 4 x 32 MB": lambda: [sha256(b).digest() for b in blocks],
    }
    for name, fn in probes.items():
        share = statistics.median(gil_share(pool, fn) for _ in range(3))
        print(f"         {name:<44} {share:9.2f}")
        ROWS.append({"section": "gil", "case": name, "python_loop_share": share})
    frame = frame_set["1080p"]
    cases = {}
    for grid in (1, 3):
        for k in (1, 2):
            det = detectors.create(BlazeFaceDetectorConfig(tile_grid=grid, threads=k))
            cases[f"blazeface tile_grid {grid}, LiteRT num_threads {k}"] = (lambda d=det: d.detect(frame), 1)
    speedup = {k: (k[:-1] + "1", k) for k in cases if k.endswith("2")}
    table("threads", "ms/frame", "1080p", run(cases, repeats), speedup, label="speed-up")
    pool.shutdown()


def onnx_runtime(faces: list[AlignedFace], repeats: int) -> None:
    header("dlib's ResNet: dlib against ONNX Runtime (dlib_onnx fp32 and int8)", "ms per face")
    dlib_embedder = embedders.create(DlibEmbedderConfig())
    runs = {
        (p, k): embedders.create(DlibOnnxEmbedderConfig(threads=k, batch_size=8, precision=p))
        for p in ("fp32", "int8")
        for k in (1, 2)
    }
    eight = faces[:8]
    ref = np.stack([t.vector for t in dlib_embedder.embed(eight)])
    ours = np.stack([t.vector for t in runs["fp32", 1].embed(eight)])
    int8 = np.stack([t.vector for t in runs["int8", 1].embed(eight)])
    print(f"  largest |dlib - dlib_onnx| in vectors over {len(eight)} faces: {np.abs(ref - ours).max():.2g}")
    print(f"  largest distance from dlib's templates, int8: {np.linalg.norm(ref - int8, axis=1).max():.3f}")

    def each(embedder: object, chips: list[AlignedFace]) -> None:
        for face in chips:
            embedder.embed([face])  # type: ignore[attr-defined]

    cases: dict[str, Case] = {
        "dlib, batch 1": (lambda: each(dlib_embedder, eight), 8),
        "dlib, batch 8": (lambda: dlib_embedder.embed(eight), 8),
    }
    for (p, k), embedder in runs.items():
        cases[f"dlib_onnx {p}, {k} thread{'s' * (k > 1)}, batch 1"] = (lambda e=embedder: each(e, eight), 8)
        cases[f"dlib_onnx {p}, {k} thread{'s' * (k > 1)}, batch 8"] = (lambda e=embedder: e.embed(eight), 8)
    ratios = {name: (f"dlib, {name[-7:]}", name) for name in cases if name.startswith("dlib_onnx")}
    table("onnx", "ms/face", "", run(cases, repeats), ratios, label="dlib/this")


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--quick", action="store_true", help="few repeats, for a check that it runs (~30 s)")
    parser.add_argument("--repeat", type=int, default=None, help="repeats per case (default 7, quick 2)")
    parser.add_argument("--json", type=Path, help="also write the machine and every figure to this file")
    parser.add_argument(
        "--sections",
        default="detection,embedding,threads,onnx",
        help="which sections to run, comma-separated (default: all four)",
    )
    args = parser.parse_args()
    repeats = args.repeat or (2 if args.quick else 7)
    info = machine()
    print(f"bench/embed.py  {info['date']}")
    print("  " + ", ".join(f"{k} {v}" for k, v in info.items() if k != "date"))
    print(f"  repeats {repeats}; load average {os.getloadavg()[0]:.2f} at start; python {sys.executable}")
    sections = set(args.sections.split(","))
    frame_set = frames()
    if "detection" in sections:
        detection(frame_set, repeats, mmod_repeats=1 if args.quick else 3)
    frame = frame_set["1080p"]
    faces = embedding(frame, repeats) if "embedding" in sections else sixteen(frame)
    if "threads" in sections:
        threads(frame_set, faces, repeats)
    if "onnx" in sections:
        onnx_runtime(faces, repeats)
    print(f"\n  load average {os.getloadavg()[0]:.2f} at end")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "repeats": repeats, "rows": ROWS}, indent=2) + "\n")
        print(f"  wrote {args.json}")


if __name__ == "__main__":
    main()
