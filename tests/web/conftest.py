"""Fixtures of the browser tests: one Chromium per run, a server over a fresh SQLite store, ``Browsing``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from browsing import ARGS, CHROMIUM, Browsing
from openlfr.config import ApiConfig, Settings, StoreConfig
from openlfr.store.crypto import generate_key
from openlfr.store.db import Store
from serving import ServedApp, serve


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        message = f"needs Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"
        if os.environ.get("LFR_REQUIRE_SHARED_DATA"):
            pytest.fail(message)
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="session")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("LFR_WEB_ARTEFACTS")
    folder = Path(given) if given else tmp_path_factory.mktemp("web-artefacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def served_web(tmp_path: Path) -> Iterator[ServedApp]:
    """The service over a fresh SQLite store (plain-HTTP cookies on loopback)."""
    config = StoreConfig(data_dir=tmp_path / "lfr-data", key=SecretStr(generate_key()))
    store = Store.open(config)
    try:
        with serve(Settings(store=config, api=ApiConfig(cookie_secure=False)), store) as app:
            yield app
    finally:
        store.close()


@pytest.fixture
def browsing(browser: Any, served_web: ServedApp, artefacts: Path) -> Iterator[Browsing]:
    b = Browsing(browser, served_web, artefacts)
    yield b
    for context in b.contexts:
        context.close()
    assert not b.outside, f"pages requested other hosts: {b.outside}"
