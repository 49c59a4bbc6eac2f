"""Live matching cost per face with score normalisation, beside plain search, at a 10,000-subject watchlist.

    .venv/bin/python bench/normalise.py --cache /tmp/evalcache.sqlite [--subjects 10000] [--cohort 4000]

Templates are real: the dlib templates of LFW, FairFace and UTKFace in an evaluation embedding cache
(`lfr eval identify --cache ...` fills one). The first ``--subjects`` become a watchlist of one template
each, the next ``--cohort`` its cohort, the rest the probes. Each probe is searched alone, as the live
pipeline searches each best shot (``matcher.search(watchlist, one_vector, k=1)``), with:

- plain: similarity from Euclidean distance (a version-1 watchlist, no normalisation);
- normalised: the configured default ([match.normalisation]: ZT-norm against the top-k cohort scores,
  fair cluster offsets), template statistics precomputed as a calibrated watchlist stores them.

Prints the median and 95th percentile milliseconds per face of each, and their ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from _signing import throwaway_signing_key
from openlfr.config import Settings
from openlfr.match import matcher
from openlfr.match.calibrate import Cohort, normalise
from openlfr.match.watchlist import Manifest, Subject, TemplateRecord, Watchlist


def templates(cache: Path) -> np.ndarray:
    with sqlite3.connect(cache) as db:
        rows = db.execute("SELECT vector FROM templates WHERE fallback = 0 AND vector IS NOT NULL").fetchall()
    return np.stack([np.frombuffer(r[0], dtype=np.float32) for r in rows])


def watchlist(vectors: np.ndarray, embedder: str) -> Watchlist:
    subjects = [Subject(subject_id=f"s{i}", display_name=f"s{i}") for i in range(len(vectors))]
    records = [
        TemplateRecord(
            template_id=f"t{i}",
            subject_id=f"s{i}",
            image=f"{i}.jpg",
            image_sha256=f"{i:064x}",
            box=(0, 0, 1, 1),
            quality_score=1.0,
            eye_distance_px=40.0,
            sharpness=100.0,
        )
        for i in range(len(vectors))
    ]
    manifest = Manifest(
        name="bench",
        created_at=datetime.now(UTC),
        embedder=embedder,
        dimension=vectors.shape[1],
        threshold=0.5,
        threshold_source="bench",
        subjects=subjects,
        templates=records,
    )
    return Watchlist(manifest=manifest, vectors=vectors.astype(np.float32))


def per_face_ms(wl: Watchlist, probes: np.ndarray) -> np.ndarray:
    index = wl.index()
    matcher.search(wl, probes[:1], k=1, index=index)  # warm-up
    out = []
    for p in probes:
        start = time.perf_counter()
        matcher.search(wl, p[np.newaxis, :], k=1, index=index)
        out.append(time.perf_counter() - start)
    return 1000 * np.array(out)


def main() -> None:
    throwaway_signing_key()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, required=True, help="an evaluation embedding cache (SQLite)")
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--cohort", type=int, default=4_000)
    parser.add_argument("--probes", type=int, default=400)
    args = parser.parse_args()
    vectors = templates(args.cache)
    need = args.subjects + args.cohort + args.probes
    if len(vectors) < need:
        raise SystemExit(f"the cache holds {len(vectors)} templates; {need} are needed")
    vectors = vectors[np.random.default_rng(0).permutation(len(vectors))]
    gallery, rest = vectors[: args.subjects], vectors[args.subjects :]
    cohort_vectors, probes = rest[: args.cohort], rest[args.cohort : args.cohort + args.probes]
    config = Settings().match.normalisation
    plain = watchlist(gallery, "bench")
    cohort = Cohort(cohort_vectors, "bench", "bench", datetime.now(UTC))
    start = time.perf_counter()
    normalised = normalise(plain, cohort, config)
    prepare_s = time.perf_counter() - start
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}")
    print(f"watchlist {args.subjects} subjects, cohort {args.cohort}, {args.probes} probes one at a time")
    print(f"normalisation {config.describe()}: precomputed in {prepare_s:.1f} s (once, at calibration)")
    results = {"plain (distance)": per_face_ms(plain, probes), "normalised": per_face_ms(normalised, probes)}
    for name, ms in results.items():
        print(f"{name:18s} median {np.median(ms):.3f} ms, p95 {np.percentile(ms, 95):.3f} ms per face")
    ratio = np.median(results["normalised"]) / np.median(results["plain (distance)"])
    print(f"ratio normalised / plain (medians): {ratio:.2f}")


if __name__ == "__main__":
    main()
