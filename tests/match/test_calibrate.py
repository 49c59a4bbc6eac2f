"""Threshold calibration on a cohort: the target FPIR is met on the cohort, with an honest interval."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from openlfr.errors import EmbedderMismatchError, WatchlistError
from openlfr.match import matcher
from openlfr.match.calibrate import apply, calibrate, wilson_interval
from openlfr.match.cohort import Cohort
from openlfr.match.watchlist import Watchlist


def _cohort(vectors: np.ndarray, embedder: str) -> Cohort:
    return Cohort(vectors.astype(np.float32), embedder, "synthetic", datetime.now(UTC))


@pytest.fixture
def cohort(demo_watchlist: Watchlist) -> Cohort:
    # Random points around the watchlist's templates: some near, most far, none the same photo.
    rng = np.random.default_rng(0)
    base = demo_watchlist.vectors[rng.integers(0, len(demo_watchlist.vectors), 4000)]
    noise = rng.normal(0, 1, base.shape)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    return _cohort(base + noise * rng.uniform(0.3, 0.9, (4000, 1)), demo_watchlist.embedder)


@pytest.mark.parametrize("target", [0.1, 0.01, 0.001])
def test_threshold_meets_the_target_on_the_cohort(demo_watchlist: Watchlist, cohort: Cohort, target: float) -> None:
    c = calibrate(demo_watchlist, cohort, target)
    top = np.array([r[0].score for r in matcher.search(demo_watchlist, cohort.vectors, k=1)])
    assert np.mean(top >= c.threshold) <= target
    assert c.false_alerts == int(np.sum(top >= c.threshold)) == int(target * 4000)
    assert c.fpir_low <= c.fpir <= c.fpir_high
    assert c.subjects == 2 and c.cohort_size == 4000


def test_apply_records_the_calibration(demo_watchlist: Watchlist, cohort: Cohort, tmp_path: Path) -> None:
    c = calibrate(demo_watchlist, cohort, 0.01)
    calibrated = apply(demo_watchlist, c)
    assert calibrated.threshold == c.threshold
    assert calibrated.manifest.threshold_source.startswith("calibrated ")
    loaded = Watchlist.load(calibrated.save(tmp_path / "w.lfrw"))
    assert loaded.manifest.calibration == c


def test_a_cohort_holding_a_listed_photo_is_refused(demo_watchlist: Watchlist) -> None:
    leaked = _cohort(np.vstack([demo_watchlist.vectors[:1], demo_watchlist.vectors[:1] + 0.5]), demo_watchlist.embedder)
    with pytest.raises(WatchlistError, match="holds a photo of someone on the watchlist"):
        calibrate(demo_watchlist, leaked, 0.01)


def test_a_cohort_of_another_embedder_is_refused(demo_watchlist: Watchlist, cohort: Cohort) -> None:
    with pytest.raises(EmbedderMismatchError):
        calibrate(demo_watchlist, _cohort(cohort.vectors, "other@1"), 0.01)


def test_cohort_file_round_trip(cohort: Cohort, tmp_path: Path) -> None:
    loaded = Cohort.load(cohort.save(tmp_path / "c.lfrc"))
    np.testing.assert_array_equal(loaded.vectors, cohort.vectors)
    assert (loaded.embedder, loaded.source) == (cohort.embedder, cohort.source)
    (tmp_path / "bad.lfrc").write_text("x")
    with pytest.raises(WatchlistError, match="not an openlfr cohort"):
        Cohort.load(tmp_path / "bad.lfrc")


def test_wilson_interval() -> None:
    low, high = wilson_interval(0, 1000)
    assert low == 0.0 and 0.0037 < high < 0.0039  # the "rule of three" region
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-3) and high == pytest.approx(0.5962, abs=1e-3)
