"""Retention: what a purge deletes, what a legal hold keeps, that counts survive, that a second purge
deletes nothing, and (SQLite) that purged bytes are gone from the files."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from deploying import live_deployment
from openlfr.analysis import FaceAnalyzer
from openlfr.config import CameraConfig, RetentionConfig
from openlfr.deploy.records import records
from openlfr.errors import RetentionFloorError
from openlfr.match.watchlist import Watchlist
from openlfr.review.adjudication import OperatorDecision, Stage
from openlfr.review.alerts import Alerts
from openlfr.store.audit import verify
from openlfr.store.db import Store, sqlite_path
from openlfr.store.models import AlertRow, AuditEntry, Purge
from openlfr.store.retention import DataType, FloorRequest, floor, purge, set_floor
from reviewing import make_alert

DAY = 86400.0
CAMERAS = [CameraConfig(id="cam-1", source="clip.mp4")]


def stored(store: Store, watchlist: Watchlist, analyzer: FaceAnalyzer, demo: Path, ages_days: list[float]) -> list[str]:
    """A live deployment with one alert raised ``age`` days ago for each age; their ids."""
    dep = live_deployment(store, watchlist, CAMERAS)
    alerts = Alerts(store)
    ids = []
    for age in ages_days:
        alert = make_alert(analyzer, demo, watchlist, raised_wall=time.time() - age * DAY)
        alerts.store_alert(dep.id, alert)
        ids.append(alert.alert_id)
    return ids


def test_purge_deletes_what_has_passed_keeps_held_and_counts_and_a_second_run_deletes_nothing(
    store: Store, demo_watchlist: Watchlist, analyzer: FaceAnalyzer, demo: Path
) -> None:
    old, held, recent, middle = stored(store, demo_watchlist, analyzer, demo, [40, 45, 2, 20])
    alerts = Alerts(store)
    alerts.adjudicate(old, Stage.OPERATOR, OperatorDecision.NO_MATCH, "op.one")
    alerts.place_hold(held, "CASE-77", "ds.case")
    config = RetentionConfig(alert_images_days=10, alert_data_days=31)
    now = datetime.now(UTC)

    first = purge(store, now, "sys.retention", config)
    images, data = first.counts
    assert (images.data_type, images.deleted, images.held) == (DataType.ALERT_IMAGES, 2, 1)  # old, middle; held
    assert (data.data_type, data.deleted, data.held) == (DataType.ALERT_DATA, 1, 1)  # old; held
    with store.session() as s:
        rows = {r.id: r for r in s.scalars(select(AlertRow))}
    assert rows[old].probe_jpeg_enc is None and rows[old].watchlist_jpeg_enc is None
    assert rows[old].subject_id is None and rows[old].display_name is None and rows[old].details_json == "{}"
    assert rows[middle].probe_jpeg_enc is None and rows[middle].subject_id == "obama"  # images 10 d, data 31 d
    assert rows[held].probe_jpeg_enc is not None and rows[held].subject_id == "obama"
    assert rows[recent].probe_jpeg_enc is not None
    assert alerts.show(held, "ds.case").probe_jpeg is not None
    record = records(store)[0]
    assert (record.alerts, record.false_alerts) == (4, 1)  # the counts survive the data

    second = purge(store, now + timedelta(seconds=1), "sys.retention", config)
    assert second.deleted == 0 and [c.held for c in second.counts] == [1, 1]

    alerts.release_hold(held, "CASE-77", "ds.case")
    third = purge(store, now + timedelta(seconds=2), "sys.retention", config)
    assert [c.deleted for c in third.counts] == [1, 1]
    with store.session() as s:
        logged = [(p.data_type, p.deleted, p.held) for p in s.scalars(select(Purge).order_by(Purge.id))]
        purges = list(s.scalars(select(AuditEntry.details_json).where(AuditEntry.action == "retention.purge")))
        assert verify(s).ok
    assert logged == [
        ("alert_images", 2, 1),
        ("alert_data", 1, 1),
        ("alert_images", 0, 1),
        ("alert_data", 0, 1),
        ("alert_images", 1, 0),
        ("alert_data", 1, 0),
    ]
    assert len(purges) == 3 and '"alert_images_deleted":2' in purges[0]


def test_purged_images_leave_no_bytes_in_the_sqlite_files(
    sqlite_store: Store, demo_watchlist: Watchlist, analyzer: FaceAnalyzer, demo: Path
) -> None:
    (old,) = stored(sqlite_store, demo_watchlist, analyzer, demo, [40])
    with sqlite_store.session() as s:
        row = s.get(AlertRow, old)
        assert row is not None and row.probe_jpeg_enc is not None
        blob = row.probe_jpeg_enc
    path = sqlite_path(sqlite_store)
    assert path is not None

    pieces = [blob[i : i + 32] for i in range(13, len(blob) - 32, 32)]  # past the nonce, across page breaks

    def found_on_disk() -> int:
        data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # the file, -wal, -shm
        return sum(piece in data for piece in pieces)

    assert found_on_disk() > len(pieces) * 0.9
    report = purge(sqlite_store, datetime.now(UTC), "sys.retention", RetentionConfig())
    assert report.deleted == 2
    assert found_on_disk() == 0


def test_a_purge_below_the_floor_an_admin_set_is_refused_and_deletes_nothing(
    sqlite_store: Store, demo_watchlist: Watchlist, analyzer: FaceAnalyzer, demo: Path
) -> None:
    """Issue 16, item 6: retention could be set to 0 days from the environment by whoever ran the purge."""
    (old,) = stored(sqlite_store, demo_watchlist, analyzer, demo, [2])
    assert floor(sqlite_store).days is None
    view = set_floor(sqlite_store, FloorRequest(days=7), "adm.lee")
    assert (view.days, view.set_by) == (7, "adm.lee")
    with pytest.raises(RetentionFloorError, match=r"alert_images set to 0 day\(s\), below the floor of 7") as refused:
        purge(sqlite_store, datetime.now(UTC), "local:anyone", RetentionConfig(alert_images_days=0))
    assert (refused.value.floor_days, refused.value.asked_days) == (7, 0)
    with pytest.raises(RetentionFloorError, match="alert_data set to 3 day"):
        purge(sqlite_store, datetime.now(UTC), "local:anyone", RetentionConfig(alert_images_days=7, alert_data_days=3))
    with sqlite_store.session() as s:
        row = s.get(AlertRow, old)
        assert row is not None and row.probe_jpeg_enc is not None and row.subject_id == "obama", "nothing deleted"
        assert s.scalars(select(Purge)).first() is None
        floor_entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "retention.floor_set")).all()
        assert [(e.actor, e.details_json) for e in floor_entries] == [("adm.lee", '{"before":null,"days":7}')]
    assert purge(sqlite_store, datetime.now(UTC), "local:anyone", RetentionConfig(alert_images_days=7)).deleted == 0
    with sqlite_store.session() as s:
        assert verify(s).ok
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "retention.floor_set")).one()
        entry.details_json = '{"before":null,"days":0}'  # lowered behind the program's back
    with sqlite_store.session() as s:
        assert not verify(s).ok, "the floor lives in the audit chain: an edit breaks it"
