"""Footage search: every appearance of a probe's face in the indexed footage, ranked, with its time span.

A search is a gallery search of the footage folder (audited with its reason before any result); each
candidate is a track, read back with its camera, video and time span. By default only appearances at or
above the folder's threshold are listed (``everything`` lists the top ones below it too, marked).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openlfr.analysis import FaceAnalyzer
from openlfr.footage.store import threshold_of
from openlfr.gallery.gallery import Gallery
from openlfr.gallery.search import Candidate, ProbeFace, faces_json, search_probes


@dataclass(frozen=True, slots=True)
class Appearance:
    rank: int
    score: float
    camera: str
    video: str
    start_s: float
    end_s: float
    record_id: str
    above_threshold: bool
    row_id: int = 0


@dataclass(frozen=True, slots=True)
class FaceAppearances:
    index: int
    box: tuple[int, int, int, int]
    appearances: list[Appearance]
    thumb: bytes | None = None


@dataclass(frozen=True, slots=True)
class FootageResult:
    source: str
    threshold: float
    faces: list[FaceAppearances] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return faces_json(self, "appearances")


def search_footage(
    footage: Gallery,
    analyzer: FaceAnalyzer,
    probes: Sequence[Path],
    reason: str,
    top: int = 50,
    everything: bool = False,
) -> list[FootageResult]:
    """The appearances of each probe's faces: the folder's gallery search, each candidate track read back
    with its camera, video and time span; only those at or above the threshold unless ``everything``."""
    threshold = threshold_of(footage)
    results = search_probes(footage, analyzer, probes, top, reason, threshold, below=everything)
    return [FootageResult(r.source, threshold, [_appearances(footage, f) for f in r.faces], r.error) for r in results]


def _appearances(footage: Gallery, face: ProbeFace) -> FaceAppearances:
    return FaceAppearances(face.index, face.box, [_appearance(footage, c) for c in face.candidates], face.thumb)


def _appearance(footage: Gallery, c: Candidate) -> Appearance:
    f = footage.records.fields(c.row_id)
    return Appearance(
        c.rank,
        c.score,
        str(f.get("camera", "")),
        str(f.get("video", "")),
        float(str(f.get("start_s", 0.0))),
        float(str(f.get("end_s", 0.0))),
        c.record_id,
        bool(c.above_threshold),
        c.row_id,
    )
