"""``/api/v1/alerts``: list with filters, show (audited) with both images, adjudicate each stage,
legal holds; and the live alert stream of a deployment (Server-Sent Events)."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse

from openlfr.api.deps import ContextDep, PrincipalDep
from openlfr.api.schemas import AdjudicationRequest, AlertDetailOut, HoldRequest
from openlfr.auth.roles import Role
from openlfr.errors import AlertNotFoundError, PermissionDeniedError
from openlfr.review.adjudication import AdjudicationEvent, AlertStatus, Stage
from openlfr.review.alerts import AlertSummary, HoldView

router = APIRouter(prefix="/api/v1", tags=["alerts"])

STAGE_ROLE = {Stage.OPERATOR: Role.OPERATOR, Stage.ENGAGEMENT: Role.ENGAGEMENT, Stage.OUTCOME: Role.ENGAGEMENT}
"""Who records each stage: the operator the first, the engagement officer the second and the outcome."""


@router.get("/alerts", response_model=list[AlertSummary])
def list_alerts(
    ctx: ContextDep,
    deployment: str | None = None,
    status: AlertStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[AlertSummary]:
    """Alerts, oldest first, filtered by deployment and adjudication status."""
    return ctx.alerts.list_alerts(deployment, status, limit)


@router.get("/alerts/{alert_id}", response_model=AlertDetailOut)
def show_alert(alert_id: str, who: PrincipalDep, ctx: ContextDep) -> AlertDetailOut:
    """The alert with its events and holds (the viewing is audited); images at ``probe.jpg`` and
    ``watchlist.jpg``."""
    return AlertDetailOut.of(ctx.alerts.show(alert_id, who.actor))


@router.get("/alerts/{alert_id}/probe.jpg", response_class=Response)
def probe_image(alert_id: str, who: PrincipalDep, ctx: ContextDep) -> Response:
    """The camera's face (JPEG; 404 once purged). Audited."""
    detail = ctx.alerts.show(alert_id, who.actor)
    return _jpeg(detail.probe_jpeg, alert_id)


@router.get("/alerts/{alert_id}/watchlist.jpg", response_class=Response)
def watchlist_image(alert_id: str, who: PrincipalDep, ctx: ContextDep) -> Response:
    """The watchlist's face (JPEG; 404 once purged). Audited."""
    detail = ctx.alerts.show(alert_id, who.actor)
    return _jpeg(detail.watchlist_jpeg, alert_id)


def _jpeg(data: bytes | None, alert_id: str) -> Response:
    if data is None:
        raise AlertNotFoundError(f"alert {alert_id} has no such image (purged, or never had one)")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/alerts/{alert_id}/adjudications", response_model=AdjudicationEvent, status_code=201)
def adjudicate(alert_id: str, body: AdjudicationRequest, who: PrincipalDep, ctx: ContextDep) -> AdjudicationEvent:
    """Record one stage's decision (operator: match, no_match, cannot_tell; engagement:
    engaged_confirmed_true, engaged_confirmed_false, not_engaged; outcome: arrest, other_action, none)."""
    if who.role is not STAGE_ROLE[body.stage]:
        raise PermissionDeniedError(
            f"the {body.stage.value} stage is recorded by the {STAGE_ROLE[body.stage].value} role"
        )
    return ctx.alerts.adjudicate(
        alert_id, body.stage, body.decision, who.actor, note=body.note, supersedes=body.supersedes
    )


@router.post("/alerts/{alert_id}/holds", response_model=HoldView, status_code=201)
def place_hold(alert_id: str, body: HoldRequest, who: PrincipalDep, ctx: ContextDep) -> HoldView:
    """Keep the alert past its retention for a named case."""
    return ctx.alerts.place_hold(alert_id, body.case_ref, who.actor)


@router.post("/alerts/{alert_id}/holds/release", response_model=HoldView)
def release_hold(alert_id: str, body: HoldRequest, who: PrincipalDep, ctx: ContextDep) -> HoldView:
    """Release the hold of a case; the next purge deletes what has passed its time."""
    return ctx.alerts.release_hold(alert_id, body.case_ref, who.actor)


@router.get(
    "/deployments/{deployment_id}/alerts/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream(
    deployment_id: str,
    ctx: ContextDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """The deployment's alerts as they are stored (``text/event-stream``; each event's id is its
    position in the audit chain: reconnect with ``Last-Event-ID`` to get every alert missed)."""
    await anyio.to_thread.run_sync(ctx.deployments.get, deployment_id)  # 404 for an unknown deployment
    after = int(last_event_id) if last_event_id and last_event_id.strip().isdigit() else None
    return StreamingResponse(
        ctx.feed.stream(deployment_id, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
