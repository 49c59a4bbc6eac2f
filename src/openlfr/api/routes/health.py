"""``/healthz`` (the process answers), ``/readyz`` (the store answers, the chain's head is sound),
``/metrics`` (Prometheus: every running camera of every live deployment)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from openlfr.api.deps import ContextDep
from openlfr.api.schemas import Health
from openlfr.deploy.views import DeploymentStatus
from openlfr.metrics import PrometheusCollector
from openlfr.store.models import Deployment

router = APIRouter(tags=["service"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up and answering."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(ctx: ContextDep) -> Response:
    """The store answers: ready to serve requests."""
    try:
        with ctx.store.session() as s:
            live = len(list(s.scalars(select(Deployment.id).where(Deployment.status == DeploymentStatus.LIVE.value))))
    except Exception as exc:
        body = Health(status="unavailable", store=ctx.store.description, problems=[f"store: {exc}"])
        return JSONResponse(body.model_dump(), status_code=503)
    return JSONResponse(Health(status="ok", store=ctx.store.description, live_deployments=live).model_dump())


@router.get("/metrics", response_class=Response)
def metrics(ctx: ContextDep) -> Response:
    """Prometheus text format: per-camera counters, rates, latencies and states."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.exposition import CONTENT_TYPE_LATEST

    registry = CollectorRegistry()
    registry.register(PrometheusCollector(ctx.runner.snapshots))  # type: ignore[arg-type]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
