"""Matching in the service for cameras on a cluster (real faces, a real store): an alert's id is fixed by
(run, camera, placement, track, subject), so an alert handed to the store twice is stored and sent once;
a camera placed again keeps its gate (a replayed clip raises nothing new within the cooldown); cluster
mode refuses a SQLite store with one line; a node is given no secret of the service."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from deploying import live_deployment
from doubles import CollectingSink
from openlfr.analysis import FaceAnalyzer
from openlfr.cluster.app import node_settings
from openlfr.cluster.central import CentralMatching, alert_id
from openlfr.cluster.messages import TrackTemplates
from openlfr.config import CameraConfig, ClusterConfig, Settings, StoreConfig, WebhookSinkConfig
from openlfr.deploy.live import StoreFirstSink, run_deployment
from openlfr.errors import ClusterError
from openlfr.match.watchlist import Watchlist
from openlfr.review.alerts import Alerts
from openlfr.store.crypto import generate_key
from openlfr.store.db import Store
from openlfr.track.shots import Shot
from openlfr.types import TemplateSet, Track


def message(analyzer: FaceAnalyzer, demo: Path, camera: str, track_id: int, pts: float) -> TrackTemplates:
    image = analyzer.load(demo / "probes" / "obama_congress_2009.jpg")
    [face] = analyzer.analyze(image)
    box = face.detection.box
    track = Track(track_id, camera, box, first_seen_pts=pts, first_seen_wall=1e9, last_seen_pts=pts)
    shot = Shot(face.aligned, face.quality, image[: int(box.y2), : int(box.x2)].copy(), 1, pts, 1.0, 1e9 + pts)
    return TrackTemplates.of(camera, track, shot, TemplateSet.of(face.template))


def test_one_alert_per_track_and_a_moved_camera_keeps_its_gate(
    analyzer: FaceAnalyzer, demo: Path, demo_watchlist: Watchlist
) -> None:
    central = CentralMatching(demo_watchlist, cooldown_s=30.0, run="dep-1/7")
    first = central.match(message(analyzer, demo, "cam-0", 1, pts=2.0), placement=0)
    assert first is not None and first.subject_id == "obama"
    assert first.alert_id == alert_id("dep-1/7", "cam-0", 0, 1, "obama")
    assert central.match(message(analyzer, demo, "cam-0", 1, pts=2.5), placement=0) is None, "once per track"
    replayed = message(analyzer, demo, "cam-0", 1, pts=2.0)  # the clip again, from a new node
    assert central.match(replayed, placement=1) is None, "the camera's gate outlives its node"
    later = central.match(message(analyzer, demo, "cam-0", 1, pts=40.0), placement=1)
    assert later is not None and later.alert_id != first.alert_id, "a new pass after the cooldown is a new alert"
    other = central.match(message(analyzer, demo, "cam-1", 1, pts=2.0), placement=0)
    assert other is not None and other.alert_id != first.alert_id, "each camera its own alerts"


def test_an_alert_stored_twice_is_stored_and_sent_once(
    tmp_path: Path, analyzer: FaceAnalyzer, demo: Path, demo_watchlist: Watchlist
) -> None:
    store = Store.open(StoreConfig(data_dir=tmp_path / "lfr-data", key=SecretStr(generate_key())))
    dep = live_deployment(store, demo_watchlist, [CameraConfig(id="cam-0", source="rtsp://camera.invalid/0")])
    downstream = CollectingSink()
    sink = StoreFirstSink(Alerts(store), dep.id, downstream)
    for _ in range(2):  # two service instances matching the same message: the same id
        alert = CentralMatching(demo_watchlist, 30.0, f"{dep.id}/1").match(message(analyzer, demo, "cam-0", 3, 1.0), 0)
        assert alert is not None
        sink.send(alert)
    assert (sink.stored, sink.duplicates, len(downstream.alerts)) == (1, 1, 1)
    assert len(Alerts(store).list_alerts(dep.id)) == 1
    store.close()


def test_cluster_mode_refuses_a_sqlite_store(tmp_path: Path, demo_watchlist: Watchlist) -> None:
    config = StoreConfig(data_dir=tmp_path / "lfr-data", key=SecretStr(generate_key()))
    store = Store.open(config)
    dep = live_deployment(store, demo_watchlist, [CameraConfig(id="cam-0", source="rtsp://camera.invalid/0")])
    settings = Settings(store=config, cluster=ClusterConfig(address="127.0.0.1:6379"))
    with pytest.raises(ClusterError, match="PostgreSQL; the store is SQLite"):
        run_deployment(store, settings, dep.id, "insp.operator")
    store.close()


def test_a_node_is_given_no_secret_of_the_service() -> None:
    key, hook = generate_key(), "hmac-secret-0123456789"
    settings = Settings(
        store=StoreConfig(url="postgresql+psycopg://lfr@db/lfr", key=SecretStr(key)),
        cluster=ClusterConfig(address="127.0.0.1:6379"),
    )
    sinks = [WebhookSinkConfig(url="https://hooks.example/lfr", secret=hook)]
    settings = settings.model_copy(update={"live": settings.live.model_copy(update={"sinks": sinks})})
    given = node_settings(settings)
    dumped = given.model_dump_json()
    assert key not in dumped and hook not in dumped and "db/lfr" not in dumped and given.live.sinks == []
    assert given.embedder == settings.embedder and given.live.tracker == settings.live.tracker
