"""Alerts in the store: committed as they are raised, listed, shown, adjudicated, held for a case.

``store_alert`` is what the live run calls for each alert *before* any sink is told, so that an
alert someone was notified of is always on record. The images are encrypted, with the alert id in
the context (``alert-probe:<id>``, ``alert-watchlist:<id>``). Showing an alert's images, adjudicating
it and holding it are audited in the same transaction as the change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.alert.serialize import alert_to_json
from openlfr.errors import AlertNotFoundError, DeploymentNotFoundError, DeploymentStateError, ReviewError
from openlfr.review.adjudication import AdjudicationEvent, AlertState, AlertStatus, Stage, check, derive
from openlfr.status import DeploymentStatus
from openlfr.store import audit
from openlfr.store.audit import AuditAction
from openlfr.store.db import Store
from openlfr.store.models import Adjudication, AlertRow, Deployment, LegalHold, WatchlistEntry
from openlfr.store.times import as_utc, opt_utc
from openlfr.types import Alert


def probe_context(alert_id: str) -> str:
    return f"alert-probe:{alert_id}"


def watchlist_face_context(alert_id: str) -> str:
    return f"alert-watchlist:{alert_id}"


@dataclass(frozen=True, slots=True)
class HoldView:
    id: int
    alert_id: str
    case_ref: str
    placed_by: str
    placed_at: datetime
    released_by: str | None
    released_at: datetime | None

    @property
    def active(self) -> bool:
        return self.released_at is None


@dataclass(frozen=True, slots=True)
class AlertSummary:
    """An alert as listed: who it named (None once purged), its score and where adjudication stands."""

    id: str
    deployment_id: str
    camera_id: str
    track_id: int
    subject_id: str | None
    display_name: str | None
    category: str
    score: float
    threshold: float
    raised_at: datetime
    state: AlertState
    held: bool
    images_purged_at: datetime | None
    data_purged_at: datetime | None


@dataclass(frozen=True, slots=True)
class AlertDetail:
    """An alert with its decrypted images (None once purged), its events and its holds."""

    summary: AlertSummary
    probe_jpeg: bytes | None
    watchlist_jpeg: bytes | None
    details_json: str
    events: tuple[AdjudicationEvent, ...]
    holds: tuple[HoldView, ...]


def _now() -> datetime:
    return datetime.now(UTC)


class Alerts:
    """The alert and adjudication service over a ``Store``."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = _now, *, separate_stages: bool = True) -> None:
        """``separate_stages``: the operator and engagement decisions on one alert must be two people's
        (``review.separate_stages``)."""
        self.store = store
        self.clock = clock
        self.separate_stages = separate_stages

    def store_alert(self, deployment_id: str, alert: Alert) -> bool:
        """Commit ``alert`` for the live deployment (encrypted images, linked to its entry); True if it
        was new, False if it was already stored (the same ``alert_id`` is stored once)."""
        cipher = self.store.cipher
        with self.store.session() as s:
            if s.get(AlertRow, alert.alert_id) is not None:
                return False
            dep = s.get(Deployment, deployment_id)
            if dep is None:
                raise DeploymentNotFoundError(f"no deployment '{deployment_id}' to store alert {alert.alert_id} in")
            if dep.status != DeploymentStatus.LIVE.value:
                raise DeploymentStateError(
                    f"deployment {deployment_id} is {dep.status}; only a live deployment raises alerts"
                )
            entry_id = s.scalar(
                select(WatchlistEntry.id).where(
                    WatchlistEntry.deployment_id == deployment_id, WatchlistEntry.subject_id == alert.subject_id
                )
            )
            details = alert_to_json(alert, include_images=False)
            del details["subject"]  # who it named is in its own columns, purged on its own schedule
            s.add(
                AlertRow(
                    id=alert.alert_id,
                    deployment_id=deployment_id,
                    entry_id=entry_id,
                    camera_id=alert.camera_id,
                    track_id=alert.track_id,
                    subject_id=alert.subject_id,
                    display_name=alert.display_name,
                    category=alert.category.value,
                    score=alert.score,
                    threshold=alert.threshold,
                    raised_at=datetime.fromtimestamp(alert.raised_wall, UTC),
                    details_json=json.dumps(details, sort_keys=True),
                    probe_jpeg_enc=cipher.encrypt(alert.probe_jpeg, probe_context(alert.alert_id)),
                    watchlist_jpeg_enc=None
                    if alert.watchlist_jpeg is None
                    else cipher.encrypt(alert.watchlist_jpeg, watchlist_face_context(alert.alert_id)),
                )
            )
            s.flush()
            audit.record(
                s,
                "system",
                AuditAction.ALERT_RAISED,
                deployment_id=deployment_id,
                target=alert.alert_id,
                details={"camera": alert.camera_id, "score": round(alert.score, 6), "category": alert.category.value},
                at=self.clock(),
            )
            return True

    def list_alerts(
        self, deployment_id: str | None = None, status: AlertStatus | None = None, limit: int | None = None
    ) -> list[AlertSummary]:
        """Alerts, oldest first, of one deployment or all, optionally only those in ``status``."""
        with self.store.session() as s:
            if deployment_id is not None and s.get(Deployment, deployment_id) is None:
                raise DeploymentNotFoundError(f"no deployment '{deployment_id}' ('lfr deployment list' shows them)")
            query = select(AlertRow).order_by(AlertRow.raised_at, AlertRow.id)
            if deployment_id is not None:
                query = query.where(AlertRow.deployment_id == deployment_id)
            rows = list(s.scalars(query))
            events = events_by_alert(s, [r.id for r in rows])
            held = _held(s, [r.id for r in rows])
            found = [_summary(r, events.get(r.id, []), r.id in held) for r in rows]
        if status is not None:
            found = [a for a in found if a.state.status is status]
        return found[:limit] if limit is not None else found

    def show(self, alert_id: str, actor: str) -> AlertDetail:
        """The alert with its images decrypted; the viewing is audited."""
        with self.store.session() as s:
            row = _alert(s, alert_id)
            events = events_by_alert(s, [alert_id]).get(alert_id, [])
            holds = tuple(_hold_view(h) for h in _holds(s, alert_id))
            cipher = self.store.cipher
            probe = None if row.probe_jpeg_enc is None else cipher.decrypt(row.probe_jpeg_enc, probe_context(row.id))
            face = row.watchlist_jpeg_enc
            listed = None if face is None else cipher.decrypt(face, watchlist_face_context(row.id))
            audit.record(
                s,
                actor,
                AuditAction.ALERT_VIEWED,
                deployment_id=row.deployment_id,
                target=row.id,
                details={"images": probe is not None},
                at=self.clock(),
            )
            summary = _summary(row, events, any(h.active for h in holds))
            return AlertDetail(summary, probe, listed, row.details_json, tuple(events), holds)

    def adjudicate(
        self,
        alert_id: str,
        stage: Stage,
        decision: str,
        actor: str,
        *,
        note: str = "",
        supersedes: int | None = None,
    ) -> AdjudicationEvent:
        """Record one decision (or, with ``supersedes``, a correction of an earlier one)."""
        with self.store.session() as s:
            row = _alert(s, alert_id, lock=True)
            dep = s.get(Deployment, row.deployment_id)
            if dep is not None and dep.status == DeploymentStatus.CLOSED.value:
                raise DeploymentStateError(f"deployment {dep.id} is closed; its alerts' adjudication is final")
            events = events_by_alert(s, [alert_id]).get(alert_id, [])
            check(
                alert_id, events, stage, decision, supersedes, note, actor=actor, separate_stages=self.separate_stages
            )
            now = self.clock()
            event = Adjudication(
                alert_id=alert_id,
                stage=stage.value,
                decision=decision,
                actor=actor,
                at=now,
                note=note.strip(),
                supersedes=supersedes,
            )
            s.add(event)
            s.flush()
            audit.record(
                s,
                actor,
                AuditAction.ADJUDICATION,
                deployment_id=row.deployment_id,
                target=alert_id,
                details={"event": event.id, "stage": stage.value, "decision": decision, "supersedes": supersedes},
                at=now,
            )
            return _event_view(event)

    def place_hold(self, alert_id: str, case_ref: str, actor: str) -> HoldView:
        """Keep the alert's data past its retention for the case ``case_ref``, until released."""
        case = case_ref.strip()
        if not case:
            raise ReviewError("a legal hold must name its case (a case reference)")
        with self.store.session() as s:
            row = _alert(s, alert_id, lock=True)
            if any(h.case_ref == case and h.released_at is None for h in _holds(s, alert_id)):
                raise ReviewError(f"alert {alert_id} is already held for case {case}")
            now = self.clock()
            hold = LegalHold(alert_id=alert_id, case_ref=case, placed_by=actor, placed_at=now)
            s.add(hold)
            s.flush()
            audit.record(
                s,
                actor,
                AuditAction.LEGAL_HOLD_PLACED,
                deployment_id=row.deployment_id,
                target=alert_id,
                details={"case": case, "images_already_purged": row.images_purged_at is not None},
                at=now,
            )
            return _hold_view(hold)

    def release_hold(self, alert_id: str, case_ref: str, actor: str) -> HoldView:
        """Release the hold for ``case_ref``; the next purge deletes what has passed its time."""
        case = case_ref.strip()
        with self.store.session() as s:
            row = _alert(s, alert_id, lock=True)
            hold = next((h for h in _holds(s, alert_id) if h.case_ref == case and h.released_at is None), None)
            if hold is None:
                raise ReviewError(f"alert {alert_id} has no active hold for case '{case}'")
            now = self.clock()
            hold.released_by, hold.released_at = actor, now
            audit.record(
                s,
                actor,
                AuditAction.LEGAL_HOLD_RELEASED,
                deployment_id=row.deployment_id,
                target=alert_id,
                details={"case": case},
                at=now,
            )
            return _hold_view(hold)


def _alert(session: Session, alert_id: str, lock: bool = False) -> AlertRow:
    row = session.get(AlertRow, alert_id, with_for_update=lock)
    if row is None:
        raise AlertNotFoundError(f"no alert '{alert_id}' ('lfr alerts list' shows them)")
    return row


def _event_view(e: Adjudication) -> AdjudicationEvent:
    return AdjudicationEvent(e.id, e.alert_id, Stage(e.stage), e.decision, e.actor, as_utc(e.at), e.note, e.supersedes)


def events_by_alert(session: Session, alert_ids: Sequence[str]) -> dict[str, list[AdjudicationEvent]]:
    """Every adjudication event of each alert, oldest first."""
    found: dict[str, list[AdjudicationEvent]] = {}
    for start in range(0, len(alert_ids), 500):
        chunk = alert_ids[start : start + 500]
        query = select(Adjudication).where(Adjudication.alert_id.in_(chunk)).order_by(Adjudication.id)
        for e in session.scalars(query):
            found.setdefault(e.alert_id, []).append(_event_view(e))
    return found


def _held(session: Session, alert_ids: Sequence[str]) -> set[str]:
    held: set[str] = set()
    for start in range(0, len(alert_ids), 500):
        query = select(LegalHold.alert_id).where(
            LegalHold.alert_id.in_(alert_ids[start : start + 500]), LegalHold.released_at.is_(None)
        )
        held.update(session.scalars(query))
    return held


def _holds(session: Session, alert_id: str) -> list[LegalHold]:
    return list(session.scalars(select(LegalHold).where(LegalHold.alert_id == alert_id).order_by(LegalHold.id)))


def _hold_view(h: LegalHold) -> HoldView:
    return HoldView(
        h.id, h.alert_id, h.case_ref, h.placed_by, as_utc(h.placed_at), h.released_by, opt_utc(h.released_at)
    )


def _summary(row: AlertRow, events: Sequence[AdjudicationEvent], held: bool) -> AlertSummary:
    return AlertSummary(
        id=row.id,
        deployment_id=row.deployment_id,
        camera_id=row.camera_id,
        track_id=row.track_id,
        subject_id=row.subject_id,
        display_name=row.display_name,
        category=row.category,
        score=row.score,
        threshold=row.threshold,
        raised_at=as_utc(row.raised_at),
        state=derive(events),
        held=held,
        images_purged_at=opt_utc(row.images_purged_at),
        data_purged_at=opt_utc(row.data_purged_at),
    )
