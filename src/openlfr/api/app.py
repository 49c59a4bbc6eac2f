"""The service's app, built in order: a reader sees what starts, and in what order, in ten lines.

``create_app(settings, store)`` returns the FastAPI app; its lifespan starts the alert feed and
resumes the deployments that were live, and on the way down stops every camera, closes the galleries
it held open and closes the store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from openlfr.api import errors
from openlfr.api.deps import ApiContext, authorise
from openlfr.api.feed import AlertFeed
from openlfr.api.gallery_cache import OpenGalleries
from openlfr.api.limits import RateLimiter
from openlfr.api.routes import alerts, auth, deployments, edge, galleries, health, public, records, search, users
from openlfr.auth.sessions import WebSessions
from openlfr.auth.tokens import Tokens
from openlfr.auth.users import Users
from openlfr.config import Settings
from openlfr.deploy.lifecycle import Deployments
from openlfr.deploy.runner import DeploymentRunner
from openlfr.edge.matching import EdgeMatching
from openlfr.review.alerts import Alerts
from openlfr.store.db import Store
from openlfr.web import routes as pages

VERSION = "1"
ROUTERS = (
    health.router,
    auth.router,
    users.router,
    deployments.router,
    alerts.router,
    search.router,
    galleries.router,
    records.router,
    public.router,
    edge.router,
)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}


def build_context(settings: Settings, store: Store) -> ApiContext:
    """The services the routes use, over one store."""
    api = settings.api
    deployments = Deployments(store)
    alerts = Alerts(store, separate_stages=settings.review.separate_stages)
    return ApiContext(
        settings=settings,
        store=store,
        users=Users(store, api),
        tokens=Tokens(store, api),
        sessions=WebSessions(store, api),
        deployments=deployments,
        alerts=alerts,
        runner=DeploymentRunner(store, settings),
        feed=AlertFeed(store, keepalive_s=api.sse_keepalive_s),
        limiter=RateLimiter(api.requests_per_minute, "requests"),
        login_limiter=RateLimiter(api.login_attempts_per_minute, "login attempts from this address"),
        edge=EdgeMatching(deployments, alerts, settings),
        galleries=OpenGalleries(settings.store),
    )


def create_app(settings: Settings, store: Store, *, resume: bool = True, close_store: bool = True) -> FastAPI:
    """The app over ``store``; with ``resume`` the deployments that were live start again with it."""
    ctx = build_context(settings, store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await ctx.feed.start()
        ctx.runner.listeners.append(ctx.feed.notify)
        if resume:
            await anyio.to_thread.run_sync(ctx.runner.resume)
        try:
            yield
        finally:
            await ctx.feed.stop()
            await anyio.to_thread.run_sync(ctx.runner.shutdown)
            await anyio.to_thread.run_sync(ctx.galleries.close)
            if close_store:
                store.close()

    app = FastAPI(
        title="openlfr",
        version=VERSION,
        description="Live facial recognition with its safeguards in code: deployments, alerts, adjudication, "
        "audit. Log in at /api/v1/auth/login (session cookie + X-CSRF-Token) or send 'Authorization: Bearer "
        "<token>'. Every route's roles are in openlfr.api.access.ACCESS.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads its scripts from a CDN: the van has no internet
        redoc_url=None,
    )
    app.state.ctx = ctx
    errors.install(app)
    app.middleware("http")(_limit_body(settings.api.max_upload_bytes))
    app.middleware("http")(_security_headers)
    gate = APIRouter(dependencies=[Depends(authorise)])
    for router in ROUTERS:
        gate.include_router(router)
    app.include_router(gate)
    pages.install(app)
    return app


def _limit_body(limit: int) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit + 1_000_000):
            body = errors.ErrorBody(
                error="limit_exceeded", message=f"the request body is larger than {limit} bytes", problems=[]
            )
            return JSONResponse(body.model_dump(), status_code=413)
        return await call_next(request)

    return middleware


async def _security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
