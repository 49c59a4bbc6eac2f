"""Import: resumed after a SIGKILL half way, it equals an uninterrupted import; duplicates and bad files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from gallery.conftest import lfw_people, write_manifest
from openlfr.config import Settings
from openlfr.gallery.gallery import Gallery
from openlfr.gallery.importer import import_items, iter_source

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.shared_data


def snapshot(gallery: Gallery) -> dict[str, tuple[str, str, bytes]]:
    """record id -> (subject, source, template bytes), and the index holds each live row exactly once."""
    out: dict[str, tuple[str, str, bytes]] = {}
    rows: list[int] = []
    for ids, vectors in gallery.records.templates():
        for row, vector in zip(ids, vectors, strict=True):
            f = gallery.records.fields(int(row))
            assert f["record_id"] not in out, "duplicate record"
            out[str(f["record_id"])] = (str(f["subject_id"]), str(f["source"]), vector.tobytes())
            rows.append(int(row))
    index_ids, _ = gallery.index.vectors()
    assert sorted(index_ids.tolist()) == sorted(rows)
    return out


def same(a: dict[str, tuple[str, str, bytes]], b: dict[str, tuple[str, str, bytes]]) -> None:
    assert a.keys() == b.keys()
    for key, (subject, source, vector) in a.items():
        assert b[key][:2] == (subject, source)
        np.testing.assert_allclose(np.frombuffer(vector, np.float32), np.frombuffer(b[key][2], np.float32), atol=1e-5)


def config_file(tmp: Path, settings: Settings) -> Path:
    assert settings.store.key is not None
    path = tmp / "lfr.toml"
    path.write_text(
        f'[embedder]\ntype = "dlib_onnx"\n[store]\nkey = "{settings.store.key.get_secret_value()}"\n'
        f'data_dir = "{settings.store.data_dir}"\n'
    )
    return path


def count_rows(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM records").fetchone()[0])
    except sqlite3.Error:
        return 0


def import_killed_then_resumed(source: Path, tmp: Path, settings: Settings, kill_at: int) -> Gallery:
    """Import in a subprocess, SIGKILL it (and its workers) once ``kill_at`` records committed, then resume here."""
    path = tmp / "resumed"
    Gallery.create(path, settings.store, "dlib-resnet-v1@55533b28a958").close()
    command = [sys.executable, "-m", "openlfr", "-c", str(config_file(tmp, settings)), "gallery", "import"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [*command, str(source), "-g", str(path), "--workers", "2"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 600 + kill_at  # a hang's guard: a second a record at the slowest
        while count_rows(path / "records.sqlite") < kill_at:
            assert proc.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    interrupted = count_rows(path / "records.sqlite")
    assert interrupted > 0
    gallery = Gallery.open(path, settings.store)
    report = import_items(gallery, iter_source(source), settings, workers=2)
    assert report.known >= interrupted  # what had committed was not embedded again
    return gallery


def uninterrupted(source: Path, tmp: Path, settings: Settings) -> Gallery:
    gallery = Gallery.create(tmp / "whole", settings.store, "dlib-resnet-v1@55533b28a958")
    import_items(gallery, iter_source(source), settings, workers=2)
    return gallery


def test_resumed_after_sigkill_equals_uninterrupted(
    shared_data: Path, tmp_path: Path, gallery_settings: Settings, people_folder: Callable[..., Path]
) -> None:
    people = lfw_people(shared_data)
    chosen = {name: images for name, images in people.items() if len(images) >= 2}
    picked = {name: images[:3] for name, images in list(chosen.items())[:50]}  # about 140 images
    picked["Copy_Person"] = [picked[next(iter(picked))][0]]  # the same bytes again: a duplicate
    source = people_folder(picked)
    total = sum(len(v) for v in picked.values())
    whole = uninterrupted(source, tmp_path, gallery_settings)
    resumed = import_killed_then_resumed(source, tmp_path, gallery_settings, kill_at=total // 2)
    same(snapshot(whole), snapshot(resumed))
    assert len(snapshot(whole)) > 0.9 * (total - 1)


@pytest.mark.slow
def test_resumed_after_sigkill_equals_uninterrupted_15k(
    shared_data: Path, tmp_path: Path, gallery_settings: Settings
) -> None:
    """LFW, FairFace and UTKFace (about 15,900 images), from a manifest."""
    rows = [
        {"path": str(p), "subject_id": name, "record_id": f"lfw/{p.stem}"}
        for name, images in lfw_people(shared_data).items()
        for p in images
    ]
    for folder in ("fairface_val", "utkface_part1_subset"):
        for p in sorted((shared_data / folder).rglob("*.jpg")):
            rows.append({"path": str(p), "subject_id": f"{folder}/{p.stem}", "record_id": f"{folder}/{p.stem}"})
    source = write_manifest(tmp_path / "all.csv", rows)
    whole = uninterrupted(source, tmp_path, gallery_settings)
    resumed = import_killed_then_resumed(source, tmp_path, gallery_settings, kill_at=len(rows) // 2)
    same(snapshot(whole), snapshot(resumed))


def test_rejections_duplicates_and_manifest(shared_data: Path, tmp_path: Path, gallery_settings: Settings) -> None:
    people = lfw_people(shared_data)
    face = people["Tony_Blair"][0]
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    blank = tmp_path / "blank.png"
    import cv2

    cv2.imwrite(str(blank), np.full((120, 120, 3), 128, np.uint8))
    source = write_manifest(
        tmp_path / "m.csv",
        [
            {"path": str(face), "subject_id": "tb", "record_id": "C1", "date": "2020-01-02", "source": "custody"},
            {"path": str(face), "subject_id": "tb", "record_id": "C2"},  # same bytes
            {"path": str(bad), "subject_id": "x", "record_id": "C3"},
            {"path": str(blank), "subject_id": "y", "record_id": "C4"},
            {"path": str(tmp_path / "absent.jpg"), "subject_id": "z", "record_id": "C5"},
            {"path": str(people["Tony_Blair"][1]), "subject_id": "tb", "record_id": "C1"},  # record id taken
        ],
    )
    gallery = Gallery.create(tmp_path / "g", gallery_settings.store, "dlib-resnet-v1@55533b28a958")
    report = import_items(gallery, iter_source(source), gallery_settings, workers=1)
    assert report.added == 1
    assert report.duplicates == 1
    assert report.reasons() == {"not_an_image": 1, "no_face": 1, "missing": 1, "duplicate_record_id": 1}
    fields = gallery.records.fields(1)
    assert (fields["record_id"], fields["date"], fields["source"]) == ("C1", "2020-01-02", "custody")
    again = import_items(gallery, iter_source(source), gallery_settings, workers=1)
    assert again.added == 0
    assert again.known == 4  # added (twice: the duplicate too), not_an_image, no_face: none is embedded again
