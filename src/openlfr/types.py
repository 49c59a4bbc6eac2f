"""The typed objects that cross openlfr's boundaries.

Each stage of the flow takes and returns one of these, never a loose dict:
``Frame`` (ingest/) -> ``FaceDetection`` (detect/) -> ``Track`` (track/) -> ``AlignedFace`` (embed/) ->
``FaceQuality`` (embed/quality) -> ``Template`` (embed/, match/) -> ``Match`` (match/) -> ``Alert`` (alert/).
Arrays are checked on construction, and a wrong shape says what was expected and what came.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

RGBImage = NDArray[np.uint8]
"""An H x W x 3 uint8 array in RGB order, C-contiguous."""

Vector = NDArray[np.float32]


def check_rgb(image: NDArray[np.uint8], what: str = "image") -> RGBImage:
    """Return ``image`` if it is an H x W x 3 uint8 array, else raise ``ValueError`` saying why."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{what} must be an HxWx3 uint8 RGB array, got shape {image.shape} dtype {image.dtype}")
    return np.ascontiguousarray(image)


class SourceState(StrEnum):
    """Where a video source is in its life: live sources move between these as streams drop and return."""

    CONNECTING = "connecting"
    LIVE = "live"
    STALLED = "stalled"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One decoded video frame and when it was captured.

    ``pts`` is the stream's own clock in seconds from its start (clip time for a file);
    ``captured_mono`` (``time.monotonic()``) and ``captured_wall`` (``time.time()``) are when openlfr
    received it, the start of every latency measurement.
    """

    camera_id: str
    seq: int
    image: RGBImage
    pts: float
    captured_mono: float
    captured_wall: float

    def __post_init__(self) -> None:
        check_rgb(self.image, "frame image")


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """An axis-aligned box in pixel coordinates: (x1, y1) top-left, (x2, y2) bottom-right, x2 > x1."""

    x1: float
    y1: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        if not (self.x2 > self.x1 and self.y2 > self.y1):
            raise ValueError(f"box must have x2 > x1 and y2 > y1, got {self}")

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)

    def iou(self, other: BoundingBox) -> float:
        """Intersection over union with ``other``, in [0, 1]."""
        ix = max(0.0, min(self.x2, other.x2) - max(self.x1, other.x1))
        iy = max(0.0, min(self.y2, other.y2) - max(self.y1, other.y1))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def clipped(self, width: int, height: int) -> BoundingBox | None:
        """This box clipped to a ``width`` x ``height`` image, or None if nothing of it is inside."""
        x1, y1 = max(0.0, self.x1), max(0.0, self.y1)
        x2, y2 = min(float(width), self.x2), min(float(height), self.y2)
        if x2 - x1 < 1.0 or y2 - y1 < 1.0:
            return None
        return BoundingBox(x1, y1, x2, y2)

    def scaled(self, factor: float, dx: float = 0.0, dy: float = 0.0) -> BoundingBox:
        """This box multiplied by ``factor`` then shifted by (dx, dy): maps tile or resized coordinates back."""
        return BoundingBox(self.x1 * factor + dx, self.y1 * factor + dy, self.x2 * factor + dx, self.y2 * factor + dy)

    def as_ints(self) -> tuple[int, int, int, int]:
        return (round(self.x1), round(self.y1), round(self.x2), round(self.y2))


@dataclass(frozen=True, slots=True, eq=False)
class FaceDetection:
    """One face found by a detector.

    ``landmarks`` is an N x 2 float array in image coordinates where the detector gives them
    (BlazeFace: right eye, left eye, nose tip, mouth, right ear, left ear), else None.
    """

    box: BoundingBox
    score: float
    detector: str
    landmarks: NDArray[np.float32] | None = None

    def __post_init__(self) -> None:
        if self.landmarks is not None and (self.landmarks.ndim != 2 or self.landmarks.shape[1] != 2):
            raise ValueError(f"landmarks must be an N x 2 array, got shape {self.landmarks.shape}")


@dataclass(slots=True, eq=False)
class Track:
    """One person's pass in front of one camera, as the tracker follows it (mutable: it moves).

    ``velocity`` is (centre x px/s, centre y px/s, relative size change /s), smoothed.
    """

    track_id: int
    camera_id: str
    box: BoundingBox
    first_seen_pts: float
    first_seen_wall: float
    last_seen_pts: float
    frames: int = 1
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True, eq=False)
class AlignedFace:
    """A face after alignment: the chip the embedder sees and the landmarks it was aligned from.

    ``landmarks`` are the aligner's points in image coordinates (dlib's 5-point order: two corners
    of one eye, two of the other, the base of the nose).
    """

    detection: FaceDetection
    landmarks: NDArray[np.float32]
    chip: RGBImage

    def __post_init__(self) -> None:
        check_rgb(self.chip, "face chip")


@dataclass(frozen=True, slots=True)
class FaceQuality:
    """Measures of how usable a face is. Each is computed in ``embed/quality.py``.

    ``eye_distance_px``: distance between the eye centres in the source image;
    ``sharpness``: variance of the Laplacian of the grey face chip (higher is sharper);
    ``yaw_deg`` / ``pitch_deg``: head pose estimated from the landmarks (0 is frontal);
    ``brightness``: mean grey level of the chip in [0, 255];
    ``clipped_fraction``: share of chip pixels at 0-5 or 250-255.
    """

    eye_distance_px: float
    sharpness: float
    yaw_deg: float
    pitch_deg: float
    brightness: float
    clipped_fraction: float
    score: float
    """A single figure in [0, 1] that ranks faces of one person for best-shot selection."""


@dataclass(frozen=True, slots=True)
class QualityVerdict:
    """The outcome of a quality rule: ``ok``, or the first reason the face failed."""

    ok: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Template:
    """One embedding of one face, with what made it.

    ``embedder`` is the embedder's identity (name and version), the key that says which templates
    can be compared with which.
    """

    vector: Vector
    embedder: str

    def __post_init__(self) -> None:
        if self.vector.ndim != 1 or self.vector.dtype != np.float32:
            raise ValueError(
                f"template vector must be 1-D float32, got shape {self.vector.shape} dtype {self.vector.dtype}"
            )


@dataclass(frozen=True, slots=True, eq=False)
class TemplateSet(Mapping[str, Vector]):
    """One face's (or one track's) templates, one per embedder: embedder identity -> vector.

    Score fusion takes from it the templates its watchlist was enrolled with, however many embedders
    that is, and the same set crosses the wire (``edge/wire.py``, the cluster's camera actors).
    """

    vectors: Mapping[str, Vector]

    def __post_init__(self) -> None:
        if not self.vectors:
            raise ValueError("a template set holds at least one template")
        for embedder, vector in self.vectors.items():
            if not embedder:
                raise ValueError("a template's embedder identity is empty")
            Template(vector, embedder)  # checks the vector's shape and type
        object.__setattr__(self, "vectors", dict(self.vectors))  # a copy of its own (and picklable)

    @classmethod
    def of(cls, *templates: Template) -> TemplateSet:
        """The set of ``templates``, one per embedder (a second of one embedder is refused)."""
        vectors = {t.embedder: t.vector for t in templates}
        if len(vectors) != len(templates):
            raise ValueError(f"one template per embedder, got {[t.embedder for t in templates]}")
        return cls(vectors)

    def __getitem__(self, embedder: str) -> Vector:
        return self.vectors[embedder]

    def __iter__(self) -> Iterator[str]:
        return iter(self.vectors)

    def __len__(self) -> int:
        return len(self.vectors)

    @property
    def first(self) -> Template:
        """The template of the first embedder (the one that aligns, the watchlist's own)."""
        embedder = next(iter(self.vectors))
        return Template(self.vectors[embedder], embedder)


class Category(StrEnum):
    """Why a subject is on a watchlist (College of Policing APP categories)."""

    WANTED = "wanted"
    MISSING = "missing"
    VULNERABLE = "vulnerable"
    RISK_OF_HARM = "risk_of_harm"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Match:
    """One candidate for a probe face: a watchlist subject, how alike, and whether it clears the threshold."""

    subject_id: str
    display_name: str
    score: float
    """Similarity in [0, 1] (see ``match/similarity.py`` for the map from distance)."""
    distance: float
    template_id: str
    rank: int
    threshold: float

    @property
    def is_match(self) -> bool:
        return self.score >= self.threshold


@dataclass(frozen=True, slots=True, eq=False)
class AnalyzedFace:
    """A face found in an image, aligned, measured and embedded."""

    detection: FaceDetection
    aligned: AlignedFace
    quality: FaceQuality
    template: Template
    second: Template | None = None
    """The second embedder's template of the same face, when one is configured (score fusion)."""


@dataclass(frozen=True, slots=True)
class ImageFaces:
    """What analysing one image gave: its faces, or why it could not be used."""

    source: str
    width: int = 0
    height: int = 0
    faces: list[AnalyzedFace] = field(default_factory=list)
    error: str | None = None
    error_reason: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Alert:
    """A watchlist match raised on a live track: what an operator adjudicates.

    At most one per (camera, track, subject). Times are ``time.time()`` seconds; ``*_pts`` are the
    stream's clock. ``frame_captured_mono`` is the capture time of the frame whose face raised the alert,
    from which alert latency is measured.
    """

    alert_id: str
    camera_id: str
    track_id: int
    watchlist: str
    subject_id: str
    display_name: str
    category: Category
    score: float
    threshold: float
    box: BoundingBox
    probe_jpeg: bytes
    """The face on camera, as JPEG."""
    watchlist_jpeg: bytes | None
    """The enrolment face it matched, as JPEG."""
    first_seen_wall: float
    first_seen_pts: float
    frame_pts: float
    frame_captured_wall: float
    frame_captured_mono: float
    raised_wall: float
    frames: int
    """Frames the track had been seen in when the alert was raised."""
    uncalibrated: bool = False
    """Raised with a threshold not calibrated for this embedder and normalisation (an override was given)."""
    position: tuple[float, float] | None = None
    """Where the camera was (latitude, longitude), when an edge device said (a deployment's fixed cameras
    are at the deployment's location)."""
