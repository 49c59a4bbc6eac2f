"""LFW View-2, fold 1 (600 pairs, never used to fit the similarity map): accuracy at the default threshold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openlfr.analysis import FaceAnalyzer
from openlfr.config import Settings
from openlfr.eval import lfw
from openlfr.eval.cache import centre_face
from openlfr.match.similarity import similarity_from_distance


def test_fold_one_accuracy_at_the_default_threshold(shared_data: Path, analyzer: FaceAnalyzer) -> None:
    root = shared_data / "lfw"
    pairs = [p for p in lfw.read_pairs(root / "pairs.txt") if p.fold == 1]
    assert len(pairs) == 600
    templates = {}
    fallbacks = 0
    for key in sorted({k for p in pairs for k in (p.a, p.b)}):
        item = centre_face(analyzer, lfw.image_path(root, key))
        assert item.vector is not None
        templates[key] = item.vector
        used_fallback = item.fallback
        fallbacks += used_fallback
    assert fallbacks < 10, f"the detector missed {fallbacks} of {len(templates)} LFW faces"
    scores = similarity_from_distance(lfw.pair_distances(pairs, templates))
    same = np.array([p.same for p in pairs])
    accuracy = float(np.mean((scores >= Settings().match.default_threshold) == same))
    assert accuracy >= 0.98, f"fold 1 accuracy {accuracy:.4f}"


def test_read_pairs(tmp_path: Path) -> None:
    path = tmp_path / "pairs.txt"
    path.write_text("2\t1\nA\t1\t2\nB\t1\tC\t3\nD\t2\t4\nE\t1\tF\t1\n")
    pairs = lfw.read_pairs(path)
    assert [(p.fold, p.a, p.b, p.same) for p in pairs] == [
        (1, "A_0001", "A_0002", True),
        (1, "B_0001", "C_0003", False),
        (2, "D_0002", "D_0004", True),
        (2, "E_0001", "F_0001", False),
    ]
    assert lfw.image_path(Path("/x"), "Ann_Lee_0003") == Path("/x/lfw/Ann_Lee/Ann_Lee_0003.jpg")


def test_read_pairs_refuses_a_short_file(tmp_path: Path) -> None:
    path = tmp_path / "pairs.txt"
    path.write_text("2\t1\nA\t1\t2\n")
    with pytest.raises(ValueError, match="found 1"):
        lfw.read_pairs(path)
