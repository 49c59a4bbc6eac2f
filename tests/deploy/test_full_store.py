"""The store's disk fills up during ``lfr deployment run`` (issue 16, item 4): it used to keep 2 of 3
alerts from the operator ("not stored: not sent on") and then die with a traceback. Now every alert is
still sent on, with a loud error, counted as not stored, and the run ends on its own terms."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from deploying import live_deployment
from doubles import CollectingSink
from openlfr.config import CameraConfig, LiveConfig, OutboxConfig, Settings, StoreConfig
from openlfr.deploy.live import run_deployment
from openlfr.live.app import LiveApp
from openlfr.match.watchlist import Watchlist
from openlfr.store.crypto import generate_key
from openlfr.store.db import Store
from peers import FullDisk


def test_a_full_store_disk_still_shows_every_alert_and_the_run_ends_cleanly(
    demo_watchlist: Watchlist, demo: Path, tmp_path: Path, full_disk: FullDisk, caplog: pytest.LogCaptureFixture
) -> None:
    config = StoreConfig(data_dir=full_disk.path, key=SecretStr(generate_key()))
    store = Store.open(config)
    camera = CameraConfig(id="door", source=str(demo / "video" / "walkthrough.mp4"), realtime=False)
    dep = live_deployment(store, demo_watchlist, [camera])
    seen = CollectingSink()
    settings = Settings(store=config, live=LiveConfig(outbox=OutboxConfig(path=tmp_path / "outbox")))

    def fill_the_disk(app: LiveApp) -> None:  # the run has opened its record: now the disk is full
        full_disk.fill()

    with caplog.at_level("ERROR"):
        summary = run_deployment(store, settings, dep.id, "insp.operator", extra_sinks=[seen], on_start=fill_the_disk)
    assert summary.alerts >= 2
    assert summary.alerts_not_stored == summary.alerts, "the disk was full from before the first alert"
    assert sorted(a.subject_id for a in seen.alerts) == ["biden", "obama"], "each alert still reached the operator"
    assert summary.delivery is not None and summary.delivery.delivered == summary.alerts
    messages = [r.getMessage() for r in caplog.records]
    assert sum("ALERT NOT STORED" in m and "disk full (ENOSPC)" in m for m in messages) == summary.alerts
    assert any(m.startswith("recording the run's end failed: disk full") for m in messages)
    store.close()
