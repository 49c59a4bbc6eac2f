"""Cost of a gallery's index as it grows: build time, memory, query ms on one core, recall against exact.

The vectors are synthetic but shaped like real templates: a Gaussian with the mean and covariance of
real dlib templates (unit length) of LFW and FairFace faces (``--real``, embedded once with the fast
embedder and cached by the evaluation cache), each sample normalised to unit length. Queries are fresh
samples of the same distribution (a probe is not a gallery member). For each size and index kind:

- ``flat``: ``IndexFlatIP`` (exact; the gallery's kind below 100,000 records);
- ``ivf``: ``IndexIVFFlat``, nlist = 4 sqrt(N) trained on 64 nlist vectors, at each nprobe of a ladder,
  and the nprobe that ``openlfr.gallery.index.tune_nprobe`` picks (what a gallery records);
- ``ivfpq``: ``IndexIVFPQ`` (32 sub-quantisers of 8 bits: 32 bytes a vector), re-ranked exactly over
  the top 100 by ``IndexRefineFlat`` would need the flat vectors again, so it is reported bare;
- ``ivf_sq8``: the gallery's kind past ``compact_limit``, built by ``GalleryIndex.build`` (nlist 4 sqrt(N),
  8-bit codes, nprobe tuned on recall after re-ranking) and searched as ``Gallery.search`` does: its top
  100 re-ranked by exact cosine (the templates from memory here; a gallery decrypts them from its records);
- ``hnsw``: ``IndexHNSWFlat`` (M 32), for comparison only (FAISS cannot remove from it).

Query time is the median over single queries with FAISS on one thread; memory is the serialised
index's size (what the gallery's index file holds, before encryption). Recall@k is the share of exact
search's top k that the index returns in its top k.

Usage: python bench/gallery.py --sizes 100000 1000000 [--kinds flat ivf ivf_sq8 ivfpq hnsw] [--real 3000]
       python bench/gallery.py --sizes 10000000 --kinds ivf_sq8 --real 2000     # the 1e7 run (~12 GB)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

from openlfr.gallery.index import NPROBE_LADDER, RERANK, GalleryIndex, exact_order, tune_nprobe

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
QUERIES = 1000


def real_templates(n: int, workers: int) -> NDArray[np.float32]:
    """``n`` real dlib templates (unit length) of LFW and FairFace images, via the evaluation cache."""
    from openlfr.config import DlibOnnxEmbedderConfig, Settings
    from openlfr.eval.cache import embed_paths

    paths = (
        sorted((SHARED / "lfw" / "lfw").rglob("*.jpg"))[: n // 2]
        + sorted((SHARED / "fairface_val").rglob("*.jpg"))[: n - n // 2]
    )
    settings = Settings(embedder=DlibOnnxEmbedderConfig())
    done = embed_paths(paths, settings, None, workers)
    vecs = np.stack([e.vector for e in done.values() if e.vector is not None]).astype(np.float32)
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def sampler(real: NDArray[np.float32], seed: int = 0) -> Any:
    mean = real.mean(axis=0)
    chol = np.linalg.cholesky(np.cov(real, rowvar=False) + 1e-6 * np.eye(real.shape[1]))
    rng = np.random.default_rng(seed)

    def sample(n: int) -> NDArray[np.float32]:
        out = np.empty((n, real.shape[1]), np.float32)
        for i in range(0, n, 1_000_000):
            m = min(1_000_000, n - i)
            z = rng.standard_normal((m, real.shape[1])).astype(np.float32) @ chol.T.astype(np.float32) + mean
            out[i : i + m] = z / np.linalg.norm(z, axis=1, keepdims=True)
        return out

    return sample


def query_ms(index: Any, queries: NDArray[np.float32], k: int = 10, reps: int = 300) -> float:
    """Median ms of single queries, FAISS on one thread (builds use every core)."""
    faiss.omp_set_num_threads(1)
    times = []
    for q in queries[:reps]:
        t = time.perf_counter()
        index.search(q[None, :], k)
        times.append((time.perf_counter() - t) * 1000)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    return float(np.median(times))


def recall(truth: NDArray[np.int64], found: NDArray[np.int64], k: int) -> float:
    hits = sum(len(set(t[:k].tolist()) & set(f[:k].tolist())) for t, f in zip(truth, found, strict=True))
    return hits / (len(truth) * k)


def measure(
    name: str,
    index: Any,
    build_s: float,
    queries: NDArray[np.float32],
    truth: NDArray[np.int64],
    index_mb: float | None = None,
) -> dict:
    """One row of results, printed as soon as it is measured."""
    _, found = index.search(queries, 10)
    row = {
        "kind": name,
        "build_s": round(build_s, 1),
        "index_mb": round(index_mb if index_mb is not None else len(faiss.serialize_index(index)) / 2**20, 1),
        "query_ms": round(query_ms(index, queries, reps=30 if name == "flat" else 300), 3),
        "recall@1": round(recall(truth, found, 1), 4),
        "recall@10": round(recall(truth, found, 10), 4),
    }
    print(json.dumps(row), flush=True)
    return row


class Reranked:
    """An ivf_sq8 index searched as ``Gallery.search`` does: its top ``RERANK`` by the 8-bit codes, re-ranked
    by exact cosine on the templates (here from memory; a gallery reads those 100 from its records)."""

    def __init__(self, index: GalleryIndex, vectors: NDArray[np.float32]) -> None:
        self.index, self.vectors = index, vectors

    def search(self, queries: NDArray[np.float32], k: int) -> tuple[None, NDArray[np.int64]]:
        _, rows = self.index.faiss_index.search(queries, max(k, RERANK))
        return None, np.stack([exact_order(q, r, self.vectors[r])[1][:k] for q, r in zip(queries, rows, strict=True)])


def measure_sq8(n: int, gallery: NDArray[np.float32], queries: NDArray[np.float32], truth: NDArray[np.int64]) -> list:
    t = time.perf_counter()
    built = GalleryIndex.build(np.arange(n, dtype=np.int64), gallery, exact_limit=1, compact_limit=1)
    build = time.perf_counter() - t
    p = built.params
    own = p.measured_recall10 or 0.0
    print(f"ivf_sq8 built in {build:.0f} s: nlist {p.nlist}, nprobe {p.nprobe} (own recall@10 {own:.4f})", flush=True)
    rows = []
    ladder = [x for x in NPROBE_LADDER if x <= p.nlist]
    at = ladder.index(p.nprobe)
    for nprobe in ladder[max(0, at - 2) : at + 2]:
        built.faiss_index.nprobe = nprobe
        mb = len(faiss.serialize_index(built.faiss_index)) / 2**20
        row = measure(
            f"ivf_sq8 nlist={p.nlist} nprobe={nprobe} + exact re-rank of {RERANK}",
            Reranked(built, gallery),
            build,
            queries,
            truth,
            mb,
        )
        row["tuned"] = nprobe == p.nprobe
        rows.append({"n": n, **row})
    return rows


def run_size(n: int, kinds: list[str], sample: Any) -> list[dict]:
    gallery = sample(n)
    queries = sample(QUERIES)
    dim = gallery.shape[1]
    rows = []
    t = time.perf_counter()
    _, truth = faiss.knn(queries, gallery, 10, metric=faiss.METRIC_INNER_PRODUCT)  # blocked: no second copy
    print(f"n={n}: exact top-10 of {QUERIES} queries in {time.perf_counter() - t:.0f} s", flush=True)
    if "flat" in kinds:
        t = time.perf_counter()
        flat = faiss.IndexFlatIP(dim)
        flat.add(gallery)
        rows.append({"n": n, **measure("flat", flat, time.perf_counter() - t, queries, truth)})
        del flat
    if "ivf_sq8" in kinds:
        rows.extend(measure_sq8(n, gallery, queries, truth))
    nlist = max(16, int(4 * np.sqrt(n)))
    rng = np.random.default_rng(1)
    train = gallery[rng.choice(n, min(n, 64 * nlist), replace=False)]
    if "ivf" in kinds:
        t = time.perf_counter()
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.train(train)
        ivf.add(gallery)
        build = time.perf_counter() - t
        tuned, own = tune_nprobe(ivf, gallery, np.arange(n, dtype=np.int64), 0.99, rng)
        for nprobe in [p for p in NPROBE_LADDER if p <= nlist and p >= 4]:
            ivf.nprobe = nprobe
            row = measure(f"ivf nlist={nlist} nprobe={nprobe}", ivf, build, queries, truth)
            row["tuned"] = nprobe == tuned
            row["tune_recall@10_on_gallery"] = round(own, 4) if nprobe == tuned else None
            rows.append({"n": n, **row})
        del ivf
    if "ivfpq" in kinds:
        t = time.perf_counter()
        pq = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, 32, 8, faiss.METRIC_INNER_PRODUCT)
        pq.train(train)
        pq.add(gallery)
        build = time.perf_counter() - t
        for nprobe in (16, 64):
            pq.nprobe = nprobe
            rows.append({"n": n, **measure(f"ivfpq m=32 nprobe={nprobe}", pq, build, queries, truth)})
        del pq
    if "hnsw" in kinds:
        t = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.add(gallery)
        build = time.perf_counter() - t
        for ef in (32, 128):
            hnsw.hnsw.efSearch = ef
            rows.append({"n": n, **measure(f"hnsw M=32 ef={ef}", hnsw, build, queries, truth)})
    return rows


def real_faces(path: Path, config: Path | None) -> list[dict]:
    """Rank-1 and rank-10 hit rates on real faces, exact search against each index kind forced at this size.

    ``path`` is a gallery made by ``lfr gallery import`` (e.g. of LFW, FairFace and UTKFace, as
    tests/gallery/test_import.py's 15k manifest: LFW subjects by name, every other image its own subject).
    For each subject with two or more records, the first (by record id) stays in the gallery (the mate) and
    the second is the probe; their other records leave; everyone else is a distractor."""
    from openlfr.config import load_settings
    from openlfr.gallery.gallery import Gallery

    gallery = Gallery.open(path, load_settings(config).store)
    ids, vecs = (np.concatenate(part) for part in zip(*gallery.records.templates(), strict=True))
    fields = {int(r): gallery.records.fields(int(r)) for r in ids}
    gallery.close()
    people: dict[str, list[tuple[str, int]]] = {}
    for row, f in fields.items():
        people.setdefault(str(f["subject_id"]), []).append((str(f["record_id"]), row))
    mated = {name: sorted(images) for name, images in people.items() if len(images) >= 2}
    probes = {images[1][1]: name for name, images in mated.items()}
    leave = {row for images in mated.values() for _, row in images[1:]}
    keep = np.array([int(r) not in leave for r in ids])
    g_ids, g_vecs = ids[keep], vecs[keep]
    subject = {int(r): str(fields[int(r)]["subject_id"]) for r in g_ids}
    position = {int(r): i for i, r in enumerate(ids)}
    queries = np.stack([vecs[position[r]] for r in probes])
    truth = list(probes.values())
    print(f"real faces: gallery {len(g_ids)} ({len(mated)} mates), {len(queries)} probes", flush=True)

    def rates(found: NDArray[np.int64]) -> tuple[float, float]:
        names = [[subject.get(int(r), "") for r in row] for row in found]
        r1 = np.mean([t in n[:1] for n, t in zip(names, truth, strict=True)])
        r10 = np.mean([t in n[:10] for n, t in zip(names, truth, strict=True)])
        return round(float(r1), 4), round(float(r10), 4)

    _, exact = faiss.knn(queries, g_vecs, 10, metric=faiss.METRIC_INNER_PRODUCT)
    out = [{"kind": "exact", "n": len(g_ids), "probes": len(queries), "rank1_rank10": rates(g_ids[exact])}]
    positions = np.arange(len(g_ids), dtype=np.int64)  # index ids = positions in g_vecs, mapped back below
    for kind, compact in (("ivf", len(g_ids) + 1), ("ivf_sq8", 1)):
        built = GalleryIndex.build(positions, g_vecs, exact_limit=1, compact_limit=compact)
        _, found = (Reranked(built, g_vecs) if built.approximate else built).search(queries, 10)
        p = built.params
        row = {"kind": f"{kind} nlist={p.nlist} nprobe={p.nprobe}", "rank1_rank10": rates(g_ids[found])}
        print(json.dumps(row), flush=True)
        out.append(row)
    print(json.dumps(out[0]), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--kinds", nargs="+", default=["flat", "ivf", "ivfpq", "hnsw"])
    parser.add_argument("--real", type=int, default=3000, help="real templates whose statistics are sampled")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="JSON results")
    parser.add_argument("--from-gallery", type=Path, help="real faces: hit rates on this gallery (see real_faces)")
    parser.add_argument("-c", "--config", type=Path, help="--from-gallery: the settings holding the store's key")
    args = parser.parse_args()
    if args.from_gallery:
        result = real_faces(args.from_gallery, args.config)
        if args.out:
            args.out.write_text(json.dumps(result, indent=1))
        return
    real = real_templates(args.real, args.workers)
    print(f"{len(real)} real templates; {platform.processor() or platform.machine()}, faiss {faiss.__version__}")
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    sample = sampler(real)
    rows: list[dict] = []
    for n in args.sizes:
        rows.extend(run_size(n, args.kinds, sample))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
