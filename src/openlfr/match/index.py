"""Template indexes: where 1:N search looks for the nearest templates.

``TemplateIndex`` is the interface; ``ExactIndex`` compares against every template (right up to
about a million templates of 128 floats on one machine). An approximate index (FAISS, HNSW) can
implement the same two methods for galleries of millions.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from openlfr.match.similarity import euclidean_distances


class TemplateIndex(Protocol):
    """Nearest-template search over a fixed gallery of row vectors."""

    def __len__(self) -> int: ...

    def search(self, queries: NDArray[np.float32], k: int) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """For each query row, the ``k`` smallest distances (ascending) and the gallery rows they are to.

        Both arrays are Q x min(k, len(self)).
        """
        ...


class ExactIndex:
    """Brute-force Euclidean search: exact, no training, no extra memory beyond the gallery."""

    def __init__(self, vectors: NDArray[np.float32]) -> None:
        if vectors.ndim != 2:
            raise ValueError(f"gallery must be an N x D array, got shape {vectors.shape}")
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    def __len__(self) -> int:
        return int(self._vectors.shape[0])

    @property
    def dimension(self) -> int:
        return int(self._vectors.shape[1])

    def search(self, queries: NDArray[np.float32], k: int) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        n = len(self)
        k = min(k, n)
        if k <= 0 or queries.shape[0] == 0:
            empty = (queries.shape[0], 0)
            return np.zeros(empty, np.float32), np.zeros(empty, np.int64)
        if queries.shape[1] != self.dimension:
            raise ValueError(f"queries have dimension {queries.shape[1]}, the gallery {self.dimension}")
        dist = euclidean_distances(queries, self._vectors)
        if k < n:
            part = np.argpartition(dist, k - 1, axis=1)[:, :k]
        else:
            part = np.broadcast_to(np.arange(n), dist.shape).copy()
        part_d = np.take_along_axis(dist, part, axis=1)
        order = np.argsort(part_d, axis=1, kind="stable")
        return np.take_along_axis(part_d, order, axis=1), np.take_along_axis(part, order, axis=1).astype(np.int64)
