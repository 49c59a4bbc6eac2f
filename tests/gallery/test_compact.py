"""A gallery past its compact limit: IVF lists of 8-bit codes, whose candidates are re-ranked by exact cosine
on the records' templates. On LFW (one image of each person in the gallery among distractors, another as
probe) it finds the mate as often as exact search, with exact scores; a removed record never comes back."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from gallery.conftest import write_manifest
from gallery.test_search import centre_vector, hit_rates
from openlfr.analysis import FaceAnalyzer
from openlfr.config import Settings
from openlfr.gallery.gallery import Gallery
from openlfr.gallery.importer import import_items, iter_source
from openlfr.gallery.index import normalise
from openlfr.gallery.search import search_probe

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def compact_gallery(
    lfw_split: tuple[list[dict[str, str]], list[tuple[str, Path]]],
    gallery_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    tmp = tmp_path_factory.mktemp("sq8")
    embedder = "dlib-resnet-v1@55533b28a958"
    gallery = Gallery.create(tmp / "g", gallery_settings.store, embedder, exact_limit=100, compact_limit=200)
    import_items(gallery, iter_source(write_manifest(tmp / "m.csv", lfw_split[0])), gallery_settings, workers=2)
    assert gallery.index.params.kind == "ivf_sq8" and gallery.index.approximate
    assert (gallery.index.params.measured_recall10 or 0) >= 0.99
    gallery.close()
    return tmp / "g"


def test_compact_index_finds_what_exact_search_finds_with_exact_scores(
    compact_gallery: Path,
    lfw_split: tuple[list[dict[str, str]], list[tuple[str, Path]]],
    gallery_settings: Settings,
) -> None:
    gallery = Gallery.open(compact_gallery, gallery_settings.store)
    analyzer = FaceAnalyzer(gallery_settings)
    probes = lfw_split[1]
    queries = normalise(np.stack([centre_vector(analyzer, p) for _, p in probes]))
    chunks = list(gallery.records.templates())
    rows = np.concatenate([c[0] for c in chunks])
    cosine = queries @ normalise(np.concatenate([c[1] for c in chunks])).T
    subject = {int(r): str(gallery.records.fields(int(r))["subject_id"]) for r in rows}
    exact = [[subject[int(rows[i])] for i in order] for order in np.argsort(-cosine, axis=1)[:, :10]]
    scores, found = gallery.search(queries, 10)
    indexed = [[subject[int(r)] for r in row if r >= 0] for row in found]
    truth = [name for name, _ in probes]
    (exact_r1, exact_r10), (index_r1, index_r10) = hit_rates(exact, truth), hit_rates(indexed, truth)
    rates = f"exact rank-1 {exact_r1:.3f} rank-10 {exact_r10:.3f}; compact index {index_r1:.3f} {index_r10:.3f}"
    assert index_r1 >= exact_r1 - 0.005 and index_r10 >= exact_r10 - 0.005, rates
    assert exact_r1 > 0.8
    position = {int(r): i for i, r in enumerate(rows)}
    for q, (srow, frow) in enumerate(zip(scores, found, strict=True)):
        expected = [cosine[q, position[int(r)]] for r in frow]
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
