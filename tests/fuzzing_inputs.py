"""Hypothesis strategies and helpers for the fuzz campaign's property tests (tests/fuzzing.py has the
targets): mutations of a target's seeds, any JSON value at any key, any array in any ``.npy`` member."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fuzzing import seeds


def mutated(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """A seed with up to six edits: a byte flipped, a range cut out, bytes inserted, the file truncated."""
    edit = st.tuples(
        st.sampled_from(("flip", "cut", "insert", "truncate")), st.integers(0, 1 << 20), st.binary(max_size=24)
    )
    return st.builds(_mutate, st.sampled_from(seeds), st.lists(edit, max_size=6))


def _mutate(seed: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    data = bytearray(seed)
    for op, where, blob in edits:
        at = where % (len(data) + 1)
        if op == "flip" and data:
            data[at % len(data)] ^= 1 << (where % 8)
        elif op == "cut":
            del data[at : at + 1 + len(blob)]
        elif op == "insert":
            data[at:at] = blob
        else:
            del data[at:]
    return bytes(data)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
"""Any JSON value (NaN and infinities included: Python's json writes and reads them)."""


def json_paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path to a value inside ``value`` (dict keys and list indices)."""
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            paths += json_paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            paths += json_paths(inner, (*prefix, i))
    return paths


def replaced(value: object, path: tuple[str | int, ...], new: object, delete: bool = False) -> object:
    """A deep copy of ``value`` with the item at ``path`` set to ``new`` (or deleted)."""
    out = json.loads(json.dumps(value))
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return out


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


ARRAYS = hnp.arrays(
    st.sampled_from([np.float32, np.float64, np.float16, np.int64, np.uint8, np.bool_, np.complex64, "<U3", "S2"]),
    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
)
"""Arrays of any kind a crafted ``.npy`` member could hold (no objects: the reader refuses pickles)."""


def zip_of(members: dict[str, bytes]) -> bytes:
    """A zip of ``members``; any name, even one ``writestr`` refuses (an empty one, as a crafted file holds)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo("x")
            info.filename = name  # set after: ZipInfo and writestr index the name's last character
            with zf.open(info, "w") as member:
                member.write(data)
    return buf.getvalue()


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def seed_members(name: str) -> dict[str, bytes]:
    """The members of ``name``'s last zip seed (the fullest: a normalised watchlist)."""
    return members_of([s for s in seeds(name) if s.startswith(b"PK")][-1])


def fuzzed(name: str) -> st.SearchStrategy[bytes]:
    """Mutations of ``name``'s seeds (made on first draw, not at collection)."""
    return st.deferred(lambda: mutated(list(seeds(name))))


def examples(n: int) -> settings:
    """Hypothesis settings of the campaign's property tests: ``n`` inputs (times ``LFR_FUZZ_SCALE``, 1 in CI)."""
    return settings(
        max_examples=max(1, int(n * float(os.environ.get("LFR_FUZZ_SCALE", "1")))),
        deadline=None,  # a shared machine; a hang is caught by run_one's LIMIT_S instead
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
