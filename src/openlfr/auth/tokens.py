"""API tokens for machines: one role each, an expiry, revocable; a device token is bound to one deployment.

The secret (``lfr_`` and 32 random bytes, URL-safe base64) is shown once, when it is made; the store
keeps its SHA-256 only. Being 256 random bits, it needs no slow hash: no one can guess it, and a copy
of the database does not give it away. A presented secret is looked up by its hash, so the lookup
reveals nothing about a stored secret's bytes.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from openlfr.auth.principal import Principal, PrincipalKind
from openlfr.auth.roles import Role
from openlfr.auth.sessions import secret_hash
from openlfr.auth.users import as_role, normalise_username, valid_username
from openlfr.config import ApiConfig
from openlfr.errors import NotAuthenticatedError, UserError
from openlfr.store import audit
from openlfr.store.audit import AuditAction
from openlfr.store.db import Store
from openlfr.store.models import ApiToken, Deployment
from openlfr.store.times import as_utc, opt_utc

PREFIX = "lfr_"
"""Every secret starts with this, so a leaked one is recognisable (and secret scanners can find it)."""
USE_EVERY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often."""
_REFUSED = "the API token is unknown, expired or revoked"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class TokenView:
    """A token as callers see it (never its secret or hash)."""

    id: int
    name: str
    role: Role
    deployment_id: str | None
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def _view(token: ApiToken) -> TokenView:
    return TokenView(
        id=token.id,
        name=token.name,
        role=Role(token.role),
        deployment_id=token.deployment_id,
        created_by=token.created_by,
        created_at=as_utc(token.created_at),
        expires_at=as_utc(token.expires_at),
        revoked_at=opt_utc(token.revoked_at),
        last_used_at=opt_utc(token.last_used_at),
    )


class Tokens:
    """The API tokens in ``store``; lifetimes bounded by ``config.token_max_days``."""

    def __init__(self, store: Store, config: ApiConfig, clock: Callable[[], datetime] = _now) -> None:
        self.store = store
        self.config = config
        self.clock = clock

    def create(
        self, name: str, role: Role, actor: str, *, days: int, deployment_id: str | None = None
    ) -> tuple[TokenView, str]:
        """A new token and its secret (shown once; only its hash is kept). A ``device`` token must name an
        existing deployment, and only a device token may."""
        role = as_role(role)
        name = valid_username(name)  # the same rules: no ':', so 'token:<name>' is unambiguous
        problems: list[str] = []
        if not 1 <= days <= self.config.token_max_days:
            problems.append(f"a token lives 1 to {self.config.token_max_days} days (api.token_max_days), not {days}")
        if role == Role.DEVICE and deployment_id is None:
            problems.append("a device token must name the deployment it is for")
        if role != Role.DEVICE and deployment_id is not None:
            problems.append(f"only a device token is bound to a deployment, not a {role.value} token")
        if problems:
            raise UserError("; ".join(problems), problems=problems)
        secret = PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        try:
            with self.store.session() as s:
                if deployment_id is not None and s.get(Deployment, deployment_id) is None:
                    raise UserError(f"no deployment {deployment_id}", problems=[f"unknown deployment {deployment_id}"])
                if s.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
                    raise UserError(f"a token named '{name}' exists", problems=[f"duplicate token name {name}"])
                token = ApiToken(
                    name=name,
                    role=role.value,
                    token_hash=secret_hash(secret),
                    deployment_id=deployment_id,
                    created_by=actor,
                    created_at=now,
                    expires_at=now + timedelta(days=days),
                )
                s.add(token)
                s.flush()
                audit.record(
                    s,
                    actor,
                    AuditAction.TOKEN_CREATED,
                    deployment_id=deployment_id,
                    target=name,
                    details={"role": role.value, "days": days, "expires_at": audit.utc_text(token.expires_at)},
                    at=now,
                )
                return _view(token), secret
        except IntegrityError as exc:
            raise UserError(f"a token named '{name}' exists", problems=[f"duplicate token name {name}"]) from exc

    def list_tokens(self) -> list[TokenView]:
        with self.store.session() as s:
            return [_view(t) for t in s.scalars(select(ApiToken).order_by(ApiToken.name))]

    def revoke(self, name: str, actor: str) -> TokenView:
        """Revoke a token at once (audited); it is kept, revoked, for the record."""
        now = self.clock()
        with self.store.session() as s:
            token = s.scalar(select(ApiToken).where(ApiToken.name == normalise_username(name)).with_for_update())
            if token is None:
                raise UserError(f"no token named '{name[:64]}'", problems=[f"unknown token {name[:64]}"])
            if token.revoked_at is not None:
                raise UserError(f"token '{token.name}' is already revoked")
            token.revoked_at = now
            token.revoked_by = actor
            audit.record(
                s, actor, AuditAction.TOKEN_REVOKED, deployment_id=token.deployment_id, target=token.name, at=now
            )
            return _view(token)

    def authenticate(self, secret: str) -> Principal:
        """The principal a presented secret stands for; ``NotAuthenticatedError`` if it is unknown, expired
        or revoked (one message for all three)."""
        if not secret.startswith(PREFIX):
            raise NotAuthenticatedError(_REFUSED)
        digest = secret_hash(secret)
        now = self.clock()
        with self.store.session() as s:
            token = s.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
            if (
                token is None
                or not hmac.compare_digest(token.token_hash, digest)
                or token.revoked_at is not None
                or as_utc(token.expires_at) <= now
            ):
                raise NotAuthenticatedError(_REFUSED)
            last = opt_utc(token.last_used_at)
            if last is None or now - last >= USE_EVERY:
                token.last_used_at = now
            return Principal(
                actor=f"token:{token.name}",
                kind=PrincipalKind.TOKEN,
                role=Role(token.role),
                token_id=token.id,
                deployment_id=token.deployment_id,
            )
