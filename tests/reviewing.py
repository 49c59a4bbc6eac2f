"""Test helpers for alerts: a real alert (a real face on camera, the listed face it matched), stored
for a live deployment as the live run would store it."""

from __future__ import annotations

import time
import uuid
from functools import lru_cache
from pathlib import Path

from openlfr.alert.rules import jpeg
from openlfr.analysis import FaceAnalyzer
from openlfr.match.watchlist import Watchlist
from openlfr.types import Alert, BoundingBox, Category


@lru_cache(maxsize=4)
def probe_jpeg(analyzer: FaceAnalyzer, path: Path) -> bytes:
    """The largest face of a real photo, aligned, as JPEG (what a camera alert carries)."""
    faces = analyzer.analyze(analyzer.load(path))
    face = max(faces, key=lambda f: f.detection.box.area)
    return jpeg(face.aligned.chip)


def make_alert(
    analyzer: FaceAnalyzer,
    demo: Path,
    watchlist: Watchlist,
    subject_id: str = "obama",
    raised_wall: float | None = None,
) -> Alert:
    """An alert for ``subject_id`` as the live run raises one, raised at ``raised_wall`` (default: now)."""
    subject = watchlist.subjects[subject_id]
    template = next(t for t in watchlist.manifest.templates if t.subject_id == subject_id)
    probe = {"obama": "obama_congress_2009.jpg", "biden": "biden_blue_room_2010.jpg"}[subject_id]
    at = time.time() if raised_wall is None else raised_wall
    return Alert(
        alert_id=uuid.uuid4().hex,
        camera_id="cam-1",
        track_id=7,
        watchlist=watchlist.name,
        subject_id=subject_id,
        display_name=subject.display_name,
        category=Category.WANTED,
        score=0.83,
        threshold=0.6,
        box=BoundingBox(100.0, 80.0, 180.0, 180.0),
        probe_jpeg=probe_jpeg(analyzer, demo / "probes" / probe),
        watchlist_jpeg=watchlist.faces[template.template_id],
        first_seen_wall=at - 2.0,
        first_seen_pts=10.0,
        frame_pts=11.5,
        frame_captured_wall=at - 0.3,
        frame_captured_mono=1000.0,
        raised_wall=at,
        frames=14,
    )
