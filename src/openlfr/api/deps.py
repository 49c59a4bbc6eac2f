"""Typed dependencies: a route reads as its signature (``ctx: ContextDep, who: PrincipalDep``).

``authorise`` runs on every route of the app (it is the router's dependency): it finds the route's
rule in ``access.ACCESS`` (none: refused), establishes the principal from the bearer token or the
session cookie (a cookie-authenticated request that changes state must carry the session's CSRF
token and come from the service's own origin), applies the per-principal rate limit, and checks the
role. Routes then take the principal from ``PrincipalDep``: the actor of every audit entry.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.routing import APIRoute

from openlfr.analysis import FaceAnalyzer
from openlfr.api import access
from openlfr.api.feed import AlertFeed
from openlfr.api.gallery_cache import OpenGalleries
from openlfr.api.limits import RateLimiter
from openlfr.auth.principal import Principal
from openlfr.auth.sessions import WebSessions
from openlfr.auth.tokens import Tokens
from openlfr.auth.users import Users
from openlfr.config import Settings
from openlfr.deploy.lifecycle import Deployments
from openlfr.deploy.runner import DeploymentRunner
from openlfr.edge.matching import EdgeMatching
from openlfr.errors import CsrfError, NotAuthenticatedError, PermissionDeniedError
from openlfr.review.alerts import Alerts
from openlfr.store.db import Store

SESSION_COOKIE = "lfr_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(slots=True)
class ApiContext:
    """What the app holds for its lifetime: the store, the settings and the services over them."""

    settings: Settings
    store: Store
    users: Users
    tokens: Tokens
    sessions: WebSessions
    deployments: Deployments
    alerts: Alerts
    runner: DeploymentRunner
    feed: AlertFeed
    limiter: RateLimiter
    login_limiter: RateLimiter
    edge: EdgeMatching
    galleries: OpenGalleries
    _analyzer: FaceAnalyzer | None = None

    def analyzer(self) -> FaceAnalyzer:
        """The face analyser for uploads and searches (its models load on first use)."""
        if self._analyzer is None:
            self._analyzer = FaceAnalyzer(self.settings)
        return self._analyzer


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[ApiContext, Depends(context)]


def authorise(request: Request, ctx: ContextDep) -> None:
    """The gate in front of every route (see the module docstring)."""
    route = request.scope.get("route")
    path = route.path if isinstance(route, APIRoute) else request.url.path
    rule = access.rule_for(request.method, path)
    if rule is None:
        raise PermissionDeniedError(f"{request.method} {path} is not in the access table: refused by default")
    if rule == access.PUBLIC:
        return
    principal = _authenticate(request, ctx)
    ctx.limiter.take(principal.actor)
    if not access.allows(rule, principal.role):
        role = principal.role.value if principal.role else "none"
        raise PermissionDeniedError(f"the {role} role may not call {request.method} {path}")
    request.state.principal = principal


def _authenticate(request: Request, ctx: ContextDep) -> Principal:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise NotAuthenticatedError("the Authorization header must be 'Bearer <token>'")
        return ctx.tokens.authenticate(secret.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise NotAuthenticatedError("log in first (POST /api/v1/auth/login) or send an API token")
    principal, csrf = ctx.sessions.authenticate(cookie)
    if request.method not in _SAFE_METHODS:
        check_origin(request, ctx.settings)
        if not hmac.compare_digest(csrf.encode(), request.headers.get(CSRF_HEADER, "").encode()):
            raise CsrfError(f"a change made with a session cookie needs the {CSRF_HEADER} header from the login")
    return principal


def check_origin(request: Request, settings: Settings) -> None:
    """Refuse a browser request whose Origin (or Referer) is not the service's own."""
    origin = request.headers.get("origin") or _referer_origin(request.headers.get("referer"))
    if origin is None:
        return  # not sent by a browser page (browsers send Origin on every cross-origin POST)
    own = settings.api.public_origin or f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin.rstrip("/").lower() != own.rstrip("/").lower():
        raise CsrfError(f"requests from {origin} are refused: this service only accepts its own origin ({own})")


def _referer_origin(referer: str | None) -> str | None:
    if not referer:
        return None
    scheme, sep, rest = referer.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if sep else None


def principal(request: Request) -> Principal:
    found: Principal | None = getattr(request.state, "principal", None)
    if found is None:  # a route whose rule is PUBLIC asked for a principal: a programming error
        raise NotAuthenticatedError("this route needs a logged-in principal")
    return found


PrincipalDep = Annotated[Principal, Depends(principal)]
