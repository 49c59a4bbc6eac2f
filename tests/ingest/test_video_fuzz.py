"""Video files (issue 16, item 7): whatever the bytes of an MP4, MPEG-TS or AVI file, a file camera
gives frames or a ``SourceError``; never another exception, never a hang."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given

from fuzzing import TARGETS, run_one
from fuzzing_inputs import examples, fuzzed
from openlfr.errors import SourceError

VIDEO = TARGETS["video"]
FINDINGS = Path(__file__).resolve().parents[1] / "fuzz" / "findings"  # inputs the campaign found, made from its seeds


@examples(60)
@given(fuzzed("video"))
def test_any_bytes(data: bytes) -> None:
    result = run_one(VIDEO, data)
    assert isinstance(result, int | SourceError), result


def test_every_seed_plays() -> None:
    assert [run_one(VIDEO, seed) for seed in VIDEO.seeds()] == [3, 3, 3]


def test_a_frame_that_cannot_be_made_rgb_is_skipped_not_a_crash() -> None:
    """Found by scripts/fuzz (2026-12-02): a damaged MP4 whose decoded frame FFmpeg cannot convert to RGB
    (ENOTSUP from swscale) raised from the camera's frame loop; the frame is now skipped as a glitch."""
    data = (FINDINGS / "video-rgb-unsupported.bin").read_bytes()
    result = run_one(VIDEO, data)
    assert isinstance(result, int | SourceError), result
