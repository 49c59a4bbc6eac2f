"""An ``Alert`` survives its JSON form exactly (every field, any values an alert may hold), and anything
that is not an alert with its images is refused with one line."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openlfr.alert.serialize import alert_from_json, alert_to_json
from openlfr.errors import AlertFormatError
from openlfr.types import Alert, BoundingBox, Category

finite = st.floats(allow_nan=False, allow_infinity=False)
text = st.text(max_size=40)


@st.composite
def boxes(draw: st.DrawFn) -> BoundingBox:
    x1, y1 = draw(st.floats(-1e6, 1e6)), draw(st.floats(-1e6, 1e6))
    w, h = draw(st.floats(1e-3, 1e6)), draw(st.floats(1e-3, 1e6))
    return BoundingBox(x1, y1, x1 + w, y1 + h)


alerts = st.builds(
    Alert,
    alert_id=text,
    camera_id=text,
    track_id=st.integers(0, 2**63 - 1),
    watchlist=text,
    subject_id=text,
    display_name=text,
    category=st.sampled_from(Category),
    score=finite,
    threshold=finite,
    box=boxes(),
    probe_jpeg=st.binary(max_size=64),
    watchlist_jpeg=st.none() | st.binary(max_size=64),
    first_seen_wall=st.floats(0, 4e9),
    first_seen_pts=finite,
    frame_pts=finite,
    frame_captured_wall=st.floats(0, 4e9),
    frame_captured_mono=finite,
    raised_wall=st.floats(0, 4e9),
    frames=st.integers(0, 2**31),
    uncalibrated=st.booleans(),
    position=st.none() | st.tuples(st.floats(-90, 90), st.floats(-180, 180)),
)


@settings(max_examples=200, deadline=None)
@given(alerts)
def test_an_alert_round_trips_exactly(alert: Alert) -> None:
    wire = json.loads(json.dumps(alert_to_json(alert, include_images=True)))
    back = alert_from_json(wire)
    assert dataclasses.astuple(back) == dataclasses.astuple(alert)
    assert type(back.category) is Category


def _good() -> dict[str, object]:
    box = BoundingBox(1, 2, 3, 4)
    alert = Alert(
        "a1", "cam", 1, "wl", "s", "S", Category.WANTED, 0.9, 0.5, box, b"\xff\xd8", None, 1, 0, 0, 1, 1, 1, 1
    )
    return json.loads(json.dumps(alert_to_json(alert, include_images=True)))  # type: ignore[no-any-return]


BAD: list[tuple[str, dict[str, object]]] = [
    ("without its images", {"probe_jpeg_b64": None}),
    ("an image that is not base64", {"probe_jpeg_b64": "not base64!"}),
    ("an unknown category", {"subject": {"id": "s", "display_name": "S", "category": "suspect"}}),
    ("a box back to front", {"box": [3, 4, 1, 2]}),
    ("a track id that is text", {"track_id": "7"}),
    ("a score that is infinite", {"score": float("inf")}),
]


@pytest.mark.parametrize(("name", "change"), BAD, ids=[b[0] for b in BAD])
def test_what_is_not_an_alert_is_refused(name: str, change: dict[str, object]) -> None:
    data = _good() | change
    with pytest.raises(AlertFormatError, match="not an alert"):
        alert_from_json(data)
    assert dataclasses.astuple(alert_from_json(_good()))[0] == "a1"
