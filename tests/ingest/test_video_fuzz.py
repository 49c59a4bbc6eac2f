"""Video files (issue 16, item 7): whatever the bytes of an MP4, MPEG-TS or AVI file, a file camera
gives frames or a ``SourceError``; never another exception, never a hang."""

from __future__ import annotations

from hypothesis import given

from fuzzing import TARGETS, run_one
from fuzzing_inputs import examples, fuzzed
from openlfr.errors import SourceError

VIDEO = TARGETS["video"]


@examples(60)
@given(fuzzed("video"))
def test_any_bytes(data: bytes) -> None:
    result = run_one(VIDEO, data)
    assert isinstance(result, int | SourceError), result


def test_every_seed_plays() -> None:
    assert [run_one(VIDEO, seed) for seed in VIDEO.seeds()] == [3, 3, 3]
