"""Policy the server holds (issue 16, item 6): a deployment's planned end stops its live run, and a run
after it is refused (both audited); one person cannot decide both the operator and the engagement stage of
an alert; actor names are compared after Unicode, case and whitespace normalisation."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from deploying import live_deployment
from openlfr.analysis import FaceAnalyzer
from openlfr.config import CameraConfig, Settings, StoreConfig
from openlfr.deploy.lifecycle import Deployments
from openlfr.deploy.live import run_deployment
from openlfr.errors import DeploymentStateError, ReviewError, SeparationOfDutiesError
from openlfr.live.app import LiveApp
from openlfr.match.watchlist import Watchlist
from openlfr.review.adjudication import EngagementDecision, OperatorDecision, Outcome, Stage
from openlfr.review.alerts import Alerts
from openlfr.store.audit import AuditAction, verify
from openlfr.store.db import Store
from openlfr.store.models import AuditEntry, DeploymentRun
from reviewing import make_alert


def _actions(store: Store, deployment_id: str) -> list[str]:
    with store.session() as s:
        return list(s.scalars(select(AuditEntry.action).where(AuditEntry.deployment_id == deployment_id)))


def test_a_run_after_the_planned_end_is_refused_and_audited(
    store: Store, store_config: StoreConfig, demo_watchlist: Watchlist, demo: Path
) -> None:
    camera = CameraConfig(id="cam", source=str(demo / "video" / "walkthrough.mp4"))
    dep = live_deployment(store, demo_watchlist, [camera], planned_end=datetime.now(UTC) + timedelta(seconds=1))
    time.sleep(1.5)
    with pytest.raises(DeploymentStateError, match=r"planned to end at .* a run after its end is refused"):
        run_deployment(store, Settings(store=store_config, live={"sinks": []}), dep.id, "insp.operator")
    assert AuditAction.DEPLOYMENT_RUN_REFUSED.value in _actions(store, dep.id)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(DeploymentRun)) == 0, "no run was opened"
        assert verify(s).ok


def test_a_live_run_stops_at_the_planned_end(
    store: Store, store_config: StoreConfig, demo_watchlist: Watchlist, demo: Path
) -> None:
    # the clip plays for 13 s in real time; the deployment ends 8 s after it was made
    camera = CameraConfig(id="cam", source=str(demo / "video" / "walkthrough.mp4"), realtime=True)
    end = datetime.now(UTC) + timedelta(seconds=8)
    dep = live_deployment(store, demo_watchlist, [camera], planned_end=end)
    started: list[float] = []

    def on_start(app: LiveApp) -> None:
        started.append(time.monotonic())

    run_deployment(store, Settings(store=store_config, live={"sinks": []}), dep.id, "insp.operator", on_start=on_start)
    assert datetime.now(UTC) >= end
    assert time.monotonic() - started[0] < 12.0, "the run went on past the deployment's end"
    assert AuditAction.DEPLOYMENT_RUN_AT_END.value in _actions(store, dep.id)


@pytest.mark.parametrize("same", ["op.smith", "OP.SMITH", " op.smith ", "ｏｐ.ｓｍｉｔｈ"])
def test_one_person_cannot_record_both_the_operator_and_the_engagement_decision(
    store: Store, demo_watchlist: Watchlist, demo: Path, analyzer: FaceAnalyzer, same: str
) -> None:
    camera = CameraConfig(id="cam", source=str(demo / "video" / "walkthrough.mp4"))
    dep = live_deployment(store, demo_watchlist, [camera])
    alert = make_alert(analyzer, demo, demo_watchlist)
    alerts = Alerts(store)
    alerts.store_alert(dep.id, alert)
    alerts.adjudicate(alert.alert_id, Stage.OPERATOR, OperatorDecision.MATCH, "op.smith")
    with pytest.raises(ReviewError, match=r"must be another officer's \(separation of duties\)"):
        alerts.adjudicate(alert.alert_id, Stage.ENGAGEMENT, EngagementDecision.ENGAGED_CONFIRMED_TRUE, same)
    alerts.adjudicate(alert.alert_id, Stage.ENGAGEMENT, EngagementDecision.ENGAGED_CONFIRMED_TRUE, "pc.jones")
    with pytest.raises(ReviewError, match="separation of duties"):  # nor correct the other's stage into theirs
        alerts.adjudicate(
            alert.alert_id, Stage.OPERATOR, OperatorDecision.MATCH, "PC.Jones", supersedes=1, note="second look"
        )
    alerts.adjudicate(alert.alert_id, Stage.OUTCOME, Outcome.ARREST, "pc.jones")  # the outcome is the engager's
    relaxed = make_alert(analyzer, demo, demo_watchlist)
    Alerts(store).store_alert(dep.id, relaxed)
    loose = Alerts(store, separate_stages=False)  # review.separate_stages = false
    loose.adjudicate(relaxed.alert_id, Stage.OPERATOR, OperatorDecision.MATCH, "op.smith")
    loose.adjudicate(relaxed.alert_id, Stage.ENGAGEMENT, EngagementDecision.NOT_ENGAGED, "op.smith")


@pytest.mark.parametrize("creator", ["sgt.creator", "SGT.Creator", "sgt.creator ", "ｓｇｔ.creator"])
def test_the_creator_cannot_authorise_under_another_spelling(store: Store, demo: Path, creator: str) -> None:
    now = datetime.now(UTC)
    service = Deployments(store)
    dep = service.create(
        name="t",
        location_name="t",
        purpose="t",
        legal_basis="t",
        planned_start=now,
        planned_end=now + timedelta(hours=1),
        cameras=[CameraConfig(id="cam", source=str(demo / "video" / "walkthrough.mp4"))],
        created_by="sgt.creator",
    )
    with pytest.raises(SeparationOfDutiesError):
        service.authorise(dep.id, creator)
