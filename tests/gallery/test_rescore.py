"""Normalised re-scoring through the index: the top rows by cosine, re-scored with the gallery's cohort,
give the same top k as brute-force normalised scoring of the whole gallery (real faces)."""

from __future__ import annotations

import csv
import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from openlfr.analysis import FaceAnalyzer
from openlfr.config import ScoringConfig, Settings
from openlfr.errors import GalleryEmbedderError, GalleryError
from openlfr.gallery import scoring as gallery_scoring
from openlfr.gallery.gallery import Gallery
from openlfr.gallery.scoring import SCORING_FILE
from openlfr.gallery.search import search_faces
from openlfr.match.cohort import Cohort

pytestmark = pytest.mark.shared_data
CONFIG = ScoringConfig(method="zt", top_k=40, fair_clusters=4, fair_fmr=0.05)
PROBES = 25
K = 5


@pytest.fixture(scope="module")
def cohort(shared_data: Path, gallery_settings: Settings) -> Cohort:
    """FairFace faces (people in no gallery here), embedded by the gallery's embedder."""
    analyzer = FaceAnalyzer(gallery_settings)
    root = shared_data / "fairface_val"
    vectors, hashes = [], []
    for row in list(csv.DictReader((root / "manifest.csv").open()))[:60]:
        path = root / row["path"]
        faces = analyzer.analyze(analyzer.load(path))
        if faces:
            vectors.append(faces[0].template.vector)
            hashes.append(hashlib.sha256(path.read_bytes()).hexdigest())
    return Cohort(np.stack(vectors), analyzer.embedder.identity, "FairFace val", datetime.now(UTC), tuple(hashes))


def test_rescored_top_k_equals_brute_force_normalised(
    ivf_gallery: Path,
    lfw_split: tuple[list[dict[str, str]], list[tuple[str, Path]]],
    gallery_settings: Settings,
    cohort: Cohort,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "g"
    shutil.copytree(ivf_gallery, path)
    gallery = Gallery.open(path, gallery_settings.store)
    scoring = gallery.normalise(cohort, CONFIG)
    chunks = list(gallery.records.templates())
    rows = np.concatenate([c[0] for c in chunks])
    everyone = scoring.gallery(np.concatenate([c[1] for c in chunks]))
    assert len(rows) > 200
    monkeypatch.setattr(gallery_scoring, "RESCORE_N", 60)  # a quarter of the gallery is re-scored
    analyzer = FaceAnalyzer(gallery_settings)
    reordered = 0
    for _, probe in lfw_split[1][:PROBES]:
        image = analyzer.load(probe)
        faces = analyzer.analyze(image)
        for face, found in zip(faces, search_faces(gallery, image, faces, K), strict=True):
            brute = scoring.scores(face.template.vector[None, :], everyone)[0]
            top = np.argsort(-brute, kind="stable")[:K]
            assert [c.row_id for c in found.candidates] == rows[top].tolist()
            np.testing.assert_allclose([c.score for c in found.candidates], scoring.similarity(brute[top]), atol=1e-4)
            by_cosine = sorted(found.candidates, key=lambda c: -(c.cosine or 0.0))
            reordered += by_cosine != found.candidates
    assert reordered > 0, "normalisation reordered no candidate: the test would not see a cosine-only search"
    gallery.close()

    reopened = Gallery.open(path, gallery_settings.store)  # the normalisation is kept, encrypted
    assert reopened.scoring is not None and reopened.scoring.checksum == scoring.checksum
    info = reopened.info().normalisation
    assert info is not None and info["cohort_checksum"] == scoring.checksum
    assert b"FairFace" not in (path / SCORING_FILE).read_bytes()
    reopened.close()


def test_a_damaged_normalisation_or_another_embedders_cohort_is_refused(
    ivf_gallery: Path, gallery_settings: Settings, cohort: Cohort, tmp_path: Path
) -> None:
    path = tmp_path / "g"
    shutil.copytree(ivf_gallery, path)
    gallery = Gallery.open(path, gallery_settings.store)
    other = Cohort(cohort.vectors, "other@1", "x", cohort.created_at, cohort.image_sha256)
    with pytest.raises(GalleryEmbedderError, match="the cohort was made by embedder other@1"):
        gallery.normalise(other, CONFIG)
    gallery.normalise(cohort, CONFIG)
    gallery.close()
    data = bytearray((path / SCORING_FILE).read_bytes())
    data[len(data) // 2] ^= 1
    (path / SCORING_FILE).write_bytes(bytes(data))
    gallery = Gallery.open(path, gallery_settings.store)
    with pytest.raises(GalleryError, match=r"normalisation .* does not load"):
        _ = gallery.scoring
    assert gallery.records.count() > 200  # nothing lost: the records are untouched
    gallery.close()
