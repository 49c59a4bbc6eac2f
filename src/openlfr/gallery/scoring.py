"""A gallery's score normalisation: the cohort it was normalised with, and re-scoring through the index.

``lfr gallery normalise -g G --cohort C.lfrc`` gives a gallery the same normalisation watchlists use
(``match/scoring.py``: Z/T/ZT-norm against the cohort, fair cluster offsets; ``[match.normalisation]``).
The cohort's unit templates and fair clusters are stored encrypted beside the records (``scoring.bin``,
bound to the gallery) with their checksum in the meta, so a search always uses the cohort the gallery was
normalised with.

Searching a normalised gallery goes through its index: the top ``rescore_n`` rows by cosine come from
FAISS, and only those are re-scored (each candidate's cohort statistics computed from its template, then
``Scoring.scores``). A normalised score can reorder candidates, so the list is exact as long as the true
top-k by normalised score lies within the top ``rescore_n`` by cosine; tests/gallery/test_rescore.py
measures that on real faces against brute-force normalised scoring of the whole gallery.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from openlfr.config import ScoringConfig
from openlfr.errors import GalleryEmbedderError, GalleryError, StoreKeyError
from openlfr.match import normalise as norm
from openlfr.match.cohort import Cohort, check_cohort
from openlfr.match.scoring import Scoring, build_scoring
from openlfr.store.crypto import Cipher

SCORING_FILE = "scoring.bin"
RESCORE_N = 200
"""Rows taken from the index per probe face for re-scoring (at least; 4 x top when that is more)."""


@dataclass(frozen=True, slots=True)
class Rescored:
    """Candidates of one probe face after re-scoring, best first."""

    rows: NDArray[np.int64]
    cosine: NDArray[np.float64]
    normalised: NDArray[np.float64]
    similarity: NDArray[np.float64]


def build(cohort: Cohort, config: ScoringConfig, embedder: str) -> Scoring:
    """The gallery's scoring from ``cohort`` (checked: same embedder, enough faces)."""
    if cohort.embedder != embedder:
        raise GalleryEmbedderError(f"the cohort was made by embedder {cohort.embedder}; the gallery's is {embedder}")
    check_cohort(cohort)
    return build_scoring(config, cohort.vectors)


def save(path: Path, cipher: Cipher, context: str, scoring: Scoring) -> None:
    arrays: dict[str, NDArray[np.generic]] = {
        "config": np.frombuffer(scoring.config.model_dump_json().encode("utf-8"), np.uint8),
        "cohort": scoring.cohort,
    }
    if scoring.fair is not None:
        arrays["fair_centroids"] = scoring.fair.centroids
        arrays["fair_offsets"] = scoring.fair.offsets
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **arrays)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(cipher.encrypt(buf.getvalue(), context))
    tmp.replace(path)


def load(path: Path, cipher: Cipher, context: str, checksum: str) -> Scoring:
    """The stored scoring, checked against the checksum the gallery's meta recorded."""
    try:
        payload = cipher.decrypt(path.read_bytes(), context)
        with np.load(io.BytesIO(payload), allow_pickle=False) as z:
            config = ScoringConfig.model_validate(json.loads(z["config"].tobytes().decode("utf-8")))
            fair = None
            if "fair_centroids" in z:
                fair = norm.FairClusters(z["fair_centroids"].astype(np.float32), z["fair_offsets"].astype(np.float64))
            scoring = Scoring(config, z["cohort"].astype(np.float32), fair)
    except (OSError, StoreKeyError, ValueError, KeyError) as exc:
        raise GalleryError(
            f"the gallery's normalisation {path} does not load ({exc}); run 'lfr gallery normalise' again"
        ) from exc
    if scoring.checksum != checksum:
        raise GalleryError(f"the gallery's normalisation {path} is not the cohort its meta names (damaged)")
    return scoring


def rescore(
    scoring: Scoring, probe: NDArray[np.float32], rows: NDArray[np.int64], vectors: NDArray[np.float32]
) -> Rescored:
    """``rows`` (retrieved by cosine, their templates ``vectors``) re-scored against one ``probe``, best first."""
    if not len(rows):
        empty = np.zeros(0)
        return Rescored(rows, empty, empty, empty)
    gallery = scoring.gallery(vectors)
    p = norm.unit(probe)
    cosine = norm.cosine(p, gallery.vectors)[0]
    scores = scoring.scores(probe[None, :], gallery)[0]
    order = np.argsort(-scores, kind="stable")
    return Rescored(rows[order], cosine[order], scores[order], scoring.similarity(scores[order]))
