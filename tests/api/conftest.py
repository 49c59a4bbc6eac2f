"""The service under test: a real server over a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from openlfr.analysis import FaceAnalyzer
from openlfr.config import ApiConfig, Settings, StoreConfig
from openlfr.gallery.gallery import Gallery
from openlfr.gallery.importer import import_items, iter_source
from openlfr.store.crypto import generate_key
from openlfr.store.db import Store
from serving import ServedApp, serve

UPLOAD_LIMIT = 2_000_000


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


@pytest.fixture
def offering(tmp_path: Path, demo: Path) -> Iterator[ServedApp]:
    """A server (SQLite) offering one gallery, "custody", of the two demo portraits (uploads up to 2 MB)."""
    store_config = StoreConfig(data_dir=tmp_path / "lfr-data", key=SecretStr(generate_key()))
    api = ApiConfig(cookie_secure=False, gallery_dir=tmp_path / "galleries", max_upload_bytes=UPLOAD_LIMIT)
    settings = Settings(store=store_config, api=api)
    people = tmp_path / "people"
    for name in ("obama", "biden"):
        (people / name).mkdir(parents=True)
        (people / name / f"{name}.jpg").symlink_to(demo / "watchlist" / f"{name}.jpg")
    gallery = Gallery.create(tmp_path / "galleries" / "custody", store_config, FaceAnalyzer(settings).embedder.identity)
    report = import_items(gallery, iter_source(people), settings, workers=1)
    assert report.added == 2
    gallery.close()
    (tmp_path / "galleries" / "not-a-gallery").mkdir()
    store = Store.open(store_config)
    try:
        with serve(settings, store) as app:
            yield app
    finally:
        store.close()
