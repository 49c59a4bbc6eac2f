"""Evaluation manifests: columns, label normalisation, age bands, and the shared sets' loaders."""

from __future__ import annotations

from pathlib import Path

import pytest

from openlfr.errors import OpenLFRError
from openlfr.eval import datasets


def test_manifest_labels_are_normalised(tmp_path: Path) -> None:
    csv = tmp_path / "m.csv"
    csv.write_text("path,identity,gender,race,age\na.jpg,p1,Male,Black,7\nb.jpg,p2,FEMALE,,64\nc.jpg,p3,,White,\n")
    a, b, c = datasets.load_manifest(csv, "mine")
    assert (a.path, a.identity, a.dataset, a.sex, a.race, a.age_band) == (
        tmp_path / "a.jpg",
        "p1",
        "mine",
        "male",
        "Black",
        "0-17",
    )
    assert (b.sex, b.race, b.age_band) == ("female", None, "60+")
    assert (c.sex, c.age_band, c.label("sex_race")) == (None, None, None)
    assert a.label("sex_race") == "male Black"
    with pytest.raises(KeyError):
        a.label("height")


def test_a_manifest_without_identity_is_refused(tmp_path: Path) -> None:
    csv = tmp_path / "m.csv"
    csv.write_text("file,who\na.jpg,p1\n")
    with pytest.raises(OpenLFRError, match="path and identity"):
        datasets.load_manifest(csv)


def test_unknown_set_name(tmp_path: Path) -> None:
    with pytest.raises(OpenLFRError, match="unknown data set 'imdb'"):
        datasets.load(["imdb"], tmp_path)


def test_shared_sets_load_with_their_labels(shared_data: Path) -> None:
    lfw = datasets.lfw(shared_data)
    fairface = datasets.fairface(shared_data)
    utk = datasets.utkface(shared_data)
    assert (len(lfw), len(fairface), len(utk)) == (9092, 5000, 1785)
    assert len({s.identity for s in lfw}) == 4333
    assert {s.sex for s in fairface} == {"male", "female"}
    assert len({s.race for s in fairface}) == 7 and "20-29" in {s.age_band for s in fairface}
    assert {s.age_band for s in utk} == {"0-17", "18-39", "40-59", "60+"}
    assert all(s.path.is_file() for s in lfw[:50] + fairface[:50] + utk[:50])
