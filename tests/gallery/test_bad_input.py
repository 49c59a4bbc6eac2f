"""Bad input: a corrupt or missing index file, another embedder, another key, a hostile name: clear errors,
nothing lost."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from gallery.conftest import write_manifest
from openlfr.config import Settings, StoreConfig
from openlfr.errors import GalleryEmbedderError, GalleryError, GalleryIndexError, StoreKeyError
from openlfr.gallery.gallery import INDEX_FILE, Gallery, open_for_rebuild
from openlfr.gallery.importer import import_items, iter_source
from openlfr.gallery.search import ProbeResult, search_probe
from openlfr.gallery.sheet import review_sheet
from openlfr.store.crypto import generate_key

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.shared_data


def corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def delete(path: Path) -> None:
    path.unlink()


@pytest.mark.parametrize("damage", [corrupt, truncate, delete], ids=["flipped byte", "truncated", "deleted"])
def test_damaged_index_is_a_clear_error_and_rebuild_loses_nothing(
    ivf_gallery: Path, gallery_settings: Settings, tmp_path: Path, damage: object
) -> None:
    path = tmp_path / "g"
    shutil.copytree(ivf_gallery, path)
    count = Gallery.open(path, gallery_settings.store).records.count()
    damage(path / INDEX_FILE)  # type: ignore[operator]
    with pytest.raises(GalleryIndexError, match=r"index file .* (corrupt or altered|missing); 'lfr gallery rebuild"):
        Gallery.open(path, gallery_settings.store)
    gallery = open_for_rebuild(path, gallery_settings.store)
    assert gallery.rebuild() == count
    gallery.close()
    gallery = Gallery.open(path, gallery_settings.store)
    assert len(gallery.index) == count
    assert gallery.index.params.kind == "ivf"


def test_cli_error_is_one_line(ivf_gallery: Path, gallery_settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "g"
    shutil.copytree(ivf_gallery, path)
    corrupt(path / INDEX_FILE)
    assert gallery_settings.store.key is not None
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "LFR_STORE__KEY": gallery_settings.store.key.get_secret_value(),
    }
    done = subprocess.run(
        [sys.executable, "-m", "openlfr", "gallery", "info", "-g", str(path)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: the gallery's index file"), done.stderr


def test_another_embedder_or_key_is_refused(ivf_gallery: Path, gallery_settings: Settings) -> None:
    with pytest.raises(
        GalleryEmbedderError, match=r"was made by embedder dlib-resnet-v1@.*; the settings give other@1"
    ):
        Gallery.open(ivf_gallery, gallery_settings.store, "other@1")
    with pytest.raises(StoreKeyError, match="made with another key"):
        Gallery.open(ivf_gallery, StoreConfig(key=SecretStr(generate_key())))
    with pytest.raises(GalleryError, match="no gallery at"):
        Gallery.open(ivf_gallery / "nowhere", gallery_settings.store)
    with pytest.raises(GalleryError, match="already holds a gallery"):
        Gallery.create(ivf_gallery, gallery_settings.store, "x@1")


def test_manifest_without_columns_is_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,name\na.jpg,b\n")
    with pytest.raises(GalleryError, match="lacks the column"):
        list(iter_source(manifest))


def test_names_are_escaped_in_the_review_sheet(
    lfw_split: tuple[list[dict[str, str]], list[tuple[str, Path]]], gallery_settings: Settings, tmp_path: Path
) -> None:
    from openlfr.analysis import FaceAnalyzer

    row = {**lfw_split[0][0], "subject_id": "<script>alert(1)</script>", "record_id": "<b>R1</b>"}
    gallery = Gallery.create(tmp_path / "g", gallery_settings.store, "dlib-resnet-v1@55533b28a958")
    import_items(gallery, iter_source(write_manifest(tmp_path / "m.csv", [row])), gallery_settings, workers=1)
    result = search_probe(gallery, FaceAnalyzer(gallery_settings), Path(row["path"]), k=1)
    html = review_sheet([result, ProbeResult("<img src=x onerror=alert(1)>", error="<i>bad</i>")], gallery, "<u>")
    assert "<script>" not in html and "<b>" not in html and "<img src=x" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
