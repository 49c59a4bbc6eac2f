"""Fixtures every test folder shares: the bundled demo photos, ../shared/data, one analyzer.

Tests that need ../shared/data take the ``shared_data`` fixture: it skips them with the reason where
the folder is absent, and fails them instead when LFR_REQUIRE_SHARED_DATA is set (as .ci/run does),
so that CI can never pass by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from openlfr.analysis import FaceAnalyzer
from openlfr.assets import demo_dir
from openlfr.match.enrol import enrol
from openlfr.match.sources import from_csv
from openlfr.match.watchlist import Watchlist

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "README.md").is_file():
        message = f"needs the real face data in {SHARED_DATA} (see DEVELOPERS.md), which is absent here"
        if os.environ.get("LFR_REQUIRE_SHARED_DATA"):
            pytest.fail(message + "; LFR_REQUIRE_SHARED_DATA is set")
        pytest.skip(message)
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo() -> Path:
    return demo_dir()


@pytest.fixture(scope="session")
def analyzer() -> FaceAnalyzer:
    """The default core (HOG upsample 1, dlib ResNet), shared so models load once per run."""
    return FaceAnalyzer()


@pytest.fixture(scope="session")
def demo_watchlist(analyzer: FaceAnalyzer, demo: Path) -> Watchlist:
    """Obama and Biden, enrolled from the bundled public-domain portraits."""
    watchlist, report = enrol(from_csv(demo / "watchlist.csv"), analyzer, name="demo")
    assert not report.rejected, report.rejected
    return watchlist
