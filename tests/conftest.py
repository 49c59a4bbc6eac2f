"""Fixtures every test folder shares: the bundled demo photos, ../shared/data, one analyzer, stores.

Tests that need ../shared/data take the ``shared_data`` fixture: it skips them with the reason where
the folder is absent, and fails them instead when LFR_REQUIRE_SHARED_DATA is set (as .ci/run does),
so that CI can never pass by skipping.

Tests of the store take ``store``, which runs them twice: on SQLite in a temporary folder and on a
fresh database of the PostgreSQL server that LFR_TEST_POSTGRES_URL names (``scripts/postgres start``
starts one; .ci/run does, and sets LFR_REQUIRE_POSTGRES so that those tests fail instead of skipping).

Every test runs with a file signing key in ``LFR_SIGNING__KEY`` (``signing_key``), as an operator's machine
has one: watchlist and cohort files written by a test (or a subprocess it starts) are signed with it.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from openlfr.analysis import FaceAnalyzer
from openlfr.assets import demo_dir
from openlfr.config import StoreConfig
from openlfr.match.enrol import enrol
from openlfr.match.signing import SigningKey
from openlfr.match.sources import from_csv
from openlfr.match.watchlist import Watchlist
from openlfr.store.crypto import generate_key
from openlfr.store.db import Store

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

pytest_plugins = ["peers"]  # full_disk: a real file system with no space left


@pytest.fixture(scope="session", autouse=True)
def signing_key() -> Iterator[SigningKey]:
    """The session's file signing key, in the environment every settings load and subprocess reads."""
    key = SigningKey.generate()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LFR_SIGNING__KEY", base64.urlsafe_b64encode(key.secret).decode("ascii"))
        yield key


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "README.md").is_file():
        message = f"needs the real face data in {SHARED_DATA} (see DEVELOPERS.md), which is absent here"
        if os.environ.get("LFR_REQUIRE_SHARED_DATA"):
            pytest.fail(message + "; LFR_REQUIRE_SHARED_DATA is set")
        pytest.skip(message)
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo() -> Path:
    return demo_dir()


@pytest.fixture(scope="session")
def analyzer() -> FaceAnalyzer:
    """The default core (HOG upsample 1, dlib ResNet), shared so models load once per run."""
    return FaceAnalyzer()


@pytest.fixture(scope="session")
def demo_watchlist(analyzer: FaceAnalyzer, demo: Path) -> Watchlist:
    """Obama and Biden, enrolled from the bundled public-domain portraits."""
    watchlist, report = enrol(from_csv(demo / "watchlist.csv"), analyzer, name="demo")
    assert not report.rejected, report.rejected
    return watchlist


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of the test PostgreSQL server."""
    url = os.environ.get("LFR_TEST_POSTGRES_URL")
    if not url:
        message = "needs a PostgreSQL server: run 'eval \"$(scripts/postgres start)\"' (sets LFR_TEST_POSTGRES_URL)"
        if os.environ.get("LFR_REQUIRE_POSTGRES"):
            pytest.fail(message + "; LFR_REQUIRE_POSTGRES is set")
        pytest.skip(message)
    return url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """The URL of a new, empty database on the test server, dropped afterwards."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"openlfr_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_config(request: pytest.FixtureRequest, tmp_path: Path) -> StoreConfig:
    """A store configuration with a fresh key: SQLite in ``tmp_path``, or a new PostgreSQL database."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    return StoreConfig(url=url, data_dir=tmp_path / "lfr-data", key=SecretStr(generate_key()))


@pytest.fixture
def store(store_config: StoreConfig) -> Iterator[Store]:
    """An open, empty store, on SQLite and on PostgreSQL."""
    opened = Store.open(store_config)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """An open, empty SQLite store (for what only SQLite shows: its files)."""
    opened = Store.open(StoreConfig(data_dir=tmp_path / "lfr-data", key=SecretStr(generate_key())))
    yield opened
    opened.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that takes the ``shared_data`` fixture, so ``-m "not shared_data"`` leaves it out."""
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.shared_data)
