"""Investigative search: every face of each probe image with its top-k gallery candidates, for review.

The output is a ranked list of candidates for a trained person to review: no face is declared a match
(``threshold`` only marks candidates at or above it when one is asked for). Scores are cosine
similarities between unit templates, or, for a gallery normalised against a cohort (``scoring``), the
normalised score mapped to [0, 1] as watchlists do, after re-scoring the top rows the index returns by
cosine (``cosine`` keeps the raw score). Each search is written to the gallery's audit log, with its reason
and the probes' content hashes, before any result is returned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from openlfr.analysis import FaceAnalyzer
from openlfr.errors import GalleryEmbedderError, GalleryError, ImageError
from openlfr.gallery import scoring as gallery_scoring
from openlfr.gallery.gallery import Gallery
from openlfr.gallery.importer import thumbnail
from openlfr.types import AnalyzedFace, RGBImage

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

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
    cosine: float | None = None


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
        return faces_json(self, "candidates")


def faces_json(result: DataclassInstance, candidates: str) -> dict[str, object]:
    """A search result (a dataclass with ``faces``, each with a list named ``candidates``) as JSON: the
    faces' thumbnails and the candidates' row ids (internal to the gallery) left out."""
    out = asdict(result)
    for face in out["faces"]:
        face.pop("thumb")
        for cand in face[candidates]:
            cand.pop("row_id")
    return out


def search_probes(
    gallery: Gallery,
    analyzer: FaceAnalyzer,
    probes: Sequence[Path],
    k: int,
    reason: str,
    threshold: float | None = None,
    below: bool = True,
) -> Iterator[ProbeResult]:
    """The candidates of every face of every probe; the search is audited first (reason required).
    ``below=False`` leaves out the candidates under ``threshold`` (of each face's top ``k``)."""
    audit_search(gallery, analyzer, reason, k, threshold, [_sha(p) for p in probes])
    for path in probes:
        yield search_probe(gallery, analyzer, path, k, threshold, below)


def audit_search(
    gallery: Gallery,
    analyzer: FaceAnalyzer,
    reason: str,
    k: int,
    threshold: float | None,
    probe_sha256: Sequence[str | None],
    actor: str | None = None,
) -> None:
    """Refuse a search without a reason or by another embedder; else write it to the gallery's audit log."""
    if not reason.strip():
        raise GalleryError("a gallery search needs its reason (--reason)")
    if analyzer.embedder.identity != gallery.embedder:
        raise GalleryEmbedderError(
            f"the settings' embedder {analyzer.embedder.identity} is not the gallery's {gallery.embedder}"
        )
    detail: dict[str, object] = {
        "reason": reason,
        "top": k,
        "threshold": threshold,
        "probes": list(probe_sha256),
        "gallery_size": gallery.records.count(),
    }
    gallery.records.audit("search", detail, actor)


def search_probe(
    gallery: Gallery, analyzer: FaceAnalyzer, path: Path, k: int, threshold: float | None = None, below: bool = True
) -> ProbeResult:
    try:
        image = analyzer.load(path)
    except ImageError as exc:
        return ProbeResult(str(path), error=str(exc), error_reason=exc.reason)
    faces = analyzer.analyze(image)
    if not faces:
        return ProbeResult(str(path))
    return ProbeResult(str(path), faces=search_faces(gallery, image, faces, k, threshold, below))


def search_faces(
    gallery: Gallery,
    image: RGBImage,
    faces: list[AnalyzedFace],
    k: int,
    threshold: float | None = None,
    below: bool = True,
) -> list[ProbeFace]:
    """Each analysed face of ``image`` with its top ``k`` live candidates (re-scored if normalised); with
    ``below=False`` and a ``threshold``, only those of them at or above it, ranked 1, 2, ... among them."""
    queries = np.stack([f.template.vector for f in faces])
    scoring = gallery.scoring
    fetch = k + OVERFETCH if scoring is None else max(gallery_scoring.RESCORE_N, 4 * k) + OVERFETCH
    scores, rows = gallery.search(queries, fetch)
    live = gallery.records.live(int(r) for r in rows.ravel() if r >= 0)
    out = []
    for i, (face, srow, rrow) in enumerate(zip(faces, scores, rows, strict=True)):
        keep = np.array([r >= 0 and int(r) in live for r in rrow], dtype=bool)
        found, cosine = rrow[keep].astype(np.int64), srow[keep].astype(np.float64)
        ranked = cosine
        if scoring is not None:
            again = gallery_scoring.rescore(scoring, queries[i], found, gallery.records.vectors_of(found))
            found, cosine, ranked = again.rows, again.cosine, again.similarity
        top = zip(found[:k], ranked[:k], cosine[:k], strict=True)
        kept = [t for t in top if below or threshold is None or t[1] >= threshold]
        cands = [
            _candidate(gallery, rank, int(row), float(score), float(cos), threshold)
            for rank, (row, score, cos) in enumerate(kept, start=1)
        ]
        box = face.detection.box.as_ints()
        out.append(ProbeFace(i + 1, box, round(face.quality.score, 3), cands, thumbnail(image, face)))
    return out


def _candidate(
    gallery: Gallery, rank: int, row: int, score: float, cosine: float, threshold: float | None
) -> Candidate:
    f = gallery.records.fields(row)
    return Candidate(
        rank=rank,
        score=round(score, 4),
        subject_id=str(f["subject_id"]),
        record_id=str(f["record_id"]),
        date=_opt(f.get("date")),
        source=_opt(f.get("source")),
        above_threshold=None if threshold is None else bool(score >= threshold),
        row_id=row,
        cosine=round(cosine, 4),
    )


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
