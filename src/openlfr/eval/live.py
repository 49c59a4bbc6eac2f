"""Scoring a live run over a walk-through scene against its ground truth (eval/scenes.py).

An alert is matched to the ground truth by where and when it was raised: the scene face whose box, at
the alert's frame time, overlaps the alert's box (IoU > 0.3) is the pass it belongs to. It is a true
alert when that pass's person is the alerted subject (the first for a pass is its hit, later ones are
duplicates), and a false alert otherwise (someone else named, or no scene face there).

- per-pass TPIR: watchlisted passes hit / watchlisted passes;
- FPIR per face seen: passes of people not on the watchlist that raised a false alert / such passes
  (plus false alerts on watchlisted passes naming someone else, counted in ``false_alerts``);
- delay: from a pass's first frame to its first true alert (scene time); latency: capture to alert.

The peer baseline is the face_recognition library on every frame (detect, encode, compare with its
usual tolerance 0.6): with no tracker, each frame's naming is an alert, deduplicated per pass the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from openlfr.types import BoundingBox

MIN_IOU = 0.3
PEER_TOLERANCE = 0.6


@dataclass(frozen=True, slots=True)
class AlertEvent:
    subject_id: str
    t: float
    box: BoundingBox
    latency_s: float | None = None


@dataclass(slots=True)
class LiveScore:
    name: str
    watchlisted_passes: int = 0
    hits: int = 0
    other_passes: int = 0
    other_passes_alerted: int = 0
    false_alerts: int = 0
    duplicates: int = 0
    delays_s: list[float] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    frames_analysed: int = 0
    wall_s: float = 0.0

    @property
    def tpir(self) -> float:
        return self.hits / self.watchlisted_passes if self.watchlisted_passes else float("nan")

    @property
    def fpir(self) -> float:
        return self.other_passes_alerted / self.other_passes if self.other_passes else float("nan")

    @property
    def fps(self) -> float:
        return self.frames_analysed / self.wall_s if self.wall_s else float("nan")

    def row(self) -> list[object]:
        lat = [float(np.percentile(self.latencies_s, q)) if self.latencies_s else float("nan") for q in (50, 95)]
        delay = float(np.median(self.delays_s)) if self.delays_s else float("nan")
        return [
            self.name,
            f"{self.hits}/{self.watchlisted_passes}",
            self.tpir,
            self.false_alerts,
            self.fpir,
            self.duplicates,
            delay,
            lat[0],
            lat[1],
            self.fps,
        ]


COLUMNS = [
    "system",
    "hits",
    "TPIR per pass",
    "false alerts",
    "FPIR per face seen",
    "duplicates",
    "delay p50 (s)",
    "latency p50 (s)",
    "latency p95 (s)",
    "analysed fps",
]


def score(name: str, events: list[AlertEvent], truth: dict[str, Any], until: float | None = None) -> LiveScore:
    """Score ``events`` against a scene's ground truth (its .json), counting passes that end by ``until``."""
    passes = truth["spec"]["passes"]
    listed = set(truth.get("watchlisted", []))
    fps = float(truth["spec"]["fps"])
    end = until if until is not None else float("inf")
    by_frame = _faces_by_frame(truth)
    counted = [k for k, p in enumerate(passes) if p["t1"] <= end + 1e-6]
    out = LiveScore(name)
    out.watchlisted_passes = sum(1 for k in counted if passes[k]["identity"] in listed)
    out.other_passes = len(counted) - out.watchlisted_passes
    hit: set[int] = set()
    falsely: set[int] = set()
    for e in sorted(events, key=lambda e: e.t):
        if e.t > end:
            continue
        if e.latency_s is not None:
            out.latencies_s.append(e.latency_s)
        near = [(e.box.iou(b), k) for k, b in by_frame.get(round(e.t * fps), [])]
        best = max(near, default=(0.0, -1))
        k = best[1] if best[0] > MIN_IOU else -1
        if k >= 0 and passes[k]["identity"] == e.subject_id:
            if k in hit:
                out.duplicates += 1
            else:
                hit.add(k)
                out.delays_s.append(e.t - passes[k]["t0"])
        else:
            out.false_alerts += 1
            if k >= 0 and passes[k]["identity"] not in listed:
                falsely.add(k)
    out.hits = len(hit & set(counted))
    out.other_passes_alerted = len(falsely & set(counted))
    return out


def run_peer(video: Path, known: dict[str, Path], seconds: float | None = None) -> tuple[list[AlertEvent], int, float]:
    """face_recognition on every frame (of the first ``seconds``): namings, frames done, seconds taken."""
    import av
    import face_recognition as fr

    names, encodings = [], []
    for subject, path in known.items():
        image = fr.load_image_file(str(path))
        boxes = fr.face_locations(image)
        if boxes:
            largest = max(boxes, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))
            encodings.append(fr.face_encodings(image, [largest])[0])
            names.append(subject)
    events: list[AlertEvent] = []
    frames, spent = 0, 0.0
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            t = float(frame.time or 0.0)
            if seconds is not None and t >= seconds:
                break
            start = time.perf_counter()
            rgb = frame.to_ndarray(format="rgb24")
            locations = fr.face_locations(rgb)
            for (top, right, bottom, left), enc in zip(locations, fr.face_encodings(rgb, locations), strict=True):
                distances = fr.face_distance(encodings, enc)
                best = int(np.argmin(distances)) if len(distances) else -1
                if best >= 0 and distances[best] <= PEER_TOLERANCE:
                    box = BoundingBox(float(left), float(top), float(right), float(bottom))
                    events.append(AlertEvent(names[best], t, box, time.perf_counter() - start))
            spent += time.perf_counter() - start
            frames += 1
    return events, frames, spent


def first_per_face(events: list[AlertEvent], truth: dict[str, Any]) -> list[AlertEvent]:
    """The peer names a face on every frame; keep the first naming per (subject, pass) as its alert, and
    every naming of someone wrong once per (subject, pass) as one false alert."""
    fps = float(truth["spec"]["fps"])
    faces = _faces_by_frame(truth)
    seen: set[tuple[str, int]] = set()
    kept = []
    for e in events:
        near = max(((e.box.iou(b), k) for k, b in faces.get(round(e.t * fps), [])), default=(0.0, -1))
        key = (e.subject_id, near[1] if near[0] > MIN_IOU else -1)
        if key not in seen:
            seen.add(key)
            kept.append(e)
    return kept


def _faces_by_frame(truth: dict[str, Any]) -> dict[int, list[tuple[int, BoundingBox]]]:
    """The scene's faces per frame number: (pass index, box)."""
    fps = float(truth["spec"]["fps"])
    faces: dict[int, list[tuple[int, BoundingBox]]] = {}
    for f in truth["faces"]:
        faces.setdefault(round(f["t"] * fps), []).append((f["pass_index"], BoundingBox(*map(float, f["box"]))))
    return faces
