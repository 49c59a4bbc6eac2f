"""The embedding cache: computed once, reused while the file and the core are the same."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from openlfr.config import HogDetectorConfig, Settings
from openlfr.eval.cache import EmbeddingCache, embed_all


def test_cache_reuses_and_never_serves_stale(tmp_path: Path, demo: Path) -> None:
    images = tmp_path / "img"
    images.mkdir()
    shutil.copy(demo / "watchlist" / "obama.jpg", images / "a.jpg")
    shutil.copy(demo / "probes" / "eileen_collins_nasa.jpg", images / "b.jpg")
    (images / "c.jpg").write_text("not an image")
    paths = sorted(images.iterdir())
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    first = embed_all(paths, Settings(), cache, workers=1)
    assert first[images / "c.jpg"].vector is None and "not an image" in (first[images / "c.jpg"].error or "")
    assert first[images / "a.jpg"].vector is not None and not first[images / "a.jpg"].fallback

    calls: list[int] = []
    again = embed_all(paths, Settings(), cache, workers=1, progress=calls.append)
    assert calls == [3], "everything came from the cache in one step"
    np.testing.assert_array_equal(again[images / "a.jpg"].vector, first[images / "a.jpg"].vector)

    shutil.copy(demo / "watchlist" / "biden.jpg", images / "a.jpg")  # same name, new content
    changed = embed_all(paths, Settings(), cache, workers=1)
    assert np.linalg.norm(changed[images / "a.jpg"].vector - first[images / "a.jpg"].vector) > 0.3

    other = Settings(detector=HogDetectorConfig(upsample=0))
    calls.clear()
    embed_all(paths[:1], other, cache, workers=1, progress=calls.append)
    assert calls == [1], "another detector setting is another cache key: computed afresh"
    cache.close()
    reopened = EmbeddingCache(tmp_path / "cache.sqlite")
    calls.clear()
    embed_all(paths, Settings(), reopened, workers=1, progress=calls.append)
    assert calls == [3], "the cache survives a restart"


def test_centre_fallback_is_marked(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (250, 250), (120, 120, 120)).save(tmp_path / "blank.jpg")
    result = embed_all([tmp_path / "blank.jpg"], Settings(), EmbeddingCache(tmp_path / "c.sqlite"), workers=1)
    item = result[tmp_path / "blank.jpg"]
    assert item.fallback and item.vector is not None
