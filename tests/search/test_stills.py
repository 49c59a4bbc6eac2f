"""Stills search: named people named, strangers not, bad files reported without stopping the batch."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from openlfr.analysis import FaceAnalyzer
from openlfr.match.enrol import enrol
from openlfr.match.sources import EnrolItem
from openlfr.match.watchlist import Subject, Watchlist
from openlfr.search.stills import search_images


def test_face_recognition_examples(shared_data: Path, analyzer: FaceAnalyzer) -> None:
    """The issue's acceptance check: enrol every enrolment image but rose_leslie's, search every probe."""
    root = shared_data / "face_recognition_examples"
    rows = list(csv.DictReader((root / "manifest.csv").open()))
    items = [
        EnrolItem(Subject(subject_id=r["identity"], display_name=r["identity"]), root / r["path"])
        for r in rows
        if r["kind"] == "enrol" and r["identity"] != "rose_leslie"
    ]
    watchlist, report = enrol(items, analyzer, name="examples")
    assert not report.rejected, report.rejected
    enrolled = set(watchlist.subjects)
    probes = {root / r["path"]: set(r["identity"].split(";")) for r in rows if r["kind"] == "probe"}
    results = {Path(r.source): r for r in search_images(list(probes), analyzer, watchlist, k=3)}
    for path, people in probes.items():
        result = results[path]
        assert result.error is None
        named = [f.match.subject_id for f in result.faces if f.match]
        assert len(named) == len(set(named)), f"{path.name}: one person named twice: {named}"
        assert set(named) == people & enrolled, f"{path.name}: named {named}, expected {people & enrolled}"
    for name in ("two_people.jpg", "obama_and_biden.jpg"):
        [result] = [r for p, r in results.items() if p.name == name]
        assert {f.match.subject_id for f in result.faces if f.match} == {"obama", "biden"}
    [kit_with_rose] = [r for p, r in results.items() if p.name == "kit_with_rose.jpg"]
    assert len(kit_with_rose.faces) == 2
    assert sorted(f.match.subject_id if f.match else "" for f in kit_with_rose.faces) == ["", "kit_harington"]


def test_a_stranger_is_not_named(demo: Path, analyzer: FaceAnalyzer, demo_watchlist: Watchlist) -> None:
    [result] = search_images([demo / "probes" / "eileen_collins_nasa.jpg"], analyzer, demo_watchlist)
    assert result.faces
    assert all(f.match is None for f in result.faces)
    assert all(f.candidates and f.candidates[0].score < demo_watchlist.threshold for f in result.faces)


def test_bad_files_do_not_stop_the_batch(
    tmp_path: Path, demo: Path, analyzer: FaceAnalyzer, demo_watchlist: Watchlist
) -> None:
    (tmp_path / "text.jpg").write_text("hello")
    (tmp_path / "empty.jpg").write_bytes(b"")
    raw = (demo / "probes" / "obama_congress_2009.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(raw[: len(raw) // 2])
    shutil.copy(demo / "probes" / "obama_congress_2009.jpg", tmp_path / "good.jpg")
    paths = [tmp_path / n for n in ("text.jpg", "empty.jpg", "cut.jpg", "good.jpg")]
    results = list(search_images(paths, analyzer, demo_watchlist, save_crops=tmp_path / "crops"))
    assert [r.error_reason for r in results] == ["not_an_image", "empty_file", "truncated", None]
    good = results[-1]
    assert [f.match.subject_id for f in good.faces if f.match] == ["obama"]
    crop = Path(good.faces[0].crop or "")
    assert crop.is_file() and crop.stat().st_size > 1000


def test_json_line_shape(demo: Path, analyzer: FaceAnalyzer, demo_watchlist: Watchlist) -> None:
    [result] = search_images([demo / "probes" / "composite_obama_collins.jpg"], analyzer, demo_watchlist, k=2)
    line = json.loads(json.dumps(result.to_json()))
    assert line["source"].endswith("composite_obama_collins.jpg")
    assert len(line["faces"]) == 2
    names = sorted(str(f["match"]) for f in line["faces"])
    assert names == ["None", "obama"]
    face = next(f for f in line["faces"] if f["match"] == "obama")
    assert set(face["quality"]) >= {
        "eye_distance_px",
        "sharpness",
        "yaw_deg",
        "pitch_deg",
        "brightness",
        "score",
    }
    assert face["candidates"][0]["is_match"] is True
    assert len(face["candidates"]) == 2 and len(face["box"]) == 4


def test_search_refuses_a_watchlist_of_another_embedder(
    demo: Path, analyzer: FaceAnalyzer, demo_watchlist: Watchlist
) -> None:
    from openlfr.errors import EmbedderMismatchError

    other = Watchlist(
        manifest=demo_watchlist.manifest.model_copy(update={"embedder": "other@1"}),
        vectors=demo_watchlist.vectors,
    )
    with pytest.raises(EmbedderMismatchError):
        list(search_images([demo / "probes" / "eileen_collins_nasa.jpg"], analyzer, other))
