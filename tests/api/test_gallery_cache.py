"""``OpenGalleries``: one open gallery a folder, shared by threads, closed with the app (a real gallery)."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest

from openlfr.api.gallery_cache import OpenGalleries
from openlfr.errors import GalleryEmbedderError, GalleryError
from serving import ServedApp


def test_one_open_gallery_serves_every_thread_until_closed(offering: ServedApp) -> None:
    path = offering.settings.api.gallery_dir / "custody"  # type: ignore[operator]
    held = OpenGalleries(offering.settings.store)

    def count(_: int) -> int:
        with held.use(path) as gallery:
            return gallery.records.count()

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(count, range(32))) == [2] * 32
    assert held.opened == 1
    with pytest.raises(GalleryEmbedderError), held.use(path, "another-embedder"):
        pass
    with held.use(path) as gallery:
        pass
    assert held.opened == 1
    held.close()
    with pytest.raises(sqlite3.ProgrammingError):  # closed with the app
        gallery.records.count()
    with pytest.raises(GalleryError), held.use(path):
        pass
