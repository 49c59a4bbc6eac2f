"""The enrolment manifest (issue 16, item 7): whatever its bytes or cells, it gives enrolment items whose
images lie inside its folder, or an ``OpenLFRError``; never another exception, never a hang."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from fuzzing import TARGETS, run_one
from fuzzing_inputs import examples, fuzzed
from openlfr.errors import EnrolmentError
from openlfr.match.sources import REQUIRED_COLUMNS, EnrolItem

MANIFEST = TARGETS["enrol_manifest"]
HOSTILE = ["", "..", "../x.jpg", "/etc/passwd", "a/../../b.jpg", "1 2 3 4", "2099-02-30", "wanted", "=cmd()", "\x00"]
CELLS = st.text(max_size=30) | st.sampled_from([*HOSTILE, "nan nan nan nan", "5 5 1 1"])


@examples(150)
@given(fuzzed("enrol_manifest"))
def test_any_bytes(data: bytes) -> None:
    run_one(MANIFEST, data)


@examples(150)
@given(
    st.lists(st.sampled_from([*REQUIRED_COLUMNS, "box", "extra", ""]), min_size=0, max_size=9),
    st.lists(st.lists(CELLS, max_size=10), max_size=5),
)
def test_any_cells(header: list[str], rows: list[list[str]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    run_one(MANIFEST, buf.getvalue().encode(), None)


@examples(100)
@given(st.lists(st.lists(CELLS, min_size=8, max_size=8), min_size=1, max_size=4))
def test_what_is_read_stays_in_the_manifest_folder(rows: list[list[str]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([*REQUIRED_COLUMNS, "box"])
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as tmp:
        items = run_one(MANIFEST, buf.getvalue().encode(), Path(tmp))
        if isinstance(items, list):
            for item in items:
                assert isinstance(item, EnrolItem)
                assert item.image.resolve().is_relative_to(Path(tmp).resolve())


def test_a_nul_in_an_image_path_is_refused_with_the_line() -> None:
    # found by scripts/fuzz (enrol_manifest): ValueError "embedded null byte" from Path.resolve before
    data = b"subject_id,display_name,category,reason,image_source,expires,image\nx,X,other,,,,x.j\x00pg\n"
    refused = run_one(MANIFEST, data)
    assert isinstance(refused, EnrolmentError) and "line 2" in str(refused) and "NUL" in str(refused)
