"""A restart of the server resumes the deployments that were live, and records the gap."""

from __future__ import annotations

import time
from pathlib import Path

from deploying import live_deployment
from openlfr.auth.roles import Role
from openlfr.config import CameraConfig, StoreConfig
from openlfr.match.watchlist import Watchlist
from openlfr.store import audit
from openlfr.store.db import Store
from serving import ServedApp, serve

from .conftest import api_settings


def _wait_running(served: ServedApp, dep: str, client_name: str) -> None:
    c = served.client(client_name)
    deadline = time.monotonic() + 60
    while not all(cam["running"] for cam in c.get(f"/api/v1/deployments/{dep}/cameras").json()):
        assert time.monotonic() < deadline, "the live deployment's cameras did not start"
        time.sleep(0.3)


def test_a_restart_resumes_live_deployments_and_records_the_gap(
    tmp_path: Path, sqlite_store: Store, demo: Path, demo_watchlist: Watchlist
) -> None:
    camera = CameraConfig(id="cam-1", source=str(demo / "video" / "walkthrough.mp4"), loop=True)
    dep = live_deployment(sqlite_store, demo_watchlist, [camera]).id
    settings = api_settings(StoreConfig(data_dir=tmp_path, dev_mode=True))
    with serve(settings, sqlite_store) as first:
        first.add_user("sup.one", Role.SUPERVISOR)
        _wait_running(first, dep, "sup.one")
    stopped = time.time()
    time.sleep(1.5)
    with serve(settings, sqlite_store) as second:
        _wait_running(second, dep, "sup.one")
        metrics = second.client().get("/metrics").text
        assert f'openlfr_frames_in_total{{camera="{dep}/cam-1"}}' in metrics
    with sqlite_store.session() as s:
        resumed = audit.entries(s, action="deployment.resumed", deployment_id=dep)
        runs = audit.entries(s, action="deployment.run", deployment_id=dep)
        assert audit.verify(s).ok
    assert len(resumed) == 2 and len(runs) == 2
    gap = resumed[-1].details["gap_s"]
    assert isinstance(gap, float) and 1.0 <= gap < time.time() - stopped + 5, resumed[-1]
