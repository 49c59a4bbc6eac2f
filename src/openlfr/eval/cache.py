"""An embedding cache for evaluation: one template per image file, keyed by the file's SHA-256 and
the core that made it (embedder identity and detector settings), so that re-runs are fast and a
changed model or detector never reuses a stale template.

The face taken from each image is the detection nearest its centre (evaluation sets are crops
centred on one face); where the detector finds none, a fixed central box covering the middle 44% of
the image is used (LFW's 70-180 px of 250), and the template is marked as a fallback. Cold caches are
filled by worker processes, one per core.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from openlfr.analysis import FaceAnalyzer
from openlfr.config import DlibEmbedderConfig, Settings
from openlfr.embed.dlib_resnet import variant
from openlfr.errors import ImageError
from openlfr.eval.report import SILENT, Display
from openlfr.types import BoundingBox, FaceDetection

CENTRE_BOX = (0.28, 0.72)


@dataclass(frozen=True, slots=True)
class Embedded:
    """The template of one image, or why there is none (an unreadable file)."""

    vector: NDArray[np.float32] | None
    fallback: bool
    quality: float
    error: str | None = None


def default_path() -> Path:
    return Path.home() / ".cache" / "openlfr" / "embeddings.sqlite"


def core_key(settings: Settings, embedder_identity: str) -> str:
    """What makes templates comparable: the embedder (with its model checksum), the detector settings and,
    where they are not the defaults, the dlib embedder's options (augmentation, alignment)."""
    key = f"{embedder_identity}|{settings.detector.model_dump_json()}"
    if isinstance(settings.embedder, DlibEmbedderConfig) and (extra := variant(settings.embedder)):
        key += f"|{extra}"
    if settings.embedder.type == "dlib_onnx":  # dlib's identity (equal templates), but evaluate what ran
        key += "|onnxruntime"
    return key


class EmbeddingCache:
    """Templates in a SQLite file: (file SHA-256, core key) -> vector, fallback flag, quality."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS templates (sha256 TEXT, core TEXT, vector BLOB, fallback INTEGER, "
            "quality REAL, error TEXT, PRIMARY KEY (sha256, core))"
        )

    def get(self, sha: str, core: str) -> Embedded | None:
        row = self._db.execute(
            "SELECT vector, fallback, quality, error FROM templates WHERE sha256 = ? AND core = ?", (sha, core)
        ).fetchone()
        if row is None:
            return None
        vector = np.frombuffer(row[0], dtype=np.float32).copy() if row[0] is not None else None
        return Embedded(vector, bool(row[1]), float(row[2]), row[3])

    def put(self, sha: str, core: str, item: Embedded) -> None:
        blob = item.vector.astype(np.float32).tobytes() if item.vector is not None else None
        self._db.execute(
            "INSERT OR REPLACE INTO templates VALUES (?, ?, ?, ?, ?, ?)",
            (sha, core, blob, int(item.fallback), item.quality, item.error),
        )

    def commit(self) -> None:
        self._db.commit()

    def close(self) -> None:
        self._db.commit()
        self._db.close()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def centre_face(analyzer: FaceAnalyzer, path: Path) -> Embedded:
    """The template of the face nearest the centre of the image at ``path`` (see the module docstring)."""
    try:
        image = analyzer.load(path)
    except ImageError as exc:
        return Embedded(None, False, 0.0, str(exc))
    h, w = image.shape[:2]
    found = analyzer.detector.detect(image)
    if found:
        det = min(found, key=lambda d: (d.box.center[0] - w / 2) ** 2 + (d.box.center[1] - h / 2) ** 2)
    else:
        a, b = CENTRE_BOX
        det = FaceDetection(BoundingBox(w * a, h * a, w * b, h * b), 0.0, "centre-fallback")
    face = analyzer.analyze(image, [det])[0]
    return Embedded(face.template.vector, not found, face.quality.score)


_WORKER: FaceAnalyzer | None = None


def _init(settings: Settings) -> None:
    global _WORKER  # noqa: PLW0603 - one analyzer per worker process
    _WORKER = FaceAnalyzer(settings)


def _work(paths: list[Path]) -> list[tuple[str, Embedded]]:
    assert _WORKER is not None
    return [(file_sha256(p), centre_face(_WORKER, p)) for p in paths]


def embed_all(
    paths: Sequence[Path],
    settings: Settings,
    cache: EmbeddingCache,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> dict[Path, Embedded]:
    """The template of every path, from the cache where it holds one, else computed (and cached). The
    evaluation measures the first embedder: a configured second one (score fusion) is not run."""
    settings = settings.model_copy(update={"second_embedder": None})
    analyzer = FaceAnalyzer(settings)
    core = core_key(settings, analyzer.embedder.identity)
    out: dict[Path, Embedded] = {}
    todo: list[Path] = []
    for path in paths:
        hit = cache.get(file_sha256(path), core)
        if hit is None:
            todo.append(path)
        else:
            out[path] = hit
    if progress is not None and out:
        progress(len(out))
    for chunk, results in _compute(todo, settings, workers):
        for path, (sha, item) in zip(chunk, results, strict=True):
            cache.put(sha, core, item)
            out[path] = item
        cache.commit()
        if progress is not None:
            progress(len(chunk))
    return out


def embed_shown(
    paths: Sequence[Path],
    settings: Settings,
    cache: EmbeddingCache,
    workers: int,
    display: Display = SILENT,
    label: str = "embedding",
) -> dict[Path, Embedded]:
    """``embed_all`` with a progress bar on ``display``."""
    with display.progress(label, len(paths)) as advance:
        return embed_all(paths, settings, cache, workers, progress=advance)


def embed_paths(
    paths: Sequence[Path], settings: Settings, cache_path: Path | None, workers: int, display: Display = SILENT
) -> dict[Path, Embedded]:
    """``embed_shown`` with the cache at ``cache_path`` (None: the default) opened for the call."""
    cache = EmbeddingCache(cache_path)
    try:
        return embed_shown(paths, settings, cache, workers, display)
    finally:
        cache.close()


def _compute(
    todo: list[Path], settings: Settings, workers: int
) -> Iterator[tuple[list[Path], list[tuple[str, Embedded]]]]:
    chunks = [todo[i : i + 32] for i in range(0, len(todo), 32)]
    if not chunks:
        return
    if workers <= 1:
        _init(settings)
        for chunk in chunks:
            yield chunk, _work(chunk)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init, initargs=(settings,)) as pool:
        yield from zip(chunks, pool.map(_work, chunks), strict=True)
