"""Several cameras in one process: detection slots in turn, no camera starves, memory reported."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from doubles import CollectingSink
from openlfr.config import CameraConfig, LiveConfig, Settings
from openlfr.live.app import LiveApp
from openlfr.live.turns import Turns, default_slots
from openlfr.match.watchlist import Watchlist


def test_turns_are_served_in_the_order_asked() -> None:
    turns, order, started = Turns(1), [], []
    hold = threading.Event()

    def holder() -> None:
        with turns.turn():
            started.append("holder")
            hold.wait(5.0)

    def camera(name: str) -> None:
        with turns.turn():
            order.append(name)

    first = threading.Thread(target=holder)
    first.start()
    while not started:
        time.sleep(0.001)
    waiting = []
    for name in ("a", "b", "c"):  # each asks after the previous one is queued
        waiting.append(threading.Thread(target=camera, args=(name,)))
        waiting[-1].start()
        time.sleep(0.05)
    hold.set()
    for t in [first, *waiting]:
        t.join(5.0)
    assert order == ["a", "b", "c"]


def test_turns_never_exceed_their_slots() -> None:
    turns, lock, running, most = Turns(2), threading.Lock(), [0], [0]

    def work() -> None:
        for _ in range(20):
            with turns.turn():
                with lock:
                    running[0] += 1
                    most[0] = max(most[0], running[0])
                time.sleep(0.001)
                with lock:
                    running[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10.0)
    assert most[0] == 2


@pytest.mark.parametrize("slots", [0, -1])
def test_turns_need_a_slot(slots: int) -> None:
    with pytest.raises(ValueError, match="at least one slot"):
        Turns(slots)


def test_default_slots_are_the_cores_this_process_may_use() -> None:
    assert 1 <= default_slots() <= (os.cpu_count() or 1)


def test_three_cameras_share_fairly(demo: Path, demo_watchlist: Watchlist) -> None:
    """Three cameras of the demo walk-through, flat out, one process, for a few seconds: each analyses
    about as many frames as the others (none starves), and each reports what it holds in memory."""
    video = str(demo / "video" / "walkthrough.mp4")
    cameras = [CameraConfig(id=f"cam{i}", source=video, realtime=False) for i in range(3)]
    settings = Settings(live=LiveConfig(allow_uncalibrated=True, queue_frames=4))
    app = LiveApp(settings, demo_watchlist, cameras, sink=CollectingSink())
    app.start()
    try:
        memory: dict[str, int] = {}
        deadline = time.monotonic() + 6.0
        while time.monotonic() < deadline:
            time.sleep(0.2)
            for p in app.pipelines:
                memory[p.camera.id] = max(memory.get(p.camera.id, 0), p.metrics.memory_bytes)
        snaps = app.snapshots()
    finally:
        app.stop()
    analysed = {s.camera_id: s.frames_analysed for s in snaps}
    assert min(analysed.values()) > 0, analysed
    assert min(analysed.values()) >= 0.75 * max(analysed.values()), f"a camera fell behind: {analysed}"
    frame_bytes = 1280 * 720 * 3
    bound = settings.live.queue_frames * frame_bytes + 3 * settings.live.tracker.best_shots * frame_bytes
    for cam, held in memory.items():
        assert 0 < held <= bound, f"{cam} holds {held} bytes (bound {bound})"
    assert all(s.drops == 0 for s in snaps), "files played flat out wait instead of dropping"
