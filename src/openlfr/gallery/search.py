"""Investigative search: every face of each probe image with its top-k gallery candidates, for review.

The output is a ranked list of candidates for a trained person to review: no face is declared a match
(``threshold`` only marks candidates at or above it when one is asked for). Scores are cosine
similarities between unit templates. Each search is written to the gallery's audit log, with its reason
and the probes' content hashes, before any result is returned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from openlfr.analysis import FaceAnalyzer
from openlfr.errors import GalleryEmbedderError, GalleryError, ImageError
from openlfr.gallery.gallery import Gallery
from openlfr.gallery.importer import thumbnail

OVERFETCH = 8
"""Extra hits asked of the index per face, so that a row removed since cannot shorten the list."""


@dataclass(frozen=True, slots=True)
class Candidate:
    rank: int
    score: float
    subject_id: str
    record_id: str
    date: str | None
    source: str | None
    above_threshold: bool | None = None
    row_id: int = 0


@dataclass(frozen=True, slots=True)
class ProbeFace:
    index: int
    box: tuple[int, int, int, int]
    quality: float
    candidates: list[Candidate]
    thumb: bytes | None = None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    source: str
    faces: list[ProbeFace] = field(default_factory=list)
    error: str | None = None
    error_reason: str | None = None

    def to_json(self) -> dict[str, object]:
        """One line of ``lfr gallery search --format jsonl`` (``lfr search``'s shape; thumbnails left out)."""
        out = asdict(self)
        for face in out["faces"]:
            face.pop("thumb")
            for cand in face["candidates"]:
                cand.pop("row_id")
        return out


def search_probes(
    gallery: Gallery,
    analyzer: FaceAnalyzer,
    probes: Sequence[Path],
    k: int,
    reason: str,
    threshold: float | None = None,
) -> Iterator[ProbeResult]:
    """The candidates of every face of every probe; the search is audited first (reason required)."""
    if not reason.strip():
        raise GalleryError("a gallery search needs its reason (--reason)")
    if analyzer.embedder.identity != gallery.embedder:
        raise GalleryEmbedderError(
            f"the settings' embedder {analyzer.embedder.identity} is not the gallery's {gallery.embedder}"
        )
    gallery.records.audit(
        "search",
        {
            "reason": reason,
            "top": k,
            "threshold": threshold,
            "probes": [_sha(p) for p in probes],
            "gallery_size": gallery.records.count(),
        },
    )
    for path in probes:
        yield search_probe(gallery, analyzer, path, k, threshold)


def search_probe(
    gallery: Gallery, analyzer: FaceAnalyzer, path: Path, k: int, threshold: float | None = None
) -> ProbeResult:
    try:
        image = analyzer.load(path)
    except ImageError as exc:
        return ProbeResult(str(path), error=str(exc), error_reason=exc.reason)
    faces = analyzer.analyze(image)
    if not faces:
        return ProbeResult(str(path))
    queries = np.stack([f.template.vector for f in faces])
    scores, rows = gallery.index.search(queries, k + OVERFETCH)
    live = gallery.records.live(int(r) for r in rows.ravel() if r >= 0)
    out = []
    for i, (face, srow, rrow) in enumerate(zip(faces, scores, rows, strict=True)):
        cands: list[Candidate] = []
        for score, row in zip(srow, rrow, strict=True):
            if row < 0 or int(row) not in live or len(cands) == k:
                continue
            f = gallery.records.fields(int(row))
            cands.append(
                Candidate(
                    rank=len(cands) + 1,
                    score=round(float(score), 4),
                    subject_id=str(f["subject_id"]),
                    record_id=str(f["record_id"]),
                    date=_opt(f.get("date")),
                    source=_opt(f.get("source")),
                    above_threshold=None if threshold is None else bool(score >= threshold),
                    row_id=int(row),
                )
            )
        box = face.detection.box.as_ints()
        out.append(ProbeFace(i + 1, box, round(face.quality.score, 3), cands, thumbnail(image, face)))
    return ProbeResult(str(path), faces=out)


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
