"""Calibrating a watchlist's threshold for a target false-alert rate at its real size.

A 1:1 threshold is wrong for 1:N search: every face is compared with every subject, so the chance
that an innocent face clears the threshold for *someone* (the false positive identification rate,
FPIR, as NIST FRTE measures it) grows with the watchlist. The threshold is therefore measured for
each watchlist, as NIST and NPL do: search a *cohort* of faces of people known not to be on the
watchlist, take each face's best score, and set the threshold so that at most the target share of
them reach it. The measured FPIR comes with a Wilson 95% interval, which is honest about how few
cohort faces a small target rests on (for FPIR 1e-3, thousands of cohort faces are needed).

The same cohort normalises the scores (``normalise``, match/scoring.py). Searching a cohort face
then leaves it out of its own T-norm statistics, so that it is scored as a stranger would be. A cohort
must hold no one on the watchlist: it is refused when any of its images has the SHA-256 of a watchlist
enrolment image, or when a cohort face is within ``SAME_PHOTO_DISTANCE`` of a template.

A watchlist that fuses a second embedder's scores (match/second.py) needs a cohort embedded by both:
each embedder is normalised against its own templates of the cohort faces, and the threshold is
calibrated on the fused scores, so its signature names both embedders and both cohorts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from openlfr.config import ScoringConfig
from openlfr.errors import EmbedderMismatchError, WatchlistError
from openlfr.match import matcher
from openlfr.match import normalise as norm
from openlfr.match.cohort import (
    MIN_FALSE_ALERTS,
    SAME_PHOTO_DISTANCE,
    WARN_FALSE_ALERTS,
    Cohort,
    build_cohort,
    check_cohort,
    check_size,
)
from openlfr.match.normalise import Floats
from openlfr.match.scoring import ScoredGallery, Scoring, build_scoring
from openlfr.match.watchlist import Calibration, Normalisation, Watchlist

__all__ = [  # the cohort's names too, as before the cohort had its own module (bench/ runs older trees)
    "MIN_FALSE_ALERTS",
    "SAME_PHOTO_DISTANCE",
    "WARN_FALSE_ALERTS",
    "Cohort",
    "apply",
    "build_cohort",
    "calibrate",
    "check_cohort",
    "check_disjoint",
    "check_size",
    "normalise",
    "require_embedders",
    "threshold_at_fpir",
    "wilson_interval",
]


def threshold_at_fpir(top_scores: NDArray[np.float64], target: float) -> float:
    """The lowest threshold that at most ``target`` of the searches' best scores reach: just above the
    (floor(target * n) + 1)-th highest score."""
    scores = np.sort(top_scores)[::-1]
    allowed = math.floor(target * len(scores))
    return float(np.nextafter(scores[allowed], 1.0)) if allowed < len(scores) else 0.0


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion of ``k`` in ``n`` (95% by default)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def check_disjoint(watchlist: Watchlist, cohort: Cohort) -> None:
    """Refuse a cohort that shares an image (by SHA-256) with the watchlist's enrolment images."""
    listed = {t.image_sha256 for t in watchlist.manifest.templates}
    shared = listed.intersection(cohort.image_sha256)
    if shared:
        raise WatchlistError(
            f"the cohort holds {len(shared)} image(s) enrolled on watchlist '{watchlist.name}' (same SHA-256); "
            "a cohort must hold only people who are not listed"
        )


def require_embedders(watchlist: Watchlist, cohort: Cohort) -> None:
    """Refuse a cohort made by another embedder, or without the fused watchlist's second embedder."""
    watchlist.require_embedder(cohort.embedder, None if watchlist.second is None else watchlist.second.identity)
    if watchlist.second is None or (cohort.second is not None and cohort.second_embedder == watchlist.second.identity):
        return
    has = f"templates of {cohort.second_embedder}" if cohort.second is not None else "no second embedder's templates"
    raise EmbedderMismatchError(
        f"watchlist '{watchlist.name}' fuses second embedder {watchlist.second.identity}, but the cohort "
        f"({cohort.source}) has {has}; build it with the same second_embedder set (lfr cohort build)"
    )


def normalise(watchlist: Watchlist, cohort: Cohort, config: ScoringConfig) -> Watchlist:
    """A copy of ``watchlist`` that scores by ``config`` against ``cohort`` (template statistics and fair
    clusters precomputed); its threshold must then be calibrated (``calibrate``) on the same cohort.
    A fused watchlist's second embedder is normalised against its own templates of the cohort."""
    require_embedders(watchlist, cohort)
    check_cohort(cohort)
    check_disjoint(watchlist, cohort)
    scoring = build_scoring(config, cohort.vectors)
    update: dict[str, object] = {"normalisation": _record(scoring, cohort), "calibration": None}
    second = None
    if watchlist.second is not None and watchlist.manifest.second_embedder is not None:
        assert cohort.second is not None  # require_embedders
        second = watchlist.second.normalised(build_scoring(config, cohort.second))
        assert second.scoring is not None
        fused = watchlist.manifest.second_embedder
        update["second_embedder"] = fused.model_copy(update={"normalisation": _record(second.scoring, cohort)})
    manifest = watchlist.manifest.model_copy(update=update)
    out = Watchlist(manifest=manifest, vectors=watchlist.vectors, faces=watchlist.faces, scoring=scoring, second=second)
    out.scored  # noqa: B018 - precompute the templates' cohort statistics now, not at the first search
    return out


def _record(scoring: Scoring, cohort: Cohort) -> Normalisation:
    return Normalisation(
        config=scoring.config,
        cohort_source=cohort.source,
        cohort_size=len(cohort.vectors),
        cohort_checksum=scoring.checksum,
        fair_offsets=[] if scoring.fair is None else [round(float(x), 4) for x in scoring.fair.offsets],
    )


def _cohort_top(watchlist: Watchlist, cohort: Cohort) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Each cohort face's best similarity and its distance to that template; a face of the watchlist's own
    cohort is left out of its own T-norm statistics (it is scored as a stranger would be). A fused
    watchlist's scores are the fused normalised scores of its two embedders."""
    scoring, gallery = watchlist.scoring, watchlist.scored
    watchlist.fusion  # noqa: B018 - refuses a fused watchlist that is not normalised
    if scoring is None or gallery is None:
        ranked = matcher.search(watchlist, cohort.vectors, k=1)
        if any(not r for r in ranked):
            raise WatchlistError(f"watchlist '{watchlist.name}' has no active subject to calibrate against")
        return np.array([r[0].score for r in ranked]), np.array([r[0].distance for r in ranked])
    rows = watchlist.active_rows()
    if not len(rows):
        raise WatchlistError(f"watchlist '{watchlist.name}' has no active subject to calibrate against")
    parts = [_cohort_scores(scoring, gallery.rows(rows), cohort.vectors)]
    if watchlist.second is not None:
        second = watchlist.second
        assert second.scoring is not None
        assert second.scored is not None
        assert cohort.second is not None
        parts.append(_cohort_scores(second.scoring, second.scored.rows(rows), cohort.second))
    tops, dists = [], []
    for start in range(0, len(cohort.vectors), 1024):
        part = slice(start, start + 1024)
        s = parts[0](part) if len(parts) == 1 else norm.fuse([p(part) for p in parts])
        best = np.argmax(s, axis=1)
        tops.append(scoring.similarity(s[np.arange(len(s)), best]))
        dists.append(np.linalg.norm(watchlist.vectors[rows][best] - cohort.vectors[part], axis=1))
    return np.concatenate(tops), np.concatenate(dists)


def _cohort_scores(scoring: Scoring, active: ScoredGallery, vectors: NDArray[np.float32]) -> Callable[[slice], Floats]:
    """Normalised scores of a slice of cohort faces against the active templates; a face of the scoring's
    own cohort is left out of its own statistics."""
    unit = norm.unit(vectors)
    own = Scoring(scoring.config, unit).checksum == scoring.checksum
    stats = scoring.stats(unit, exclude_self=own)

    def scores(part: slice) -> Floats:
        s = norm.normalise(norm.cosine(unit[part], active.vectors), scoring.config.method, stats[part], active.stats)
        if scoring.fair is not None:
            s = norm.fair_adjust(s, scoring.fair, scoring.fair.assign(unit[part]), active.clusters)
        return s

    return scores


def calibrate(
    watchlist: Watchlist,
    cohort: Cohort,
    target_fpir: float,
    mated: tuple[NDArray[np.float32], Sequence[str]] | None = None,
    mated_second: NDArray[np.float32] | None = None,
) -> Calibration:
    """The threshold at which at most ``target_fpir`` of the cohort's faces would raise an alert, with
    the false-alert rate per cohort group and, given ``mated`` probes (templates and their subject ids;
    ``mated_second`` their second embedder's templates, for a fused watchlist), the share of them found
    at the threshold."""
    if not 0.0 < target_fpir < 1.0:
        raise WatchlistError(f"target FPIR must be between 0 and 1, got {target_fpir}")
    require_embedders(watchlist, cohort)
    check_cohort(cohort)
    check_disjoint(watchlist, cohort)
    scores, distances = _cohort_top(watchlist, cohort)
    if not np.isfinite(scores).all() or not np.isfinite(distances).all():
        raise WatchlistError(
            f"the cohort's scores against watchlist '{watchlist.name}' are not finite (a damaged cohort or "
            "normalisation statistics); nothing was calibrated"
        )
    if float(distances.min()) < SAME_PHOTO_DISTANCE:
        raise WatchlistError(
            "the cohort holds a photo of someone on the watchlist (a cohort face is "
            f"{distances.min():.3f} from a template); a cohort must hold only people who are not listed"
        )
    n = len(scores)
    check_size(n, target_fpir)
    if float(np.ptp(scores)) == 0.0:
        raise WatchlistError(
            f"every cohort face scores {float(scores[0]):.4f} against watchlist '{watchlist.name}': scores "
            "that do not vary cannot set a threshold"
        )
    threshold = threshold_at_fpir(scores, target_fpir)
    if not 0.0 < threshold < 1.0:
        raise WatchlistError(
            f"calibration gave threshold {threshold}, which would make every face (or no face) a match; "
            "refused: check the cohort"
        )
    k = int(np.sum(scores >= threshold))
    low, high = wilson_interval(k, n)
    groups: dict[str, float] = {}
    for group in sorted(set(cohort.groups)):
        of = np.array([g == group for g in cohort.groups])
        groups[group] = float(np.mean(scores[of] >= threshold))
    tpir = None
    if mated is not None and len(mated[1]):
        found = matcher.search(watchlist, mated[0], k=1, second=mated_second)
        hits = [
            bool(r) and r[0].subject_id == sid and r[0].score >= threshold
            for r, sid in zip(found, mated[1], strict=True)
        ]
        tpir = float(np.mean(hits))
    return Calibration(
        target_fpir=target_fpir,
        threshold=threshold,
        cohort_size=n,
        cohort_source=cohort.source,
        false_alerts=k,
        fpir=k / n,
        fpir_low=low,
        fpir_high=high,
        subjects=len(watchlist.manifest.subjects),
        calibrated_at=datetime.now(UTC),
        embedder=watchlist.embedder,
        scoring=watchlist.scoring_signature,
        expected_tpir=tpir,
        group_fpir=groups,
    )


def apply(watchlist: Watchlist, calibration: Calibration) -> Watchlist:
    """A copy of ``watchlist`` using the calibrated threshold, and saying where it came from."""
    c = calibration
    source = (
        f"calibrated {c.calibrated_at:%Y-%m-%d} for FPIR {c.target_fpir:g} at {c.subjects} subjects on "
        f"{c.cohort_size} cohort faces ({c.cohort_source}); measured {c.false_alerts}/{c.cohort_size}"
    )
    manifest = watchlist.manifest.model_copy(
        update={"threshold": c.threshold, "threshold_source": source, "calibration": c}
    )
    return Watchlist(
        manifest=manifest,
        vectors=watchlist.vectors,
        faces=watchlist.faces,
        scoring=watchlist.scoring,
        template_stats=watchlist.template_stats,
        second=watchlist.second,
    )
