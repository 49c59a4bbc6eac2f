"""A gallery past its compact limit: IVF lists of 8-bit codes, whose candidates are re-ranked by exact cosine
on the records' templates. On LFW (one image of each person in the gallery among distractors, another as
probe) it finds the mate as often as exact search, with exact scores; a removed record never comes back."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from gallery.conftest import build_gallery
from gallery.test_search import against_exact
from openlfr.analysis import FaceAnalyzer
from openlfr.config import Settings
from openlfr.gallery.gallery import Gallery
from openlfr.gallery.search import search_probe

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def compact_gallery(
    lfw_split: tuple[list[dict[str, str]], list[tuple[str, Path]]],
    gallery_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    limits = {"exact_limit": 100, "compact_limit": 200}
    return build_gallery(tmp_path_factory.mktemp("sq8"), lfw_split[0], gallery_settings, "ivf_sq8", **limits)


def test_compact_index_finds_what_exact_search_finds_with_exact_scores(
    compact_gallery: Path,
    lfw_split: tuple[list[dict[str, str]], list[tuple[str, Path]]],
    gallery_settings: Settings,
) -> None:
    gallery = Gallery.open(compact_gallery, gallery_settings.store)
    assert gallery.index.approximate
    compared = against_exact(gallery, gallery_settings, lfw_split[1], gallery.search)
    compared.assert_as_good()
    position = {int(r): i for i, r in enumerate(compared.rows)}
    for q, (srow, frow) in enumerate(zip(compared.scores, compared.found, strict=True)):
        expected = [compared.cosine[q, position[int(r)]] for r in frow]
        np.testing.assert_allclose(srow, expected, atol=1e-5)  # exact cosine, not the codes' estimate
        assert list(srow) == sorted(srow, reverse=True)
    gallery.close()


def test_a_removed_record_never_comes_back_from_a_compact_index(
    compact_gallery: Path,
    lfw_split: tuple[list[dict[str, str]], list[tuple[str, Path]]],
    gallery_settings: Settings,
    tmp_path: Path,
) -> None:
    path = tmp_path / "g"
    shutil.copytree(compact_gallery, path)
    gallery = Gallery.open(path, gallery_settings.store)
    name, probe = lfw_split[1][0]
    record_id = next(r["record_id"] for r in lfw_split[0] if r["subject_id"] == name)
    analyzer = FaceAnalyzer(gallery_settings)
    before = search_probe(gallery, analyzer, probe, k=5)
    assert before.faces[0].candidates[0].record_id == record_id
    size = len(gallery.index)
    assert gallery.remove([record_id], "test") == 1
    gallery.close()
    gallery = Gallery.open(path, gallery_settings.store)
    assert len(gallery.index) == size - 1 and gallery.index.params.kind == "ivf_sq8"
    after = search_probe(gallery, analyzer, probe, k=50)
    assert all(c.record_id != record_id for f in after.faces for c in f.candidates)
    gallery.close()
