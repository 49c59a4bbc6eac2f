"""API tokens: hashed at rest, shown once, bound to a role (a device token to a deployment), expiring, revocable."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from identities import Clock
from openlfr.auth.principal import Principal, PrincipalKind
from openlfr.auth.roles import Role
from openlfr.auth.tokens import Tokens
from openlfr.config import ApiConfig, CameraConfig
from openlfr.deploy.lifecycle import Deployments
from openlfr.errors import NotAuthenticatedError, UserError
from openlfr.store import audit
from openlfr.store.db import Store, checkpoint, sqlite_path
from openlfr.store.models import ApiToken, AuditEntry


def draft(store: Store, clock: Clock) -> str:
    return (
        Deployments(store)
        .create(
            name="test",
            location_name="Stratford Centre (test)",
            purpose="locate people wanted on warrant (test)",
            legal_basis="common law powers (test)",
            planned_start=clock.now,
            planned_end=clock.now + timedelta(hours=8),
            cameras=[CameraConfig(id="cam-1", source="clip.mp4")],
            created_by="sgt.creator",
        )
        .id
    )


def test_a_token_authenticates_as_its_role(tokens: Tokens, store: Store, clock: Clock) -> None:
    view, secret = tokens.create("Ingest-Box", Role.AUDITOR, "alice", days=30)
    assert secret.startswith("lfr_") and len(secret) >= 4 + 43
    assert (view.name, view.role, view.expires_at, view.created_by) == (
        "ingest-box",
        Role.AUDITOR,
        clock.now + timedelta(days=30),
        "alice",
    )
    assert tokens.authenticate(secret) == Principal(
        actor="token:ingest-box", kind=PrincipalKind.TOKEN, role=Role.AUDITOR, token_id=view.id
    )
    (created,) = [e for e in _entries(store) if e.action == "token.created"]
    assert (created.actor, created.target) == ("alice", "ingest-box")
    assert secret not in created.details_json
    assert json.loads(created.details_json)["role"] == "auditor"


def test_last_use_is_written_at_most_once_a_minute(tokens: Tokens, clock: Clock) -> None:
    _, secret = tokens.create("box", Role.OPERATOR, "alice", days=1)
    first = clock.now
    tokens.authenticate(secret)
    clock.advance(seconds=59)
    tokens.authenticate(secret)
    assert tokens.list_tokens()[0].last_used_at == first
    clock.advance(seconds=1)
    tokens.authenticate(secret)
    assert tokens.list_tokens()[0].last_used_at == clock.now


def test_expired_revoked_and_unknown_tokens_are_refused(tokens: Tokens, store: Store, clock: Clock) -> None:
    _, short = tokens.create("short", Role.OPERATOR, "alice", days=1)
    _, revoked = tokens.create("revoked", Role.OPERATOR, "alice", days=10)
    tokens.revoke("REVOKED", "alice")
    with pytest.raises(UserError, match="already revoked"):
        tokens.revoke("revoked", "alice")
    with pytest.raises(UserError, match="no token named 'nope'"):
        tokens.revoke("nope", "alice")
    tokens.authenticate(short)
    clock.advance(days=1)
    for secret in (short, revoked, "lfr_" + "A" * 43, "not even the prefix", ""):
        with pytest.raises(NotAuthenticatedError, match="unknown, expired or revoked"):
            tokens.authenticate(secret)
    (entry,) = [e for e in _entries(store) if e.action == "token.revoked"]
    assert (entry.actor, entry.target) == ("alice", "revoked")
    assert [t.name for t in tokens.list_tokens() if t.revoked_at is not None] == ["revoked"]


def test_a_device_token_is_bound_to_an_existing_deployment(tokens: Tokens, store: Store, clock: Clock) -> None:
    dep_id = draft(store, clock)
    view, secret = tokens.create("van-7", Role.DEVICE, "alice", days=7, deployment_id=dep_id)
    principal = tokens.authenticate(secret)
    assert (principal.role, principal.deployment_id, view.deployment_id) == (Role.DEVICE, dep_id, dep_id)
    with pytest.raises(UserError, match="must name the deployment"):
        tokens.create("van-8", Role.DEVICE, "alice", days=7)
    with pytest.raises(UserError, match="no deployment 20990101-000000"):
        tokens.create("van-8", Role.DEVICE, "alice", days=7, deployment_id="20990101-000000")
    with pytest.raises(UserError, match="only a device token is bound"):
        tokens.create("van-8", Role.OPERATOR, "alice", days=7, deployment_id=dep_id)
    assert [t.name for t in tokens.list_tokens()] == ["van-7"]


@pytest.mark.parametrize(
    ("name", "days", "problem"),
    [
        ("box", 0, "1 to 365 days"),
        ("box", 366, "1 to 365 days"),
        ("token:box", 1, "is not a username"),
        ("dup", 1, "a token named 'dup' exists"),
    ],
)
def test_bad_tokens_are_refused(tokens: Tokens, name: str, days: int, problem: str) -> None:
    tokens.create("dup", Role.AUDITOR, "alice", days=1)
    with pytest.raises(UserError, match=problem):
        tokens.create(name, Role.AUDITOR, "alice", days=days)


def test_the_secret_is_not_in_the_database_file(sqlite_store: Store) -> None:
    tokens = Tokens(sqlite_store, ApiConfig())
    _, secret = tokens.create("box", Role.AUDITOR, "alice", days=1)
    tokens.authenticate(secret)
    with sqlite_store.session() as s:
        assert [t.token_hash for t in s.scalars(select(ApiToken))] != []
    checkpoint(sqlite_store)
    path = sqlite_path(sqlite_store)
    assert path is not None
    stored = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))
    assert secret.encode() not in stored
    assert secret[4:].encode() not in stored
    assert secret[4:20].encode() not in stored


def _entries(store: Store) -> list[AuditEntry]:
    with store.session() as s:
        assert audit.verify(s).ok
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
