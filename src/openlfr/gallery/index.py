"""A gallery's FAISS index: inner product over unit templates (cosine), ids = the records' row ids.

The kind follows the size: ``flat`` (``IndexIDMap2(IndexFlatIP)``, exact) below ``exact_limit``
(100,000 by default), ``ivf`` (``IndexIVFFlat``, inner product) below ``compact_limit`` (2,000,000),
then ``ivf_sq8`` (``IndexIVFScalarQuantizer``, 8 bits a dimension: a quarter of the memory, and of the
bytes a query scans). ``nlist`` is about 4 sqrt(N) and ``nprobe`` the smallest of a ladder whose
recall@10 against exact search, measured on a sample of the gallery's own templates (each query's own
row left out), reaches ``target_recall``. An ``ivf_sq8`` index's scores are approximate: its top
``RERANK`` rows are re-ranked by exact cosine on the templates (``rerank``; the gallery takes them from
its records), and the tuning measures recall after that re-ranking. HNSW is not offered: FAISS cannot
remove from it, and a removed record must leave the index. Every kind removes by id (``remove_ids``
compacts the storage, so a removed template's bytes, or codes, leave the serialised index).

On disk the index is one encrypted blob (bound to the gallery): an 8-byte header holding the highest
row id it includes (``upto``: rows after it are added on open) and FAISS's own serialisation.
"""

from __future__ import annotations

import os
import struct
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from openlfr.errors import GalleryIndexError, StoreKeyError
from openlfr.store.crypto import Cipher

EXACT_LIMIT = 100_000
COMPACT_LIMIT = 2_000_000
RERANK = 100
"""Rows an ``ivf_sq8`` index gives per query (at least) for exact re-ranking."""
TARGET_RECALL = 0.99
NPROBE_LADDER = (1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384, 512, 640, 768, 1024, 1280, 1536, 2048, 3072, 4096)
"""Doubling to 128, then finer: a query's time grows with nprobe, and at 1e7 recall@10 went from 0.9897 at
1,024 to 0.9987 at 2,048 (BENCHMARKS.md), so a doubling ladder would pay twice the time for the last 0.1%."""


@dataclass(frozen=True, slots=True)
class IndexParams:
    """What the index is and why: recorded in the gallery's meta."""

    kind: str = "flat"
    nlist: int = 0
    nprobe: int = 0
    measured_recall10: float | None = None
    trained_on: int = 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def normalise(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    v = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.ascontiguousarray(v / np.maximum(norms, 1e-12), dtype=np.float32)


class GalleryIndex:
    """Templates by row id; ``search`` gives cosine scores (descending) and row ids (-1: none)."""

    def __init__(self, index: Any, params: IndexParams, upto: int = 0) -> None:
        self.faiss_index = index
        self.params = params
        self.upto = upto

    @property
    def approximate(self) -> bool:
        """Scores are those of 8-bit codes: re-rank the top ``RERANK`` by exact cosine."""
        return self.params.kind == "ivf_sq8"

    @classmethod
    def empty(cls, dim: int) -> GalleryIndex:
        import faiss

        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), IndexParams("flat"))

    @classmethod
    def build(
        cls,
        ids: NDArray[np.int64],
        vectors: NDArray[np.float32],
        exact_limit: int = EXACT_LIMIT,
        target_recall: float = TARGET_RECALL,
        seed: int = 0,
        compact_limit: int = COMPACT_LIMIT,
    ) -> GalleryIndex:
        """The index for this size (see the module docstring), tuned to ``target_recall``."""
        import faiss

        vectors = normalise(vectors)
        n, dim = vectors.shape
        if n < exact_limit:
            index = cls.empty(dim)
            index.add(ids, vectors)
            return index
        nlist = max(16, int(4 * np.sqrt(n)))
        rng = np.random.default_rng(seed)
        compact = n >= compact_limit
        train = vectors[rng.choice(n, min(n, (40 if compact else 64) * nlist), replace=False)]
        quantiser = faiss.IndexFlatIP(dim)
        ivf: Any
        if compact:
            sq8 = faiss.ScalarQuantizer.QT_8bit
            ivf = faiss.IndexIVFScalarQuantizer(quantiser, dim, nlist, sq8, faiss.METRIC_INNER_PRODUCT)
            ivf.cp.niter = 10  # a million-point k-means: more iterations gain no measurable recall
        else:
            ivf = faiss.IndexIVFFlat(quantiser, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.cp.seed = seed
        ivf.train(train)
        for start in range(0, n, 1_000_000):  # bounded temporary memory while lists are assigned
            ivf.add_with_ids(vectors[start : start + 1_000_000], ids[start : start + 1_000_000])
        kind = "ivf_sq8" if compact else "ivf"
        nprobe, recall = tune_nprobe(ivf, vectors, ids, target_recall, rng, rerank=compact)
        ivf.nprobe = nprobe
        return cls(ivf, IndexParams(kind, nlist, nprobe, recall, len(train)))

    def __len__(self) -> int:
        return int(self.faiss_index.ntotal)

    def add(self, ids: NDArray[np.int64], vectors: NDArray[np.float32]) -> None:
        if len(ids):
            self.faiss_index.add_with_ids(normalise(vectors), np.ascontiguousarray(ids, dtype=np.int64))
            self.upto = max(self.upto, int(np.max(ids)))

    def remove(self, ids: list[int]) -> int:
        if not ids:
            return 0
        return int(self.faiss_index.remove_ids(np.asarray(ids, dtype=np.int64)))

    def search(self, queries: NDArray[np.float32], k: int) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        if len(self) == 0 or k <= 0:
            shape = (len(np.atleast_2d(queries)), 0)
            return np.zeros(shape, np.float32), np.zeros(shape, np.int64)
        scores, ids = self.faiss_index.search(normalise(queries), min(k, len(self)))
        return scores, ids

    def vectors(self) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The ids and vectors of a flat index (for growing it into an IVF one without decrypting)."""
        import faiss

        if self.params.kind != "flat":
            raise GalleryIndexError("only a flat index can hand back its vectors")
        ids = faiss.vector_to_array(self.faiss_index.id_map).astype(np.int64)
        flat: Any = faiss.downcast_index(self.faiss_index.index)
        vecs = faiss.vector_to_array(flat.codes).view(np.float32).reshape(len(ids), flat.d)
        return ids, vecs

    # persistence -------------------------------------------------------------------------------
    def save(self, path: Path, cipher: Cipher, context: str) -> None:
        """Write atomically: a temporary file, fsync, rename."""
        import faiss

        payload = struct.pack("<q", self.upto) + faiss.serialize_index(self.faiss_index).tobytes()
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(cipher.encrypt(payload, context))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, cipher: Cipher, context: str, params: IndexParams) -> GalleryIndex:
        import faiss

        hint = f"'lfr gallery rebuild -g {path.parent}' rebuilds it from the gallery's records"
        try:
            payload = cipher.decrypt(path.read_bytes(), context)
        except FileNotFoundError as exc:
            raise GalleryIndexError(f"the gallery's index file {path} is missing; {hint}") from exc
        except StoreKeyError as exc:
            raise GalleryIndexError(f"the gallery's index file {path} is corrupt or altered; {hint}") from exc
        try:
            (upto,) = struct.unpack("<q", payload[:8])
            index: Any = faiss.deserialize_index(np.frombuffer(payload[8:], dtype=np.uint8))
        except (RuntimeError, struct.error) as exc:
            raise GalleryIndexError(f"the gallery's index file {path} does not load ({exc}); {hint}") from exc
        if params.kind in ("ivf", "ivf_sq8"):
            index.nprobe = params.nprobe
        return cls(index, params, int(upto))


def tune_nprobe(
    ivf: Any,
    vectors: NDArray[np.float32],
    ids: NDArray[np.int64],
    target: float,
    rng: np.random.Generator,
    rerank: bool = False,
) -> tuple[int, float]:
    """The smallest nprobe whose recall@10 against exact search reaches ``target`` on 500 of the gallery's
    own templates as queries (their own rows left out), after exact re-ranking of the top ``RERANK`` if
    ``rerank``; the last of the ladder if none does."""
    picks = rng.choice(len(vectors), min(500, len(vectors)), replace=False)
    queries = vectors[picks]
    exact = _exact_top(vectors, ids, queries, ids[picks], 10)
    where = {int(i): p for p, i in enumerate(ids.tolist())} if rerank else {}
    recall = 0.0
    nprobe = NPROBE_LADDER[0]
    for nprobe in NPROBE_LADDER:
        if nprobe > ivf.nlist:
            break
        ivf.nprobe = nprobe
        _, found = ivf.search(queries, max(RERANK, 11) if rerank else 11)
        if rerank:
            found = np.stack(
                [
                    exact_order(q, row, vectors[[where.get(int(i), 0) for i in row]])[1]
                    for q, row in zip(queries, found, strict=True)
                ]
            )
        recall = recall_at(exact, _drop_self(found, ids[picks], 10))
        if recall >= target:
            break
    return nprobe, recall


def exact_order(
    query: NDArray[np.float32], rows: NDArray[np.int64], templates: NDArray[np.float32]
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """``rows`` (an approximate index's candidates; -1: none) ordered by exact cosine of their ``templates``
    to ``query``, with those scores; the -1 last, scored -inf."""
    scores = normalise(templates) @ normalise(query)[0]
    scores = np.where(rows >= 0, scores, -np.inf).astype(np.float32)
    order = np.argsort(-scores, kind="stable")
    return scores[order], rows[order]


def _exact_top(
    vectors: NDArray[np.float32], ids: NDArray[np.int64], queries: NDArray[np.float32], own: NDArray[np.int64], k: int
) -> NDArray[np.int64]:
    import faiss

    _, top = faiss.knn(queries, vectors, k + 1, metric=faiss.METRIC_INNER_PRODUCT)  # blocked: bounded memory
    return _drop_self(ids[top], own, k)


def _drop_self(found: NDArray[np.int64], own: NDArray[np.int64], k: int) -> NDArray[np.int64]:
    return np.stack([[i for i in row if i != o][:k] for row, o in zip(found, own, strict=True)])


def recall_at(exact: NDArray[np.int64], found: NDArray[np.int64]) -> float:
    """The share of exact search's top-k ids that ``found`` also holds (recall@k against exact)."""
    hits = sum(len(set(e.tolist()) & set(f.tolist())) for e, f in zip(exact, found, strict=True))
    return hits / max(1, exact.size)
