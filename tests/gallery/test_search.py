"""Investigative search on LFW: the index (IVF here) finds the mate as often as exact search does."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from openlfr.analysis import FaceAnalyzer
from openlfr.config import Settings
from openlfr.gallery.gallery import Gallery
from openlfr.gallery.index import normalise
from openlfr.gallery.search import search_probes
from openlfr.gallery.sheet import review_sheet

pytestmark = pytest.mark.shared_data


def centre_vector(analyzer: FaceAnalyzer, path: Path) -> np.ndarray:
    image = analyzer.load(path)
    faces = analyzer.analyze(image)
    h, w = image.shape[:2]
    face = min(faces, key=lambda f: (f.detection.box.center[0] - w / 2) ** 2 + (f.detection.box.center[1] - h / 2) ** 2)
    return face.template.vector


def hit_rates(ranked: list[list[str]], truth: list[str]) -> tuple[float, float]:
    r1 = np.mean([t in r[:1] for r, t in zip(ranked, truth, strict=True)])
    r10 = np.mean([t in r[:10] for r, t in zip(ranked, truth, strict=True)])
    return float(r1), float(r10)


Search = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]


@dataclass
class AgainstExact:
    """One search's top 10 for the split's probes beside exact search over the gallery's records."""

    exact: tuple[float, float]  # rank-1, rank-10 hit rates
    index: tuple[float, float]
    cosine: np.ndarray  # probe x record, in the order of ``rows``
    rows: np.ndarray
    scores: np.ndarray  # what the search returned
    found: np.ndarray

    def assert_as_good(self) -> None:
        (e1, e10), (i1, i10) = self.exact, self.index
        rates = f"exact rank-1 {e1:.3f} rank-10 {e10:.3f}; index {i1:.3f} {i10:.3f}"
        assert self.index[0] >= self.exact[0] - 0.005 and self.index[1] >= self.exact[1] - 0.005, rates
        assert self.exact[0] > 0.8, rates


def against_exact(gallery: Gallery, settings: Settings, probes: list[tuple[str, Path]], search: Search) -> AgainstExact:
    analyzer = FaceAnalyzer(settings)
    queries = normalise(np.stack([centre_vector(analyzer, p) for _, p in probes]))
    chunks = list(gallery.records.templates())
    rows = np.concatenate([c[0] for c in chunks])
    cosine = queries @ normalise(np.concatenate([c[1] for c in chunks])).T
    subject = {int(r): str(gallery.records.fields(int(r))["subject_id"]) for r in rows}
    exact = [[subject[int(rows[i])] for i in order] for order in np.argsort(-cosine, axis=1)[:, :10]]
    scores, found = search(queries, 10)
    indexed = [[subject[int(r)] for r in row if r >= 0] for row in found]
    truth = [name for name, _ in probes]
    return AgainstExact(hit_rates(exact, truth), hit_rates(indexed, truth), cosine, rows, scores, found)


def test_index_hit_rates_match_exact_search(
    ivf_gallery: Path, lfw_split: tuple[list[dict[str, str]], list[tuple[str, Path]]], gallery_settings: Settings
) -> None:
    gallery = Gallery.open(ivf_gallery, gallery_settings.store)
    against_exact(gallery, gallery_settings, lfw_split[1], gallery.index.search).assert_as_good()
    gallery.close()


def test_search_is_audited_and_json_follows_lfr_search(
    ivf_gallery: Path, lfw_split: tuple[list[dict[str, str]], list[tuple[str, Path]]], gallery_settings: Settings
) -> None:
    gallery = Gallery.open(ivf_gallery, gallery_settings.store)
    analyzer = FaceAnalyzer(gallery_settings)
    _, probe = lfw_split[1][0]
    results = list(search_probes(gallery, analyzer, [probe], k=5, reason="case 7: test"))
    line = json.loads(json.dumps(results[0].to_json()))
    assert line["source"] == str(probe)
    cands = line["faces"][0]["candidates"]
    assert len(cands) == 5
    assert {"rank", "score", "subject_id", "record_id", "date", "source"} <= cands[0].keys()
    assert [c["rank"] for c in cands] == [1, 2, 3, 4, 5]
    entry = gallery.records.audit_entries()[-1]
    assert entry["action"] == "search"
    assert entry["detail"]["reason"] == "case 7: test"  # type: ignore[index]
    assert gallery.records.verify_audit()[0]
    html = review_sheet(results, gallery, "case 7: test")
    assert html.count("data:image/jpeg;base64,") == 6  # the probe face and five candidates
    with pytest.raises(Exception, match="reason"):
        list(search_probes(gallery, analyzer, [probe], k=5, reason="  "))
