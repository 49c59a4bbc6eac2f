"""Every route against every role, no login, and an expired and a revoked token: 401 and 403
exactly where ``api/access.ACCESS`` says, and through the gate where it allows.

A route added without an entry in the table fails ``test_every_route_has_an_entry`` (and is refused
at run time). Allowed GETs must answer 2xx with real ids; allowed POSTs are sent with an empty body
or an unknown id, so that they pass the gate without changing anything (a 404 or 422 then proves
the gate let them through: anything but 401/403, and never a 5xx).

The web app's pages (``openlfr.web.routes.PAGES``, not in the OpenAPI document) are in the same
table and the same walk, read for a browser: without a session a page sends the browser to the
login page (303), a role the table does not allow gets a 403 page, an allowed one the page (200;
``/`` redirects to the role's own page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Route

from deploying import live_deployment
from openlfr.analysis import FaceAnalyzer
from openlfr.api import access
from openlfr.auth.roles import HUMAN_ROLES, Role
from openlfr.auth.tokens import Tokens
from openlfr.config import CameraConfig
from openlfr.match.watchlist import Watchlist
from openlfr.review.alerts import Alerts
from openlfr.web.routes import PAGES
from reviewing import make_alert
from serving import ServedApp

ANONYMOUS, EXPIRED, REVOKED = "anonymous", "expired token", "revoked token"

# Who may call what, as reviewed: a change to api/access.ACCESS must be made here too, on purpose.
PINNED: dict[str, str] = {
    "GET /healthz": "public",
    "GET /readyz": "public",
    "GET /metrics": "public",
    "GET /openapi.json": "public",
    "GET /public.json": "public",
    "POST /api/v1/auth/login": "public",
    "POST /api/v1/auth/logout": "public",
    "GET /api/v1/auth/me": "any",
    "POST /api/v1/auth/password": "admin auditor engagement operator supervisor",
    "GET /api/v1/users": "admin",
    "POST /api/v1/users": "admin",
    "POST /api/v1/users/{username}/disable": "admin",
    "POST /api/v1/users/{username}/enable": "admin",
    "POST /api/v1/users/{username}/password": "admin",
    "GET /api/v1/tokens": "admin",
    "POST /api/v1/tokens": "admin",
    "POST /api/v1/tokens/{name}/revoke": "admin",
    "GET /api/v1/deployments": "auditor engagement operator supervisor",
    "POST /api/v1/deployments": "supervisor",
    "GET /api/v1/deployments/{deployment_id}": "auditor engagement operator supervisor",
    "GET /api/v1/deployments/{deployment_id}/cameras": "auditor engagement operator supervisor",
    "POST /api/v1/deployments/{deployment_id}/watchlist": "supervisor",
    "POST /api/v1/deployments/{deployment_id}/threshold": "supervisor",
    "POST /api/v1/deployments/{deployment_id}/authorise": "supervisor",
    "POST /api/v1/deployments/{deployment_id}/start": "supervisor",
    "POST /api/v1/deployments/{deployment_id}/end": "supervisor",
    "POST /api/v1/deployments/{deployment_id}/close": "supervisor",
    "POST /api/v1/deployments/{deployment_id}/publish": "supervisor",
    "GET /api/v1/deployments/{deployment_id}/report": "auditor supervisor",
    "GET /api/v1/records": "auditor supervisor",
    "GET /api/v1/alerts": "auditor engagement operator supervisor",
    "GET /api/v1/alerts/{alert_id}": "auditor engagement operator supervisor",
    "GET /api/v1/alerts/{alert_id}/probe.jpg": "auditor engagement operator supervisor",
    "GET /api/v1/alerts/{alert_id}/watchlist.jpg": "auditor engagement operator supervisor",
    "POST /api/v1/alerts/{alert_id}/adjudications": "engagement operator",
    "POST /api/v1/alerts/{alert_id}/holds": "supervisor",
    "POST /api/v1/alerts/{alert_id}/holds/release": "supervisor",
    "GET /api/v1/deployments/{deployment_id}/alerts/stream": "engagement operator supervisor",
    "POST /api/v1/search": "operator supervisor",
    "GET /api/v1/galleries": "auditor operator supervisor",
    "POST /api/v1/galleries/{gallery}/search": "operator supervisor",
    "POST /api/v1/deployments/{deployment_id}/templates": "device",
    "POST /api/v1/deployments/{deployment_id}/hits/{hit_id}/crop": "device",
    "GET /api/v1/audit": "admin auditor",
    "GET /api/v1/audit/verify": "admin auditor",
    "GET /api/v1/audit/head": "admin auditor",
    "POST /api/v1/retention/purge": "admin",
    "GET /api/v1/retention/floor": "admin auditor",
    "POST /api/v1/retention/floor": "admin",
    "GET /": "any",
    "GET /login": "public",
    "GET /public": "public",
    "GET /account": "admin auditor engagement operator supervisor",
    "GET /console": "operator supervisor",
    "GET /engagement": "engagement",
    "GET /setup": "supervisor",
    "GET /records": "auditor",
    "GET /search": "operator supervisor",
}


def test_the_access_table_is_the_reviewed_one() -> None:
    def spelled(rule: access.Rule) -> str:
        return rule if isinstance(rule, str) else " ".join(sorted(r.value for r in rule))

    assert {f"{m} {p}": spelled(rule) for (m, p), rule in access.ACCESS.items()} == PINNED
    device = {f"{m} {p}" for (m, p), r in access.ACCESS.items() if isinstance(r, frozenset) and Role.DEVICE in r}
    assert device == {
        "POST /api/v1/deployments/{deployment_id}/templates",
        "POST /api/v1/deployments/{deployment_id}/hits/{hit_id}/crop",
    }, "device tokens submit templates and the crops of hits, and do nothing else"
    assert all(
        r == frozenset({Role.DEVICE}) for (m, p), r in access.ACCESS.items() if p.endswith(("/templates", "/crop"))
    )
    assert all(
        Role.ADMIN not in r for (m, p), r in access.ACCESS.items() if "adjudications" in p and not isinstance(r, str)
    ), "an admin never adjudicates"


def app_routes(served: ServedApp) -> list[tuple[str, str]]:
    """Every (method, path) the app serves: its OpenAPI document's operations (FastAPI includes routers
    lazily, so ``app.routes`` does not list them), and the app's own routes outside it."""
    app = served.server.config.app
    assert isinstance(app, FastAPI)
    found = {(m.upper(), path) for path, ops in app.openapi()["paths"].items() for m in ops}
    for route in app.routes:
        if isinstance(route, Route):
            found |= {(m, route.path) for m in route.methods or () if m != "HEAD"}
    return sorted(found | set(PAGES))


@dataclass
class World:
    deployment_id: str
    alert_id: str
    clients: dict[str, httpx.Client]
    csrf: dict[str, str]


@pytest.fixture
def world(served_sqlite: ServedApp, analyzer: FaceAnalyzer, demo: Path, demo_watchlist: Watchlist) -> World:
    served = served_sqlite
    camera = CameraConfig(id="cam-1", source=str(demo / "video" / "walkthrough.mp4"))
    dep = live_deployment(served.store, demo_watchlist, [camera])
    alert = make_alert(analyzer, demo, demo_watchlist)
    Alerts(served.store).store_alert(dep.id, alert)
    clients: dict[str, httpx.Client] = {}
    csrf: dict[str, str] = {}
    for role in sorted(HUMAN_ROLES):
        name = served.add_user(f"user-{role.value}", role)
        client = served.client(name)
        clients[role.value], csrf[role.value] = client.http, client.csrf or ""
    tokens = Tokens(served.store, served.settings.api)
    _, device = tokens.create("cam-box", Role.DEVICE, "local:test", days=1, deployment_id=dep.id)
    _, revoked = tokens.create("old-box", Role.SUPERVISOR, "local:test", days=1)
    tokens.revoke("old-box", "local:test")
    past = Tokens(served.store, served.settings.api, clock=lambda: datetime.now(UTC) - timedelta(days=3))
    _, expired = past.create("stale-box", Role.SUPERVISOR, "local:test", days=1)
    for who, secret in ((Role.DEVICE.value, device), (REVOKED, revoked), (EXPIRED, expired)):
        clients[who] = httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {secret}"}, timeout=60)
    clients[ANONYMOUS] = httpx.Client(base_url=served.url, timeout=60)
    return World(dep.id, alert.alert_id, clients, csrf)


def test_every_route_has_an_entry_and_every_entry_a_route(served_sqlite: ServedApp) -> None:
    routes = set(app_routes(served_sqlite))
    missing = sorted(r for r in routes if access.rule_for(*r) is None)
    assert not missing, f"routes without an entry in api/access.ACCESS (refused by default): {missing}"
    stale = sorted(set(access.ACCESS) - routes)
    assert not stale, f"entries in api/access.ACCESS with no route: {stale}"


def _path(template: str, w: World, real: bool) -> str:
    dep, alert = (w.deployment_id, w.alert_id) if real else ("no-such-deployment", "no-such-alert")
    if "{hit_id}" in template:  # a device token reaches only its own deployment: an unknown hit there (404)
        dep = w.deployment_id
    return (
        template.replace("{hit_id}", "no-such-hit")
        .replace("{deployment_id}", dep)
        .replace("{alert_id}", alert)
        .replace("{username}", "user-operator" if real else "no-such-user")
        .replace("{name}", "no-such-token")
        .replace("{gallery}", "no-such-gallery")
    )


def _call(client: httpx.Client, method: str, path: str, csrf: str | None) -> int:
    if path.endswith("/alerts/stream"):
        with client.stream("GET", path, timeout=30) as r:
            return r.status_code
    if method == "GET":
        return client.get(path).status_code
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return client.post(path, json={}, headers=headers).status_code


def test_route_role_matrix(served_sqlite: ServedApp, world: World) -> None:
    failures = []
    checked = 0
    for method, template in app_routes(served_sqlite):
        rule = access.rule_for(method, template)
        assert rule is not None
        if template == "/api/v1/auth/logout":
            continue  # it would end the sessions the matrix uses; its rule (public) is checked below
        for who, client in world.clients.items():
            role = Role(who) if who in Role._value2member_map_ else None
            path = _path(template, world, real=method == "GET")
            status = _call(client, method, path, world.csrf.get(who))
            checked += 1
            if (method, template) in PAGES:
                ok = status == _page_status(template, rule, role, has_session=who in world.csrf)
            elif rule == access.PUBLIC:
                ok = status not in (401, 403) and status < 500
            elif role is None:  # no login, an expired or a revoked token
                ok = status == 401
            elif not access.allows(rule, role):
                ok = status == 403
            elif method == "GET":
                ok = 200 <= status < 300
            else:
                ok = status not in (401, 403) and status < 500
            if not ok:
                failures.append(f"{method} {template} as {who}: {status}")
    assert checked > 300
    assert not failures, "\n".join(failures)


def _page_status(template: str, rule: access.Rule, role: Role | None, has_session: bool) -> int:
    """What a browser gets from a page: the login page without a session, 403 for a role not allowed."""
    if rule == access.PUBLIC:
        return 200
    if not has_session:
        return 303
    if not access.allows(rule, role):
        return 403
    return 303 if template == "/" else 200


def test_pages_are_in_the_walk_and_answer_a_browser(served_sqlite: ServedApp) -> None:
    assert ("GET", "/console") in app_routes(served_sqlite)
    anonymous = served_sqlite.client()
    r = anonymous.get("/records")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    served_sqlite.add_user("op.smith", Role.OPERATOR)
    op = served_sqlite.client("op.smith")
    r = op.get("/records")
    assert r.status_code == 403 and "text/html" in r.headers["content-type"]
    assert 'href="/records"' not in r.text and 'href="/console"' in r.text
    r = op.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/console"


def test_logout_is_open_and_ends_the_session(served_sqlite: ServedApp) -> None:
    served_sqlite.add_user("op.smith", Role.OPERATOR)
    c = served_sqlite.client("op.smith")
    assert c.get("/api/v1/auth/me").status_code == 200
    assert c.post("/api/v1/auth/logout").status_code == 204
    assert c.get("/api/v1/auth/me").status_code == 401
    assert served_sqlite.client().post("/api/v1/auth/logout").status_code == 204
