"""Removal and retention: a removed or expired record is never returned, and its bytes leave the files."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from gallery.conftest import write_manifest
from openlfr.analysis import FaceAnalyzer
from openlfr.config import Settings
from openlfr.gallery.gallery import INDEX_FILE, RECORDS_FILE, Gallery
from openlfr.gallery.importer import import_items, iter_source
from openlfr.gallery.index import normalise
from openlfr.gallery.search import search_probe
from openlfr.store.crypto import Cipher, load_key

pytestmark = pytest.mark.shared_data


def index_payload(gallery: Gallery, settings: Settings) -> bytes:
    """The index file decrypted: FAISS's serialisation, where a template's float bytes would lie."""
    cipher = Cipher(load_key(settings.store))
    return cipher.decrypt((gallery.path / INDEX_FILE).read_bytes(), f"gallery:{gallery.gallery_id}:index")


def row_of(gallery: Gallery, record_id: str) -> int:
    for ids, _ in gallery.records.templates():
        for row in ids:
            if gallery.records.fields(int(row))["record_id"] == record_id:
                return int(row)
    raise AssertionError(record_id)


@pytest.mark.parametrize("crash_between", [False, True], ids=["clean", "crash-after-marking"])
def test_removed_record_never_returned_and_its_bytes_gone(
    ivf_gallery: Path,
    lfw_split: tuple[list[dict[str, str]], list[tuple[str, Path]]],
    gallery_settings: Settings,
    tmp_path: Path,
    crash_between: bool,
) -> None:
    path = tmp_path / "g"
    shutil.copytree(ivf_gallery, path)
    gallery = Gallery.open(path, gallery_settings.store)
    name, probe = lfw_split[1][0]
    record_id = next(r["record_id"] for r in lfw_split[0] if r["subject_id"] == name)
    row = row_of(gallery, record_id)
    template = next(v for ids, vs in gallery.records.templates() for i, v in zip(ids, vs, strict=True) if i == row)
    in_index = normalise(template)[0].tobytes()
    blob = sqlite3.connect(path / RECORDS_FILE).execute("SELECT template FROM records WHERE row_id = ?", (row,))
    ciphertext = blob.fetchone()[0]
    assert in_index in index_payload(gallery, gallery_settings)  # the scan would see it
    pieces = [ciphertext[i : i + 32] for i in range(0, len(ciphertext) - 32, 32)]  # a row can span pages
    assert any(piece in (path / RECORDS_FILE).read_bytes() for piece in pieces)
    before = len(gallery.index)

    if crash_between:  # marked in the database, then the process died before the index was touched
        gallery.records.mark_removed([record_id])
        gallery.close()
        gallery = Gallery.open(path, gallery_settings.store)
    else:
        assert gallery.remove([record_id], "test") == 1

    assert len(gallery.index) == before - 1
    _, found = gallery.index.search(template[None, :], 50)
    assert row not in found.tolist()[0]
    result = search_probe(gallery, FaceAnalyzer(gallery_settings), probe, k=50)
    assert all(c.record_id != record_id for f in result.faces for c in f.candidates)
    assert in_index not in index_payload(gallery, gallery_settings)
    raw = (path / RECORDS_FILE).read_bytes()
    assert not any(piece in raw for piece in pieces)
    assert not gallery.records.has_record_id(record_id)
    gallery.close()


def test_expired_records_leave_on_open_and_never_come_back(
    lfw_split: tuple[list[dict[str, str]], list[tuple[str, Path]]], gallery_settings: Settings, tmp_path: Path
) -> None:
    rows = [dict(r) for r in lfw_split[0][:3]]
    rows[0]["retain_until"] = "2030-01-01"
    source = write_manifest(tmp_path / "m.csv", rows)
    gallery = Gallery.create(tmp_path / "g", gallery_settings.store, "dlib-resnet-v1@55533b28a958")
    import_items(gallery, iter_source(source), gallery_settings, workers=1)
    assert gallery.records.count() == 3
    gallery.sync(today=date(2030, 1, 2))
    assert gallery.records.count() == 2
    assert len(gallery.index) == 2
    assert not gallery.records.has_record_id(rows[0]["record_id"])
    again = import_items(gallery, iter_source(source), gallery_settings, workers=1)
    assert again.added == 0  # the journal remembers it as removed: a re-run import does not bring it back
    assert gallery.records.count() == 2
    _, found = gallery.index.search(np.ones((1, 128), np.float32), 10)
    assert len([r for r in found[0] if r >= 0]) == 2
