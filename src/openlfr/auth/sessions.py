"""Browser sessions: a random secret in a cookie, stored only as its SHA-256, with an absolute and an idle expiry.

The CSRF token is derived, not stored: HMAC-SHA256 of the session's secret under a key derived from the
store's encryption key (``Cipher.derive("csrf")``). It is bound to its session, a page can carry it,
and no one without the store's key can compute it from a stolen cookie name or a guess.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.auth.principal import Principal, PrincipalKind
from openlfr.auth.roles import Role
from openlfr.config import ApiConfig
from openlfr.errors import AuthError, NotAuthenticatedError
from openlfr.store import audit
from openlfr.store.audit import AuditAction
from openlfr.store.db import Store
from openlfr.store.models import User, WebSession
from openlfr.store.times import as_utc

if TYPE_CHECKING:
    from openlfr.auth.users import UserView

TOUCH_EVERY = timedelta(seconds=30)
"""``last_seen_at`` is written at most this often (idle expiry is in minutes: no need to write every request),
so a session may end up to this much before its idle limit."""
_EXPIRED = "not logged in, or the session expired: log in again"


def _now() -> datetime:
    return datetime.now(UTC)


def secret_hash(secret: str) -> str:
    """SHA-256 (hex) of a session's or token's secret: what the store keeps instead of the secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def revoke_user_sessions(s: Session, user_id: int, at: datetime) -> int:
    """End every open session of a user in ``s``'s transaction; how many were open."""
    rows = s.scalars(select(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))).all()
    for row in rows:  # through the ORM, so that each row is resealed (store/seal.py)
        row.revoked_at = at
    return len(rows)


@dataclass(frozen=True, slots=True)
class OpenedSession:
    """A new session: ``secret`` goes in the cookie (HttpOnly), ``csrf_token`` in the page."""

    secret: str
    csrf_token: str
    expires_at: datetime


class WebSessions:
    """Browser sessions in ``store``, lasting as ``config`` says (``session_minutes``, ``session_idle_minutes``)."""

    def __init__(self, store: Store, config: ApiConfig, clock: Callable[[], datetime] = _now) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self._csrf_key = store.cipher.derive("csrf")

    def open(self, user: UserView) -> OpenedSession:
        """A new session for ``user``, who has just logged in (``Users.authenticate``, which audits it)."""
        if user.disabled:
            raise NotAuthenticatedError(f"user '{user.username}' is disabled")
        secret = secrets.token_urlsafe(32)
        now = self.clock()
        expires = now + timedelta(minutes=self.config.session_minutes)
        with self.store.session() as s:
            s.add(
                WebSession(
                    token_hash=secret_hash(secret),
                    user_id=user.id,
                    created_at=now,
                    expires_at=expires,
                    last_seen_at=now,
                )
            )
        return OpenedSession(secret=secret, csrf_token=self.csrf_token(secret), expires_at=expires)

    def authenticate(self, secret: str) -> tuple[Principal, str]:
        """The session's user as a principal, and its CSRF token; ``NotAuthenticatedError`` if the session
        is unknown, revoked, past its end, idle too long (then revoked) or its user disabled."""
        now = self.clock()
        failure: AuthError = NotAuthenticatedError(_EXPIRED)
        with self.store.session() as s:
            row = s.scalar(select(WebSession).where(WebSession.token_hash == secret_hash(secret)))
            if row is None or row.revoked_at is not None or as_utc(row.expires_at) <= now:
                raise failure  # nothing to write
            user = s.get(User, row.user_id)
            idle = now - as_utc(row.last_seen_at) > timedelta(minutes=self.config.session_idle_minutes)
            if user is None or user.disabled_at is not None or idle:
                row.revoked_at = now  # committed below, then refused
            else:
                if now - as_utc(row.last_seen_at) >= TOUCH_EVERY:
                    row.last_seen_at = now
                principal = Principal(
                    actor=user.username, kind=PrincipalKind.USER, role=Role(user.role), user_id=user.id
                )
                return principal, self.csrf_token(secret)
        raise failure

    def close(self, secret: str, actor: str) -> bool:
        """Log out: end the session (audited). False, and nothing recorded, if it was not open."""
        now = self.clock()
        with self.store.session() as s:
            row = s.scalar(select(WebSession).where(WebSession.token_hash == secret_hash(secret)).with_for_update())
            if row is None or row.revoked_at is not None:
                return False
            row.revoked_at = now
            user = s.get(User, row.user_id)
            audit.record(s, actor, AuditAction.LOGOUT, target=user.username if user else None, at=now)
            return True

    def revoke_all(self, user_id: int) -> int:
        """End every session of a user (``Users.disable`` and ``reset_password`` do this in their own
        transaction); how many were open."""
        with self.store.session() as s:
            return revoke_user_sessions(s, user_id, self.clock())

    def csrf_token(self, secret: str) -> str:
        """The CSRF token of the session whose cookie holds ``secret``."""
        return hmac.new(self._csrf_key, b"csrf:" + secret.encode("utf-8"), hashlib.sha256).hexdigest()

    def csrf_matches(self, secret: str, token: str) -> bool:
        """Whether ``token`` is the session's CSRF token (compared in constant time)."""
        return hmac.compare_digest(self.csrf_token(secret).encode("ascii"), token.encode("utf-8", "replace"))
