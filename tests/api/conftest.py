"""The service under test: a real server over a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from openlfr.config import ApiConfig, Settings, StoreConfig
from openlfr.store.db import Store
from serving import ServedApp, serve


def api_settings(store_config: StoreConfig, **api: object) -> Settings:
    """Settings for a test server: plain-HTTP cookies on loopback, everything else as shipped."""
    return Settings(store=store_config, api=ApiConfig(cookie_secure=False, **api))  # type: ignore[arg-type]


@pytest.fixture
def served(store_config: StoreConfig) -> Iterator[ServedApp]:
    """A server over a fresh store, on SQLite and on PostgreSQL."""
    store = Store.open(store_config)
    try:
        with serve(api_settings(store_config), store) as app:
            yield app
    finally:
        store.close()


@pytest.fixture
def served_sqlite(tmp_path: Path, sqlite_store: Store) -> Iterator[ServedApp]:
    """A server over a fresh SQLite store (tests of the HTTP layer that do not depend on the database)."""
    with serve(api_settings(StoreConfig(data_dir=tmp_path / "lfr-data", dev_mode=True)), sqlite_store) as app:
        yield app
