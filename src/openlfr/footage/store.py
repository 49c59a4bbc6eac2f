"""A footage folder: a gallery (encrypted, indexed, audited, with retention) whose records are video tracks.

Each track is a record: ``record_id`` ``camera/video-hash/track-N``, ``subject_id`` ``track-N``, ``date`` its
time span as text, ``source`` the video's file name, and (encrypted with it) ``start_s``, ``end_s``,
``camera``, ``video``, ``frames``; its template is the track's fused template and its thumbnail the track's
best crop. Every record is kept until ``retain_until`` (``--retain-days`` from indexing) and then removed
by the gallery's retention. A video indexed whole is noted in the journal (its SHA-256), so indexing it
again adds nothing; one that stopped half way keeps its tracks so far and is not noted, so a second run
over the complete file indexes it (its track ids are then new records of the same video).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from openlfr.config import Settings
from openlfr.errors import GalleryError
from openlfr.footage.tracks import VideoTracks, collect_tracks
from openlfr.gallery.gallery import Gallery
from openlfr.gallery.index import normalise
from openlfr.gallery.records import NewRecord, Record

KIND = "footage"
DEFAULT_THRESHOLD = 0.91
"""Cosine at which an appearance is reported: the LFW 1:1 midpoint of dlib's ResNet (match/scoring.py
SCORE_MAPS, cosine); a footage folder records the one it was made with (``--threshold``)."""


@dataclass(frozen=True, slots=True)
class VideoReport:
    video: str
    camera: str
    tracks: int
    added: int
    complete: bool
    problem: str | None = None
    already_indexed: bool = False


def open_footage(
    path: Path, settings: Settings, embedder: str, threshold: float | None = None, create: bool = True
) -> Gallery:
    """The footage folder at ``path``, made if it does not exist yet (and ``create``)."""
    if create and not (path / "gallery.json").exists():
        extra: dict[str, object] = {"kind": KIND, "threshold": threshold or DEFAULT_THRESHOLD}
        return Gallery.create(path, settings.store, embedder, extra=extra)
    footage = Gallery.open(path, settings.store, embedder)
    if footage.meta.get("kind") != KIND:
        footage.close()
        raise GalleryError(f"{path} is a gallery, not a footage folder ('lfr footage index ... -o {path}' makes one)")
    return footage


def threshold_of(footage: Gallery) -> float:
    return float(str(footage.meta.get("threshold", DEFAULT_THRESHOLD)))


def index_video(
    footage: Gallery, settings: Settings, video: Path, retain_days: int, camera: str | None = None, fps: float = 10.0
) -> VideoReport:
    """Every track of ``video`` into ``footage`` (see the module docstring); audited."""
    sha = hashlib.sha256(video.read_bytes()).hexdigest()
    if footage.records.journal_status(sha) == "indexed":
        return VideoReport(str(video), camera or "", 0, 0, True, already_indexed=True)
    return add_video(footage, collect_tracks(settings, video, camera, fps), sha, retain_days)


def add_video(footage: Gallery, found: VideoTracks, sha: str, retain_days: int) -> VideoReport:
    """Store the tracks of one video (SHA-256 ``sha``); a complete one is noted as indexed; audited."""
    added = store_tracks(footage, found, sha, date.today() + timedelta(days=retain_days))
    if found.complete:
        footage.records.journal_mark(sha, "indexed")
    footage.records.audit(
        "footage_index",
        {"video_sha256": sha, "camera": found.camera, "tracks": added, "complete": found.complete},
    )
    return VideoReport(str(found.video), found.camera, len(found.tracks), added, found.complete, found.problem)


def store_tracks(footage: Gallery, found: VideoTracks, video_sha: str, retain_until: date) -> int:
    new = []
    for t in found.tracks:
        record = Record(
            record_id=f"{found.camera}/{video_sha[:12]}/track-{t.track_id}",
            subject_id=f"track-{t.track_id}",
            date=f"{t.start_s:.1f}-{t.end_s:.1f} s",
            source=found.video.name,
            retain_until=retain_until,
        )
        if footage.records.has_record_id(record.record_id):
            continue  # kept from a run that stopped half way
        extra: dict[str, object] = {
            "start_s": t.start_s,
            "end_s": t.end_s,
            "camera": found.camera,
            "video": found.video.name,
            "frames": t.frames,
        }
        content = hashlib.sha256(f"{video_sha}:{t.track_id}:{t.start_s}".encode()).hexdigest()
        new.append(NewRecord(record, content, normalise(t.vector)[0], t.crop, t.quality, extra))
    rows = footage.records.commit_batch(new, [])
    if new:
        footage.add_to_index(rows, np.stack([n.vector for n in new]))
    footage.save_index()
    return len(new)
