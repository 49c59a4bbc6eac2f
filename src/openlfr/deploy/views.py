"""What the deployment services hand back: plain frozen snapshots of the stored rows.

The services never return ORM rows (they would outlive their session); callers, the CLI and the
operator app read these instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from openlfr.config import CameraConfig
from openlfr.status import DeploymentStatus
from openlfr.store.models import Deployment, WatchlistEntry
from openlfr.store.times import as_utc, opt_utc


@dataclass(frozen=True, slots=True)
class EntryView:
    """One watchlist entry as stored (``display_name`` is None once the watchlist is destroyed)."""

    subject_id: str
    display_name: str | None
    category: str
    reason: str
    image_source: str
    expires: date | None
    under_18: bool
    under_18_justification: str
    templates: int


@dataclass(frozen=True, slots=True)
class DeploymentView:
    """A deployment and its watchlist entries, as stored when it was read."""

    id: str
    name: str
    status: DeploymentStatus
    location_name: str
    latitude: float | None
    longitude: float | None
    purpose: str
    legal_basis: str
    planned_start: datetime
    planned_end: datetime
    cameras: tuple[CameraConfig, ...]
    threshold: float | None
    threshold_source: str | None
    threshold_justification: str | None
    embedder: str | None
    watchlist_name: str | None
    entries: tuple[EntryView, ...]
    created_by: str
    created_at: datetime
    authorised_by: str | None
    authorised_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    closed_at: datetime | None
    watchlist_destroyed_at: datetime | None
    published: bool = False
    """Marked for the public notice (``/public``)."""


def entry_view(entry: WatchlistEntry) -> EntryView:
    return EntryView(
        subject_id=entry.subject_id,
        display_name=entry.display_name,
        category=entry.category,
        reason=entry.reason,
        image_source=entry.image_source,
        expires=as_utc(entry.expires).date() if entry.expires is not None else None,
        under_18=entry.under_18,
        under_18_justification=entry.under_18_justification,
        templates=len(entry.templates),
    )


def deployment_view(dep: Deployment) -> DeploymentView:
    return DeploymentView(
        id=dep.id,
        name=dep.name,
        status=DeploymentStatus(dep.status),
        location_name=dep.location_name,
        latitude=dep.latitude,
        longitude=dep.longitude,
        purpose=dep.purpose,
        legal_basis=dep.legal_basis,
        planned_start=as_utc(dep.planned_start),
        planned_end=as_utc(dep.planned_end),
        cameras=tuple(CameraConfig.model_validate_json(c.config_json) for c in dep.cameras),
        threshold=dep.threshold,
        threshold_source=dep.threshold_source,
        threshold_justification=dep.threshold_justification,
        embedder=dep.embedder,
        watchlist_name=dep.watchlist_name,
        entries=tuple(entry_view(e) for e in dep.entries if e.removed_at is None),
        created_by=dep.created_by,
        created_at=as_utc(dep.created_at),
        authorised_by=dep.authorised_by,
        authorised_at=opt_utc(dep.authorised_at),
        started_at=opt_utc(dep.started_at),
        ended_at=opt_utc(dep.ended_at),
        closed_at=opt_utc(dep.closed_at),
        watchlist_destroyed_at=opt_utc(dep.watchlist_destroyed_at),
        published=bool(dep.published),
    )
