"""The deployment lifecycle: draft -> authorised -> live -> ended -> closed, with its safeguards in code.

- A deployment is created as a draft: where (location, coordinates), why (purpose, legal basis),
  when (planned start and end), with which cameras, and by whom.
- Its watchlist is imported into it (``set_watchlist``) and its threshold set (``set_threshold``:
  from the watchlist's calibration, or by hand with a written justification). Either change to an
  authorised deployment sends it back to draft: what was authorised is no longer what would run.
- An authorising officer, who is not its creator, authorises it.
- ``start`` puts it live only when it is authorised, has a threshold, cameras, and a watchlist whose
  every entry has a category, reason, image source and unexpired expiry (and a child's entry a
  justification); otherwise one error names every entry and what it lacks.
- ``end`` destroys the watchlist's templates and faces (the entries' ids, categories and reasons stay
  for the record); ``close`` makes the record final.

Every action is recorded in the audit chain in the same transaction as the change it records.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.config import CameraConfig
from openlfr.errors import (
    DeploymentError,
    DeploymentNotFoundError,
    DeploymentNotReadyError,
    DeploymentStateError,
    SeparationOfDutiesError,
)
from openlfr.match.watchlist import Calibration, Watchlist
from openlfr.status import DeploymentStatus
from openlfr.store import audit
from openlfr.store.audit import AuditAction
from openlfr.store.db import Store, checkpoint
from openlfr.store.models import Deployment, DeploymentCamera
from openlfr.store.times import as_utc
from openlfr.text import same_name

from . import watchlists
from .requests import DeploymentCreate, ThresholdRequest
from .views import DeploymentView, deployment_view

MIN_JUSTIFICATION = 20
"""The fewest characters a hand-set threshold's justification may have."""

S = DeploymentStatus
_NEXT_STEP = {
    S.DRAFT: "it needs authorisation by an authorising officer ('lfr deployment authorise')",
    S.AUTHORISED: "it is authorised and can be started ('lfr deployment start')",
    S.LIVE: "it is live; end it first ('lfr deployment end')",
    S.ENDED: "it has ended; its watchlist is destroyed and only 'close' remains",
    S.CLOSED: "it is closed; nothing about it can change",
}


def _now() -> datetime:
    return datetime.now(UTC)


class Deployments:
    """The deployment service over a ``Store``; ``clock`` gives the time of each action (UTC)."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = _now) -> None:
        self.store = store
        self.clock = clock

    # -- reading ------------------------------------------------------------------------------------

    def get(self, deployment_id: str) -> DeploymentView:
        with self.store.session() as s:
            return deployment_view(_load(s, deployment_id))

    def list_deployments(self, status: DeploymentStatus | None = None) -> list[DeploymentView]:
        with self.store.session() as s:
            query = select(Deployment).order_by(Deployment.planned_start, Deployment.id)
            if status is not None:
                query = query.where(Deployment.status == status.value)
            return [deployment_view(d) for d in s.scalars(query)]

    def problems(self, deployment_id: str) -> list[str]:
        """What keeps the deployment from going live, besides authorisation (empty when ready)."""
        with self.store.session() as s:
            return watchlists.readiness_problems(_load(s, deployment_id), self.clock())

    def watchlist(self, deployment_id: str) -> Watchlist:
        """The live deployment's watchlist, decrypted into memory, with the deployment's threshold."""
        with self.store.session() as s:
            dep = _load(s, deployment_id)
            _require(dep, {S.LIVE}, "have its watchlist loaded for a live run")
            return watchlists.rebuild(self.store.cipher, dep)

    # -- changing -------------------------------------------------------------------------------------

    def create(
        self,
        *,
        name: str,
        location_name: str,
        purpose: str,
        legal_basis: str,
        planned_start: datetime,
        planned_end: datetime,
        cameras: Sequence[CameraConfig],
        created_by: str,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> DeploymentView:
        """A new draft deployment."""
        for field, value in (("name", name), ("location", location_name), ("purpose", purpose)):
            if not value.strip():
                raise DeploymentError(f"a deployment needs a {field}")
        if not legal_basis.strip():
            raise DeploymentError("a deployment needs its legal basis (the powers and policy it relies on)")
        start, end = _aware(planned_start, "planned start"), _aware(planned_end, "planned end")
        if end <= start:
            raise DeploymentError(f"the planned end ({end:%Y-%m-%d %H:%M}) must come after its start")
        _check_coordinates(latitude, longitude)
        if not cameras:
            raise DeploymentError("a deployment needs at least one camera")
        ids = [c.id for c in cameras]
        if len(set(ids)) != len(ids):
            raise DeploymentError(f"camera ids must be unique within a deployment, got {', '.join(ids)}")
        now = self.clock()
        dep_id = f"{start:%Y%m%d}-{secrets.token_hex(3)}"
        with self.store.session() as s:
            dep = Deployment(
                id=dep_id,
                name=name.strip(),
                status=S.DRAFT.value,
                location_name=location_name.strip(),
                latitude=latitude,
                longitude=longitude,
                purpose=purpose.strip(),
                legal_basis=legal_basis.strip(),
                planned_start=start,
                planned_end=end,
                created_by=created_by,
                created_at=now,
            )
            for position, cam in enumerate(cameras):
                dep.cameras.append(
                    DeploymentCamera(position=position, camera_id=cam.id, config_json=cam.model_dump_json())
                )
            s.add(dep)
            s.flush()
            audit.record(
                s,
                created_by,
                AuditAction.DEPLOYMENT_CREATED,
                deployment_id=dep_id,
                details={"location": dep.location_name, "cameras": len(cameras)},
                at=now,
            )
            return deployment_view(dep)

    def create_from(self, request: DeploymentCreate, created_by: str) -> DeploymentView:
        """``create`` from the request the API and the CLI both build."""
        fields = request.model_dump(exclude={"cameras"})
        return self.create(**fields, cameras=request.cameras, created_by=created_by)

    def set_threshold_from(self, deployment_id: str, request: ThresholdRequest, actor: str) -> DeploymentView:
        """``set_threshold`` from the request the API and the CLI both build."""
        return self.set_threshold(deployment_id, actor, value=request.value, justification=request.justification)

    def set_watchlist(
        self, deployment_id: str, watchlist: Watchlist, actor: str, under_18: Mapping[str, str] | None = None
    ) -> DeploymentView:
        """Import ``watchlist`` as the deployment's own (replacing any before). ``under_18`` maps the
        subject id of each person under 18 to the justification for including them ('' if none yet:
        the deployment then cannot start)."""
        with self._changing(deployment_id, actor, "have its watchlist changed") as (s, dep, now):
            entries, templates = watchlists.import_watchlist(
                s, self.store.cipher, dep, watchlist, actor, under_18 or {}, now
            )
            stale = dep.threshold_source == "calibrated"
            if stale:  # a calibration holds for the watchlist it was measured on
                dep.threshold = dep.threshold_source = dep.calibration_json = dep.threshold_justification = None
            audit.record(
                s,
                actor,
                AuditAction.WATCHLIST_CHANGED,
                deployment_id=dep.id,
                target=watchlist.name,
                details={
                    "entries": entries,
                    "templates": templates,
                    "under_18": len(under_18 or {}),
                    "threshold_cleared": stale,
                },
                at=now,
            )
            return deployment_view(dep)

    def set_threshold(
        self, deployment_id: str, actor: str, *, value: float | None = None, justification: str = ""
    ) -> DeploymentView:
        """With no ``value``: the threshold its watchlist was calibrated to (at its size). With a
        ``value``: a hand-set threshold, which needs a written justification."""
        with self._changing(deployment_id, actor, "have its threshold set") as (s, dep, now):
            if value is None:
                cal = _calibration(dep)
                dep.threshold, dep.threshold_source = cal.threshold, "calibrated"
                dep.calibration_json, dep.threshold_justification = cal.model_dump_json(), None
            else:
                if not 0.0 <= value <= 1.0:
                    raise DeploymentError(f"a threshold is a similarity in [0, 1], got {value}")
                why = justification.strip()
                if len(why) < MIN_JUSTIFICATION:
                    raise DeploymentError(
                        f"a threshold set by hand needs a written justification of at least {MIN_JUSTIFICATION} "
                        f"characters (got {len(why)}); or use the watchlist's calibrated threshold"
                    )
                dep.threshold, dep.threshold_source = value, "manual"
                dep.calibration_json, dep.threshold_justification = None, why
            audit.record(
                s,
                actor,
                AuditAction.THRESHOLD_SET,
                deployment_id=dep.id,
                details={"threshold": dep.threshold, "source": dep.threshold_source},
                at=now,
            )
            return deployment_view(dep)

    def authorise(self, deployment_id: str, actor: str) -> DeploymentView:
        """The authorising officer's approval: draft -> authorised. The officer cannot be its creator."""
        with self._transition(deployment_id, {S.DRAFT}, "be authorised") as (s, dep, now):
            if same_name(actor, dep.created_by):
                raise SeparationOfDutiesError(
                    f"deployment {dep.id} was created by {actor}; it must be authorised by another officer"
                )
            dep.status, dep.authorised_by, dep.authorised_at = S.AUTHORISED.value, actor, now
            audit.record(s, actor, AuditAction.DEPLOYMENT_AUTHORISED, deployment_id=dep.id, at=now)
            return deployment_view(dep)

    def start(self, deployment_id: str, actor: str) -> DeploymentView:
        """authorised -> live, when nothing it needs is missing."""
        with self._transition(deployment_id, {S.AUTHORISED}, "go live") as (s, dep, now):
            found = watchlists.readiness_problems(dep, now)
            if found:
                raise DeploymentNotReadyError(f"deployment {dep.id} cannot go live: {'; '.join(found)}", problems=found)
            dep.status, dep.started_at = S.LIVE.value, now
            audit.record(
                s,
                actor,
                AuditAction.DEPLOYMENT_STARTED,
                deployment_id=dep.id,
                details={"threshold": dep.threshold, "entries": len(dep.entries)},
                at=now,
            )
            return deployment_view(dep)

    def end(self, deployment_id: str, actor: str) -> DeploymentView:
        """-> ended, destroying the watchlist's templates and faces. A draft or authorised deployment
        that will not run is ended the same way (its watchlist must not outlive it either)."""
        with self._transition(deployment_id, {S.DRAFT, S.AUTHORISED, S.LIVE}, "end") as (s, dep, now):
            was = dep.status
            dep.status, dep.ended_at = S.ENDED.value, now
            kept, deleted = watchlists.destroy(s, dep, now)
            audit.record(s, actor, AuditAction.DEPLOYMENT_ENDED, deployment_id=dep.id, details={"was": was}, at=now)
            audit.record(
                s,
                actor,
                AuditAction.WATCHLIST_DESTROYED,
                deployment_id=dep.id,
                details={"entries_kept": kept, "templates_deleted": deleted},
                at=now,
            )
            view = deployment_view(dep)
        checkpoint(self.store)  # SQLite: the deleted templates leave the write-ahead log too
        return view

    def close(self, deployment_id: str, actor: str) -> DeploymentView:
        """ended -> closed: the record is final."""
        with self._transition(deployment_id, {S.ENDED}, "be closed") as (s, dep, now):
            dep.status, dep.closed_at = S.CLOSED.value, now
            audit.record(s, actor, AuditAction.DEPLOYMENT_CLOSED, deployment_id=dep.id, at=now)
            return deployment_view(dep)

    def publish(self, deployment_id: str, actor: str, published: bool = True) -> DeploymentView:
        """Mark a deployment for the public notice (or withdraw it): its place, times, purpose, legal
        basis, watchlist size and, once ended, its published record; never anything about a person."""
        with self.store.session() as s:
            dep = _load(s, deployment_id, lock=True)
            now = self.clock()
            dep.published = published
            dep.published_by, dep.published_at = (actor, now) if published else (None, None)
            audit.record(
                s,
                actor,
                AuditAction.DEPLOYMENT_PUBLISHED,
                deployment_id=dep.id,
                details={"published": published},
                at=now,
            )
            return deployment_view(dep)

    # -- helpers ------------------------------------------------------------------------------------

    @contextmanager
    def _transition(
        self, deployment_id: str, allowed: set[DeploymentStatus], action: str
    ) -> Iterator[tuple[Session, Deployment, datetime]]:
        with self.store.session() as s:
            dep = _load(s, deployment_id, lock=True)
            _require(dep, allowed, action)
            yield s, dep, self.clock()

    @contextmanager
    def _changing(self, deployment_id: str, actor: str, action: str) -> Iterator[tuple[Session, Deployment, datetime]]:
        """A change to the watchlist or threshold: only before going live, and it voids an authorisation."""
        with self._transition(deployment_id, {S.DRAFT, S.AUTHORISED}, action) as (s, dep, now):
            if dep.status == S.AUTHORISED.value:  # rolled back with the change if the change fails
                dep.status, dep.authorised_by, dep.authorised_at = S.DRAFT.value, None, None
                audit.record(
                    s,
                    actor,
                    AuditAction.CONFIG_CHANGED,
                    deployment_id=dep.id,
                    details={"authorisation": "withdrawn: changed after authorisation, re-authorisation needed"},
                    at=now,
                )
            yield s, dep, now


def _load(session: Session, deployment_id: str, lock: bool = False) -> Deployment:
    dep = session.get(Deployment, deployment_id, with_for_update=lock)
    if dep is None:
        raise DeploymentNotFoundError(f"no deployment '{deployment_id}' ('lfr deployment list' shows them)")
    return dep


def _require(dep: Deployment, allowed: set[DeploymentStatus], action: str) -> None:
    status = DeploymentStatus(dep.status)
    if status not in allowed:
        wanted = " or ".join(sorted(s.value for s in allowed))
        raise DeploymentStateError(
            f"deployment {dep.id} is {status.value} and cannot {action} (only when {wanted}); {_NEXT_STEP[status]}"
        )


def _calibration(dep: Deployment) -> Calibration:
    if dep.watchlist_manifest_json is None:
        raise DeploymentError(f"deployment {dep.id} has no watchlist to take a calibrated threshold from")
    raw = json.loads(dep.watchlist_manifest_json).get("calibration")
    cal = None if raw is None else Calibration.model_validate(raw)
    if cal is None:
        raise DeploymentError(
            f"watchlist '{dep.watchlist_name}' was not calibrated ('lfr watchlist calibrate'); calibrate it and "
            "import it again, or set a threshold by hand with a justification"
        )
    size = len([e for e in dep.entries if e.removed_at is None])
    if cal.subjects != size:
        raise DeploymentError(
            f"watchlist '{dep.watchlist_name}' was calibrated at {cal.subjects} subjects but has {size}: "
            "calibrate it again at its real size"
        )
    return cal


def _aware(at: datetime, what: str) -> datetime:
    if at.tzinfo is None:
        raise DeploymentError(f"the {what} needs a time zone (e.g. 2025-06-01T09:00+01:00)")
    return as_utc(at)


def _check_coordinates(lat: float | None, lon: float | None) -> None:
    if (lat is None) != (lon is None):
        raise DeploymentError("give both latitude and longitude, or neither")
    if lat is not None and lon is not None and not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise DeploymentError(f"coordinates out of range: latitude {lat}, longitude {lon}")
