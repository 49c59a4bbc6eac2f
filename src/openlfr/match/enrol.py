"""Enrolment: images of subjects in, a watchlist and a report of every image accepted or rejected out.

Each image either becomes one template or is rejected with one reason: it cannot be read, is not an
image, has no face, has more than one face and no box says which, has a face that fails the
enrolment quality rule (too small, too blurred, turned away, badly lit), or repeats an image
already enrolled. One bad image never stops the others.

A subject's accepted templates are then, by ``match.enrol_templates``, fused into one (the default:
the mean direction of their templates, ``fuse``), kept separately (the subject scores its best), or
both. Fusing paid on LFW: 3 images fused missed 28% of mated searches at FPIR 1e-2 where 3 kept
separately missed 40% and 1 image 59% (EVALUATION.md section 7, ``lfr eval templates``).

With a second embedder configured (score fusion), each accepted face is also embedded by it (the
analyzer aligns the face as that embedder wants) and the watchlist keeps those templates row-aligned
with the first's, fused per subject the same way (match/second.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import cv2
import numpy as np
from numpy.typing import NDArray

from openlfr.analysis import FaceAnalyzer
from openlfr.embed import quality
from openlfr.errors import EnrolmentError, ImageError
from openlfr.ingest.budget import decode_within
from openlfr.match.second import SecondSet
from openlfr.match.sources import EnrolItem
from openlfr.match.watchlist import (
    FORMAT_VERSION,
    FUSED_FORMAT_VERSION,
    Manifest,
    SecondEmbedder,
    TemplateRecord,
    Watchlist,
)
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
    vectors: list[NDArray[np.float32]] = []
    seconds: list[NDArray[np.float32]] = []
    faces: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    mode = analyzer.settings.match.enrol_templates
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
            if face.second is not None:
                seconds.append(face.second.vector)
            faces[template_id] = _jpeg(face.aligned.chip)
            report.accepted.append(
                Acceptance(item.subject.subject_id, str(item.image), template_id, face.quality.score)
            )
        if progress is not None:
            progress(item)
    if mode != "separate":
        if seconds:  # the same rows fused the same way (records and faces come out the same)
            seconds = _fused(records, seconds, faces, keep_separate=mode == "both")[1]
        records, vectors, faces = _fused(records, vectors, faces, keep_separate=mode == "both")
        if mode == "fused":
            fused_ids = {r.subject_id: r.template_id for r in records}
            report.accepted = [replace(a, template_id=fused_ids[a.subject_id]) for a in report.accepted]
    subjects = list({i.subject.subject_id: i.subject for i in items}.values())
    report.subjects_without_images = [s.subject_id for s in subjects if s.subject_id not in counts]
    if not records:
        raise EnrolmentError(f"no image could be enrolled ({len(report.rejected)} rejected)")
    second_identity = analyzer.second_identity
    fused = None if second_identity is None else SecondEmbedder(embedder=second_identity, dimension=len(seconds[0]))
    manifest = Manifest(
        format_version=FORMAT_VERSION if fused is None else FUSED_FORMAT_VERSION,
        second_embedder=fused,
        name=name,
        created_at=datetime.now(UTC),
        embedder=analyzer.embedder.identity,
        dimension=int(vectors[0].shape[0]),
        threshold=analyzer.settings.match.default_threshold if threshold is None else threshold,
        threshold_source="default (not calibrated)" if threshold is None else "set at enrolment",
        subjects=[s for s in subjects if s.subject_id in counts],
        templates=records,
    )
    second = None if second_identity is None else SecondSet(second_identity, np.stack(seconds).astype(np.float32))
    matrix = np.stack(vectors).astype(np.float32)
    return Watchlist(manifest=manifest, vectors=matrix, faces=faces, second=second), report


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
        image = decode_within(raw, str(item.image), limits.max_pixels, limits.max_seconds)
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
        "multi_page": "multi-page image",
        "too_slow": "image too slow to decode",
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


def fuse(vectors: NDArray[np.float32], weights: NDArray[np.float64] | None = None) -> NDArray[np.float32]:
    """One template from several of one subject: the (weighted) mean of their directions (each row
    L2-normalised first, so that no image counts more for a longer vector), scaled back to their mean
    length so that Euclidean distances to it read on the same scale as to a single template."""
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if len(vectors) == 0 or np.any(norms == 0.0):
        raise ValueError("fuse needs one or more non-zero templates")
    w = np.ones(len(vectors)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(vectors),) or np.any(w < 0.0) or w.sum() <= 0.0:
        raise ValueError(f"fuse needs one non-negative weight per template, not all zero; got {w!r}")
    direction = (w[:, None] * vectors / norms).sum(axis=0)
    length = np.linalg.norm(direction)
    if length == 0.0:
        raise ValueError("fuse: the templates cancel out")
    fused: NDArray[np.float32] = (direction / length * norms.mean()).astype(np.float32)
    return fused


def _fused(
    records: list[TemplateRecord],
    vectors: list[NDArray[np.float32]],
    faces: dict[str, bytes],
    keep_separate: bool,
) -> tuple[list[TemplateRecord], list[NDArray[np.float32]], dict[str, bytes]]:
    """Per subject with two or more templates, one fused template (``fuse``) in place of them, or beside
    them with ``keep_separate``. Its record lists the images it came from; its face is the best one's."""
    by_subject: dict[str, list[int]] = {}
    for row, record in enumerate(records):
        by_subject.setdefault(record.subject_id, []).append(row)
    out_records: list[TemplateRecord] = []
    out_vectors: list[NDArray[np.float32]] = []
    out_faces: dict[str, bytes] = {}
    for subject_id, rows in by_subject.items():
        if len(rows) == 1 or keep_separate:
            out_records += [records[r] for r in rows]
            out_vectors += [vectors[r] for r in rows]
            out_faces |= {records[r].template_id: faces[records[r].template_id] for r in rows}
        if len(rows) == 1:
            continue
        members = [records[r] for r in rows]
        best = max(members, key=lambda m: m.quality_score)
        template_id = f"{subject_id}-fused"
        out_records.append(
            TemplateRecord(
                template_id=template_id,
                subject_id=subject_id,
                image=f"fused from {len(members)} images",
                image_sha256=hashlib.sha256("\n".join(sorted(m.image_sha256 for m in members)).encode()).hexdigest(),
                box=best.box,
                quality_score=float(np.mean([m.quality_score for m in members])),
                eye_distance_px=float(np.mean([m.eye_distance_px for m in members])),
                sharpness=float(np.mean([m.sharpness for m in members])),
                sources=tuple(f"{m.image} sha256:{m.image_sha256}" for m in members),
            )
        )
        out_vectors.append(fuse(np.stack([vectors[r] for r in rows])))
        out_faces[template_id] = faces[best.template_id]
    return out_records, out_vectors, out_faces


def _jpeg(chip: RGBImage) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(chip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise EnrolmentError("could not encode an enrolment face as JPEG")
    return bytes(buf)
