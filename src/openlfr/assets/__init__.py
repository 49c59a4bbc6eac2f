"""Bundled files: the demo and test images (demo/SOURCES.md) and the model files openlfr carries itself
(models/SOURCES.md), each with its source and licence."""

from __future__ import annotations

from pathlib import Path


def demo_dir() -> Path:
    """The folder of the bundled demo: ``watchlist.csv``, ``watchlist/`` and ``probes/``."""
    return Path(__file__).resolve().parent / "demo"
