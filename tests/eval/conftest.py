"""What the evaluation tests share: one embedding cache per test session, so that LFW, FairFace and
UTKFace images are embedded once (from cold, as CI runs) however many tests use them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def eval_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the eval tests of a session (LFR_EVAL_CACHE to reuse a warm one: the
    cache is keyed by file content and model, so a warm cache changes the time, not the figures)."""
    return Path(os.environ.get("LFR_EVAL_CACHE") or tmp_path_factory.getbasetemp() / "eval-embeddings.sqlite")
