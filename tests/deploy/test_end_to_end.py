"""A deployment from start to finish on a real clip, and an audit row altered afterwards.

Create, authorise and start a deployment whose camera is the Hamilton clip and whose watchlist is Lin-
Manuel Miranda (the performer on stage); run it; adjudicate his alert (a true alert, engaged); end it.
Then: the watchlist's templates and faces are gone, its entry and reason stay; the record counts the
faces seen, the alert and the true alert; ``lfr audit verify`` passes. One audit row is then altered in
the database, and ``lfr audit verify`` fails and names it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select, update

from deploying import live_deployment
from openlfr.analysis import FaceAnalyzer
from openlfr.config import CameraConfig, Settings, StoreConfig
from openlfr.deploy.lifecycle import Deployments
from openlfr.deploy.live import run_deployment
from openlfr.deploy.records import records
from openlfr.match.enrol import EnrolItem, enrol
from openlfr.match.watchlist import Subject
from openlfr.review.adjudication import EngagementDecision, OperatorDecision, Outcome, Stage
from openlfr.review.alerts import Alerts
from openlfr.store.db import Store
from openlfr.store.models import AuditEntry, EntryTemplate, WatchlistEntry

LFR = Path(sys.executable).with_name("lfr")


def _lfr(store_config: StoreConfig, *args: str) -> subprocess.CompletedProcess[str]:
    assert store_config.key is not None
    env = {
        **os.environ,
        "LFR_STORE__KEY": store_config.key.get_secret_value(),
        "LFR_STORE__DATA_DIR": str(store_config.data_dir),
    }
    if store_config.url:
        env["LFR_STORE__URL"] = store_config.url
    return subprocess.run([str(LFR), *args], env=env, capture_output=True, text=True, timeout=120)


def test_a_deployment_from_create_to_end_on_the_hamilton_clip(
    store_config: StoreConfig, shared_data: Path, analyzer: FaceAnalyzer
) -> None:
    root = shared_data / "videos" / "hamilton_whitehouse"
    subject = Subject(subject_id="lin-manuel-miranda", display_name="Lin-Manuel Miranda")
    watchlist, _ = enrol([EnrolItem(subject, root / "enrol" / "lin-manuel-miranda.png")], analyzer, name="hamilton")
    store = Store.open(store_config)
    camera = CameraConfig(id="whitehouse", source=str(root / "short_hamilton_clip.mp4"), realtime=False)
    dep = live_deployment(store, watchlist, [camera])

    summary = run_deployment(store, Settings(store=store_config), dep.id, "insp.operator")
    alerts = Alerts(store)
    [alert] = alerts.list_alerts(dep.id)
    assert alert.subject_id == "lin-manuel-miranda"
    detail = alerts.show(alert.id, "pc.operator")
    assert detail.probe_jpeg and detail.watchlist_jpeg  # camera image beside watchlist image
    alerts.adjudicate(alert.id, Stage.OPERATOR, OperatorDecision.MATCH, "pc.operator")
    alerts.adjudicate(alert.id, Stage.ENGAGEMENT, EngagementDecision.ENGAGED_CONFIRMED_TRUE, "pc.engagement")
    alerts.adjudicate(alert.id, Stage.OUTCOME, Outcome.NONE, "pc.engagement", note="spoken to; no action (test)")
    Deployments(store).end(dep.id, "insp.operator")

    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(EntryTemplate)) == 0, "templates and faces destroyed"
        [entry] = s.scalars(select(WatchlistEntry).where(WatchlistEntry.deployment_id == dep.id))
        assert entry.subject_id == "lin-manuel-miranda" and entry.reason and entry.display_name is None
    [record] = records(store, [dep.id])
    assert record.faces_seen == summary.faces_seen > 100
    assert record.tracks == summary.tracks >= 3
    assert (record.alerts, record.true_alerts, record.false_alerts, record.engagements) == (1, 1, 0, 1)
    assert record.watchlist_size == 1 and record.status == "ended"
    store.close()

    verified = _lfr(store_config, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "intact" in verified.stdout

    store = Store.open(store_config)
    with store.session() as s:
        adjudicated = s.scalars(select(AuditEntry.seq).where(AuditEntry.action == "alert.adjudicated")).first()
        assert adjudicated is not None
        s.execute(update(AuditEntry).where(AuditEntry.seq == adjudicated).values(actor="someone.else"))
    store.close()
    broken = _lfr(store_config, "audit", "verify")
    assert broken.returncode == 3
    assert f"BROKEN at entry {adjudicated}" in " ".join(broken.stderr.split())
    assert "altered" in broken.stderr
