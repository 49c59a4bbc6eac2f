"""Fixtures for the identity tests: a clock the test moves, the settings, and the three services."""

from __future__ import annotations

import pytest

from identities import PASSWORD, Clock
from openlfr.auth.roles import Role
from openlfr.auth.sessions import WebSessions
from openlfr.auth.tokens import Tokens
from openlfr.auth.users import Users, UserView
from openlfr.config import ApiConfig
from openlfr.store.db import Store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api_config() -> ApiConfig:
    return ApiConfig(login_max_failures=3, login_lock_minutes=15, session_minutes=480, session_idle_minutes=30)


@pytest.fixture
def users(store: Store, api_config: ApiConfig, clock: Clock) -> Users:
    return Users(store, api_config, clock)


@pytest.fixture
def tokens(store: Store, api_config: ApiConfig, clock: Clock) -> Tokens:
    return Tokens(store, api_config, clock)


@pytest.fixture
def sessions(store: Store, api_config: ApiConfig, clock: Clock) -> WebSessions:
    return WebSessions(store, api_config, clock)


@pytest.fixture
def alice(users: Users) -> UserView:
    """An admin."""
    return users.add("alice", Role.ADMIN, PASSWORD, "local:root")
