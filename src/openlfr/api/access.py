"""Who may call which route: one table, deny by default.

Every route of the app must have an entry here; a request to a route without one is refused (403),
and ``tests/api/test_access.py`` walks every route against every role (and no login, an expired
and a revoked token) so that a new route without an entry fails the build.
"""

from __future__ import annotations

from openlfr.auth.roles import Role

PUBLIC = "public"
"""Open without a session or token (login, health, metrics, the OpenAPI document)."""
ANY = "any"
"""Any authenticated principal, whatever its role."""

A, S, OP, E, U, D = Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR, Role.ENGAGEMENT, Role.AUDITOR, Role.DEVICE
_READERS = frozenset({S, OP, E, U})
"""Who may read deployments and alerts: the people who run and check a deployment (not admin, not devices)."""

Rule = frozenset[Role] | str

ACCESS: dict[tuple[str, str], Rule] = {
    # service
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/public.json"): PUBLIC,
    # auth
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): PUBLIC,
    ("GET", "/api/v1/auth/me"): ANY,
    ("POST", "/api/v1/auth/password"): frozenset({A, S, OP, E, U}),
    # users and tokens
    ("GET", "/api/v1/users"): frozenset({A}),
    ("POST", "/api/v1/users"): frozenset({A}),
    ("POST", "/api/v1/users/{username}/disable"): frozenset({A}),
    ("POST", "/api/v1/users/{username}/enable"): frozenset({A}),
    ("POST", "/api/v1/users/{username}/password"): frozenset({A}),
    ("GET", "/api/v1/tokens"): frozenset({A}),
    ("POST", "/api/v1/tokens"): frozenset({A}),
    ("POST", "/api/v1/tokens/{name}/revoke"): frozenset({A}),
    # deployments
    ("GET", "/api/v1/deployments"): _READERS,
    ("POST", "/api/v1/deployments"): frozenset({S}),
    ("GET", "/api/v1/deployments/{deployment_id}"): _READERS,
    ("GET", "/api/v1/deployments/{deployment_id}/cameras"): _READERS,
    ("POST", "/api/v1/deployments/{deployment_id}/watchlist"): frozenset({S}),
    ("POST", "/api/v1/deployments/{deployment_id}/threshold"): frozenset({S}),
    ("POST", "/api/v1/deployments/{deployment_id}/authorise"): frozenset({S}),
    ("POST", "/api/v1/deployments/{deployment_id}/start"): frozenset({S}),
    ("POST", "/api/v1/deployments/{deployment_id}/end"): frozenset({S}),
    ("POST", "/api/v1/deployments/{deployment_id}/close"): frozenset({S}),
    ("POST", "/api/v1/deployments/{deployment_id}/publish"): frozenset({S}),
    ("GET", "/api/v1/deployments/{deployment_id}/report"): frozenset({S, U}),
    ("GET", "/api/v1/records"): frozenset({S, U}),
    # alerts
    ("GET", "/api/v1/alerts"): _READERS,
    ("GET", "/api/v1/alerts/{alert_id}"): _READERS,
    ("GET", "/api/v1/alerts/{alert_id}/probe.jpg"): _READERS,
    ("GET", "/api/v1/alerts/{alert_id}/watchlist.jpg"): _READERS,
    ("POST", "/api/v1/alerts/{alert_id}/adjudications"): frozenset({OP, E}),
    ("POST", "/api/v1/alerts/{alert_id}/holds"): frozenset({S}),
    ("POST", "/api/v1/alerts/{alert_id}/holds/release"): frozenset({S}),
    ("GET", "/api/v1/deployments/{deployment_id}/alerts/stream"): frozenset({S, OP, E}),
    # retrospective search
    ("POST", "/api/v1/search"): frozenset({S, OP}),
    ("GET", "/api/v1/galleries"): frozenset({S, OP, U}),
    ("POST", "/api/v1/galleries/{gallery}/search"): frozenset({S, OP}),
    # edge devices (only their own deployment's, checked in the route)
    ("POST", "/api/v1/deployments/{deployment_id}/templates"): frozenset({D}),
    ("POST", "/api/v1/deployments/{deployment_id}/hits/{hit_id}/crop"): frozenset({D}),
    # audit and retention
    ("GET", "/api/v1/audit"): frozenset({U, A}),
    ("GET", "/api/v1/audit/verify"): frozenset({U, A}),
    ("GET", "/api/v1/audit/head"): frozenset({U, A}),
    ("POST", "/api/v1/retention/purge"): frozenset({A}),
    ("GET", "/api/v1/retention/floor"): frozenset({U, A}),
    ("POST", "/api/v1/retention/floor"): frozenset({A}),
    # pages (openlfr/web): no session -> the login page; a role not listed -> a 403 page
    ("GET", "/"): ANY,
    ("GET", "/login"): PUBLIC,
    ("GET", "/public"): PUBLIC,
    ("GET", "/account"): frozenset({A, S, OP, E, U}),
    ("GET", "/console"): frozenset({S, OP}),
    ("GET", "/engagement"): frozenset({E}),
    ("GET", "/setup"): frozenset({S}),
    ("GET", "/records"): frozenset({U}),
    ("GET", "/search"): frozenset({S, OP}),
}


def rule_for(method: str, path: str) -> Rule | None:
    """The rule of a route (``path`` as declared, with ``{parameters}``); None: no entry, so refused."""
    if method == "HEAD":
        method = "GET"
    return ACCESS.get((method, path))


def allows(rule: Rule, role: Role | None) -> bool:
    """Whether a principal with ``role`` passes ``rule`` (after authentication, for non-public rules)."""
    if rule in (PUBLIC, ANY):
        return True
    return isinstance(rule, frozenset) and role is not None and role in rule
