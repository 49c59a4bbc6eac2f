"""Galleries for the gallery tests: settings with the fast embedder and a store key, folders of real faces."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from openlfr.config import DlibOnnxEmbedderConfig, Settings, StoreConfig
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
