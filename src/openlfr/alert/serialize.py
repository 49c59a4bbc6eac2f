"""The JSON form of an ``Alert``, shared by every sink.

Times appear twice: as ISO-8601 UTC strings for people and as raw ``time.time()`` floats for
programs. Images are large, so they are included (base64 JPEG) only when asked; their sizes always are.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from openlfr.types import Alert


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
