"""Retrospective search of still images: every face in every image, with its ranked candidates.

For each face: its box, its quality (and whether it passes the probe rule), the top-k watchlist
subjects with their similarity, and the decision: the top candidate if it reaches the watchlist's
threshold and the face passes the probe rule, else nobody. Candidates are listed even for faces
below the probe rule, for a person to review, but such a face never names anyone by itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from openlfr.analysis import FaceAnalyzer
from openlfr.embed import quality as face_quality
from openlfr.errors import ImageError
from openlfr.match import matcher
from openlfr.match.index import ExactIndex
from openlfr.match.watchlist import Watchlist
from openlfr.types import AnalyzedFace, FaceQuality, Match, RGBImage

# Crops saved with --save-crops include this much context around the box, as a share of its size.
CROP_MARGIN = 0.4


@dataclass(frozen=True, slots=True)
class FaceResult:
    index: int
    box: tuple[int, int, int, int]
    detection_score: float
    quality: FaceQuality
    quality_ok: bool
    quality_reason: str | None
    candidates: list[Match]
    match: Match | None
    crop: str | None = None


@dataclass(frozen=True, slots=True)
class ImageResult:
    source: str
    width: int = 0
    height: int = 0
    faces: list[FaceResult] = field(default_factory=list)
    error: str | None = None
    error_reason: str | None = None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready mapping (the shape of one line of ``lfr search --format jsonl``)."""
        out = asdict(self)
        for face, raw in zip(self.faces, out["faces"], strict=True):
            raw["match"] = face.match.subject_id if face.match else None
            raw["match_name"] = face.match.display_name if face.match else None
            for cand in raw["candidates"]:
                cand["is_match"] = cand["score"] >= cand["threshold"]
        return out


def search_images(
    paths: Iterable[Path],
    analyzer: FaceAnalyzer,
    watchlist: Watchlist,
    k: int = 5,
    save_crops: Path | None = None,
    today: date | None = None,
) -> Iterator[ImageResult]:
    """One ``ImageResult`` per path, in order; an unusable file yields a result with its error."""
    watchlist.require_embedder(analyzer.embedder.identity, analyzer.second_identity)
    index = watchlist.index(today)
    if save_crops is not None:
        save_crops.mkdir(parents=True, exist_ok=True)
    for path in paths:
        try:
            image = analyzer.load(path)
        except ImageError as exc:
            yield ImageResult(source=str(path), error=str(exc), error_reason=exc.reason)
            continue
        yield search_image(image, path, analyzer, watchlist, k, save_crops, index)


def search_image(
    image: RGBImage,
    source: Path,
    analyzer: FaceAnalyzer,
    watchlist: Watchlist,
    k: int = 5,
    save_crops: Path | None = None,
    index: tuple[ExactIndex, NDArray[np.int64]] | None = None,
) -> ImageResult:
    """Every face of one decoded image with its top ``k`` candidates (``source`` names it in the result)."""
    if index is None:
        watchlist.require_embedder(analyzer.embedder.identity, analyzer.second_identity)
        index = watchlist.index()
    faces = analyzer.analyze(image)
    vectors = np.stack([f.template.vector for f in faces]) if faces else np.zeros((0, 1), np.float32)
    second = _second_vectors(faces) if watchlist.second is not None else None
    ranked = matcher.search(watchlist, vectors, k=k, index=index, second=second) if faces else []
    results = [
        _face_result(i, face, candidates, analyzer, image, source, save_crops)
        for i, (face, candidates) in enumerate(zip(faces, ranked, strict=True))
    ]
    return ImageResult(source=str(source), width=image.shape[1], height=image.shape[0], faces=results)


def _second_vectors(faces: list[AnalyzedFace]) -> NDArray[np.float32]:
    """The second embedder's templates of ``faces`` (a fused watchlist's probes need both)."""
    return np.stack([f.second.vector for f in faces if f.second is not None]) if faces else np.zeros((0, 1), np.float32)


def _face_result(
    i: int,
    face: AnalyzedFace,
    candidates: list[Match],
    analyzer: FaceAnalyzer,
    image: RGBImage,
    path: Path,
    save_crops: Path | None,
) -> FaceResult:
    verdict = face_quality.check(face.quality, analyzer.settings.quality.probe)
    top = matcher.best_match(candidates)
    crop = _save_crop(image, face, save_crops / f"{path.stem}_face{i + 1}.jpg") if save_crops else None
    return FaceResult(
        index=i + 1,
        box=face.detection.box.as_ints(),
        detection_score=face.detection.score,
        quality=face.quality,
        quality_ok=verdict.ok,
        quality_reason=verdict.reason,
        candidates=candidates,
        match=top if verdict.ok else None,
        crop=str(crop) if crop else None,
    )


def _save_crop(image: RGBImage, face: AnalyzedFace, target: Path) -> Path:
    box = face.detection.box
    mx, my = box.width * CROP_MARGIN, box.height * CROP_MARGIN
    h, w = image.shape[:2]
    x1, y1 = max(0, int(box.x1 - mx)), max(0, int(box.y1 - my))
    x2, y2 = min(w, int(box.x2 + mx)), min(h, int(box.y2 + my))
    crop = cv2.cvtColor(np.ascontiguousarray(image[y1:y2, x1:x2]), cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(target), crop, [cv2.IMWRITE_JPEG_QUALITY, 92]):
        raise OSError(f"cannot write {target}")
    return target
