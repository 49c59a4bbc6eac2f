"""The pages: one route per screen, each with its entry in ``api/access.ACCESS`` like every API route.

A page's gate is the API's table read for browsers: no session sends the browser to ``/login`` (303),
a role the table does not allow gets a 403 page, and the navigation shows only the pages the role may
open. Pages are not in the OpenAPI document (``PAGES`` lists them for the access test).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from openlfr.api import access
from openlfr.api.deps import SESSION_COOKIE, ContextDep
from openlfr.auth.principal import Principal
from openlfr.auth.roles import Role
from openlfr.deploy.notice import public_notices
from openlfr.errors import NotAuthenticatedError

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

NAV: tuple[tuple[str, str], ...] = (
    ("/console", "Live console"),
    ("/engagement", "Engagement"),
    ("/setup", "Deployments"),
    ("/records", "Records and audit"),
    ("/search", "Search a photo"),
    ("/account", "Password"),
)
"""The navigation, in order; each link shows only to the roles its page allows."""

HOME: dict[Role, str] = {
    Role.OPERATOR: "/console",
    Role.ENGAGEMENT: "/engagement",
    Role.SUPERVISOR: "/setup",
    Role.AUDITOR: "/records",
    Role.ADMIN: "/account",
}


class LoginNeededError(Exception):
    """No valid session: the browser goes to the login page."""


class PageDeniedError(Exception):
    """A logged-in role the page's rule does not allow."""

    def __init__(self, role: Role | None, path: str) -> None:
        super().__init__(path)
        self.role, self.path = role, path


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking at a page, and the CSRF token its scripts send with changes."""

    principal: Principal | None
    csrf: str

    @property
    def role(self) -> Role | None:
        return self.principal.role if self.principal else None


def page_gate(request: Request, ctx: ContextDep) -> Viewer:
    route = request.scope.get("route")
    path = route.path if isinstance(route, APIRoute) else request.url.path
    rule = access.rule_for(request.method, path)
    if rule is None:
        raise PageDeniedError(None, path)
    cookie = request.cookies.get(SESSION_COOKIE)
    if rule == access.PUBLIC:
        return Viewer(None, "")
    if not cookie:
        raise LoginNeededError
    try:
        principal, csrf = ctx.sessions.authenticate(cookie)
    except NotAuthenticatedError as exc:
        raise LoginNeededError from exc
    if not access.allows(rule, principal.role):
        raise PageDeniedError(principal.role, path)
    return Viewer(principal, csrf)


ViewerDep = Annotated[Viewer, Depends(page_gate)]
router = APIRouter(include_in_schema=False)


def nav_for(role: Role | None) -> list[tuple[str, str]]:
    return [(href, label) for href, label in NAV if (r := access.rule_for("GET", href)) and access.allows(r, role)]


def render(request: Request, name: str, viewer: Viewer, status: int = 200, **values: object) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        name,
        {"viewer": viewer, "nav": nav_for(viewer.role), "path": request.url.path, **values},
        status_code=status,
    )


@router.get("/", response_class=HTMLResponse)
def home(viewer: ViewerDep) -> Response:
    role = viewer.role
    return RedirectResponse(HOME.get(role, "/login") if role else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login(request: Request, viewer: ViewerDep) -> HTMLResponse:
    return render(request, "login.html", viewer, title="Log in")


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, viewer: ViewerDep) -> HTMLResponse:
    return render(request, "account.html", viewer, title="Change your password")


@router.get("/console", response_class=HTMLResponse)
def console(request: Request, viewer: ViewerDep) -> HTMLResponse:
    return render(request, "console.html", viewer, title="Live console", script="console.js")


@router.get("/engagement", response_class=HTMLResponse)
def engagement(request: Request, viewer: ViewerDep) -> HTMLResponse:
    return render(request, "engagement.html", viewer, title="Engagement", script="engagement.js")


@router.get("/setup", response_class=HTMLResponse)
def setup(request: Request, viewer: ViewerDep) -> HTMLResponse:
    return render(request, "setup.html", viewer, title="Deployments", script="setup.js")


@router.get("/records", response_class=HTMLResponse)
def records(request: Request, viewer: ViewerDep) -> HTMLResponse:
    return render(request, "records.html", viewer, title="Records and audit", script="records.js")


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, viewer: ViewerDep) -> HTMLResponse:
    return render(request, "search.html", viewer, title="Search a photo", script="search.js")


@router.get("/public", response_class=HTMLResponse)
def public(request: Request, viewer: ViewerDep, ctx: ContextDep) -> HTMLResponse:
    """The public notice (the same content as ``/public.json``)."""
    notices = public_notices(ctx.store)
    return render(request, "public.html", viewer, title="Live facial recognition: public notice", notices=notices)


PAGES: tuple[tuple[str, str], ...] = tuple(
    (method, route.path)
    for route in router.routes
    if isinstance(route, APIRoute)
    for method in sorted(route.methods or ())
)
"""Every (method, path) of the pages, for the access test (they are not in the OpenAPI document)."""


async def _login_needed(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/login", status_code=303)


async def _denied(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageDeniedError)
    nav = nav_for(exc.role)
    return render(request, "forbidden.html", Viewer(None, ""), 403, title="Not for your role", role=exc.role, nav=nav)


def install(app: FastAPI) -> None:
    """Add the pages, their static files and their two answers (to the login page; 403) to ``app``."""
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_exception_handler(LoginNeededError, _login_needed)
    app.add_exception_handler(PageDeniedError, _denied)
    app.include_router(router)
