"""Bundled demo and test images (see demo/SOURCES.md for each one's source and licence)."""

from __future__ import annotations

from pathlib import Path


def demo_dir() -> Path:
    """The folder of the bundled demo: ``watchlist.csv``, ``watchlist/`` and ``probes/``."""
    return Path(__file__).resolve().parent / "demo"
