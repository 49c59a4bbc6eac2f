"""The JSON form of an ``Alert``, shared by every sink.

Times appear twice: as ISO-8601 UTC strings for people and as raw ``time.time()`` floats for
programs. Images are large, so they are included (base64 JPEG) only when asked; their sizes always are.
With the images, ``alert_from_json`` gives back exactly the alert that was written (a cluster's camera
actors and the service exchange alerts in this form; ``tests/alert/test_serialize.py`` proves it).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from openlfr.errors import AlertFormatError
from openlfr.types import Alert, BoundingBox, Category

Finite = Annotated[float, Field(allow_inf_nan=False)]


def iso_utc(t: float) -> str:
    """``t`` (unix seconds) as ISO-8601 UTC with milliseconds, e.g. ``2024-05-01T12:00:00.250Z``."""
    return datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def alert_to_json(alert: Alert, include_images: bool) -> dict[str, object]:
    """A mapping ready for ``json.dumps``; with ``include_images`` the JPEGs as base64 strings."""
    data: dict[str, object] = {
        "alert_id": alert.alert_id,
        "camera_id": alert.camera_id,
        "track_id": alert.track_id,
        "watchlist": alert.watchlist,
        "subject": {
            "id": alert.subject_id,
            "display_name": alert.display_name,
            "category": alert.category.value,
        },
        "score": alert.score,
        "threshold": alert.threshold,
        "box": [alert.box.x1, alert.box.y1, alert.box.x2, alert.box.y2],
        "first_seen": iso_utc(alert.first_seen_wall),
        "first_seen_wall": alert.first_seen_wall,
        "frame_captured": iso_utc(alert.frame_captured_wall),
        "frame_captured_wall": alert.frame_captured_wall,
        "frame_captured_mono": alert.frame_captured_mono,
        "raised": iso_utc(alert.raised_wall),
        "raised_wall": alert.raised_wall,
        "first_seen_pts": alert.first_seen_pts,
        "frame_pts": alert.frame_pts,
        "frames": alert.frames,
        "uncalibrated": alert.uncalibrated,
        "latency_s": alert.raised_wall - alert.frame_captured_wall,
        "probe_jpeg_bytes": len(alert.probe_jpeg),
        "watchlist_jpeg_bytes": None if alert.watchlist_jpeg is None else len(alert.watchlist_jpeg),
    }
    if alert.position is not None:  # only where an edge device gave its position
        data["position"] = {"latitude": alert.position[0], "longitude": alert.position[1]}
    if include_images:
        data["probe_jpeg_b64"] = _b64(alert.probe_jpeg)
        data["watchlist_jpeg_b64"] = None if alert.watchlist_jpeg is None else _b64(alert.watchlist_jpeg)
    return data


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class _Subject(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: StrictStr
    display_name: StrictStr
    category: Category


class _Position(BaseModel):
    model_config = ConfigDict(extra="forbid")
    latitude: Finite
    longitude: Finite


class _AlertJson(BaseModel):
    """The fields of ``alert_to_json``'s mapping that make an ``Alert`` (the rest are derived)."""

    model_config = ConfigDict(extra="ignore")
    alert_id: StrictStr
    camera_id: StrictStr
    track_id: StrictInt
    watchlist: StrictStr
    subject: _Subject
    score: Finite
    threshold: Finite
    box: tuple[Finite, Finite, Finite, Finite]
    first_seen_wall: Finite
    frame_captured_wall: Finite
    frame_captured_mono: Finite
    raised_wall: Finite
    first_seen_pts: Finite
    frame_pts: Finite
    frames: StrictInt
    uncalibrated: StrictBool
    position: _Position | None = None
    probe_jpeg_b64: StrictStr
    watchlist_jpeg_b64: StrictStr | None


def alert_from_json(data: Mapping[str, object]) -> Alert:
    """The ``Alert`` that ``alert_to_json(alert, include_images=True)`` wrote; ``ConfigError`` naming
    what is wrong with anything else."""
    try:
        raw = _AlertJson.model_validate(data)
        box = BoundingBox(*raw.box)
        probe = base64.b64decode(raw.probe_jpeg_b64, validate=True)
        face = None if raw.watchlist_jpeg_b64 is None else base64.b64decode(raw.watchlist_jpeg_b64, validate=True)
    except (ValidationError, ValueError, binascii.Error) as exc:
        raise AlertFormatError(f"not an alert with its images: {str(exc).splitlines()[0]}") from exc
    return Alert(
        alert_id=raw.alert_id,
        camera_id=raw.camera_id,
        track_id=raw.track_id,
        watchlist=raw.watchlist,
        subject_id=raw.subject.id,
        display_name=raw.subject.display_name,
        category=raw.subject.category,
        score=raw.score,
        threshold=raw.threshold,
        box=box,
        probe_jpeg=probe,
        watchlist_jpeg=face,
        first_seen_wall=raw.first_seen_wall,
        first_seen_pts=raw.first_seen_pts,
        frame_pts=raw.frame_pts,
        frame_captured_wall=raw.frame_captured_wall,
        frame_captured_mono=raw.frame_captured_mono,
        raised_wall=raw.raised_wall,
        frames=raw.frames,
        uncalibrated=raw.uncalibrated,
        position=None if raw.position is None else (raw.position.latitude, raw.position.longitude),
    )
