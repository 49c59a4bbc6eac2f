"""``/api/v1/users`` and ``/api/v1/tokens``: the admin's screens (people and machine tokens)."""

from __future__ import annotations

from fastapi import APIRouter

from openlfr.api.deps import ContextDep, PrincipalDep
from openlfr.api.schemas import PasswordReset, TokenCreate, TokenCreated, UserCreate
from openlfr.auth.tokens import TokenView
from openlfr.auth.users import UserView

router = APIRouter(prefix="/api/v1", tags=["users"])


@router.get("/users", response_model=list[UserView])
def list_users(ctx: ContextDep) -> list[UserView]:
    return ctx.users.list_users()


@router.post("/users", response_model=UserView, status_code=201)
def add_user(body: UserCreate, who: PrincipalDep, ctx: ContextDep) -> UserView:
    return ctx.users.add(body.username, body.role, body.password, who.actor)


@router.post("/users/{username}/disable", response_model=UserView)
def disable_user(username: str, who: PrincipalDep, ctx: ContextDep) -> UserView:
    return ctx.users.disable(username, who.actor)


@router.post("/users/{username}/enable", response_model=UserView)
def enable_user(username: str, who: PrincipalDep, ctx: ContextDep) -> UserView:
    return ctx.users.enable(username, who.actor)


@router.post("/users/{username}/password", response_model=UserView)
def reset_password(username: str, body: PasswordReset, who: PrincipalDep, ctx: ContextDep) -> UserView:
    return ctx.users.reset_password(username, body.new_password, who.actor)


@router.get("/tokens", response_model=list[TokenView])
def list_tokens(ctx: ContextDep) -> list[TokenView]:
    return ctx.tokens.list_tokens()


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def create_token(body: TokenCreate, who: PrincipalDep, ctx: ContextDep) -> TokenCreated:
    """A machine token: the secret is in this answer only."""
    view, secret = ctx.tokens.create(body.name, body.role, who.actor, days=body.days, deployment_id=body.deployment_id)
    return TokenCreated(name=view.name, role=view.role, expires_at=view.expires_at, secret=secret)


@router.post("/tokens/{name}/revoke", response_model=TokenView)
def revoke_token(name: str, who: PrincipalDep, ctx: ContextDep) -> TokenView:
    return ctx.tokens.revoke(name, who.actor)
