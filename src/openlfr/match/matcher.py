"""1:N matching: for each probe template, the top-k watchlist subjects and the decision.

Pure functions over a ``Watchlist``: no state, no I/O. A subject's score is its best template's
(the nearest of its enrolment images), mapped to a similarity in [0, 1] by the watchlist's own
similarity map, and a candidate is a match when its score reaches the watchlist's threshold.
A watchlist calibrated with a cohort scores by normalised cosine instead of distance (match/scoring.py):
every active template is scored (a normalised score can reorder templates), the distance is kept
for the report; a watchlist of more than ``RESCORE_N`` active templates takes that many nearest rows from
its index first and re-scores only those (retrieve, then re-score: the ``TemplateIndex`` seam that a
large index serves). A watchlist that fuses two embedders (match/second.py) takes each probe's second
template too (``second``) and ranks by the fused normalised score (``scoring.Fusion``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
from numpy.typing import NDArray

from openlfr.errors import EmbedderMismatchError, WatchlistError
from openlfr.match.index import TemplateIndex
from openlfr.match.normalise import Floats
from openlfr.match.scoring import ScoredGallery
from openlfr.match.similarity import similarity_from_distance
from openlfr.match.watchlist import Watchlist
from openlfr.types import Match, TemplateSet

RESCORE_N = 2000
"""Active templates above which a normalised search re-scores only the index's nearest rows (at least
this many, and 4 x the rows the top k may need)."""


def search(
    watchlist: Watchlist,
    probes: NDArray[np.float32],
    k: int = 5,
    today: date | None = None,
    index: tuple[TemplateIndex, NDArray[np.int64]] | None = None,
    second: NDArray[np.float32] | None = None,
) -> list[list[Match]]:
    """Ranked candidates (best first, at most ``k`` distinct subjects) for each row of ``probes``.

    ``index`` may be a prebuilt ``watchlist.index(today)`` to reuse across calls. ``second``: the same
    probes' templates by the watchlist's second embedder, which a fused watchlist needs (others ignore it).
    """
    probes = np.atleast_2d(np.asarray(probes, dtype=np.float32))
    fused = _second_probes(watchlist, probes, second)
    idx, rows = index if index is not None else watchlist.index(today)
    if len(idx) == 0 or probes.shape[0] == 0:
        return [[] for _ in range(probes.shape[0])]
    if watchlist.scoring is not None:
        return _search_normalised(watchlist, probes, idx, rows, k, fused)
    per_subject = int(np.bincount(watchlist.template_subjects[rows]).max())
    # The best templates of the top k subjects are always among the k * per_subject nearest templates.
    distances, found = idx.search(probes, k * per_subject)
    sim = watchlist.manifest.similarity
    scores = similarity_from_distance(distances, sim.midpoint, sim.scale)
    results = []
    for p in range(probes.shape[0]):
        results.append(_collapse(watchlist, rows[found[p]], distances[p], scores[p], k))
    return results


def search_sets(
    watchlist: Watchlist,
    probes: Sequence[TemplateSet],
    k: int = 5,
    today: date | None = None,
    index: tuple[TemplateIndex, NDArray[np.int64]] | None = None,
) -> list[list[Match]]:
    """``search`` for probes given as template sets: each gives the templates of every embedder the
    watchlist was enrolled with (the first, and the second of a fused watchlist); others are ignored."""
    first, second = embedder_probes(watchlist, probes)
    return search(watchlist, first, k, today, index, second=second)


def embedder_probes(
    watchlist: Watchlist, probes: Sequence[TemplateSet]
) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]:
    """The probes' templates of the watchlist's embedder and of its second (None: not fused), as rows;
    ``EmbedderMismatchError`` naming the embedder a probe lacks, or a size that is not the watchlist's."""
    wanted = [(watchlist.embedder, int(watchlist.vectors.shape[1]))]
    if watchlist.second is not None:
        wanted.append((watchlist.second.identity, int(watchlist.second.vectors.shape[1])))
    rows: list[NDArray[np.float32]] = []
    for embedder, size in wanted:
        missing = [p for p in probes if embedder not in p]
        if missing:
            raise EmbedderMismatchError(
                f"watchlist '{watchlist.name}' was enrolled with embedder {embedder}; a probe has templates of "
                f"{', '.join(missing[0])} only: templates of different models cannot be compared"
            )
        wrong = [len(p[embedder]) for p in probes if len(p[embedder]) != size]
        if wrong:
            raise EmbedderMismatchError(f"a template of {embedder} has {wrong[0]} values; the watchlist's have {size}")
        rows.append(np.stack([p[embedder] for p in probes]) if probes else np.zeros((0, size), np.float32))
    return rows[0], rows[1] if len(rows) > 1 else None


def _second_probes(
    watchlist: Watchlist, probes: NDArray[np.float32], second: NDArray[np.float32] | None
) -> NDArray[np.float32] | None:
    """The second embedder's probe templates of a fused watchlist (None for any other), checked."""
    if watchlist.fusion is None:  # raises for a fused watchlist that is not normalised
        return None
    if second is None:
        raise WatchlistError(f"watchlist '{watchlist.name}' fuses two embedders: each probe needs both templates")
    second = np.atleast_2d(np.asarray(second, dtype=np.float32))
    if len(second) != len(probes):
        raise WatchlistError(f"{len(probes)} probe templates but {len(second)} of the second embedder")
    return second


def _search_normalised(
    watchlist: Watchlist,
    probes: NDArray[np.float32],
    idx: TemplateIndex,
    rows: NDArray[np.int64],
    k: int,
    second: NDArray[np.float32] | None,
) -> list[list[Match]]:
    scoring, gallery = watchlist.scoring, watchlist.scored
    assert scoring is not None
    assert gallery is not None
    every = len(rows) == len(watchlist.vectors)
    active = gallery if every else gallery.rows(rows)  # no copy when none expired
    fusion = watchlist.fusion
    fused = fusion is not None and second is not None and watchlist.second is not None
    other = watchlist.second.scored if fused and watchlist.second is not None else None
    if other is not None and not every:
        other = other.rows(rows)
    per_subject = int(np.bincount(watchlist.template_subjects[rows]).max())
    n = min(k * per_subject, len(rows))
    retrieve = max(RESCORE_N, 4 * n)
    near = idx.search(probes, retrieve)[1] if retrieve < len(rows) else None

    def score(p: slice, sub: ScoredGallery, sub_other: ScoredGallery | None) -> Floats:
        if fusion is not None and sub_other is not None and second is not None:
            return fusion.scores([probes[p], second[p]], [sub, sub_other])
        return scoring.scores(probes[p], sub)

    everything = score(slice(None), active, other) if near is None else None  # one product for all probes
    results = []
    for p in range(probes.shape[0]):
        if everything is not None or near is None:
            assert everything is not None
            pos, scores = np.arange(len(rows)), everything[p]
        else:
            pos = near[p]  # positions in the index (= in rows)
            scores = score(slice(p, p + 1), active.rows(pos), None if other is None else other.rows(pos))[0]
        m = min(n, len(pos))
        best = np.argpartition(-scores, m - 1)[:m] if m < len(pos) else np.arange(len(pos))
        best = best[np.argsort(-scores[best], kind="stable")]
        found = rows[pos[best]]
        distances = np.linalg.norm(watchlist.vectors[found] - probes[p], axis=1).astype(np.float32)
        results.append(_collapse(watchlist, found, distances, scoring.similarity(scores[best]), k))
    return results


def _collapse(
    watchlist: Watchlist,
    template_rows: NDArray[np.int64],
    distances: NDArray[np.float32],
    scores: NDArray[np.float64],
    k: int,
) -> list[Match]:
    matches: list[Match] = []
    seen: set[str] = set()
    for row, dist, score in zip(template_rows.tolist(), distances.tolist(), scores.tolist(), strict=True):
        record = watchlist.manifest.templates[row]
        if record.subject_id in seen:
            continue  # rows come nearest first, so the first template of a subject is its best
        seen.add(record.subject_id)
        subject = watchlist.subjects[record.subject_id]
        matches.append(
            Match(
                subject_id=subject.subject_id,
                display_name=subject.display_name,
                score=float(score),
                distance=float(dist),
                template_id=record.template_id,
                rank=len(matches) + 1,
                threshold=watchlist.threshold,
            )
        )
        if len(matches) == k:
            break
    return matches


def best_match(candidates: list[Match]) -> Match | None:
    """The top candidate if it clears the threshold, else None (nobody on the watchlist)."""
    return candidates[0] if candidates and candidates[0].is_match else None
