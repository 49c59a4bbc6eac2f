"""The evaluation manifest (issue 16, item 7): whatever its bytes or cells, it gives samples or an
``OpenLFRError``; never another exception, never a hang."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import TARGETS, run_one
from fuzzing_inputs import examples, fuzzed
from openlfr.errors import OpenLFRError

MANIFEST = TARGETS["eval_manifest"]


@examples(150)
@given(fuzzed("eval_manifest"))
def test_any_bytes(data: bytes) -> None:
    run_one(MANIFEST, data)


@examples(150)
@given(
    st.lists(st.sampled_from(["path", "identity", "sex", "gender", "race", "age", "age_band", "x", ""]), max_size=8),
    st.lists(st.lists(st.text(max_size=12) | st.sampled_from(["-1", "1e400", "nan", "200", "17.5"]), max_size=9),
             max_size=5),
)  # fmt: skip
def test_any_cells(header: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    run_one(MANIFEST, buf.getvalue().encode())


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x80path,identity\nx.jpg,x\n", "not a UTF-8 CSV"),  # UnicodeDecodeError before
        (b"path,identity\nx.jpg,x\x00y\n", None),
        (b"path,identity,age\nx.jpg,x,-1\n", None),  # StopIteration before: no age band holds -1
        (b"path,identity,age\nx.jpg,x,1e400\n", None),  # OverflowError before
    ],
)
def test_crafted_manifests(data: bytes, expected: str | None) -> None:
    result = run_one(MANIFEST, data)
    if expected is None:
        assert isinstance(result, list) and result[0].age_band is None
    else:
        assert isinstance(result, OpenLFRError) and expected in str(result)
