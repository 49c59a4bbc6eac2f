"""Deployment records: what each deployment saw and what came of it, in the shape the Met publishes.

Per deployment:

- ``faces_seen`` and ``tracks``: summed over its runs (``DeploymentRun``: face detections in the
  analysed frames, and people's passes);
- ``alerts``: alerts raised (the rows survive retention, so the count does);
- ``true_alerts``: alerts whose current engagement decision is *engaged and confirmed true*;
- ``false_alerts``: alerts the operator judged *no match*, or that engagement found *confirmed false*;
  alerts judged *cannot tell*, not engaged, or not yet adjudicated are neither;
- ``engagements``: alerts whose engagement decision is confirmed true or confirmed false;
- ``arrests``: alerts whose outcome is *arrest*;
- ``false_alert_rate``: false alerts / faces seen, as the Met publishes it (None with no faces seen).

Adjudication is read as ``review/adjudication.py`` derives it (each stage's latest uncorrected event).
Exporting records is audited.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openlfr.errors import DeploymentError
from openlfr.review.adjudication import Outcome, derive
from openlfr.review.alerts import events_by_alert
from openlfr.store import audit
from openlfr.store.audit import AuditAction
from openlfr.store.db import Store
from openlfr.store.models import AlertRow, Deployment, DeploymentRun, WatchlistEntry
from openlfr.store.times import as_utc, opt_utc
from openlfr.text import csv_cell


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    """One row of the published record (the CSV's columns are these fields, in this order)."""

    deployment_id: str
    date: str
    name: str
    location: str
    latitude: float | None
    longitude: float | None
    status: str
    planned_start: str
    planned_end: str
    start_time: str | None
    end_time: str | None
    watchlist_size: int
    threshold: float | None
    threshold_source: str | None
    faces_seen: int
    tracks: int
    alerts: int
    true_alerts: int
    false_alerts: int
    engagements: int
    arrests: int
    false_alert_rate: float | None
    authorised_by: str | None


def _iso(at: datetime | None) -> str | None:
    return None if at is None else as_utc(at).isoformat(timespec="seconds").replace("+00:00", "Z")


def records(store: Store, deployment_ids: Sequence[str] | None = None) -> list[DeploymentRecord]:
    """The record of each deployment named (all of them, by planned start, when none are)."""
    with store.session() as s:
        query = select(Deployment).order_by(Deployment.planned_start, Deployment.id)
        if deployment_ids:
            query = query.where(Deployment.id.in_(list(deployment_ids)))
        deps = list(s.scalars(query))
        missing = sorted(set(deployment_ids or ()) - {d.id for d in deps})
        if missing:
            raise DeploymentError(f"no deployment {', '.join(repr(m) for m in missing)}")
        return [_record(s, d) for d in deps]


def _record(s: Session, dep: Deployment) -> DeploymentRecord:
    faces, tracks = s.execute(
        select(
            func.coalesce(func.sum(DeploymentRun.faces_seen), 0), func.coalesce(func.sum(DeploymentRun.tracks), 0)
        ).where(DeploymentRun.deployment_id == dep.id)
    ).one()
    alert_ids = list(s.scalars(select(AlertRow.id).where(AlertRow.deployment_id == dep.id)))
    events = events_by_alert(s, alert_ids)
    states = [derive(events.get(a, [])) for a in alert_ids]
    false_alerts = sum(st.is_false_alert for st in states)
    size = s.scalar(
        select(func.count())
        .select_from(WatchlistEntry)
        .where(WatchlistEntry.deployment_id == dep.id, WatchlistEntry.removed_at.is_(None))
    )
    actual_start = opt_utc(dep.started_at)
    return DeploymentRecord(
        deployment_id=dep.id,
        date=(actual_start or as_utc(dep.planned_start)).date().isoformat(),
        name=dep.name,
        location=dep.location_name,
        latitude=dep.latitude,
        longitude=dep.longitude,
        status=dep.status,
        planned_start=_iso(dep.planned_start) or "",
        planned_end=_iso(dep.planned_end) or "",
        start_time=_iso(dep.started_at),
        end_time=_iso(dep.ended_at),
        watchlist_size=int(size or 0),
        threshold=dep.threshold,
        threshold_source=dep.threshold_source,
        faces_seen=int(faces),
        tracks=int(tracks),
        alerts=len(alert_ids),
        true_alerts=sum(st.is_true_alert for st in states),
        false_alerts=false_alerts,
        engagements=sum(st.is_engagement for st in states),
        arrests=sum(st.outcome is Outcome.ARREST for st in states),
        false_alert_rate=false_alerts / int(faces) if faces else None,
        authorised_by=dep.authorised_by,
    )


def to_csv(rows: Sequence[DeploymentRecord]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([f.name for f in fields(DeploymentRecord)])
    for r in rows:
        writer.writerow(["" if v is None else csv_cell(v) for v in asdict(r).values()])
    return buf.getvalue()


def to_json(rows: Sequence[DeploymentRecord]) -> str:
    return json.dumps([asdict(r) for r in rows], indent=2) + "\n"


def export(store: Store, rows: Sequence[DeploymentRecord], fmt: ExportFormat, actor: str) -> str:
    """The records as CSV or JSON text; the export is audited (which deployments, in what format)."""
    text = to_csv(rows) if fmt is ExportFormat.CSV else to_json(rows)
    with store.session() as s:
        audit.record(
            s,
            actor,
            AuditAction.EXPORT,
            target="deployment records",
            details={"format": fmt.value, "deployments": ",".join(r.deployment_id for r in rows)[:2000]},
        )
    return text
