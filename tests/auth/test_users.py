"""Users: adding (names, roles, passwords), disabling, resets, and logins with lockout, all audited."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY
from sqlalchemy import select

from identities import PASSWORD, Clock
from openlfr.auth.passwords import needs_rehash
from openlfr.auth.roles import Role
from openlfr.auth.sessions import WebSessions
from openlfr.auth.users import Users, UserView
from openlfr.config import ApiConfig
from openlfr.errors import AccountLockedError, LoginFailedError, NotAuthenticatedError, UserError
from openlfr.store import audit
from openlfr.store.db import Store
from openlfr.store.models import AuditEntry, User


def entries(store: Store, *actions: audit.AuditAction) -> list[AuditEntry]:
    with store.session() as s:
        query = select(AuditEntry).order_by(AuditEntry.seq)
        if actions:
            query = query.where(AuditEntry.action.in_([str(a) for a in actions]))
        return list(s.scalars(query))


def chain_ok(store: Store) -> bool:
    with store.session() as s:
        return audit.verify(s).ok


def test_a_user_is_added_with_a_normalised_name_and_audited(users: Users, store: Store) -> None:
    added = users.add("  Sgt.Creator ", Role.SUPERVISOR, PASSWORD, "local:root")
    assert (added.username, added.role, added.disabled, added.created_by) == (
        "sgt.creator",
        Role.SUPERVISOR,
        False,
        "local:root",
    )
    assert users.get("SGT.CREATOR") == added
    assert users.list_users() == [added]
    (entry,) = entries(store, audit.AuditAction.USER_ADDED)
    assert (entry.actor, entry.target, json.loads(entry.details_json)) == (
        "local:root",
        "sgt.creator",
        {"role": "supervisor"},
    )
    with store.session() as s:
        stored = s.scalar(select(User))
        assert stored is not None and stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in json.dumps([e.details_json for e in entries(store)])


@pytest.mark.parametrize(
    ("username", "role", "password", "problem"),
    [
        ("local:bob", Role.OPERATOR, PASSWORD, "is not a username"),
        ("token:bob", Role.OPERATOR, PASSWORD, "is not a username"),
        ("system", Role.OPERATOR, PASSWORD, "'system' is reserved"),
        ("anonymous", Role.OPERATOR, PASSWORD, "'anonymous' is reserved"),
        ("b", Role.OPERATOR, PASSWORD, "is not a username"),
        ("-bob", Role.OPERATOR, PASSWORD, "is not a username"),
        ("bob smith", Role.OPERATOR, PASSWORD, "is not a username"),
        ("b" * 65, Role.OPERATOR, PASSWORD, "is not a username"),
        ("bob", Role.DEVICE, PASSWORD, "cannot have the role 'device'"),
        ("bob", "root", PASSWORD, "there is no role 'root'"),
        ("bob", Role.OPERATOR, "short", "at least 12"),
        ("bobby.tables", Role.OPERATOR, "bobby.tables-2026", "contains the username"),
    ],
)
def test_bad_names_roles_and_passwords_are_refused(
    users: Users, username: str, role: Role, password: str, problem: str
) -> None:
    with pytest.raises(UserError, match=problem):
        users.add(username, role, password, "local:root")
    assert users.list_users() == []


def test_a_name_is_taken_once(users: Users, alice: UserView) -> None:
    with pytest.raises(UserError, match="a user named 'alice' exists"):
        users.add("ALICE", Role.OPERATOR, PASSWORD, "local:root")
    with pytest.raises(UserError, match="no user named 'bob'"):
        users.get("bob")


def test_a_login_with_the_right_password(users: Users, alice: UserView, store: Store, clock: Clock) -> None:
    logged_in = users.authenticate(" Alice", PASSWORD, "10.0.0.7")
    assert logged_in.last_login_at == clock.now
    (entry,) = entries(store, audit.AuditAction.LOGIN)
    assert (entry.actor, json.loads(entry.details_json)) == ("alice", {"source": "10.0.0.7"})


def test_lockout_after_repeated_failures_until_the_lock_passes(
    users: Users, alice: UserView, store: Store, clock: Clock
) -> None:
    for _ in range(2):  # login_max_failures = 3
        with pytest.raises(LoginFailedError, match="wrong username or password"):
            users.authenticate("alice", "wrong password!", "10.0.0.7")
    assert users.get("alice").locked_until is None
    with pytest.raises(LoginFailedError):
        users.authenticate("alice", "wrong password!", "10.0.0.7")
    until = clock.now + timedelta(minutes=15)
    assert users.get("alice").locked_until == until
    with pytest.raises(AccountLockedError) as locked:
        users.authenticate("alice", PASSWORD, "10.0.0.7")  # even the right password
    assert locked.value.until == until
    clock.advance(minutes=14)
    with pytest.raises(AccountLockedError):
        users.authenticate("alice", PASSWORD, "10.0.0.7")
    clock.advance(minutes=1, seconds=1)
    assert users.authenticate("alice", PASSWORD, "10.0.0.7").username == "alice"

    failed = entries(store, audit.AuditAction.LOGIN_FAILED)
    reasons = [json.loads(e.details_json)["reason"] for e in failed]
    assert reasons == ["wrong_password"] * 3 + ["locked"] * 2
    assert {e.actor for e in failed} == {"alice"}
    (lock,) = entries(store, audit.AuditAction.ACCOUNT_LOCKED)
    assert (lock.actor, lock.target, json.loads(lock.details_json)["failures"]) == ("system", "alice", 3)
    assert len(entries(store, audit.AuditAction.LOGIN)) == 1
    assert chain_ok(store)


def test_a_reset_unlocks_and_a_success_clears_the_count(users: Users, alice: UserView, clock: Clock) -> None:
    for _ in range(3):
        with pytest.raises(LoginFailedError):
            users.authenticate("alice", "wrong password!", "cli")
    users.reset_password("alice", "a new long passphrase", "local:root")
    assert users.get("alice").locked_until is None
    with pytest.raises(LoginFailedError):
        users.authenticate("alice", PASSWORD, "cli")  # the old one no longer works
    with pytest.raises(LoginFailedError):
        users.authenticate("alice", "wrong password!", "cli")
    users.authenticate("alice", "a new long passphrase", "cli")  # two failures, then a success: no lock
    for _ in range(2):
        with pytest.raises(LoginFailedError):
            users.authenticate("alice", "wrong password!", "cli")
    assert users.get("alice").locked_until is None  # the count started again at the success


def test_an_unknown_user_is_audited_as_anonymous(users: Users, store: Store) -> None:
    long_name = "x" * 300
    for name in ("nobody", long_name):
        with pytest.raises(LoginFailedError, match=r"^wrong username or password$"):
            users.authenticate(name, PASSWORD, "10.0.0.9")
    failed = entries(store, audit.AuditAction.LOGIN_FAILED)
    assert [(e.actor, e.target) for e in failed] == [("anonymous", None)] * 2
    details = [json.loads(e.details_json) for e in failed]
    assert details == [
        {"username": "nobody", "source": "10.0.0.9", "reason": "unknown_user"},
        {"username": "x" * 64, "source": "10.0.0.9", "reason": "unknown_user"},
    ]
    assert chain_ok(store)


def test_a_disabled_user_cannot_log_in_and_loses_their_sessions(
    users: Users, alice: UserView, sessions: WebSessions, store: Store
) -> None:
    bob = users.add("bob", Role.OPERATOR, PASSWORD, "alice")
    opened = sessions.open(users.authenticate("bob", PASSWORD, "10.0.0.8"))
    users.disable("bob", "alice")
    assert users.get("bob").disabled
    with pytest.raises(NotAuthenticatedError):
        sessions.authenticate(opened.secret)
    with pytest.raises(LoginFailedError, match=r"^wrong username or password$"):
        users.authenticate("bob", PASSWORD, "10.0.0.8")  # the same answer as a wrong password
    with pytest.raises(UserError, match="already disabled"):
        users.disable("bob", "alice")
    users.enable("bob", "alice")
    assert users.authenticate("bob", PASSWORD, "10.0.0.8").id == bob.id
    with pytest.raises(UserError, match="not disabled"):
        users.enable("bob", "alice")
    actions = [e.action for e in entries(store, audit.AuditAction.USER_DISABLED, audit.AuditAction.USER_ENABLED)]
    assert actions == ["user.disabled", "user.enabled"]
    reason = json.loads(entries(store, audit.AuditAction.LOGIN_FAILED)[0].details_json)["reason"]
    assert reason == "disabled"


def test_the_last_enabled_admin_cannot_be_disabled(users: Users, alice: UserView) -> None:
    with pytest.raises(UserError, match="last enabled admin"):
        users.disable("alice", "alice")
    users.add("carol", Role.ADMIN, PASSWORD, "alice")
    users.disable("alice", "carol")
    with pytest.raises(UserError, match="last enabled admin"):
        users.disable("carol", "carol")


def test_a_user_changes_their_own_password(users: Users, alice: UserView, store: Store) -> None:
    with pytest.raises(LoginFailedError):
        users.change_password("alice", "not my password", "a brand new passphrase")
    users.change_password("alice", PASSWORD, "a brand new passphrase")
    users.authenticate("alice", "a brand new passphrase", "cli")
    (changed,) = entries(store, audit.AuditAction.PASSWORD_CHANGED)
    assert changed.actor == "alice"
    assert "brand new" not in json.dumps([e.details_json for e in entries(store)])


def _median_seconds(call: Callable[[], object], tries: int) -> float:
    times = []
    for _ in range(tries):
        start = time.perf_counter()
        with pytest.raises(LoginFailedError):
            call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_an_unknown_user_takes_as_long_as_a_wrong_password(
    store: Store, api_config: ApiConfig, clock: Clock, alice: UserView
) -> None:
    users = Users(store, api_config.model_copy(update={"login_max_failures": 100}), clock)
    unknown = _median_seconds(lambda: users.authenticate("nobody", "wrong password!", "t"), 15)
    wrong = _median_seconds(lambda: users.authenticate("alice", "wrong password!", "t"), 15)
    assert 0.5 < unknown / wrong < 2.0, (unknown, wrong)


def test_a_hash_with_old_parameters_is_remade_at_login(users: Users, alice: UserView, store: Store) -> None:
    old = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY).hash(PASSWORD)
    with store.session() as s:  # as a store made with the old parameters holds it (sealed, through the ORM)
        user = s.get(User, alice.id)
        assert user is not None
        user.password_hash = old
    users.authenticate("alice", PASSWORD, "cli")
    with store.session() as s:
        remade = s.scalar(select(User.password_hash).where(User.id == alice.id))
    assert remade is not None and remade != old and not needs_rehash(remade)
    users.authenticate("alice", PASSWORD, "cli")


def test_a_disabled_account_says_nothing_about_its_lock(users: Users, alice: UserView) -> None:
    users.add("bob", Role.OPERATOR, PASSWORD, "alice")
    for _ in range(3):
        with pytest.raises(LoginFailedError):
            users.authenticate("bob", "wrong password!", "cli")
    users.disable("bob", "alice")
    with pytest.raises(LoginFailedError, match=r"^wrong username or password$"):
        users.authenticate("bob", PASSWORD, "cli")


def test_a_password_reset_during_a_login_fails_that_login(
    store: Store, api_config: ApiConfig, alice: UserView, clock: Clock
) -> None:
    admin = Users(store, api_config, clock)
    calls = 0

    def resetting_clock() -> datetime:
        nonlocal calls
        calls += 1
        if calls == 2:  # after the password was verified, before the outcome is written
            admin.reset_password("alice", "a new long passphrase", "carol")
        return clock()

    with pytest.raises(LoginFailedError):
        Users(store, api_config, resetting_clock).authenticate("alice", PASSWORD, "cli")
    failed = entries(store, audit.AuditAction.LOGIN_FAILED)
    assert [json.loads(e.details_json)["reason"] for e in failed] == ["changed_during_login"]
    assert not entries(store, audit.AuditAction.LOGIN)
