"""Enrolment: images of subjects in, a watchlist and a report of every image accepted or rejected out.

Each image either becomes one template or is rejected with one reason: it cannot be read, is not an
image, has no face, has more than one face and no box says which, has a face that fails the
enrolment quality rule (too small, too blurred, turned away, badly lit), or repeats an image
already enrolled. One bad image never stops the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import cv2
import numpy as np

from openlfr.analysis import FaceAnalyzer
from openlfr.embed import quality
from openlfr.errors import EnrolmentError, ImageError
from openlfr.ingest.images import decode_image
from openlfr.match.sources import EnrolItem
from openlfr.match.watchlist import Manifest, TemplateRecord, Watchlist
from openlfr.types import AnalyzedFace, FaceDetection, RGBImage

# A detection must overlap a manifest's box this much to be taken as the face that box means.
BOX_MIN_IOU = 0.3


@dataclass(frozen=True, slots=True)
class Rejection:
    subject_id: str
    image: str
    reason: str


@dataclass(frozen=True, slots=True)
class Acceptance:
    subject_id: str
    image: str
    template_id: str
    quality_score: float


@dataclass(slots=True)
class EnrolmentReport:
    accepted: list[Acceptance] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    subjects_without_images: list[str] = field(default_factory=list)

    @property
    def images(self) -> int:
        return len(self.accepted) + len(self.rejected)


def enrol(
    items: Sequence[EnrolItem],
    analyzer: FaceAnalyzer,
    name: str,
    threshold: float | None = None,
    progress: Callable[[EnrolItem], None] | None = None,
) -> tuple[Watchlist, EnrolmentReport]:
    """Build a watchlist named ``name`` from ``items``; EnrolmentError if no image at all is usable."""
    report = EnrolmentReport()
    seen: dict[str, str] = {}  # content hash -> first image with it
    records: list[TemplateRecord] = []
    vectors: list[np.ndarray] = []
    faces: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    for item in items:
        outcome = _enrol_one(item, analyzer, seen)
        if isinstance(outcome, str):
            report.rejected.append(Rejection(item.subject.subject_id, str(item.image), outcome))
        else:
            face, digest = outcome
            n = counts[item.subject.subject_id] = counts.get(item.subject.subject_id, 0) + 1
            template_id = f"{item.subject.subject_id}-{n}"
            records.append(_record(template_id, item, face, digest))
            vectors.append(face.template.vector)
            faces[template_id] = _jpeg(face.aligned.chip)
            report.accepted.append(
                Acceptance(item.subject.subject_id, str(item.image), template_id, face.quality.score)
            )
        if progress is not None:
            progress(item)
    subjects = list({i.subject.subject_id: i.subject for i in items}.values())
    report.subjects_without_images = [s.subject_id for s in subjects if s.subject_id not in counts]
    if not records:
        raise EnrolmentError(f"no image could be enrolled ({len(report.rejected)} rejected)")
    manifest = Manifest(
        name=name,
        created_at=datetime.now(UTC),
        embedder=analyzer.embedder.identity,
        dimension=int(vectors[0].shape[0]),
        threshold=analyzer.settings.match.default_threshold if threshold is None else threshold,
        threshold_source="default (not calibrated)" if threshold is None else "set at enrolment",
        subjects=[s for s in subjects if s.subject_id in counts],
        templates=records,
    )
    return Watchlist(manifest=manifest, vectors=np.stack(vectors).astype(np.float32), faces=faces), report


def _enrol_one(item: EnrolItem, analyzer: FaceAnalyzer, seen: dict[str, str]) -> str | tuple[AnalyzedFace, str]:
    """The enrolled face and its image's hash, or the reason the image is rejected."""
    try:
        raw = item.image.read_bytes()
    except OSError as exc:
        return f"unreadable file ({exc.strerror or exc})"
    digest = hashlib.sha256(raw).hexdigest()
    limits = analyzer.settings.images
    try:
        if len(raw) > limits.max_bytes:
            raise ImageError(f"{item.image}: file is {len(raw):,} bytes, over {limits.max_bytes:,}", "too_large")
        image = decode_image(raw, str(item.image), limits.max_pixels)
    except ImageError as exc:
        return _image_reason(exc)
    pixels = hashlib.sha256(image.tobytes() + str(image.shape).encode()).hexdigest()
    for key in (digest, pixels):
        if key in seen:
            return f"duplicate image (same as {seen[key]})"
    detection = _choose_face(image, item, analyzer)
    if isinstance(detection, str):
        return detection
    face = analyzer.analyze(image, [detection])[0]
    verdict = quality.check(face.quality, analyzer.settings.quality.enrol)
    if not verdict.ok:
        return verdict.reason or "face fails the enrolment quality rule"
    seen[digest] = seen[pixels] = str(item.image)
    return face, digest


def _choose_face(image: RGBImage, item: EnrolItem, analyzer: FaceAnalyzer) -> FaceDetection | str:
    found = analyzer.detector.detect(image)
    if item.box is not None:
        box = item.box
        overlapping = [d for d in found if d.box.iou(box) >= BOX_MIN_IOU]
        if overlapping:
            return max(overlapping, key=lambda d: d.box.iou(box))
        # The person enrolling vouched for this box: use it even where the detector found nothing.
        clipped = box.clipped(image.shape[1], image.shape[0])
        if clipped is None:
            return f"the given box {box.as_ints()} lies outside the image"
        return FaceDetection(box=clipped, score=0.0, detector="manual-box")
    if not found:
        return "no face found"
    if len(found) > 1:
        return f"more than one face ({len(found)}); give a box in a CSV manifest to choose one"
    return found[0]


def _image_reason(exc: ImageError) -> str:
    labels = {
        "empty_file": "unreadable file (empty)",
        "not_an_image": "not an image",
        "truncated": "unreadable image (truncated or corrupt)",
        "too_large": "image too large",
        "unreadable": "unreadable file",
        "unsupported_mode": "unsupported image type",
    }
    detail = str(exc).split(": ", 1)[-1]
    return f"{labels.get(exc.reason, 'unreadable image')}: {detail}"


def _record(template_id: str, item: EnrolItem, face: AnalyzedFace, digest: str) -> TemplateRecord:
    box = face.detection.box
    return TemplateRecord(
        template_id=template_id,
        subject_id=item.subject.subject_id,
        image=item.image.name,
        image_sha256=digest,
        box=(box.x1, box.y1, box.x2, box.y2),
        quality_score=face.quality.score,
        eye_distance_px=face.quality.eye_distance_px,
        sharpness=face.quality.sharpness,
    )


def _jpeg(chip: RGBImage) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(chip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise EnrolmentError("could not encode an enrolment face as JPEG")
    return bytes(buf)
