"""``lfr search-video``: one video against a watchlist in one go (the tracks are kept in memory only).

Each track's fused template is searched against the watchlist (``match.matcher``, the watchlist's own
normalisation and threshold); a track whose best candidate reaches the threshold is an appearance of
that subject. Nothing is written: the crops and templates go when the command ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from openlfr.config import Settings
from openlfr.footage.tracks import VideoTracks, collect_tracks
from openlfr.match import matcher
from openlfr.match.watchlist import Watchlist


@dataclass(frozen=True, slots=True)
class VideoHit:
    rank: int
    subject_id: str
    display_name: str
    score: float
    start_s: float
    end_s: float
    track_id: int


@dataclass(slots=True)
class VideoSearch:
    video: str
    tracks: int
    threshold: float
    complete: bool
    problem: str | None = None
    uncalibrated: str | None = None
    hits: list[VideoHit] = field(default_factory=list)


def search_video(settings: Settings, video: Path, watchlist: Watchlist, fps: float = 10.0) -> VideoSearch:
    """Every track of ``video`` whose best watchlist candidate reaches the threshold, best first."""
    return match_tracks(collect_tracks(settings, video, fps=fps), watchlist)


def match_tracks(found: VideoTracks, watchlist: Watchlist) -> VideoSearch:
    """The tracks of one video against ``watchlist``: each track's best candidate at or above its threshold."""
    problem = watchlist.calibration_problem()
    out = VideoSearch(str(found.video), len(found.tracks), watchlist.threshold, found.complete, found.problem, problem)
    if not found.tracks:
        return out
    vectors = np.stack([t.vector for t in found.tracks])
    hits = []
    for track, candidates in zip(found.tracks, matcher.search(watchlist, vectors, k=1), strict=True):
        best = matcher.best_match(candidates)
        if best is not None:
            hits.append((best, track))
    hits.sort(key=lambda h: -h[0].score)
    out.hits = [
        VideoHit(i, m.subject_id, m.display_name, round(m.score, 4), t.start_s, t.end_s, t.track_id)
        for i, (m, t) in enumerate(hits, start=1)
    ]
    return out
