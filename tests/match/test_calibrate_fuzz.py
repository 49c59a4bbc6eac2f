"""The cohort file (issue 16, item 7): whatever its bytes, its metadata's values or its arrays, it is read
and checked, or refused with an ``OpenLFRError``; never another exception, never a hang."""

from __future__ import annotations

import io
import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from numpy.lib import format as npy_format

from fuzzing import TARGETS, run_one
from fuzzing_inputs import ARRAYS, JSON_VALUES, examples, fuzzed, json_paths, npy, replaced, seed_members, zip_of
from openlfr.errors import WatchlistError

COHORT = TARGETS["cohort"]


@examples(150)
@given(fuzzed("cohort"))
def test_any_bytes(data: bytes) -> None:
    run_one(COHORT, data)


@examples(150)
@given(st.data(), JSON_VALUES, st.booleans())
def test_any_metadata_value(data: st.DataObject, value: object, delete: bool) -> None:
    members = seed_members("cohort")
    meta = json.loads(members["cohort.json"])
    path = data.draw(st.sampled_from(json_paths(meta)))
    members["cohort.json"] = json.dumps(replaced(meta, path, value, delete)).encode()
    run_one(COHORT, zip_of(members))


@examples(100)
@given(st.sampled_from(["vectors.npy", "second_vectors.npy"]), ARRAYS)
def test_any_array(member: str, array: np.ndarray) -> None:
    members = seed_members("cohort")
    meta = json.loads(members["cohort.json"])
    members["cohort.json"] = json.dumps({**meta, "second_embedder": "other:fuzz"}).encode()
    members.setdefault("second_vectors.npy", members["vectors.npy"])
    members[member] = npy(array)
    run_one(COHORT, zip_of(members))


def test_a_header_claiming_more_data_than_it_holds_is_refused_before_allocating() -> None:
    members = seed_members("cohort")
    header = io.BytesIO()
    npy_format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**12, 128)})
    members["vectors.npy"] = header.getvalue() + bytes(512)
    refused = run_one(COHORT, zip_of(members))
    assert isinstance(refused, WatchlistError) and "claims" in str(refused.__cause__)


def test_metadata_that_disagrees_with_the_templates_is_refused() -> None:
    members = seed_members("cohort")
    meta = json.loads(members["cohort.json"])
    members["cohort.json"] = json.dumps({**meta, "groups": ["a"]}).encode()
    refused = run_one(COHORT, zip_of(members))
    assert isinstance(refused, WatchlistError) and "group labels" in str(refused)
