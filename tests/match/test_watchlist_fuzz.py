"""The watchlist file (issue 16, item 7): whatever its bytes, its manifest's values or its arrays, it is
read and searched, or refused with an ``OpenLFRError``; never another exception, never a hang."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import TARGETS, run_one
from fuzzing_inputs import ARRAYS, JSON_VALUES, examples, fuzzed, json_paths, npy, replaced, seed_members, zip_of
from openlfr.errors import WatchlistFormatError

WATCHLIST = TARGETS["watchlist"]


@examples(150)
@given(fuzzed("watchlist"))
def test_any_bytes(data: bytes) -> None:
    run_one(WATCHLIST, data)


@examples(150)
@given(st.data(), JSON_VALUES, st.booleans())
def test_any_manifest_value(data: st.DataObject, value: object, delete: bool) -> None:
    members = seed_members("watchlist")
    manifest = json.loads(members["manifest.json"])
    path = data.draw(st.sampled_from(json_paths(manifest)))
    members["manifest.json"] = json.dumps(replaced(manifest, path, value, delete)).encode()
    run_one(WATCHLIST, zip_of(members))


@examples(100)
@given(st.sampled_from(["vectors.npy", "cohort.npy", "template_stats.npy", "fair_centroids.npy", "fair_offsets.npy"]),
       ARRAYS)  # fmt: skip
def test_any_array(member: str, array: object) -> None:
    members = seed_members("watchlist")
    members[member] = npy(array)  # type: ignore[arg-type]
    run_one(WATCHLIST, zip_of(members))


@examples(10)
@given(st.integers(100, 200_000))
def test_deeply_nested_json(depth: int) -> None:
    members = seed_members("watchlist")
    members["manifest.json"] = b"[" * depth + b"]" * depth
    run_one(WATCHLIST, zip_of(members))


def _header(text: bytes) -> bytes:
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text


CRAFTED = {
    # each gave a traceback (TokenError, TypeError, IndexError) before match/archive.py
    "npy header that does not tokenise": ("vectors.npy", _header(b"{'descr': '<f4', 'shape': (\n")),
    "npy header of strings": ("vectors.npy", npy(np.array([["abc"] * 128] * 3))),
    "0-d template statistics": ("template_stats.npy", npy(np.array(0.0))),
    "complex template statistics": ("template_stats.npy", npy(np.zeros((3, 2), np.complex64))),
    "no fair offsets for its clusters": ("fair_offsets.npy", npy(np.zeros(0))),
    "NaN template statistics": ("template_stats.npy", npy(np.full((3, 2), np.nan))),
    "a member with no name": ("", b"x"),  # found by scripts/fuzz: zipfile's is_dir raised IndexError on it
}


@pytest.mark.parametrize(("member", "data"), list(CRAFTED.values()), ids=list(CRAFTED))
def test_crafted_members_are_refused_as_damaged(member: str, data: bytes) -> None:
    members = seed_members("watchlist")
    members[member] = data
    refused = run_one(WATCHLIST, zip_of(members))
    assert isinstance(refused, WatchlistFormatError), refused
