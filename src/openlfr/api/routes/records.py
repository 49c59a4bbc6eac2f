"""``/api/v1/audit`` (verify the chain, its head, entries by actor, action or deployment) and
``/api/v1/retention/purge`` and ``/api/v1/retention/floor`` (the floor an admin sets)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from openlfr.api.deps import ContextDep, PrincipalDep
from openlfr.store import audit
from openlfr.store.retention import FloorRequest, FloorView, PurgeReport, floor, purge, set_floor

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit", response_model=list[audit.AuditEntryView])
def list_audit(
    ctx: ContextDep,
    actor: Annotated[str | None, Query(max_length=128)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    deployment: Annotated[str | None, Query(max_length=64)] = None,
    last: Annotated[int, Query(ge=1, le=10_000)] = 100,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> list[audit.AuditEntryView]:
    """Audit entries, oldest first: the last ``last`` matching the filters (``before`` pages back)."""
    with ctx.store.session() as s:
        return audit.entries(s, actor=actor, action=action, deployment_id=deployment, last=last, before=before)


@router.get("/audit/verify", response_model=audit.AuditVerdict)
def verify(ctx: ContextDep) -> audit.AuditVerdict:
    """Walk the whole chain; ``first_broken`` names the first entry edited, inserted or deleted, and
    ``findings`` every protected row edited, inserted or deleted behind the program's back."""
    with ctx.store.session() as s:
        return audit.verify(s)


@router.get("/audit/head", response_model=audit.AuditVerdict)
def head(ctx: ContextDep) -> audit.AuditVerdict:
    """The chain's head (sequence number and hash): publish it elsewhere and compare later."""
    with ctx.store.session() as s:
        return audit.verify(s)


@router.post("/retention/purge", response_model=PurgeReport)
def retention_purge(who: PrincipalDep, ctx: ContextDep) -> PurgeReport:
    """Delete alert images and data past their retention (legal holds kept); the counts stay."""
    return purge(ctx.store, datetime.now(UTC), who.actor, ctx.settings.store.retention)


@router.get("/retention/floor", response_model=FloorView)
def retention_floor(ctx: ContextDep) -> FloorView:
    """The fewest days alert data is kept (None: no floor set), who set it and when."""
    return floor(ctx.store)


@router.post("/retention/floor", response_model=FloorView)
def set_retention_floor(body: FloorRequest, who: PrincipalDep, ctx: ContextDep) -> FloorView:
    """Set the floor (admin only; audited): a purge or a run with shorter periods is refused."""
    return set_floor(ctx.store, body, who.actor)
