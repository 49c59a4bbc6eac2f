"""Bounds on what a manifest may make the program read (issue 16, item 5): special files are refused
before any read (a row naming /dev/zero read 6.9 GB; one naming a FIFO hung), and image paths are confined
to the manifest's folder unless the caller allows otherwise; a zip bomb is refused from its directory."""

from __future__ import annotations

import os
import shutil
import threading
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from openlfr.analysis import FaceAnalyzer
from openlfr.config import ImageConfig, Settings
from openlfr.errors import EnrolmentError, ImageError, WatchlistError
from openlfr.ingest.images import load_image
from openlfr.match.cohort import Cohort, build_cohort
from openlfr.match.enrol import enrol
from openlfr.match.sources import EnrolItem, from_csv
from openlfr.match.watchlist import Subject, Watchlist

HEADER = "subject_id,display_name,category,reason,image_source,expires,image\n"


def _manifest(folder: Path, image: str) -> Path:
    path = folder / "m.csv"
    path.write_text(HEADER + f"obama,Barack Obama,wanted,warrant 1,custody,2099-01-01,{image}\n")
    return path


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_special_files_are_refused_before_reading(tmp_path: Path, special: str) -> None:
    path = Path(special)
    if special == "fifo":
        path = tmp_path / "fifo.jpg"
        os.mkfifo(path)
    result: list[BaseException] = []

    def read() -> None:
        try:
            load_image(path)
        except BaseException as exc:
            result.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10.0)
    assert not reader.is_alive(), f"reading {special} hung"
    assert len(result) == 1 and isinstance(result[0], ImageError)
    assert "not a regular file" in str(result[0])


@pytest.mark.parametrize("image", ["../outside.jpg", "/etc/passwd", "sub/../../outside.jpg", "link.jpg"])
def test_manifest_paths_are_confined_to_its_folder(tmp_path: Path, demo: Path, image: str) -> None:
    folder = tmp_path / "manifest"
    folder.mkdir()
    shutil.copy(demo / "watchlist" / "obama.jpg", tmp_path / "outside.jpg")
    (folder / "link.jpg").symlink_to(tmp_path / "outside.jpg")
    manifest = _manifest(folder, image)
    with pytest.raises(EnrolmentError, match=r"outside the manifest's folder.*--allow-outside"):
        from_csv(manifest)
    (item,) = from_csv(manifest, allow_outside=True)
    assert item.image == folder / image


def test_paths_inside_the_folder_are_accepted(tmp_path: Path, demo: Path) -> None:
    (tmp_path / "sub").mkdir()
    shutil.copy(demo / "watchlist" / "obama.jpg", tmp_path / "sub" / "o.jpg")
    (item,) = from_csv(_manifest(tmp_path, "sub/o.jpg"))
    assert load_image(item.image).shape[2] == 3


def test_a_manifest_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "m.csv"
    os.mkfifo(fifo)
    with pytest.raises(EnrolmentError, match="not a regular file"):
        from_csv(fifo)


def test_a_zip_bomb_watchlist_or_cohort_is_refused_from_its_directory(tmp_path: Path) -> None:
    # the finding: a 2 MB watchlist zip inflated to 4.3 GB; here 200 MB of zeros in a few hundred KB
    for name, first in (("bomb.lfrw", "manifest.json"), ("bomb.lfrc", "cohort.json")):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(first, "{}")
            with zf.open("faces/x.jpg", "w") as member:
                for _ in range(200):
                    member.write(bytes(1 << 20))
        assert path.stat().st_size < 2 << 20
        with pytest.raises(WatchlistError, match="would inflate to 209,715,2"):
            Watchlist.load(path) if name.endswith(".lfrw") else Cohort.load(path)


def test_enrolment_and_a_cohort_build_reject_a_slow_or_multi_page_image_and_go_on(
    tmp_path: Path, demo: Path, analyzer: FaceAnalyzer, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 16, item 5: time per item (a small PNG under the pixel limit took 45 s) and multi-page files."""
    slow = tmp_path / "slow.png"
    Image.new("I;16", (7000, 7000)).save(slow)  # 49 MP of 16-bit grey in some 95 KB: ~6 s to decode (8-bit grey: < 1 s)
    with Image.open(demo / "watchlist" / "obama.jpg") as portrait:
        pages = tmp_path / "pages.tif"
        portrait.save(pages, save_all=True, append_images=[portrait.rotate(180)])
    good = demo / "watchlist" / "obama.jpg"
    budgeted = FaceAnalyzer(
        Settings(images=ImageConfig(max_seconds=1.0)), detector=analyzer.detector, embedder=analyzer.embedder
    )
    subject = Subject(subject_id="obama", display_name="Barack Obama")
    _, report = enrol([EnrolItem(subject, p) for p in (slow, pages, good)], budgeted, name="bounded")
    reasons = {Path(r.image).name: r.reason for r in report.rejected}
    assert reasons["slow.png"].startswith("image too slow to decode: decoding took longer than the limit of 1 s")
    assert reasons["pages.tif"].startswith("multi-page image: a TIFF of 2 pages or frames")
    assert [Path(a.image).name for a in report.accepted] == ["obama.jpg"], "the job goes on"

    with caplog.at_level("WARNING", logger="openlfr.match"):
        cohort, skipped = build_cohort([slow, good], budgeted, "test")
    assert (len(cohort.vectors), skipped) == (1, 1)
    assert any("cohort image skipped" in r.getMessage() and "slow.png" in r.getMessage() for r in caplog.records)
