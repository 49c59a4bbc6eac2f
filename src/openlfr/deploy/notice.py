"""The public notice: the deployments a supervisor marked for publication, as the public may see them.

Where and when (place, planned and actual times), why (purpose, legal basis), how large the watchlist
is, and, once a deployment has ended, its published figures (faces seen, alerts, true and false
alerts, arrests). Nothing about any person: no names, images, reasons, categories, camera sources or
officers. Only deployments with ``published`` set appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from openlfr.status import DeploymentStatus
from openlfr.store.db import Store
from openlfr.store.models import Deployment
from openlfr.store.times import as_utc, opt_utc

from .records import DeploymentRecord, records

S = DeploymentStatus


@dataclass(frozen=True, slots=True)
class PublicRecord:
    """What came of an ended deployment, as published."""

    faces_seen: int
    alerts: int
    true_alerts: int
    false_alerts: int
    arrests: int


@dataclass(frozen=True, slots=True)
class PublicNotice:
    """One published deployment: ``stage`` is planned, live or past."""

    deployment_id: str
    stage: str
    place: str
    latitude: float | None
    longitude: float | None
    purpose: str
    legal_basis: str
    planned_start: datetime
    planned_end: datetime
    started_at: datetime | None
    ended_at: datetime | None
    watchlist_size: int
    record: PublicRecord | None


def _stage(status: str) -> str:
    if status in (S.DRAFT.value, S.AUTHORISED.value):
        return "planned"
    return "live" if status == S.LIVE.value else "past"


def public_notices(store: Store) -> list[PublicNotice]:
    """Every published deployment: live first, then planned, then past, each group by planned start."""
    published = select(Deployment).where(Deployment.published.is_(True))
    with store.session() as s:
        ended = [d.id for d in s.scalars(published) if _stage(d.status) == "past"]
    figures = {r.deployment_id: r for r in records(store, ended)} if ended else {}  # its own session
    with store.session() as s:
        notices = [_notice(d, figures.get(d.id)) for d in s.scalars(published)]
    order = {"live": 0, "planned": 1, "past": 2}
    return sorted(notices, key=lambda n: (order[n.stage], n.planned_start))


def _notice(dep: Deployment, fig: DeploymentRecord | None) -> PublicNotice:
    record = PublicRecord(fig.faces_seen, fig.alerts, fig.true_alerts, fig.false_alerts, fig.arrests) if fig else None
    return PublicNotice(
        deployment_id=dep.id,
        stage=_stage(dep.status),
        place=dep.location_name,
        latitude=dep.latitude,
        longitude=dep.longitude,
        purpose=dep.purpose,
        legal_basis=dep.legal_basis,
        planned_start=as_utc(dep.planned_start),
        planned_end=as_utc(dep.planned_end),
        started_at=opt_utc(dep.started_at),
        ended_at=opt_utc(dep.ended_at),
        watchlist_size=sum(1 for e in dep.entries if e.removed_at is None),
        record=record,
    )
