"""Scoring live runs against scene ground truth, and scene planning."""

from __future__ import annotations

import json
from pathlib import Path

from doubles import CollectingSink
from openlfr.config import CameraConfig, LiveConfig, Settings
from openlfr.eval.live import AlertEvent, score
from openlfr.eval.scenes import Person, plan
from openlfr.live.app import LiveApp
from openlfr.match.watchlist import Watchlist
from openlfr.types import BoundingBox

TRUTH = {
    "spec": {
        "fps": 10.0,
        "passes": [
            {"identity": "ann", "t0": 0.0, "t1": 2.0},
            {"identity": "bob", "t0": 1.0, "t1": 3.0},
            {"identity": "cy", "t0": 2.0, "t1": 4.0},
        ],
    },
    "watchlisted": ["ann", "bob"],
    "faces": [
        {"identity": "ann", "pass_index": 0, "t": 0.5, "box": [0, 0, 50, 50]},
        {"identity": "ann", "pass_index": 0, "t": 1.5, "box": [10, 0, 60, 50]},
        {"identity": "bob", "pass_index": 1, "t": 1.5, "box": [200, 0, 250, 50]},
        {"identity": "cy", "pass_index": 2, "t": 3.0, "box": [400, 0, 450, 50]},
    ],
}


def test_score_counts_hits_duplicates_and_false_alerts() -> None:
    events = [
        AlertEvent("ann", 0.5, BoundingBox(0, 0, 50, 50), 0.2),  # hit
        AlertEvent("ann", 1.5, BoundingBox(10, 0, 60, 50), 0.3),  # duplicate for the same pass
        AlertEvent("ann", 1.5, BoundingBox(200, 0, 250, 50)),  # bob's face named ann: false
        AlertEvent("bob", 3.0, BoundingBox(400, 0, 450, 50)),  # cy (not listed) named bob: false, cy alerted
        AlertEvent("bob", 2.5, BoundingBox(900, 0, 950, 50)),  # nobody there: false
    ]
    s = score("x", events, TRUTH)
    assert (s.watchlisted_passes, s.hits, s.duplicates, s.false_alerts) == (2, 1, 1, 3)
    assert (s.other_passes, s.other_passes_alerted) == (1, 1)
    assert s.tpir == 0.5 and s.fpir == 1.0 and s.delays_s == [0.5]
    assert score("x", events, TRUTH, until=2.0).watchlisted_passes == 1


def test_plan_is_seeded_and_walks_everyone_once() -> None:
    people = [Person(f"p{i}", f"/x/{i}.jpg", i < 3) for i in range(10)]
    a, b = plan(people, 60.0, seed=3), plan(people, 60.0, seed=3)
    assert a == b
    assert sorted(p.identity for p in a.passes) == sorted(p.identity for p in people)
    assert all(0 <= p.t0 < p.t1 <= 60.0 for p in a.passes)
    assert all(p.start[2] < p.end[2] for p in a.passes), "people approach: their faces grow"
    assert min(p.start[2] for p in a.passes) >= 24 and max(p.end[2] for p in a.passes) <= 200
    assert plan(people, 60.0, seed=4) != a


def test_demo_scene_scores_perfectly(demo: Path, demo_watchlist: Watchlist) -> None:
    truth = json.loads((demo / "video" / "walkthrough.json").read_text())
    sink = CollectingSink()
    camera = CameraConfig(id="s", source=str(demo / "video" / "walkthrough.mp4"), realtime=False)
    LiveApp(Settings(live=LiveConfig(allow_uncalibrated=True)), demo_watchlist, [camera], sink=sink).run()
    events = [AlertEvent(a.subject_id, a.frame_pts, a.box) for a in sink.alerts]
    s = score("openlfr", events, truth)
    assert (s.hits, s.watchlisted_passes, s.false_alerts, s.duplicates) == (2, 2, 0, 0)
    assert (s.other_passes, s.other_passes_alerted) == (1, 0)
