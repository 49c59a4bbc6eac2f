"""Browser sessions: an absolute and an idle expiry, ended by logout and by disabling the user; CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from identities import PASSWORD, Clock
from openlfr.auth.principal import Principal, PrincipalKind
from openlfr.auth.roles import Role
from openlfr.auth.sessions import WebSessions, secret_hash
from openlfr.auth.users import Users, UserView
from openlfr.config import ApiConfig, StoreConfig
from openlfr.errors import NotAuthenticatedError
from openlfr.store.crypto import generate_key
from openlfr.store.db import Store
from openlfr.store.models import AuditEntry, WebSession


def test_a_session_stands_for_its_user(sessions: WebSessions, alice: UserView, clock: Clock) -> None:
    opened = sessions.open(alice)
    assert opened.expires_at == clock.now + timedelta(minutes=480)
    principal, csrf = sessions.authenticate(opened.secret)
    assert principal == Principal(actor="alice", kind=PrincipalKind.USER, role=Role.ADMIN, user_id=alice.id)
    assert csrf == opened.csrf_token
    with pytest.raises(NotAuthenticatedError):
        sessions.authenticate(opened.secret + "x")
    with pytest.raises(NotAuthenticatedError, match="disabled"):
        sessions.open(replace(alice, disabled=True))


def test_only_the_hash_of_the_secret_is_stored(sessions: WebSessions, alice: UserView, store: Store) -> None:
    opened = sessions.open(alice)
    with store.session() as s:
        (row,) = s.scalars(select(WebSession))
        assert row.token_hash == secret_hash(opened.secret) != opened.secret


def test_a_used_session_still_ends_at_its_absolute_expiry(sessions: WebSessions, alice: UserView, clock: Clock) -> None:
    opened = sessions.open(alice)
    for _ in range(479 // 20):
        clock.advance(minutes=20)
        sessions.authenticate(opened.secret)
    clock.advance(minutes=20)  # 480 minutes after the login
    with pytest.raises(NotAuthenticatedError, match="log in again"):
        sessions.authenticate(opened.secret)


def test_an_idle_session_ends_and_stays_ended(sessions: WebSessions, alice: UserView, clock: Clock) -> None:
    opened = sessions.open(alice)
    clock.advance(minutes=29, seconds=59)
    sessions.authenticate(opened.secret)  # touched: idle time starts again
    clock.advance(minutes=29, seconds=59)
    sessions.authenticate(opened.secret)
    clock.advance(minutes=30, seconds=1)
    with pytest.raises(NotAuthenticatedError):
        sessions.authenticate(opened.secret)
    clock.advance(seconds=-60)  # revoked, not merely judged idle: no way back
    with pytest.raises(NotAuthenticatedError):
        sessions.authenticate(opened.secret)


def test_last_seen_is_written_at_most_every_30_seconds(
    sessions: WebSessions, alice: UserView, store: Store, clock: Clock
) -> None:
    opened = sessions.open(alice)
    login = clock.now

    def last_seen() -> object:
        with store.session() as s:
            row = s.scalar(select(WebSession))
            assert row is not None
            return row.last_seen_at.replace(tzinfo=None)

    clock.advance(seconds=29)
    sessions.authenticate(opened.secret)
    assert last_seen() == login.replace(tzinfo=None)
    clock.advance(seconds=1)
    sessions.authenticate(opened.secret)
    assert last_seen() == clock.now.replace(tzinfo=None)


def test_logout_ends_the_session_and_is_audited(sessions: WebSessions, alice: UserView, store: Store) -> None:
    opened = sessions.open(alice)
    other = sessions.open(alice)
    assert sessions.close(opened.secret, "alice")
    assert not sessions.close(opened.secret, "alice")  # already closed: nothing more recorded
    with pytest.raises(NotAuthenticatedError):
        sessions.authenticate(opened.secret)
    sessions.authenticate(other.secret)  # another browser's session goes on
    with store.session() as s:
        logouts = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "logout")))
    assert [(e.actor, e.target, json.loads(e.details_json)) for e in logouts] == [("alice", "alice", {})]
    assert opened.secret not in json.dumps([e.details_json for e in logouts])


def test_disabling_and_resetting_end_every_session(
    sessions: WebSessions, users: Users, alice: UserView, clock: Clock
) -> None:
    bob = users.add("bob", Role.OPERATOR, PASSWORD, "alice")
    first, second = sessions.open(bob), sessions.open(bob)
    users.reset_password("bob", "another long passphrase", "alice")
    for opened in (first, second):
        with pytest.raises(NotAuthenticatedError):
            sessions.authenticate(opened.secret)
    third = sessions.open(bob)
    assert sessions.revoke_all(bob.id) == 1
    with pytest.raises(NotAuthenticatedError):
        sessions.authenticate(third.secret)
    kept = sessions.open(alice)
    assert sessions.revoke_all(bob.id) == 0
    sessions.authenticate(kept.secret)


def test_the_csrf_token_is_derived_from_the_secret_and_the_store_key(
    sessions: WebSessions, alice: UserView, store: Store
) -> None:
    opened = sessions.open(alice)
    key = store.cipher.derive("csrf")
    expected = hmac.new(key, b"csrf:" + opened.secret.encode(), hashlib.sha256).hexdigest()
    assert opened.csrf_token == expected == sessions.csrf_token(opened.secret)
    assert sessions.csrf_matches(opened.secret, opened.csrf_token)
    flipped = opened.csrf_token[:-1] + ("1" if opened.csrf_token.endswith("0") else "0")
    assert not sessions.csrf_matches(opened.secret, flipped)
    assert not sessions.csrf_matches(opened.secret, "")
    assert not sessions.csrf_matches(opened.secret, "\u00e9" * 64)
    assert not sessions.csrf_matches(sessions.open(alice).secret, opened.csrf_token)  # bound to its session
    assert hashlib.sha256(b"csrf:" + opened.secret.encode()).hexdigest() != opened.csrf_token


def test_another_store_key_gives_other_csrf_tokens(sqlite_store: Store, tmp_path: Path) -> None:
    other = Store.open(StoreConfig(data_dir=tmp_path / "other", key=SecretStr(generate_key())))
    try:
        secret = "the same cookie"
        mine, theirs = WebSessions(sqlite_store, ApiConfig()), WebSessions(other, ApiConfig())
        assert mine.csrf_token(secret) != theirs.csrf_token(secret)
    finally:
        other.close()
