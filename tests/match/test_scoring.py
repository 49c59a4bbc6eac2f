"""Normalised watchlists on real faces: stored with the watchlist, calibrated, refused when the calibration
does not match, and fused across two embedders (the second a tiny ONNX model built here: plumbing only)."""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from embed.test_onnx import make_model
from openlfr.analysis import FaceAnalyzer
from openlfr.config import OnnxEmbedderConfig, ScoringConfig
from openlfr.embed.onnx import OnnxEmbedder
from openlfr.errors import WatchlistError
from openlfr.match import matcher
from openlfr.match.calibrate import apply, calibrate, normalise
from openlfr.match.cohort import Cohort
from openlfr.match.enrol import enrol
from openlfr.match.scoring import Fusion, build_scoring
from openlfr.match.watchlist import FORMAT_VERSION, Watchlist

CONFIG = ScoringConfig(method="zt", top_k=50, fair_clusters=4, fair_fmr=0.05)


@pytest.fixture(scope="module")
def fairface(shared_data: Path, analyzer: FaceAnalyzer) -> tuple[Cohort, list[Path]]:
    """160 FairFace faces (people on no watchlist) with their race as the group, and their image paths."""
    root = shared_data / "fairface_val"
    rows = list(csv.DictReader((root / "manifest.csv").open()))[:240]
    vectors, hashes, groups, paths = [], [], [], []
    for row in rows:
        path = root / row["path"]
        faces = analyzer.analyze(analyzer.load(path))
        if faces and len(vectors) < 160:
            vectors.append(faces[0].template.vector)
            hashes.append(hashlib.sha256(path.read_bytes()).hexdigest())
            groups.append(row["race"])
            paths.append(path)
    cohort = Cohort(
        np.stack(vectors),
        analyzer.embedder.identity,
        "FairFace val, 160",
        datetime.now(UTC),
        tuple(hashes),
        tuple(groups),
    )
    return cohort, paths


def test_a_normalised_watchlist_round_trips_and_searches_the_same(
    demo_watchlist: Watchlist, fairface: tuple[Cohort, list[Path]], demo: Path, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    cohort, _ = fairface
    wl = normalise(demo_watchlist, cohort, CONFIG)
    assert wl.manifest.normalisation is not None and wl.manifest.normalisation.cohort_size == len(cohort.vectors)
    loaded = Watchlist.load(wl.save(tmp_path / "n.lfrw"))
    assert loaded.manifest.format_version == FORMAT_VERSION == 2
    assert loaded.scoring_signature == wl.scoring_signature
    np.testing.assert_allclose(loaded.template_stats, wl.template_stats)
    probe = analyzer.analyze(analyzer.load(demo / "probes" / "obama_congress_2009.jpg"))
    vectors = np.stack([f.template.vector for f in probe])
    before, after = matcher.search(wl, vectors, k=2), matcher.search(loaded, vectors, k=2)
    assert [[(m.subject_id, round(m.score, 9)) for m in r] for r in before] == [
        [(m.subject_id, round(m.score, 9)) for m in r] for r in after
    ]
    assert any(r and r[0].subject_id == "obama" for r in before), "Obama's photo ranks Obama first"


def test_calibration_records_what_it_is_valid_for(
    demo_watchlist: Watchlist, fairface: tuple[Cohort, list[Path]]
) -> None:
    cohort, _ = fairface
    wl = normalise(demo_watchlist, cohort, CONFIG)
    assert wl.calibration_problem() is not None, "normalising drops any earlier calibration"
    c = calibrate(wl, cohort, 0.05)
    assert c.scoring == wl.scoring_signature and c.embedder == wl.embedder
    assert c.false_alerts <= 0.05 * len(cohort.vectors)
    assert set(c.group_fpir) == set(cohort.groups)
    calibrated = apply(wl, c)
    assert calibrated.calibration_problem() is None
    other = normalise(calibrated, cohort, CONFIG.model_copy(update={"top_k": 20}))
    moved = apply(other, c)  # the old threshold on a watchlist scored another way
    problem = moved.calibration_problem()
    assert problem is not None and "scoring" in problem


def test_a_cohort_holding_an_enrolled_image_is_refused(
    demo_watchlist: Watchlist, fairface: tuple[Cohort, list[Path]]
) -> None:
    cohort, _ = fairface
    enrolled = demo_watchlist.manifest.templates[0].image_sha256
    leaked = Cohort(cohort.vectors, cohort.embedder, "leaked", cohort.created_at, (enrolled, *cohort.image_sha256[1:]))
    with pytest.raises(WatchlistError, match="same SHA-256"):
        normalise(demo_watchlist, leaked, CONFIG)


def test_two_embedders_fuse_their_normalised_scores(
    fairface: tuple[Cohort, list[Path]], analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    """dlib and a tiny ONNX model embed the same real faces; each is normalised against its own templates
    of the cohort faces, and the fused score is the mean of the two (plumbing: the tiny model is no face model)."""
    cohort, paths = fairface
    onnx = OnnxEmbedder(OnnxEmbedderConfig(path=make_model(tmp_path / "tiny.onnx", dim=32)))
    second = []
    for path in paths:
        image = analyzer.load(path)
        second.append(onnx.embed(onnx.align(image, analyzer.detector.detect(image)[:1]))[0].vector)
    other = np.stack(second).astype(np.float32)
    config = ScoringConfig(method="zt", top_k=50, fair_clusters=0)
    first_scoring, second_scoring = build_scoring(config, cohort.vectors[:100]), build_scoring(config, other[:100])
    galleries = [first_scoring.gallery(cohort.vectors[100:120]), second_scoring.gallery(other[100:120])]
    probes = [cohort.vectors[120:], other[120:]]
    fused = Fusion((first_scoring, second_scoring)).scores(probes, galleries)
    each = [first_scoring.scores(probes[0], galleries[0]), second_scoring.scores(probes[1], galleries[1])]
    assert fused.shape == (len(paths) - 120, 20)
    np.testing.assert_allclose(fused, (each[0] + each[1]) / 2)
    assert not np.allclose(each[0], each[1]), "the two embedders score differently"
    with pytest.raises(ValueError, match="needs that many"):
        Fusion((first_scoring, second_scoring)).scores(probes[:1], galleries[:1])


def test_a_large_normalised_watchlist_retrieves_by_index_then_rescores_as_brute_force(
    fairface: tuple[Cohort, list[Path]],
    shared_data: Path,
    analyzer: FaceAnalyzer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """40 LFW people enrolled (one image each), their second images as probes: with ``RESCORE_N`` at 12 the
    search goes through the index (12 nearest rows, re-scored) and ranks as scoring every template does."""
    from openlfr.match.sources import from_folder

    people: dict[str, list[Path]] = {}
    with (shared_data / "lfw" / "manifest.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            people.setdefault(row["identity"], []).append(shared_data / "lfw" / row["path"])
    mated = [(n, imgs) for n, imgs in people.items() if len(imgs) >= 2][:40]
    for name, images in mated:
        (tmp_path / name).mkdir()
        (tmp_path / name / images[0].name).symlink_to(images[0])
    enrolled, _ = enrol(from_folder(tmp_path), analyzer, name="lfw40")
    wl = normalise(enrolled, fairface[0], CONFIG)
    probes = np.stack([analyzer.analyze(analyzer.load(imgs[1]))[0].template.vector for _, imgs in mated[:12]])
    brute = matcher.search(wl, probes, k=3)
    monkeypatch.setattr(matcher, "RESCORE_N", 12)
    seen: list[int] = []
    index, rows = wl.index()

    class Counting:
        def __len__(self) -> int:
            return len(index)

        def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
            seen.append(k)
            return index.search(queries, k)

    through = matcher.search(wl, probes, k=3, index=(Counting(), rows))
    assert seen == [12], "the normalised search asked the index for the rows to re-score"
    assert [[m.subject_id for m in r] for r in through] == [[m.subject_id for m in r] for r in brute]
    np.testing.assert_allclose([m.score for r in through for m in r], [m.score for r in brute for m in r], atol=1e-5)
    assert np.mean([r[0].subject_id == n for r, (n, _) in zip(through, mated, strict=False)]) > 0.7
