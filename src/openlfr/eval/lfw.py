"""Labeled Faces in the Wild: the View-2 pairs protocol and the face to take from each image.

LFW images are 250 x 250 crops centred on one face, often with other faces at the edges. The face
taken is the one ``eval.cache.centre_face`` takes: the detection nearest the centre, or, where the
detector finds none (35 of 7,701 pairs images with HOG at upsample 1), the fixed central box
70-180 px, as LFW's own crops are centred. Alignment is the embedder's own (dlib's 5-point shape
predictor inside that box).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Pair:
    fold: int
    """1 to 10."""
    a: str
    b: str
    """Image keys: ``Name_Surname_0001``."""
    same: bool


def read_pairs(path: Path) -> list[Pair]:
    """The pairs of an LFW ``pairs.txt``: a header ``folds per_fold``, then per fold per_fold mated rows
    (``name i j``) and per_fold non-mated rows (``name1 i name2 j``)."""
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    folds, per_fold = int(lines[0][0]), int(lines[0][1])
    pairs = []
    for i, row in enumerate(lines[1:]):
        fold = i // (2 * per_fold) + 1
        if len(row) == 3:
            pairs.append(Pair(fold, key(row[0], int(row[1])), key(row[0], int(row[2])), True))
        elif len(row) == 4:
            pairs.append(Pair(fold, key(row[0], int(row[1])), key(row[2], int(row[3])), False))
        else:
            raise ValueError(f"{path} line {i + 2}: expected 3 or 4 fields, got {row}")
    if len(pairs) != folds * 2 * per_fold:
        raise ValueError(f"{path}: header says {folds} x {2 * per_fold} pairs, found {len(pairs)}")
    return pairs


def key(name: str, index: int) -> str:
    return f"{name}_{index:04d}"


def image_path(root: Path, image_key: str) -> Path:
    """Where ``Name_Surname_0001`` lives under an LFW root holding ``lfw/<name>/<key>.jpg``."""
    name = image_key.rsplit("_", 1)[0]
    return root / "lfw" / name / f"{image_key}.jpg"


def pair_distances(pairs: list[Pair], templates: dict[str, NDArray[np.float32]]) -> NDArray[np.float64]:
    a = np.stack([templates[p.a] for p in pairs]).astype(np.float64)
    b = np.stack([templates[p.b] for p in pairs]).astype(np.float64)
    return np.asarray(np.linalg.norm(a - b, axis=1))
