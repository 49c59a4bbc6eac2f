"""The bounded run of cameras on Ray that CI affords: Ray started in this process as a one-node cluster
with camera capacity, one camera (the bundled clip at 2 analysed fps) as an actor; its alerts are matched
here; its actor killed, it is placed again, runs again, and the move is reported with its gap. With
matching on the node, the camera's node sends alerts only (no template of any face), and each alert is
stored once. (tests/cluster/test_failover.py is the full run: three nodes, one SIGKILLed, PostgreSQL.)"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import SecretStr

from deploying import live_deployment
from doubles import CollectingSink
from openlfr.cluster.actor import BoundedQueue
from openlfr.cluster.app import CameraMove, ClusterApp, _Placement
from openlfr.cluster.central import alert_id
from openlfr.cluster.messages import Drained
from openlfr.config import CameraConfig, ClusterConfig, Settings, StoreConfig
from openlfr.deploy.live import StoreFirstSink
from openlfr.match.watchlist import Watchlist
from openlfr.review.alerts import Alerts
from openlfr.store.crypto import generate_key
from openlfr.store.db import Store
from openlfr.types import TemplateSet


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


def test_a_camera_holds_at_most_its_limit_for_the_service_and_counts_what_it_dropped() -> None:
    queue: BoundedQueue[int] = BoundedQueue(limit=2)
    for item in (1, 2, 3):
        queue.put(item)
    assert queue.take() == ([2, 3], 1), "the oldest dropped, and counted"
    assert queue.take() == ([], 0), "taken once"


class _Recording(ClusterApp):
    """The cluster app, keeping everything its camera's node sent it."""

    drained: list[Drained]

    def _take(self, p: _Placement, drained: Drained) -> None:
        self.drained.append(drained)
        super()._take(p, drained)


def _vectors(value: Any) -> list[object]:
    """Every template or array inside ``value`` (dataclasses, lists, tuples, dicts walked)."""
    if isinstance(value, TemplateSet | np.ndarray):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [v for f in dataclasses.fields(value) for v in _vectors(getattr(value, f.name))]
    if isinstance(value, list | tuple):
        return [v for item in value for v in _vectors(item)]
    if isinstance(value, dict):
        return [v for item in value.values() for v in _vectors(item)]
    return []


def test_matching_on_the_node_sends_alerts_only_and_each_is_stored_once(
    local_ray: None, tmp_path: Path, demo: Path, demo_watchlist: Watchlist
) -> None:
    clip = str(demo / "video" / "walkthrough.mp4")
    camera = CameraConfig(id="cam-0", source=clip, analysis_fps=2.0)
    settings = Settings(cluster=ClusterConfig(address="auto", poll_interval_s=0.2, matching="node"))
    settings = settings.model_copy(update={"live": settings.live.model_copy(update={"allow_uncalibrated": True})})
    store = Store.open(StoreConfig(data_dir=tmp_path / "lfr-data", key=SecretStr(generate_key())))
    dep = live_deployment(store, demo_watchlist, [camera])
    downstream = CollectingSink()
    sink = StoreFirstSink(Alerts(store), dep.id, downstream)
    app = _Recording(settings, demo_watchlist, [camera], sink, f"{dep.id}/1")
    app.drained = []
    given = app._given(camera, 0)
    assert given is not None and given.watchlist.faces == {} and len(given.watchlist.vectors) > 0
    app.start()
    try:
        assert app.wait(60), "the clip did not end within 60 s"
    finally:
        app.stop()
    try:
        raised = [a for d in app.drained for a in d.alerts]
        assert raised and any(a.alert.subject_id == "obama" for a in raised), "the camera alerted on its node"
        assert all(not d.messages for d in app.drained) and app.counts.templates == 0, "no template set sent"
        assert _vectors(app.drained) == [], "nothing the node sent holds a template"
        assert sum(d.message_bytes for d in app.drained) > 0
        for a in raised:  # the ids the service would have made, so a resend is a no-op
            assert a.alert.alert_id == alert_id(f"{dep.id}/1", "cam-0", 0, a.alert.track_id, a.alert.subject_id)
            assert a.alert.watchlist_jpeg is None, "the node holds no enrolment face"
        stored = Alerts(store).list_alerts(dep.id)
        assert len(stored) == len(raised) == sink.stored == len(downstream.alerts) and sink.duplicates == 0
        assert all(a.watchlist_jpeg in demo_watchlist.faces.values() for a in downstream.alerts), "added here"
        again = dataclasses.replace(app.drained[0], alerts=raised)  # a node's alerts handed over twice
        app._take(_Placement(camera, 0, None, None, 0.0), again)
        assert sink.duplicates == len(raised), "each resent alert is known by its id"
        assert len(Alerts(store).list_alerts(dep.id)) == len(stored) == len(downstream.alerts), "stored, sent once"
    finally:
        store.close()
