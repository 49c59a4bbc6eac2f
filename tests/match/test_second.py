"""Score fusion end to end with a second embedder: enrolled, saved, loaded, calibrated and searched.

The second embedder is the tiny ONNX model the ONNX tests build (plumbing only: its scores mean
nothing); the faces are the bundled demo photos and FairFace faces from ../shared/data.
"""

from __future__ import annotations

import csv
import json
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from embed.test_onnx import make_model
from openlfr.analysis import FaceAnalyzer
from openlfr.config import OnnxEmbedderConfig, ScoringConfig, Settings
from openlfr.errors import EmbedderMismatchError, WatchlistError
from openlfr.match import matcher
from openlfr.match import normalise as norm
from openlfr.match.calibrate import apply, calibrate, normalise
from openlfr.match.cohort import Cohort, build_cohort
from openlfr.match.enrol import enrol
from openlfr.match.sources import from_csv
from openlfr.match.watchlist import FORMAT_VERSION, FUSED_FORMAT_VERSION, Watchlist
from openlfr.search.stills import search_images
from openlfr.types import BoundingBox, FaceDetection

TINY_DIM = 24
CONFIG = ScoringConfig(method="zt", top_k=20, fair_clusters=3)


@dataclass(frozen=True)
class Fused:
    analyzer: FaceAnalyzer
    enrolled: Watchlist
    cohort: Cohort
    calibrated: Watchlist


def fused_analyzer(analyzer: FaceAnalyzer, folder: Path) -> FaceAnalyzer:
    """The shared analyzer's detector and dlib embedder, with a tiny ONNX model as the second embedder."""
    settings = Settings(second_embedder=OnnxEmbedderConfig(path=make_model(folder / "tiny.onnx", dim=TINY_DIM)))
    return FaceAnalyzer(settings, detector=analyzer.detector, embedder=analyzer.embedder)


def fused_cohort(analyzer: FaceAnalyzer, shared_data: Path, images: int = 40) -> Cohort:
    """The first ``images`` FairFace faces (people on no watchlist), embedded by both embedders."""
    root = shared_data / "fairface_val"
    paths = [root / row["path"] for row in list(csv.DictReader((root / "manifest.csv").open()))[:images]]
    cohort, _ = build_cohort(paths, analyzer, f"FairFace val, first {images}")
    return cohort


def build_fused(analyzer: FaceAnalyzer, folder: Path, shared_data: Path, demo: Path) -> Fused:
    """The demo watchlist enrolled with both embedders, and calibrated on a fused cohort."""
    fused = fused_analyzer(analyzer, folder)
    enrolled, _ = enrol(from_csv(demo / "watchlist.csv"), fused, name="fused")
    cohort = fused_cohort(fused, shared_data)
    normalised = normalise(enrolled, cohort, CONFIG)
    return Fused(fused, enrolled, cohort, apply(normalised, calibrate(normalised, cohort, target_fpir=0.1)))


@pytest.fixture(scope="module")
def fused(analyzer: FaceAnalyzer, tmp_path_factory: pytest.TempPathFactory, shared_data: Path, demo: Path) -> Fused:
    return build_fused(analyzer, tmp_path_factory.mktemp("fused"), shared_data, demo)


def test_enrolment_embeds_each_face_with_both_and_the_file_keeps_both(fused: Fused, demo: Path, tmp_path: Path) -> None:
    wl, second = fused.enrolled, fused.analyzer.second_embedder
    assert second is not None and wl.second is not None
    fusion = wl.manifest.second_embedder
    assert fusion is not None and fusion.embedder == second.identity and fusion.embedder.startswith("tiny@")
    assert wl.manifest.format_version == FUSED_FORMAT_VERSION
    assert wl.second.vectors.shape == (len(wl.manifest.templates), TINY_DIM)
    for row, record in enumerate(wl.manifest.templates):  # row i: the same face, aligned for the tiny model
        image = fused.analyzer.load(demo / "watchlist" / record.image)
        face = FaceDetection(BoundingBox(*record.box), 1.0, "test")
        by_hand = second.embed(second.align(image, [face]))[0].vector
        np.testing.assert_allclose(wl.second.vectors[row], by_hand, rtol=1e-5)

    loaded = Watchlist.load(wl.save(tmp_path / "fused.lfrw"), embedder=wl.embedder, second=second.identity)
    assert loaded.manifest == wl.manifest
    assert loaded.second is not None and loaded.second.identity == second.identity
    np.testing.assert_array_equal(loaded.second.vectors, wl.second.vectors)
    np.testing.assert_array_equal(loaded.vectors, wl.vectors)


def test_a_fused_watchlist_is_calibrated_on_the_fused_scores(fused: Fused, demo_watchlist: Watchlist) -> None:
    wl = fused.calibrated
    assert wl.second is not None and wl.second.identity in wl.scoring_signature
    assert wl.manifest.calibration is not None and wl.manifest.calibration.scoring == wl.scoring_signature
    assert wl.calibration_problem() is None
    fusion = wl.manifest.second_embedder
    assert fusion is not None and fusion.normalisation is not None
    assert fusion.normalisation.cohort_size == len(fused.cohort.vectors)
    # A threshold calibrated on the first embedder's scores alone is not valid for the fused ones: the live
    # run refuses it like any other uncalibrated threshold (LiveApp reads calibration_problem).
    plain = normalise(demo_watchlist, fused.cohort, CONFIG)
    alone = calibrate(plain, fused.cohort, target_fpir=0.1)
    problem = apply(wl, alone).calibration_problem()
    assert problem is not None and "fused with tiny@" in problem


def test_the_fused_score_is_the_mean_of_the_two_normalised_scores(fused: Fused, demo: Path, tmp_path: Path) -> None:
    wl = Watchlist.load(fused.calibrated.save(tmp_path / "w.lfrw"))
    assert wl.scoring is not None and wl.scored is not None and wl.second is not None
    assert wl.second.scoring is not None and wl.second.scored is not None
    faces = fused.analyzer.analyze(fused.analyzer.load(demo / "probes" / "composite_obama_collins.jpg"))
    first = np.stack([f.template.vector for f in faces])
    second = np.stack([f.second.vector for f in faces if f.second is not None])
    by_hand = norm.fuse([wl.scoring.scores(first, wl.scored), wl.second.scoring.scores(second, wl.second.scored)])
    expected = wl.scoring.similarity(by_hand)
    rows = {t.template_id: i for i, t in enumerate(wl.manifest.templates)}
    ranked = matcher.search(wl, first, k=2, second=second)
    assert [len(r) for r in ranked] == [2] * len(faces)
    for p, candidates in enumerate(ranked):
        for m in candidates:
            assert m.score == pytest.approx(expected[p, rows[m.template_id]], abs=1e-12)
    alone = wl.scoring.similarity(wl.scoring.scores(first, wl.scored))
    assert not np.allclose(alone, expected), "fusion changes the scores"
    with pytest.raises(WatchlistError, match="each probe needs both templates"):
        matcher.search(wl, first)


def test_stills_search_of_a_fused_watchlist_finds_the_listed(fused: Fused, demo: Path) -> None:
    results = list(search_images([demo / "probes" / "obama_congress_2009.jpg"], fused.analyzer, fused.calibrated))
    named = [f.match.subject_id for r in results for f in r.faces if f.match is not None]
    assert named == ["obama"]


def test_a_mismatched_second_embedder_is_refused(fused: Fused, demo_watchlist: Watchlist, tmp_path: Path) -> None:
    path = fused.calibrated.save(tmp_path / "w.lfrw")
    first, mine = fused.calibrated.embedder, fused.analyzer.second_identity
    with pytest.raises(EmbedderMismatchError, match=rf"second embedder {mine}, but the configured .* is other@0123"):
        Watchlist.load(path, embedder=first, second="other@0123")
    with pytest.raises(EmbedderMismatchError, match=rf"embedders {first} and {mine}, but no second embedder"):
        Watchlist.load(path, embedder=first)
    with pytest.raises(EmbedderMismatchError, match=rf"{first} alone, but second embedder {mine} is configured"):
        demo_watchlist.require_embedder(first, mine)
    with pytest.raises(EmbedderMismatchError, match=r"the cohort .* has no second embedder's templates"):
        normalise(fused.enrolled, replace(fused.cohort, second=None, second_embedder=""), CONFIG)
    with pytest.raises(WatchlistError, match="needs them normalised against a cohort"):
        matcher.search(fused.enrolled, fused.enrolled.vectors, second=fused.enrolled.vectors)


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_with_fusion_off_a_format_2_file_round_trips_byte_identically(
    fused: Fused, demo_watchlist: Watchlist, tmp_path: Path
) -> None:
    normalised = normalise(demo_watchlist, fused.cohort, CONFIG)  # the cohort's second templates unused
    for n, wl in enumerate([demo_watchlist, apply(normalised, calibrate(normalised, fused.cohort, 0.1))]):
        written = wl.save(tmp_path / f"{n}.lfrw")
        again = Watchlist.load(written, embedder=wl.embedder).save(tmp_path / f"{n}-again.lfrw")
        members = _members(written)
        assert members == _members(again)
        manifest = json.loads(members["manifest.json"])
        assert manifest["format_version"] == FORMAT_VERSION == 2 and "second_embedder" not in manifest
        assert not any(name.startswith("second/") for name in members)
