"""Footage search: every appearance of a probe's face in the indexed footage, ranked, with its time span.

A search is a gallery search of the footage folder (audited with its reason before any result); each
candidate is a track, read back with its camera, video and time span. By default only appearances at or
above the folder's threshold are listed (``everything`` lists the top ones below it too, marked).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from openlfr.analysis import FaceAnalyzer
from openlfr.footage.store import threshold_of
from openlfr.gallery.gallery import Gallery
from openlfr.gallery.search import search_probes


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
        out = asdict(self)
        for face in out["faces"]:
            face.pop("thumb")
            for a in face["appearances"]:
                a.pop("row_id")
        return out


def search_footage(
    footage: Gallery,
    analyzer: FaceAnalyzer,
    probes: Sequence[Path],
    reason: str,
    top: int = 50,
    everything: bool = False,
) -> list[FootageResult]:
    threshold = threshold_of(footage)
    out = []
    for result in search_probes(footage, analyzer, probes, top, reason, threshold):
        faces = []
        for face in result.faces:
            found: list[Appearance] = []
            for c in face.candidates:
                if not (everything or c.above_threshold):
                    continue
                f = footage.records.fields(c.row_id)
                found.append(
                    Appearance(
                        len(found) + 1,
                        c.score,
                        str(f.get("camera", "")),
                        str(f.get("video", "")),
                        float(str(f.get("start_s", 0.0))),
                        float(str(f.get("end_s", 0.0))),
                        c.record_id,
                        bool(c.above_threshold),
                        c.row_id,
                    )
                )
            faces.append(FaceAppearances(face.index, face.box, found, face.thumb))
        out.append(FootageResult(result.source, threshold, faces, result.error))
    return out
