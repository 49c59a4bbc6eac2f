"""Enrolment from folders and CSV manifests: one template per good image, one reason per rejected one."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from openlfr.analysis import FaceAnalyzer
from openlfr.config import MatchConfig
from openlfr.errors import EnrolmentError
from openlfr.ingest.images import load_image
from openlfr.match.enrol import EnrolmentReport, enrol, fuse
from openlfr.match.matcher import search
from openlfr.match.sources import collect, from_csv, from_folder
from openlfr.match.watchlist import Watchlist
from openlfr.types import Category


@pytest.fixture
def folder(tmp_path: Path, demo: Path) -> Path:
    """obama/ with one good, one duplicate and every kind of bad image; biden/ with one good one."""
    root = tmp_path / "subjects"
    obama, biden = root / "obama", root / "biden"
    obama.mkdir(parents=True)
    biden.mkdir()
    shutil.copy(demo / "watchlist" / "obama.jpg", obama / "good.jpg")
    shutil.copy(demo / "watchlist" / "obama.jpg", obama / "copy_of_good.jpg")
    shutil.copy(demo / "watchlist" / "biden.jpg", biden / "portrait.jpg")
    (obama / "notes.jpg").write_text("not a picture")
    (obama / "empty.jpg").write_bytes(b"")
    raw = (demo / "watchlist" / "obama.jpg").read_bytes()
    (obama / "truncated.jpg").write_bytes(raw[: len(raw) // 3])
    image = np.asarray(Image.open(demo / "watchlist" / "obama.jpg").convert("RGB"))
    Image.fromarray(np.full((300, 300, 3), 120, np.uint8)).save(obama / "wall.png")
    Image.fromarray(cv2.GaussianBlur(image, (0, 0), 9)).save(obama / "blurred.jpg")
    small = cv2.resize(image, (120, 150), interpolation=cv2.INTER_AREA)  # eyes ~12 px apart
    Image.fromarray(small).save(obama / "small.jpg")
    Image.open(demo / "probes" / "composite_obama_collins.jpg").save(obama / "group.jpg")
    return root


def test_folder_enrolment_accepts_good_images_and_says_why_each_other_is_rejected(
    folder: Path, analyzer: FaceAnalyzer
) -> None:
    items = from_folder(folder, category=Category.WANTED, reason="test", image_source="demo")
    watchlist, report = enrol(items, analyzer, name="t")
    # Files are taken in name order, so copy_of_good.jpg is enrolled and good.jpg is its duplicate.
    assert sorted(Path(a.image).name for a in report.accepted) == ["copy_of_good.jpg", "portrait.jpg"]
    reasons = {Path(r.image).name: r.reason for r in report.rejected}
    assert reasons.pop("good.jpg").startswith("duplicate image (same as ")
    assert reasons.pop("notes.jpg").startswith("not an image")
    assert reasons.pop("empty.jpg").startswith("unreadable file (empty)")
    assert "truncated" in reasons.pop("truncated.jpg")
    assert reasons.pop("wall.png") == "no face found"
    assert reasons.pop("blurred.jpg").startswith("face too blurred")
    assert reasons.pop("small.jpg").startswith("face too small")
    assert reasons.pop("group.jpg").startswith("more than one face (2)")
    assert reasons == {}
    assert [s.subject_id for s in watchlist.manifest.subjects] == ["biden", "obama"]
    assert watchlist.vectors.shape == (2, 128)
    assert set(watchlist.faces) == {t.template_id for t in watchlist.manifest.templates}


def test_blur_is_rejected_as_blur_when_the_face_is_still_found(
    demo: Path, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    image = np.asarray(Image.open(demo / "watchlist" / "obama.jpg").convert("RGB"))
    blurred = cv2.GaussianBlur(image, (0, 0), 7)
    (tmp_path / "p").mkdir()
    Image.fromarray(blurred).save(tmp_path / "p" / "soft.jpg")
    faces = analyzer.analyze(blurred)
    assert len(faces) == 1, "the detector must still find the face for this test to mean anything"
    shutil.copy(demo / "watchlist" / "biden.jpg", tmp_path / "p" / "sharp.jpg")
    _, report = enrol(from_folder(tmp_path), analyzer, name="t")
    [rejected] = report.rejected
    assert rejected.image.endswith("soft.jpg")
    assert rejected.reason.startswith("face too blurred: sharpness")


def test_csv_box_picks_one_face_of_a_group_photo(tmp_path: Path, demo: Path, analyzer: FaceAnalyzer) -> None:
    shutil.copy(demo / "probes" / "composite_obama_collins.jpg", tmp_path / "group.jpg")
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        "subject_id,display_name,category,reason,image_source,expires,image,box\n"
        "obama,Barack Obama,wanted,warrant 1,custody,2099-01-01,group.jpg,60 110 210 270\n"
    )
    watchlist, report = enrol(from_csv(manifest), analyzer, name="t")
    assert not report.rejected
    subject = watchlist.subjects["obama"]
    assert (subject.category, subject.reason, subject.image_source) == (
        Category.WANTED,
        "warrant 1",
        "custody",
    )
    assert str(subject.expires) == "2099-01-01"
    _, _, x2, _ = watchlist.manifest.templates[0].box
    assert x2 < 300, "the box chose the left face"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("obama,Barack Obama,villain,r,s,,a.jpg", "category"),
        ("obama,Barack Obama,wanted,r,s,31/12/2099,a.jpg", "expires"),
        ("bad id!,Barack Obama,wanted,r,s,,a.jpg", "subject_id"),
        ("obama,Barack Obama,wanted,r,s,,", "no image path"),
        ("obama,Barack Obama,wanted,r,s,,a.jpg,1 2 3", "box must be"),
    ],
)
def test_bad_manifest_rows_name_the_line(tmp_path: Path, row: str, message: str) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("subject_id,display_name,category,reason,image_source,expires,image,box\n" + row + "\n")
    with pytest.raises(EnrolmentError, match=rf"m\.csv line 2: .*{message}"):
        from_csv(manifest)


def test_manifest_without_columns_is_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("name,file\nx,y.jpg\n")
    with pytest.raises(EnrolmentError, match="missing: subject_id"):
        from_csv(manifest)


def test_collect_refuses_a_single_image(demo: Path) -> None:
    with pytest.raises(EnrolmentError, match="is an image"):
        collect(demo / "watchlist" / "obama.jpg")


def test_nothing_usable_is_an_error(tmp_path: Path, analyzer: FaceAnalyzer) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.jpg").write_text("nope")
    with pytest.raises(EnrolmentError, match="no image could be enrolled"):
        enrol(from_folder(tmp_path), analyzer, name="t")


# -- several images of one subject: fused (the default), kept separately, or both ----------------------


@pytest.fixture
def two_each(tmp_path: Path, demo: Path) -> Path:
    """obama/ and biden/, each with its portrait and a second, unrelated photo."""
    root = tmp_path / "two"
    for subject, files in {
        "obama": ["watchlist/obama.jpg", "probes/obama_congress_2009.jpg"],
        "biden": ["watchlist/biden.jpg", "probes/biden_blue_room_2010.jpg"],
    }.items():
        (root / subject).mkdir(parents=True)
        for f in files:
            shutil.copy(demo / f, root / subject / Path(f).name)
    return root


def _enrol_as(mode: str, folder: Path, analyzer: FaceAnalyzer) -> tuple[Watchlist, EnrolmentReport]:
    core = FaceAnalyzer(
        analyzer.settings.model_copy(update={"match": MatchConfig(enrol_templates=mode)}),  # type: ignore[arg-type]
        analyzer.detector,
        analyzer.embedder,
    )
    return enrol(from_folder(folder), core, name=mode)


def test_several_images_are_fused_into_one_template_by_default(
    two_each: Path, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    assert analyzer.settings.match.enrol_templates == "fused"
    separate, _ = _enrol_as("separate", two_each, analyzer)
    fused, report = enrol(from_folder(two_each), analyzer, name="fused")
    both, _ = _enrol_as("both", two_each, analyzer)
    assert len(report.accepted) == 4 and not report.rejected, report.rejected
    assert [t.template_id for t in separate.manifest.templates] == ["biden-1", "biden-2", "obama-1", "obama-2"]
    assert [t.template_id for t in fused.manifest.templates] == ["biden-fused", "obama-fused"]
    assert len(both.manifest.templates) == 6
    assert {a.template_id for a in report.accepted} == {"biden-fused", "obama-fused"}
    assert set(fused.faces) == {"biden-fused", "obama-fused"}
    for row, subject in enumerate(["biden", "obama"]):
        members = separate.vectors[2 * row : 2 * row + 2]
        np.testing.assert_allclose(fused.vectors[row], fuse(members), atol=1e-6)
        record = fused.manifest.templates[row]
        assert [s.split(" ")[0] for s in record.sources] == sorted(p.name for p in (two_each / subject).iterdir())
        # the fused template is nearer each of its images than they are to each other, and far from the other
        gaps = np.linalg.norm(members - fused.vectors[row], axis=1)
        assert gaps.max() < np.linalg.norm(members[0] - members[1]) < 0.6
        assert np.linalg.norm(fused.vectors[0] - fused.vectors[1]) > 0.6
    again = Watchlist.load(fused.save(tmp_path / "fused.lfrw"))
    assert again.manifest.templates == fused.manifest.templates and set(again.faces) == set(fused.faces)
    # a probe of a subject still matches that subject
    [face] = analyzer.analyze(load_image(two_each / "obama" / "obama.jpg"))
    assert search(fused, face.template.vector[None, :])[0][0].subject_id == "obama"


def test_fuse_is_a_weighted_mean_direction_at_the_mean_length() -> None:
    a, b = np.array([[2.0, 0.0], [0.0, 1.0]], np.float32)
    np.testing.assert_allclose(fuse(np.stack([a, b])), np.array([1.0, 1.0]) / np.sqrt(2) * 1.5, atol=1e-6)
    weighted = fuse(np.stack([a, b]), np.array([3.0, 1.0]))
    np.testing.assert_allclose(weighted / np.linalg.norm(weighted), np.array([3.0, 1.0]) / np.sqrt(10), atol=1e-6)
    np.testing.assert_allclose(fuse(a[None, :]), a)
    for bad in (np.array([1.0]), np.array([0.0, 0.0]), np.array([-1.0, 2.0])):
        with pytest.raises(ValueError, match="weight"):
            fuse(np.stack([a, b]), bad)
    with pytest.raises(ValueError, match="cancel"):
        fuse(np.stack([a, -a]))
