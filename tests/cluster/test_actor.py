"""The bounded run of cameras on Ray that CI affords: Ray started in this process as a one-node cluster
with camera capacity, one camera (the bundled clip at 2 analysed fps) as an actor; its alerts are matched
here; its actor killed, it is placed again, runs again, and the move is reported with its gap.
(tests/cluster/test_failover.py is the full run: three nodes, one SIGKILLed, PostgreSQL.)"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from doubles import CollectingSink
from openlfr.cluster.app import CameraMove, ClusterApp
from openlfr.config import CameraConfig, ClusterConfig, Settings
from openlfr.match.watchlist import Watchlist


@pytest.fixture
def local_ray(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # loopback only; no token written under ~/.ray
    root = tempfile.mkdtemp(prefix="lfr-ray-", dir="/tmp")  # Ray's socket paths must stay under 108 bytes
    ray.init(num_cpus=1, resources={"cameras": 2}, include_dashboard=False, _temp_dir=root, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()
        shutil.rmtree(root, ignore_errors=True)


def wait_for(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)


def test_a_camera_actor_alerts_and_is_placed_again_when_it_dies(
    local_ray: None, demo: Path, demo_watchlist: Watchlist
) -> None:
    import ray

    clip = str(demo / "video" / "walkthrough.mp4")
    camera = CameraConfig(id="cam-0", source=clip, analysis_fps=2.0, loop=True)
    settings = Settings(cluster=ClusterConfig(address="auto", poll_interval_s=0.2))
    settings = settings.model_copy(update={"live": settings.live.model_copy(update={"allow_uncalibrated": True})})
    sink = CollectingSink()
    moves: list[CameraMove] = []
    app = ClusterApp(settings, demo_watchlist, [camera], sink, "dep-1/1", on_move=moves.append)
    app.start()
    try:
        wait_for("the first alert", lambda: bool(sink.alerts), 60)
        assert sink.alerts[0].subject_id == "obama" and sink.alerts[0].camera_id == "cam-0"
        node = app.placements()["cam-0"]
        [snap] = app.snapshots()
        assert snap.node == node and 1 <= snap.alerts <= len(sink.alerts), "metrics: where it runs, alerts matched here"
        ray.kill(app._placements["cam-0"].handle, no_restart=True)
        wait_for("the camera runs again", lambda: bool(moves), 30)
        assert moves[0].camera_id == "cam-0" and moves[0].from_node == node == moves[0].to_node
        assert 0 < moves[0].gap_s < 30
        # The old placement's metrics went with it: any frame counted now was analysed by the new actor.
        wait_for("frames analysed again", lambda: any(s.frames_analysed > 0 for s in app.snapshots()), 20)
    finally:
        app.stop()
    assert len({a.alert_id for a in sink.alerts}) == len(sink.alerts)
