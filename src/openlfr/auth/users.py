"""Users: people who log in with a password, each with one role; added, disabled and reset by an admin.

A login is checked in two short transactions around the slow part: the account is read, the password
verified (argon2, about 0.3 s) outside any transaction, then the row is locked and the outcome applied
and audited. So a login never holds the store's write lock while hashing (on SQLite that lock is the
whole database's), and parallel attempts still count exactly: the lock and the counter are re-read
under the row lock, and an account that a parallel attempt locked meanwhile is refused.

Every attempt is audited in the same transaction as its counter change, failures included: a failed
attempt's entry is committed, then the error raised. Passwords and secrets never reach the audit log.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openlfr.auth.passwords import check_policy, dummy_verify, hash_password, needs_rehash, verify_password
from openlfr.auth.roles import HUMAN_ROLES, Role
from openlfr.auth.sessions import revoke_user_sessions
from openlfr.config import ApiConfig
from openlfr.errors import AccountLockedError, AuthError, LoginFailedError, UserError
from openlfr.store import audit
from openlfr.store.audit import AuditAction
from openlfr.store.db import Store
from openlfr.store.models import User
from openlfr.store.times import as_utc, opt_utc

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
"""Lowercase letters, digits, ``.``, ``_``, ``-``; 2 to 64 characters. No ``:``, so a username can never
read as ``local:x`` or ``token:x``, and ``system`` / ``anonymous`` are reserved."""
RESERVED = frozenset({"system", "anonymous"})
ANONYMOUS = "anonymous"
"""The audit actor of a login attempt for a username that does not exist."""
WRONG = "wrong username or password"


def _now() -> datetime:
    return datetime.now(UTC)


def normalise_username(username: str) -> str:
    """NFKC, surrounding space removed, lowercase: ``' Alice '`` and ``'ALICE'`` are ``'alice'``."""
    return unicodedata.normalize("NFKC", username).strip().lower()


def valid_username(username: str) -> str:
    """The normalised ``username``, or a ``UserError`` saying what a username may be."""
    name = normalise_username(username)
    if not USERNAME.fullmatch(name) or name in RESERVED:
        problem = (
            f"'{name}' is reserved"
            if name in RESERVED
            else f"'{username[:80]}' is not a username: 2 to 64 characters, lowercase letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )
        raise UserError(problem, problems=[problem])
    return name


def as_role(role: Role | str) -> Role:
    """``role`` as a ``Role``, or a ``UserError`` naming the roles there are."""
    try:
        return Role(role)
    except ValueError as exc:
        problem = f"there is no role '{str(role)[:32]}'; the roles are {', '.join(r.value for r in Role)}"
        raise UserError(problem, problems=[problem]) from exc


@dataclass(frozen=True, slots=True)
class UserView:
    """A user as callers see it (never the password hash)."""

    id: int
    username: str
    role: Role
    disabled: bool
    created_at: datetime
    created_by: str
    locked_until: datetime | None
    last_login_at: datetime | None


def _view(user: User) -> UserView:
    return UserView(
        id=user.id,
        username=user.username,
        role=Role(user.role),
        disabled=user.disabled_at is not None,
        created_at=as_utc(user.created_at),
        created_by=user.created_by,
        locked_until=opt_utc(user.locked_until),
        last_login_at=opt_utc(user.last_login_at),
    )


@dataclass(frozen=True, slots=True)
class _Seen:
    """What the first, read-only step of a login saw of the account."""

    id: int
    username: str
    password_hash: str
    disabled: bool
    locked_until: datetime | None


class Users:
    """The users in ``store``; logins follow ``config`` (lockout, password length)."""

    def __init__(self, store: Store, config: ApiConfig, clock: Callable[[], datetime] = _now) -> None:
        self.store = store
        self.config = config
        self.clock = clock

    def add(self, username: str, role: Role, password: str, actor: str) -> UserView:
        """A new enabled user; refused (``UserError``) for a bad or taken name, a non-human role, a weak password."""
        name = valid_username(username)
        role = as_role(role)
        if role not in HUMAN_ROLES:
            allowed = ", ".join(sorted(HUMAN_ROLES))
            raise UserError(f"a user cannot have the role '{role}'; one of: {allowed}", problems=[f"role {role}"])
        check_policy(password, self.config.min_password_length, name)
        hashed = hash_password(password)
        now = self.clock()
        try:
            with self.store.session() as s:
                if s.scalar(select(User.id).where(User.username == name)) is not None:
                    raise UserError(f"a user named '{name}' exists", problems=[f"duplicate username {name}"])
                user = User(
                    username=name,
                    role=role.value,
                    password_hash=hashed,
                    created_at=now,
                    created_by=actor,
                    failed_logins=0,
                    password_changed_at=now,
                )
                s.add(user)
                s.flush()
                audit.record(s, actor, AuditAction.USER_ADDED, target=name, details={"role": role.value}, at=now)
                return _view(user)
        except IntegrityError as exc:  # added by someone else between the check and the commit
            raise UserError(f"a user named '{name}' exists", problems=[f"duplicate username {name}"]) from exc

    def list_users(self) -> list[UserView]:
        with self.store.session() as s:
            return [_view(u) for u in s.scalars(select(User).order_by(User.username))]

    def get(self, username: str) -> UserView:
        with self.store.session() as s:
            return _view(_load(s, username))

    def disable(self, username: str, actor: str) -> UserView:
        """Disable a user (they cannot log in; their sessions end). The last enabled admin cannot be disabled."""
        now = self.clock()
        with self.store.session() as s:
            user = _load(s, username, lock=True)
            if user.disabled_at is not None:
                raise UserError(f"user '{user.username}' is already disabled")
            if user.role == Role.ADMIN:
                # locks every enabled admin row, so two admins cannot disable each other at once
                admins = s.scalars(
                    select(User.id).where(User.role == Role.ADMIN.value, User.disabled_at.is_(None)).with_for_update()
                ).all()
                if len(admins) <= 1:
                    raise UserError(
                        f"'{user.username}' is the last enabled admin; add or enable another admin first",
                        problems=["last enabled admin"],
                    )
            user.disabled_at = now
            ended = revoke_user_sessions(s, user.id, now)
            audit.record(
                s, actor, AuditAction.USER_DISABLED, target=user.username, details={"sessions_ended": ended}, at=now
            )
            return _view(user)

    def enable(self, username: str, actor: str) -> UserView:
        now = self.clock()
        with self.store.session() as s:
            user = _load(s, username, lock=True)
            if user.disabled_at is None:
                raise UserError(f"user '{user.username}' is not disabled")
            user.disabled_at = None
            audit.record(s, actor, AuditAction.USER_ENABLED, target=user.username, at=now)
            return _view(user)

    def reset_password(self, username: str, new_password: str, actor: str) -> UserView:
        """Set a new password (an admin's act): unlocks the account and ends its sessions."""
        name = normalise_username(username)
        check_policy(new_password, self.config.min_password_length, name)
        hashed = hash_password(new_password)
        now = self.clock()
        with self.store.session() as s:
            user = _load(s, name, lock=True)
            _set_password(user, hashed, now)
            ended = revoke_user_sessions(s, user.id, now)
            audit.record(
                s, actor, AuditAction.PASSWORD_RESET, target=user.username, details={"sessions_ended": ended}, at=now
            )
            return _view(user)

    def change_password(self, username: str, old_password: str, new_password: str) -> UserView:
        """The user changes their own password, proving the old one (a wrong one counts as a failed login)."""
        check_policy(new_password, self.config.min_password_length, normalise_username(username))
        hashed = hash_password(new_password)

        def change(s: Session, user: User, now: datetime) -> None:
            _set_password(user, hashed, now)
            audit.record(s, user.username, AuditAction.PASSWORD_CHANGED, target=user.username, at=now)

        return self._attempt(username, old_password, "password-change", change)

    def authenticate(self, username: str, password: str, source: str) -> UserView:
        """The user, if ``password`` is theirs and the account is enabled and not locked.

        ``LoginFailedError`` (never saying whether the name or the password was wrong; an unknown name
        costs the same time) or ``AccountLockedError``; ``source`` (the client's address) is audited."""

        def login(s: Session, user: User, now: datetime) -> None:
            user.last_login_at = now
            audit.record(s, user.username, AuditAction.LOGIN, target=user.username, details={"source": source}, at=now)

        return self._attempt(username, password, source, login)

    def _attempt(
        self, username: str, password: str, source: str, succeed: Callable[[Session, User, datetime], None]
    ) -> UserView:
        name = normalise_username(username)
        source = source[:128]
        with self.store.session() as s:
            user = s.scalar(select(User).where(User.username == name))
            seen = (
                None
                if user is None
                else _Seen(user.id, user.username, user.password_hash, user.disabled_at is not None, user.locked_until)
            )
        now = self.clock()
        if seen is not None and not seen.disabled and seen.locked_until is not None and as_utc(seen.locked_until) > now:
            self._refuse(seen, source, "locked", now)  # without verifying: a locked account takes no guesses
        if seen is None:
            dummy_verify(password)
            right = False
        else:
            right = verify_password(seen.password_hash, password)  # also for a disabled user: the same time
        # a hash made with older parameters is remade here, not under the row lock below
        rehashed = hash_password(password) if seen is not None and right and needs_rehash(seen.password_hash) else None
        now = self.clock()
        if seen is None:
            self._refuse(None, source, "unknown_user", now, given=username)
        if seen.disabled:
            self._refuse(seen, source, "disabled", now)
        if not right:
            self._refuse(seen, source, "wrong_password", now)
        failure: AuthError
        with self.store.session() as s:
            user = s.get(User, seen.id, with_for_update=True)
            if user is None or user.disabled_at is not None or user.password_hash != seen.password_hash:
                reason = "changed_during_login"  # removed, disabled or reset while the password was checked
                _record_failure(s, seen.username, source, reason, now)
                failure = LoginFailedError(WRONG)
            elif (until := _locked(user, now)) is not None:  # locked by a parallel attempt meanwhile
                _record_failure(s, user.username, source, "locked", now)
                failure = _lock_error(until)
            else:
                user.failed_logins = 0
                user.locked_until = None
                if rehashed is not None:
                    user.password_hash = rehashed
                succeed(s, user, now)
                return _view(user)
        raise failure  # after the commit: the failed attempt stays audited

    def _refuse(self, seen: _Seen | None, source: str, reason: str, now: datetime, given: str = "") -> NoReturn:
        """Count and audit a failed attempt, commit, then raise."""
        failure: AuthError = LoginFailedError(WRONG)
        with self.store.session() as s:
            if seen is None:
                _record_failure(s, ANONYMOUS, source, reason, now, username=given[:64])
            else:
                user = s.get(User, seen.id, with_for_update=True)
                if user is not None and reason != "disabled" and (until := _locked(user, now)) is not None:
                    _record_failure(s, seen.username, source, "locked", now)
                    failure = _lock_error(until)
                elif user is not None and reason == "wrong_password":
                    user.failed_logins += 1
                    failures = user.failed_logins
                    _record_failure(s, user.username, source, reason, now, failures=failures)
                    if failures >= self.config.login_max_failures:
                        user.failed_logins = 0  # after the lock, a fresh count
                        user.locked_until = now + timedelta(minutes=self.config.login_lock_minutes)
                        audit.record(
                            s,
                            "system",
                            AuditAction.ACCOUNT_LOCKED,
                            target=user.username,
                            details={"failures": failures, "until": audit.utc_text(user.locked_until)},
                            at=now,
                        )
                else:
                    _record_failure(s, seen.username, source, reason, now)
        raise failure


def _record_failure(
    s: Session, actor: str, source: str, reason: str, at: datetime, *, username: str | None = None, failures: int = 0
) -> None:
    details: dict[str, str | int] = {"username": username if username is not None else actor, "source": source}
    details["reason"] = reason
    if failures:
        details["failures"] = failures
    target = None if actor == ANONYMOUS else actor
    audit.record(s, actor, AuditAction.LOGIN_FAILED, target=target, details=details, at=at)


def _locked(user: User, now: datetime) -> datetime | None:
    until = opt_utc(user.locked_until)
    return until if until is not None and until > now else None


def _lock_error(until: datetime) -> AccountLockedError:
    return AccountLockedError(
        f"too many failed logins: the account is locked until {until:%Y-%m-%d %H:%M} UTC "
        "(an admin can unlock it by resetting the password)",
        until,
    )


def _set_password(user: User, hashed: str, now: datetime) -> None:
    user.password_hash = hashed
    user.password_changed_at = now
    user.failed_logins = 0
    user.locked_until = None


def _load(s: Session, username: str, lock: bool = False) -> User:
    name = normalise_username(username)
    query = select(User).where(User.username == name)
    user = s.scalar(query.with_for_update() if lock else query)
    if user is None:
        raise UserError(f"no user named '{name[:64]}'", problems=[f"unknown user {name[:64]}"])
    return user
