"""The acceptance run of cameras on a Ray cluster: a head and two worker nodes started here (separate
process groups on loopback), a live deployment of four cameras (the bundled clip, at 2 analysed fps to
spare the box) spread over both workers, alerts in the PostgreSQL store; one worker node SIGKILLed: its
cameras run on the other within 30 s, the move and its gap are audited, every alert raised before the
kill is in the store exactly once, and the audit chain verifies."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from deploying import live_deployment
from openlfr.cluster.app import ClusterApp
from openlfr.cluster.local import LocalCluster
from openlfr.config import CameraConfig, ClusterConfig, Settings, StoreConfig
from openlfr.deploy.live import LiveRun, run_deployment
from openlfr.match.watchlist import Watchlist
from openlfr.store import audit
from openlfr.store.audit import AuditAction
from openlfr.store.crypto import generate_key
from openlfr.store.db import Store
from openlfr.store.models import AlertRow, AuditEntry

MOVE_WITHIN_S = 30.0


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCluster]:
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # the local cluster's nodes run without tokens
    root = Path(tempfile.mkdtemp(prefix="lfr-ray-", dir="/tmp"))  # Ray's socket paths must stay under 108 bytes
    local = LocalCluster(root)
    try:
        local.start_head()
        local.add_worker("worker-a", cameras=4)
        local.add_worker("worker-b", cameras=4)
        yield local
    finally:
        ray.shutdown()
        local.stop()
        shutil.rmtree(root, ignore_errors=True)


def wait_for(what: str, check: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``check`` holds; fails naming ``what`` after ``timeout``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.5)
    return time.monotonic() - start


def stored(store: Store) -> list[AlertRow]:
    with store.session() as s:
        return list(s.scalars(select(AlertRow)))


@pytest.mark.slow
def test_a_dead_nodes_cameras_move_and_no_alert_is_lost_or_doubled(
    cluster: LocalCluster, postgres_url: str, demo: Path, demo_watchlist: Watchlist, tmp_path: Path
) -> None:
    config = StoreConfig(url=postgres_url, data_dir=tmp_path / "lfr-data", key=SecretStr(generate_key()))
    store = Store.open(config)
    clip = str(demo / "video" / "walkthrough.mp4")
    cameras = [CameraConfig(id=f"cam-{i}", source=clip, analysis_fps=2.0, loop=True) for i in range(4)]
    dep = live_deployment(store, demo_watchlist, cameras)
    settings = Settings(store=config, cluster=ClusterConfig(address=cluster.address))
    settings = settings.model_copy(update={"live": settings.live.model_copy(update={"sinks": []})})
    stop = threading.Event()
    apps: list[LiveRun] = []
    run = threading.Thread(
        target=run_deployment,
        args=(store, settings, dep.id, "insp.operator"),
        kwargs={"stop": stop, "on_start": apps.append},
    )
    run.start()
    try:
        wait_for("the run starts", lambda: bool(apps), 120)
        app = apps[0]
        assert isinstance(app, ClusterApp)
        analysing = lambda: {s.camera_id for s in app.snapshots() if s.frames_analysed > 0}  # noqa: E731
        wait_for("all four cameras analyse", lambda: len(analysing()) == 4, 180)
        nodes = app.placements()
        assert len(set(nodes.values())) == 2, f"the cameras spread over both workers: {nodes}"
        wait_for("alerts reach the store", lambda: len(stored(store)) >= 2, 120)

        victim_node = nodes["cam-0"]
        victim = next(n for n in cluster.nodes[1:] if cluster.node_id(n) == victim_node)
        moved = {c for c, n in nodes.items() if n == victim_node}
        before = {row.id for row in stored(store)}
        frames = {s.camera_id: s.frames_analysed for s in app.snapshots()}
        victim.kill()
        killed = time.monotonic()

        def resumed() -> bool:
            now = app.placements()
            snaps = {s.camera_id: s for s in app.snapshots()}
            return all(now[c] not in (None, victim_node) and c in snaps and snaps[c].frames_analysed > 0 for c in moved)

        wait_for("the dead node's cameras run on the other", resumed, MOVE_WITHIN_S)
        took = time.monotonic() - killed
        assert took <= MOVE_WITHIN_S
        time.sleep(3.0)  # a few more frames on the survivor
        assert all(s.frames_analysed > 0 for s in app.snapshots()), frames
    finally:
        stop.set()
        run.join(60)
    assert not run.is_alive()
    rows = stored(store)
    ids = Counter(row.id for row in rows)
    assert before <= set(ids) and all(n == 1 for n in ids.values()), "every alert raised before the kill, once"
    moments = Counter((r.camera_id, r.subject_id, json.loads(r.details_json)["frame_pts"]) for r in rows)
    assert all(n == 1 for n in moments.values()), f"no alert raised twice for one moment: {moments}"
    with store.session() as s:
        moves = [
            json.loads(e.details_json)
            for e in s.scalars(select(AuditEntry).where(AuditEntry.action == AuditAction.CAMERA_MOVED.value))
        ]
        assert {m["camera_id"] for m in moves} == moved
        assert all(m["from_node"] == victim_node and 0 < m["gap_s"] <= MOVE_WITHIN_S for m in moves), moves
        assert audit.verify(s).ok
    store.close()
