"""Decoding within a time budget (issue 16, item 5): a small PNG just under the pixel limit took 45 s;
now its decoding is stopped at the limit (the worker process killed), and the next image decodes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PIL import Image

from openlfr.errors import ImageError
from openlfr.ingest.budget import decode_within


def slow_png(path: Path) -> bytes:
    """A real 7000 x 7000 16-bit grey PNG of some 95 KB: under the 50-megapixel limit, ~6 s to decode here
    (8-bit grey of the same size decodes in under a second: too close to a limit to test it)."""
    Image.new("I;16", (7000, 7000)).save(path, format="PNG")
    return path.read_bytes()


def test_an_image_over_the_time_budget_is_stopped_and_the_next_one_decodes(tmp_path: Path, demo: Path) -> None:
    portrait = (demo / "watchlist" / "obama.jpg").read_bytes()
    assert decode_within(portrait, "warm-up", 50_000_000, 5.0).ndim == 3  # the worker's start is not charged
    start = time.monotonic()
    with pytest.raises(ImageError, match=r"slow\.png: decoding took longer than the limit of 0\.5 s") as info:
        decode_within(slow_png(tmp_path / "slow.png"), "slow.png", 50_000_000, 0.5)
    assert info.value.reason == "too_slow"
    assert time.monotonic() - start < 3.0, "stopped at the limit, not when decoding finished"
    assert decode_within(portrait, "next.jpg", 50_000_000, 5.0).shape[2] == 3, "a fresh worker decodes the next"
    with pytest.raises(ImageError) as refused:  # the worker's refusals come back with their reason
        decode_within(b"not an image", "text.jpg", 50_000_000, 5.0)
    assert refused.value.reason == "not_an_image"
