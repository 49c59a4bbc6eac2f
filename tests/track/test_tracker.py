"""The tracker: one track per pass, kept through short gaps, split between people, ended after a gap."""

from __future__ import annotations

from openlfr.config import TrackerConfig
from openlfr.track.tracker import Tracker
from openlfr.types import BoundingBox, FaceDetection


def det(x: float, y: float, size: float = 40.0) -> FaceDetection:
    return FaceDetection(BoundingBox(x, y, x + size, y + size), 0.9, "test")


def test_a_walking_face_is_one_track() -> None:
    tracker = Tracker("cam")
    ids = set()
    for i in range(30):
        update = tracker.update([det(100 + 12 * i, 200, 40 + i)], pts=i / 10, wall=i / 10)
        ids |= {t.track_id for t, _ in update.matched}
    assert ids == {1}
    assert tracker.tracks[0].frames == 30


def test_fast_small_faces_that_no_longer_overlap_still_join_by_motion() -> None:
    tracker = Tracker("cam")
    ids = set()
    for i in range(10):  # 18 px steps for a 20 px face (walking past at 10 fps): IoU 0.05 between frames
        update = tracker.update([det(50 + 18 * i, 100, 20)], pts=i / 10, wall=0)
        ids |= {t.track_id for t, _ in update.matched}
    assert ids == {1}


def test_two_people_are_two_tracks_even_when_they_pass_close() -> None:
    tracker = Tracker("cam")
    seen: dict[int, list[float]] = {}
    for i in range(20):
        a, b = det(100 + 10 * i, 100), det(400 - 10 * i, 180)
        update = tracker.update([a, b], pts=i / 10, wall=0)
        for track, d in update.matched:
            seen.setdefault(track.track_id, []).append(d.box.y1)
    assert len(seen) == 2
    assert {tuple(set(v)) for v in seen.values()} == {(100.0,), (180.0,)}, "tracks never swap people"


def test_short_occlusion_is_bridged_and_long_gap_ends_the_track() -> None:
    tracker = Tracker("cam", TrackerConfig(max_missed_s=0.5))
    tracker.update([det(100, 100)], pts=0.0, wall=0)
    tracker.update([], pts=0.3, wall=0)
    update = tracker.update([det(104, 100)], pts=0.4, wall=0)
    assert [t.track_id for t, _ in update.matched] == [1]
    update = tracker.update([], pts=1.0, wall=0)
    assert [t.track_id for t in update.ended] == [1]
    update = tracker.update([det(104, 100)], pts=1.1, wall=0)
    assert [t.track_id for t in update.started] == [2]


def test_every_detection_lands_in_a_track_and_finish_ends_all() -> None:
    tracker = Tracker("cam")
    update = tracker.update([det(0, 0), det(100, 0), det(200, 0)], pts=0, wall=0)
    assert len(update.matched) == 3 and len(update.started) == 3
    assert len(tracker.finish()) == 3
    assert tracker.tracks == []
