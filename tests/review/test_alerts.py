"""Alerts in the store and their adjudication, on SQLite and PostgreSQL, with real faces."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from deploying import live_deployment
from openlfr.analysis import FaceAnalyzer
from openlfr.config import CameraConfig
from openlfr.deploy.lifecycle import Deployments
from openlfr.errors import DeploymentStateError, ReviewError
from openlfr.match.watchlist import Watchlist
from openlfr.review.adjudication import AlertStatus, EngagementDecision, OperatorDecision, Outcome, Stage
from openlfr.review.alerts import Alerts
from openlfr.store.audit import verify
from openlfr.store.db import Store
from openlfr.store.models import Adjudication, AlertRow, AuditEntry, WatchlistEntry
from reviewing import make_alert

CAMERAS = [CameraConfig(id="cam-1", source="clip.mp4")]


def test_an_alert_is_stored_once_encrypted_and_linked_to_its_entry(
    store: Store, demo_watchlist: Watchlist, analyzer: FaceAnalyzer, demo: Path
) -> None:
    dep = live_deployment(store, demo_watchlist, CAMERAS)
    alerts = Alerts(store)
    alert = make_alert(analyzer, demo, demo_watchlist)
    assert alerts.store_alert(dep.id, alert) is True
    assert alerts.store_alert(dep.id, alert) is False  # the same alert id is stored once
    with store.session() as s:
        row = s.get(AlertRow, alert.alert_id)
        assert row is not None and row.probe_jpeg_enc is not None
        assert alert.probe_jpeg[:200] not in row.probe_jpeg_enc
        entry = s.get(WatchlistEntry, row.entry_id)
        assert entry is not None and entry.subject_id == "obama"
        assert "Obama" not in row.details_json  # who it named lives in its own columns only
        raised = list(s.scalars(select(AuditEntry.target).where(AuditEntry.action == "alert.raised")))
    assert raised == [alert.alert_id]

    shown = alerts.show(alert.alert_id, "insp.operator")
    assert shown.probe_jpeg == alert.probe_jpeg and shown.watchlist_jpeg == alert.watchlist_jpeg
    assert shown.summary.display_name == "Barack Obama" and shown.summary.state.status is AlertStatus.UNADJUDICATED
    with store.session() as s:
        viewed = s.scalars(select(AuditEntry).where(AuditEntry.action == "alert.viewed")).one()
        assert (viewed.actor, viewed.target) == ("insp.operator", alert.alert_id)


def test_only_a_live_deployment_stores_alerts(
    store: Store, demo_watchlist: Watchlist, analyzer: FaceAnalyzer, demo: Path
) -> None:
    dep = live_deployment(store, demo_watchlist, CAMERAS)
    Deployments(store).end(dep.id, "insp.operator")
    with pytest.raises(DeploymentStateError, match="is ended; only a live deployment raises alerts"):
        Alerts(store).store_alert(dep.id, make_alert(analyzer, demo, demo_watchlist))


def test_two_stages_and_an_outcome_in_order(
    store: Store, demo_watchlist: Watchlist, analyzer: FaceAnalyzer, demo: Path
) -> None:
    dep = live_deployment(store, demo_watchlist, CAMERAS)
    alerts = Alerts(store)
    first, second = make_alert(analyzer, demo, demo_watchlist), make_alert(analyzer, demo, demo_watchlist, "biden")
    for a in (first, second):
        alerts.store_alert(dep.id, a)
    with pytest.raises(ReviewError, match="needs the operator's 'match' first \\(the operator's is not yet given\\)"):
        alerts.adjudicate(first.alert_id, Stage.ENGAGEMENT, EngagementDecision.NOT_ENGAGED, "pc.engager")
    with pytest.raises(ReviewError, match="'arrested' is not a outcome decision"):
        alerts.adjudicate(first.alert_id, Stage.OUTCOME, "arrested", "pc.engager")
    alerts.adjudicate(first.alert_id, Stage.OPERATOR, OperatorDecision.MATCH, "op.one")
    assert [a.id for a in alerts.list_alerts(dep.id, AlertStatus.AWAITING_ENGAGEMENT)] == [first.alert_id]
    assert [a.id for a in alerts.list_alerts(dep.id, AlertStatus.UNADJUDICATED)] == [second.alert_id]
    with pytest.raises(ReviewError, match="the outcome needs the engagement officer's decision first"):
        alerts.adjudicate(first.alert_id, Stage.OUTCOME, Outcome.ARREST, "pc.engager")
    alerts.adjudicate(first.alert_id, Stage.ENGAGEMENT, EngagementDecision.ENGAGED_CONFIRMED_TRUE, "pc.engager")
    alerts.adjudicate(first.alert_id, Stage.OUTCOME, Outcome.ARREST, "pc.engager", note="arrested on warrant")
    state = alerts.list_alerts(dep.id)[0].state
    assert (state.operator, state.engagement, state.outcome) == (
        OperatorDecision.MATCH,
        EngagementDecision.ENGAGED_CONFIRMED_TRUE,
        Outcome.ARREST,
    )
    assert state.status is AlertStatus.DONE and state.is_true_alert and not state.is_false_alert
    with store.session() as s:
        assert verify(s).ok


def test_a_correction_is_a_new_event_that_supersedes_the_old(
    store: Store, demo_watchlist: Watchlist, analyzer: FaceAnalyzer, demo: Path
) -> None:
    dep = live_deployment(store, demo_watchlist, CAMERAS)
    alerts = Alerts(store)
    alert = make_alert(analyzer, demo, demo_watchlist)
    alerts.store_alert(dep.id, alert)
    wrong = alerts.adjudicate(alert.alert_id, Stage.OPERATOR, OperatorDecision.MATCH, "op.one")
    alerts.adjudicate(alert.alert_id, Stage.ENGAGEMENT, EngagementDecision.NOT_ENGAGED, "pc.engager")
    with pytest.raises(ReviewError, match=f"already has a operator decision \\(event {wrong.id}: match\\)"):
        alerts.adjudicate(alert.alert_id, Stage.OPERATOR, OperatorDecision.NO_MATCH, "op.two")
    with pytest.raises(ReviewError, match="a correction needs a note"):
        alerts.adjudicate(alert.alert_id, Stage.OPERATOR, OperatorDecision.NO_MATCH, "op.two", supersedes=wrong.id)
    fixed = alerts.adjudicate(
        alert.alert_id,
        Stage.OPERATOR,
        OperatorDecision.NO_MATCH,
        "op.two",
        supersedes=wrong.id,
        note="second look: different ear shape",
    )
    with pytest.raises(ReviewError, match=f"already corrected by event {fixed.id}"):
        alerts.adjudicate(alert.alert_id, Stage.OPERATOR, "cannot_tell", "op.three", supersedes=wrong.id, note="x")
    detail = alerts.show(alert.alert_id, "op.two")
    assert [(e.stage, e.decision, e.supersedes) for e in detail.events] == [
        (Stage.OPERATOR, "match", None),
        (Stage.ENGAGEMENT, "not_engaged", None),
        (Stage.OPERATOR, "no_match", wrong.id),
    ]
    # the engagement that followed the voided "match" no longer counts; nothing was edited in place
    state = detail.summary.state
    assert (state.operator, state.engagement, state.status) == (OperatorDecision.NO_MATCH, None, AlertStatus.DONE)
    assert state.is_false_alert
    with store.session() as s:
        original = s.get(Adjudication, wrong.id)
        assert original is not None and (original.decision, original.actor) == ("match", "op.one")


def test_legal_holds_name_a_case_and_are_released(
    store: Store, demo_watchlist: Watchlist, analyzer: FaceAnalyzer, demo: Path
) -> None:
    dep = live_deployment(store, demo_watchlist, CAMERAS)
    alerts = Alerts(store)
    alert = make_alert(analyzer, demo, demo_watchlist)
    alerts.store_alert(dep.id, alert)
    with pytest.raises(ReviewError, match="must name its case"):
        alerts.place_hold(alert.alert_id, "  ", "ds.case")
    hold = alerts.place_hold(alert.alert_id, "OP-HARBOUR/2026/17", "ds.case")
    assert hold.active and alerts.list_alerts(dep.id)[0].held
    with pytest.raises(ReviewError, match="already held for case OP-HARBOUR/2026/17"):
        alerts.place_hold(alert.alert_id, "OP-HARBOUR/2026/17", "ds.case")
    with pytest.raises(ReviewError, match="no active hold for case 'OTHER'"):
        alerts.release_hold(alert.alert_id, "OTHER", "ds.case")
    released = alerts.release_hold(alert.alert_id, "OP-HARBOUR/2026/17", "ds.case")
    assert not released.active and released.released_by == "ds.case"
    assert not alerts.list_alerts(dep.id)[0].held
    with pytest.raises(ReviewError, match="no alert 'nope'"):
        alerts.show("nope", "x")


def test_a_closed_deployment_s_adjudication_is_final_but_a_hold_can_still_be_placed(
    store: Store, demo_watchlist: Watchlist, analyzer: FaceAnalyzer, demo: Path
) -> None:
    dep = live_deployment(store, demo_watchlist, CAMERAS)
    alerts = Alerts(store)
    alert = make_alert(analyzer, demo, demo_watchlist)
    alerts.store_alert(dep.id, alert)
    alerts.adjudicate(alert.alert_id, Stage.OPERATOR, OperatorDecision.MATCH, "op.one")
    alerts.adjudicate(alert.alert_id, Stage.ENGAGEMENT, EngagementDecision.NOT_ENGAGED, "pc.engager")
    assert [a.id for a in alerts.list_alerts(dep.id, AlertStatus.AWAITING_OUTCOME)] == [alert.alert_id]
    service = Deployments(store)
    service.end(dep.id, "insp.operator")
    alerts.adjudicate(alert.alert_id, Stage.OUTCOME, Outcome.NONE, "pc.engager")  # after the end, before close
    service.close(dep.id, "insp.operator")
    with pytest.raises(DeploymentStateError, match="is closed; its alerts' adjudication is final"):
        alerts.adjudicate(alert.alert_id, Stage.OUTCOME, Outcome.ARREST, "pc.engager", supersedes=1, note="x")
    assert alerts.place_hold(alert.alert_id, "CASE-1", "ds.case").active
