"""Galleries for the gallery tests: settings with the fast embedder and a store key, folders of real faces."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from openlfr.config import DlibOnnxEmbedderConfig, Settings, StoreConfig
from openlfr.gallery.gallery import Gallery
from openlfr.gallery.importer import import_items, iter_source
from openlfr.store.crypto import generate_key


@pytest.fixture(scope="session")
def gallery_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data = tmp_path_factory.mktemp("gallery_store")
    return Settings(embedder=DlibOnnxEmbedderConfig(), store=StoreConfig(key=SecretStr(generate_key()), data_dir=data))


def lfw_people(shared: Path) -> dict[str, list[Path]]:
    """LFW's images by identity (manifest order)."""
    people: dict[str, list[Path]] = {}
    with (shared / "lfw" / "manifest.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            people.setdefault(row["identity"], []).append(shared / "lfw" / row["path"])
    return people


def write_manifest(path: Path, rows: list[dict[str, str]]) -> Path:
    fields = ["path", "subject_id", "record_id", "date", "source", "retain_until"]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in fields})
    return path


@pytest.fixture
def people_folder(tmp_path: Path) -> Callable[[dict[str, list[Path]]], Path]:
    """A folder of one subfolder per person, of links to the given images."""

    def make(people: dict[str, list[Path]]) -> Path:
        root = tmp_path / "people"
        for name, images in people.items():
            (root / name).mkdir(parents=True)
            for image in images:
                (root / name / image.name).symlink_to(image)
        return root

    return make


MATED = 100  # LFW people with 2+ images: one in the gallery, one as probe
DISTRACTORS = 150


@pytest.fixture(scope="session")
def lfw_split(shared_data: Path) -> tuple[list[dict[str, str]], list[tuple[str, Path]]]:
    """Gallery rows (one image of each mated person, and one-image people as distractors) and probes."""
    people = lfw_people(shared_data)
    mated = [(n, imgs) for n, imgs in people.items() if len(imgs) >= 2][:MATED]
    singles = [(n, imgs) for n, imgs in people.items() if len(imgs) == 1][:DISTRACTORS]
    rows = [{"path": str(imgs[0]), "subject_id": n, "record_id": f"R-{imgs[0].stem}"} for n, imgs in mated + singles]
    probes = [(n, imgs[1]) for n, imgs in mated]
    return rows, probes


def build_gallery(folder: Path, rows: list[dict[str, str]], settings: Settings, kind: str, **limits: int) -> Path:
    """A gallery of ``rows`` in ``folder``/g, imported as a user would, whose index ``limits`` make ``kind``."""
    gallery = Gallery.create(folder / "g", settings.store, "dlib-resnet-v1@55533b28a958", **limits)
    import_items(gallery, iter_source(write_manifest(folder / "m.csv", rows)), settings, workers=2)
    assert gallery.index.params.kind == kind
    assert gallery.index.params.measured_recall10 is None or gallery.index.params.measured_recall10 >= 0.99
    gallery.close()
    return folder / "g"


@pytest.fixture(scope="session")
def ivf_gallery(
    lfw_split: tuple[list[dict[str, str]], list[tuple[str, Path]]],
    gallery_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """A gallery of the split's rows whose exact limit is low, so that its index is IVF."""
    return build_gallery(tmp_path_factory.mktemp("ivf"), lfw_split[0], gallery_settings, "ivf", exact_limit=100)
