"""An edge device's world: a served store with Lin-Manuel Miranda's deployment live, and device tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from deploying import live_deployment
from edging import EdgeWorld
from openlfr.analysis import FaceAnalyzer
from openlfr.auth.roles import Role
from openlfr.auth.tokens import Tokens
from openlfr.config import ApiConfig, CameraConfig, Settings, StoreConfig
from openlfr.match.enrol import enrol
from openlfr.match.sources import EnrolItem
from openlfr.match.watchlist import Subject, Watchlist
from openlfr.store.crypto import generate_key
from openlfr.store.db import Store
from serving import serve


@pytest.fixture(scope="session")
def lin(analyzer: FaceAnalyzer, shared_data: Path) -> Watchlist:
    root = shared_data / "videos" / "hamilton_whitehouse"
    item = EnrolItem(
        Subject(subject_id="lin-manuel-miranda", display_name="Lin-Manuel Miranda"),
        root / "enrol" / "lin-manuel-miranda.png",
    )
    watchlist, report = enrol([item], analyzer, name="hamilton-lin")
    assert not report.rejected
    return watchlist


@pytest.fixture
def world(tmp_path: Path, lin: Watchlist, shared_data: Path) -> Iterator[EdgeWorld]:
    """A server over a fresh SQLite store; two live deployments (made live in the store, so the server
    runs no camera of its own for them: the edge device is the camera)."""
    config = StoreConfig(data_dir=tmp_path / "lfr-data", key=SecretStr(generate_key()))
    yield from _world(config, lin, shared_data)


@pytest.fixture
def world_any_store(store_config: StoreConfig, lin: Watchlist, shared_data: Path) -> Iterator[EdgeWorld]:
    """The same world, on SQLite and on PostgreSQL."""
    yield from _world(store_config, lin, shared_data)


def _world(config: StoreConfig, lin: Watchlist, shared_data: Path) -> Iterator[EdgeWorld]:
    store = Store.open(config)
    clip = shared_data / "videos" / "hamilton_whitehouse" / "short_hamilton_clip.mp4"
    settings = Settings(store=config, api=ApiConfig(cookie_secure=False))
    try:
        with serve(settings, store) as served:
            camera = [CameraConfig(id="placeholder", source=str(clip))]
            dep = live_deployment(store, lin, camera, threshold=0.5)
            other = live_deployment(store, lin, camera, threshold=0.5)
            tokens = Tokens(store, settings.api)
            _, device = tokens.create("edge-box", Role.DEVICE, "local:test", days=1, deployment_id=dep.id)
            yield EdgeWorld(served, lin, dep.id, other.id, device, clip)
    finally:
        store.close()
