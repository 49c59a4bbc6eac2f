"""Watchlist files: round trip, and clear refusals for the wrong embedder, version or file."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from openlfr.errors import EmbedderMismatchError, WatchlistError, WatchlistFormatError
from openlfr.match.signing import FileSigning
from openlfr.match.watchlist import Watchlist

TRUSTING = FileSigning(None, trust_unsigned=True)
"""How files edited here are read: as ``--trust-unsigned`` would, so that the format's own checks answer."""


def test_round_trip_keeps_everything(demo_watchlist: Watchlist, tmp_path: Path) -> None:
    path = demo_watchlist.save(tmp_path / "w.lfrw")
    loaded = Watchlist.load(path, embedder=demo_watchlist.embedder)
    assert loaded.manifest == demo_watchlist.manifest
    np.testing.assert_array_equal(loaded.vectors, demo_watchlist.vectors)
    assert loaded.faces == demo_watchlist.faces
    assert loaded.embedder.startswith("dlib-resnet-v1@")


def test_another_embedder_is_refused(demo_watchlist: Watchlist, tmp_path: Path) -> None:
    path = demo_watchlist.save(tmp_path / "w.lfrw")
    with pytest.raises(EmbedderMismatchError, match=r"enrolled with embedder dlib-resnet-v1@.* re-enrol"):
        Watchlist.load(path, embedder="my-arcface@0123456789ab")


def _rewrite_manifest(path: Path, change: dict[str, object]) -> None:
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(files["manifest.json"])
    manifest.update(change)
    files["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data)


def test_unknown_format_version_is_refused(demo_watchlist: Watchlist, tmp_path: Path) -> None:
    path = demo_watchlist.save(tmp_path / "w.lfrw")
    _rewrite_manifest(path, {"format_version": 99})
    with pytest.raises(WatchlistFormatError, match="format version 99; this openlfr reads versions 1, 2"):
        Watchlist.load(path, signing=TRUSTING)


def test_version_1_files_are_still_read(demo_watchlist: Watchlist, tmp_path: Path) -> None:
    path = demo_watchlist.save(tmp_path / "w.lfrw")
    _rewrite_manifest(path, {"format_version": 1})
    loaded = Watchlist.load(path, signing=TRUSTING)
    assert loaded.manifest.format_version == 1
    assert loaded.scoring is None  # version 1: similarity from Euclidean distance


def test_mismatched_vectors_are_refused(demo_watchlist: Watchlist, tmp_path: Path) -> None:
    path = demo_watchlist.save(tmp_path / "w.lfrw")
    _rewrite_manifest(path, {"dimension": 64})
    with pytest.raises(WatchlistFormatError, match="vector matrix of shape"):
        Watchlist.load(path, signing=TRUSTING)


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (b"hello", WatchlistFormatError, "not an openlfr watchlist"),
        (None, WatchlistError, "not found"),
    ],
)
def test_not_a_watchlist(tmp_path: Path, content: bytes | None, error: type[Exception], message: str) -> None:
    path = tmp_path / "w.lfrw"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(error, match=message):
        Watchlist.load(path)


def test_a_zip_that_is_not_a_watchlist(tmp_path: Path) -> None:
    path = tmp_path / "w.lfrw"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "something-else"}))
    with pytest.raises(WatchlistFormatError, match="not an openlfr watchlist"):
        Watchlist.load(path, signing=TRUSTING)


def test_a_folder_gets_a_hint(tmp_path: Path) -> None:
    with pytest.raises(WatchlistError, match="enrol it first"):
        Watchlist.load(tmp_path)


def test_save_failure_leaves_no_partial_file(demo_watchlist: Watchlist, tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "w.lfrw"
    with pytest.raises(WatchlistError, match="cannot write watchlist"):
        demo_watchlist.save(target)
    assert not target.exists()
