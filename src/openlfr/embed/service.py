"""Embedding off the analysis thread: in a worker process (default) or a thread.

dlib's network holds Python's GIL for the whole call (measured: a pure-Python loop keeps 1% of its
speed while dlib embeds, BENCHMARKS.md), so a thread cannot overlap embedding with detection. A worker
process can: detection runs in the main process while the worker embeds, which is how the live
pipeline uses both cores. Chips go to the worker and vectors come back (150 x 150 x 3 bytes each way
in, 512 bytes out).

Each embedder of a live run is one ``Embedding``: the embedder aligns in the pipeline and its own
service embeds. With score fusion (``second_embedder``) the pipeline aligns each wanted shot the way
each embedder wants and submits every batch, so the models embed side by side.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from openlfr.config import EmbedderConfig
from openlfr.embed.base import Embedder, embedders
from openlfr.types import AlignedFace, Template


class EmbedService(Protocol):
    """Embeds batches of aligned faces asynchronously."""

    def submit(self, faces: Sequence[AlignedFace]) -> Future[list[Template]]: ...

    def close(self) -> None: ...


_WORKER_EMBEDDER: Embedder | None = None


def _init_worker(config: EmbedderConfig) -> None:
    global _WORKER_EMBEDDER  # noqa: PLW0603 - one embedder per worker process, built once
    _WORKER_EMBEDDER = embedders.create(config)
    _WORKER_EMBEDDER.load()


def _ready() -> bool:
    return _WORKER_EMBEDDER is not None


def _embed_in_worker(faces: Sequence[AlignedFace]) -> list[Template]:
    if _WORKER_EMBEDDER is None:
        raise RuntimeError("embedding worker was not initialised")
    return _WORKER_EMBEDDER.embed(faces)


class ProcessEmbedService:
    """One worker process that owns its own embedder (models load there, once)."""

    def __init__(self, config: EmbedderConfig) -> None:
        # spawn, not fork: the parent has threads (decoders, sinks), and forking those is unsafe.
        self._pool: Executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(config,),
        )
        # Start the worker and load its model now, so that the first face is not kept waiting for it;
        # a model that fails to load fails here, with its own error.
        self._pool.submit(_ready).result()

    def submit(self, faces: Sequence[AlignedFace]) -> Future[list[Template]]:
        return self._pool.submit(_embed_in_worker, list(faces))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True, slots=True)
class Embedding:
    """One embedder of a live run: it aligns in the pipeline, ``service`` embeds."""

    embedder: Embedder
    service: EmbedService


def start_service(config: EmbedderConfig, embedder: Embedder, in_process: bool) -> EmbedService:
    """A worker process embedding with ``config`` (``in_process``), else a thread using ``embedder``."""
    return ProcessEmbedService(config) if in_process else ThreadEmbedService(embedder)


class ThreadEmbedService:
    """Embeds on one thread of this process (for tests, or an embedder that releases the GIL)."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lfr-embed")

    def submit(self, faces: Sequence[AlignedFace]) -> Future[list[Template]]:
        return self._pool.submit(self._embedder.embed, list(faces))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
