"""``/api/v1/auth``: log in (a session cookie and its CSRF token), log out, who am I, change password."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from openlfr.api.deps import SESSION_COOKIE, ContextDep, PrincipalDep, check_origin
from openlfr.api.schemas import LoginRequest, LoginResponse, Me, PasswordChange
from openlfr.errors import NotAuthenticatedError

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


@router.post("/login", response_model=LoginResponse)
def login(body: LoginRequest, request: Request, response: Response, ctx: ContextDep) -> LoginResponse:
    """Log in with a username and password: sets the session cookie (HttpOnly, SameSite=Strict,
    Secure) and returns the CSRF token to send as ``X-CSRF-Token`` on every change. Failures are
    audited; repeated failures lock the account."""
    check_origin(request, ctx.settings)
    source = client_address(request)
    ctx.login_limiter.take(source)
    user = ctx.users.authenticate(body.username, body.password, source)
    opened = ctx.sessions.open(user)
    api = ctx.settings.api
    response.set_cookie(
        SESSION_COOKIE,
        opened.secret,
        max_age=int(api.session_minutes * 60),
        httponly=True,
        secure=api.cookie_secure,
        samesite="strict",
        path="/",
    )
    return LoginResponse(
        username=user.username, role=user.role, csrf_token=opened.csrf_token, expires_at=opened.expires_at
    )


@router.post("/logout", status_code=204)
def logout(request: Request, ctx: ContextDep) -> Response:
    """End the session (its cookie no longer works, even if kept)."""
    check_origin(request, ctx.settings)
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        try:
            principal, _ = ctx.sessions.authenticate(secret)
        except NotAuthenticatedError:
            principal = None
        if principal is not None:
            ctx.sessions.close(secret, principal.actor)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=Me)
def me(who: PrincipalDep) -> Me:
    """Who this session or token acts as, and with what role."""
    return Me(actor=who.actor, kind=who.kind.value, role=who.role, deployment_id=who.deployment_id)


@router.post("/password", status_code=204)
def change_password(body: PasswordChange, who: PrincipalDep, ctx: ContextDep) -> Response:
    """Change your own password (every session of yours then ends)."""
    if who.user_id is None:
        raise NotAuthenticatedError("only a logged-in user has a password to change")
    ctx.users.change_password(who.actor, body.old_password, body.new_password)
    return Response(status_code=204)
