"""Integrity of what decides an alert: a degenerate cohort never sets a threshold, a file the reader
would refuse is never written, and a watchlist whose templates or threshold were damaged or edited is
refused when it is read (issue 16, item 1)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from openlfr.analysis import FaceAnalyzer
from openlfr.config import ScoringConfig
from openlfr.errors import WatchlistError, WatchlistFormatError
from openlfr.match.calibrate import apply, calibrate, normalise
from openlfr.match.cohort import Cohort, build_cohort
from openlfr.match.signing import FileSigning
from openlfr.match.watchlist import Watchlist

TRUSTING = FileSigning(None, trust_unsigned=True)
"""Files checked as ``--trust-unsigned`` reads them: their signature is not what refuses them here."""


def _cohort(vectors: np.ndarray, embedder: str, hashes: tuple[str, ...] = ()) -> Cohort:
    return Cohort(vectors.astype(np.float32), embedder, "synthetic", datetime.now(UTC), hashes)


@pytest.fixture(scope="module")
def strangers(demo_watchlist: Watchlist) -> Cohort:
    rng = np.random.default_rng(0)
    base = demo_watchlist.vectors[rng.integers(0, len(demo_watchlist.vectors), 1000)]
    noise = rng.normal(0, 1, base.shape)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    return _cohort(base + noise * rng.uniform(0.4, 0.9, (1000, 1)), demo_watchlist.embedder)


@pytest.fixture(scope="module")
def one_photo(analyzer: FaceAnalyzer, demo: Path) -> Cohort:
    cohort, _ = build_cohort([demo / "probes" / "eileen_collins_nasa.jpg"], analyzer, "one stranger")
    return cohort


def _rewrite(
    path: Path, out: Path, manifest: dict[str, object] | None = None, vectors: np.ndarray | None = None
) -> Path:
    """``path`` re-zipped with its manifest or template matrix replaced, as a hostile editor would."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "manifest.json" and manifest is not None:
                data = json.dumps(manifest).encode()
            if name == "vectors.npy" and vectors is not None:
                buf = io.BytesIO()
                np.save(buf, vectors.astype(np.float32), allow_pickle=False)
                data = buf.getvalue()
            dst.writestr(name, data)
    return out


def test_twelve_copies_of_one_photo_are_refused_as_a_cohort_not_made_threshold_0(
    demo_watchlist: Watchlist, one_photo: Cohort
) -> None:
    # the finding: 'lfr watchlist calibrate --fpir 0.1' on 12 copies recorded threshold 0.000 as calibrated
    copies = _cohort(np.repeat(one_photo.vectors, 12, axis=0), one_photo.embedder, one_photo.image_sha256 * 12)
    with pytest.raises(WatchlistError, match="duplicate image"):
        calibrate(normalise(demo_watchlist, copies, ScoringConfig()), copies, 0.1)
    unhashed = _cohort(copies.vectors, copies.embedder)  # the same photo re-encoded: other bytes, same face
    with pytest.raises(WatchlistError, match="same photo twice"):
        normalise(demo_watchlist, unhashed, ScoringConfig())
    with pytest.raises(WatchlistError, match="same photo twice"):
        calibrate(demo_watchlist, unhashed, 0.1)


def test_a_cohort_too_small_for_the_target_is_refused(demo_watchlist: Watchlist, strangers: Cohort) -> None:
    with pytest.raises(WatchlistError, match=r"cannot measure an FPIR of 0\.0001.*at least 10000 faces"):
        calibrate(demo_watchlist, strangers, 1e-4)
    assert calibrate(demo_watchlist, strangers, 1e-3).false_alerts == 1  # 1,000 faces measure 1 in 1,000


def test_non_finite_cohort_statistics_are_refused_and_the_watchlist_file_is_intact(
    demo_watchlist: Watchlist, strangers: Cohort, tmp_path: Path
) -> None:
    nan = strangers.vectors.copy()
    nan[3, 0] = np.nan
    with pytest.raises(WatchlistError, match="non-finite"):
        calibrate(demo_watchlist, replace(strangers, vectors=nan), 0.01)
    with pytest.raises(WatchlistError, match="non-finite"):
        normalise(demo_watchlist, replace(strangers, vectors=nan), ScoringConfig())

    # as the user met it: lfr watchlist calibrate in place, with a cohort file holding NaN
    watchlist = demo_watchlist.save(tmp_path / "w.lfrw")
    before = hashlib.sha256(watchlist.read_bytes()).hexdigest()
    cohort = replace(strangers, vectors=nan).save(tmp_path / "nan.lfrc")
    out = subprocess.run(
        [sys.executable, "-m", "openlfr", "watchlist", "calibrate", str(watchlist), "--cohort", str(cohort)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.startswith("error: ") and "damaged cohort" in out.stderr
    assert hashlib.sha256(watchlist.read_bytes()).hexdigest() == before
    Watchlist.load(watchlist)


def test_a_file_the_reader_would_refuse_is_never_written(demo_watchlist: Watchlist, tmp_path: Path) -> None:
    path = demo_watchlist.save(tmp_path / "w.lfrw")
    before = path.read_bytes()
    broken = demo_watchlist.manifest.model_copy(update={"threshold": float("nan")})  # model_copy skips validation
    with pytest.raises(WatchlistFormatError, match="not a number"):
        Watchlist(broken, demo_watchlist.vectors, demo_watchlist.faces).save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.lfrw"], "no temporary file left behind"


@pytest.mark.parametrize(
    ("row", "why"),
    [(np.full(128, np.nan), "non-finite"), (np.zeros(128), "length outside"), (np.full(128, 10.0), "length outside")],
)
def test_damaged_templates_are_refused_at_load(
    demo_watchlist: Watchlist, tmp_path: Path, row: np.ndarray, why: str
) -> None:
    # the finding: NaN templates passed readiness and silently never alerted
    path = demo_watchlist.save(tmp_path / "w.lfrw")
    vectors = demo_watchlist.vectors.copy()
    vectors[1] = row
    edited = _rewrite(path, tmp_path / "edited.lfrw", vectors=vectors)
    with pytest.raises(WatchlistFormatError, match=why):  # refused even where unsigned files are trusted
        Watchlist.load(edited, signing=TRUSTING)


def test_a_threshold_edited_after_calibration_is_refused_at_load(
    demo_watchlist: Watchlist, strangers: Cohort, tmp_path: Path
) -> None:
    calibrated = apply(demo_watchlist, calibrate(demo_watchlist, strangers, 0.01))
    path = calibrated.save(tmp_path / "w.lfrw")
    assert Watchlist.load(path).calibration_problem() is None
    manifest = json.loads(zipfile.ZipFile(path).read("manifest.json"))
    manifest["threshold"] = 0.0  # everyone a match, still "calibrated"
    edited = _rewrite(path, tmp_path / "edited.lfrw", manifest=manifest)
    with pytest.raises(WatchlistFormatError, match="disagrees with its calibration record"):
        Watchlist.load(edited, signing=TRUSTING)  # refused even where unsigned files are trusted
