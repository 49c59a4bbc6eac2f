"""Deployment records: counts from runs and adjudication, the false alert rate, CSV and JSON export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from deploying import live_deployment
from openlfr.analysis import FaceAnalyzer
from openlfr.config import CameraConfig
from openlfr.deploy.lifecycle import Deployments
from openlfr.deploy.records import DeploymentRecord, ExportFormat, export, records
from openlfr.errors import DeploymentError
from openlfr.match.watchlist import Watchlist
from openlfr.review.adjudication import EngagementDecision, OperatorDecision, Outcome, Stage
from openlfr.review.alerts import Alerts
from openlfr.store.db import Store
from openlfr.store.models import AuditEntry, DeploymentRun
from reviewing import make_alert

CAMERAS = [CameraConfig(id="cam-1", source="clip.mp4")]


def add_run(store: Store, deployment_id: str, faces: int, tracks: int) -> None:
    now = datetime.now(UTC)
    with store.session() as s:
        s.add(
            DeploymentRun(
                deployment_id=deployment_id, started_at=now, updated_at=now, faces_seen=faces, tracks=tracks, frames=0
            )
        )


def test_record_counts_alerts_by_their_adjudication(
    store: Store, demo_watchlist: Watchlist, analyzer: FaceAnalyzer, demo: Path
) -> None:
    dep = live_deployment(store, demo_watchlist, CAMERAS)
    add_run(store, dep.id, faces=1200, tracks=300)
    add_run(store, dep.id, faces=800, tracks=100)  # a restart after a crash is a second run
    alerts = Alerts(store)
    ids = []
    for _ in range(5):
        alert = make_alert(analyzer, demo, demo_watchlist)
        alerts.store_alert(dep.id, alert)
        ids.append(alert.alert_id)
    true_arrest, true_other, false_engaged, false_operator, unknown = ids
    for a in (true_arrest, true_other, false_engaged):
        alerts.adjudicate(a, Stage.OPERATOR, OperatorDecision.MATCH, "op")
    alerts.adjudicate(true_arrest, Stage.ENGAGEMENT, EngagementDecision.ENGAGED_CONFIRMED_TRUE, "pc")
    alerts.adjudicate(true_arrest, Stage.OUTCOME, Outcome.ARREST, "pc")
    alerts.adjudicate(true_other, Stage.ENGAGEMENT, EngagementDecision.ENGAGED_CONFIRMED_TRUE, "pc")
    alerts.adjudicate(true_other, Stage.OUTCOME, Outcome.OTHER_ACTION, "pc")
    alerts.adjudicate(false_engaged, Stage.ENGAGEMENT, EngagementDecision.ENGAGED_CONFIRMED_FALSE, "pc")
    alerts.adjudicate(false_operator, Stage.OPERATOR, OperatorDecision.NO_MATCH, "op")
    alerts.adjudicate(unknown, Stage.OPERATOR, OperatorDecision.CANNOT_TELL, "op")
    Deployments(store).end(dep.id, "insp")

    (r,) = records(store, [dep.id])
    assert (r.faces_seen, r.tracks, r.alerts) == (2000, 400, 5)
    assert (r.true_alerts, r.false_alerts, r.engagements, r.arrests) == (2, 2, 3, 1)
    assert r.false_alert_rate == pytest.approx(2 / 2000)
    assert r.watchlist_size == len(demo_watchlist.manifest.subjects)  # entries outlive the watchlist's faces
    assert r.location == "Stratford Centre (test)" and r.threshold == demo_watchlist.threshold
    assert r.start_time is not None and r.end_time is not None and r.status == "ended"

    table = list(csv.DictReader(io.StringIO(export(store, [r], ExportFormat.CSV, "analyst"))))
    assert [row["deployment_id"] for row in table] == [dep.id]
    assert (table[0]["faces_seen"], table[0]["true_alerts"], table[0]["false_alerts"]) == ("2000", "2", "2")
    assert list(table[0]) == list(DeploymentRecord.__dataclass_fields__)
    as_json = json.loads(export(store, [r], ExportFormat.JSON, "analyst"))
    assert as_json[0]["arrests"] == 1 and as_json[0]["false_alert_rate"] == pytest.approx(0.001)
    with store.session() as s:
        exports = list(s.scalars(select(AuditEntry.details_json).where(AuditEntry.action == "export")))
    assert len(exports) == 2 and '"format":"csv"' in exports[0]


def test_no_faces_seen_gives_no_rate_and_unknown_ids_are_refused(store: Store, demo_watchlist: Watchlist) -> None:
    dep = live_deployment(store, demo_watchlist, CAMERAS)
    (r,) = records(store)
    assert (r.faces_seen, r.alerts, r.false_alert_rate) == (0, 0, None)
    assert "false_alert_rate" in export(store, [r], ExportFormat.CSV, "analyst").splitlines()[0]
    with pytest.raises(DeploymentError, match="no deployment 'missing'"):
        records(store, [dep.id, "missing"])
