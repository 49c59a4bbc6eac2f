"""Calibrating a watchlist's threshold for a target false-alert rate at its real size.

A 1:1 threshold is wrong for 1:N search: every face is compared with every subject, so the chance
that an innocent face clears the threshold for *someone* (the false positive identification rate,
FPIR, as NIST FRTE measures it) grows with the watchlist. The threshold is therefore measured for
each watchlist, as NIST and NPL do: search a *cohort* of faces of people known not to be on the
watchlist, take each face's best score, and set the threshold so that at most the target share of
them reach it. The measured FPIR comes with a Wilson 95% interval, which is honest about how few
cohort faces a small target rests on (for FPIR 1e-3, thousands of cohort faces are needed).
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from openlfr.analysis import FaceAnalyzer
from openlfr.errors import ImageError, WatchlistError
from openlfr.match import matcher
from openlfr.match.watchlist import Calibration, Watchlist

COHORT_FORMAT = "openlfr-cohort"
# A cohort face this close to a watchlist template is the same photo: the cohort must hold no one listed.
SAME_PHOTO_DISTANCE = 0.05


@dataclass(frozen=True, slots=True, eq=False)
class Cohort:
    """Templates of faces of people who are not on the watchlist, and where they came from."""

    vectors: NDArray[np.float32]
    embedder: str
    source: str
    created_at: datetime

    def save(self, path: Path) -> Path:
        buf = io.BytesIO()
        np.save(buf, self.vectors, allow_pickle=False)
        meta = {
            "format": COHORT_FORMAT,
            "embedder": self.embedder,
            "source": self.source,
            "created_at": self.created_at.isoformat(),
            "count": int(self.vectors.shape[0]),
        }
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("cohort.json", json.dumps(meta, indent=2))
            zf.writestr("vectors.npy", buf.getvalue())
        return path

    @classmethod
    def load(cls, path: Path) -> Cohort:
        try:
            with zipfile.ZipFile(path) as zf:
                meta = json.loads(zf.read("cohort.json"))
                vectors = np.load(io.BytesIO(zf.read("vectors.npy")), allow_pickle=False)
        except FileNotFoundError as exc:
            raise WatchlistError(f"cohort file not found: {path}") from exc
        except (zipfile.BadZipFile, KeyError, ValueError, IsADirectoryError) as exc:
            raise WatchlistError(f"{path} is not an openlfr cohort file (make one with 'lfr cohort build')") from exc
        if meta.get("format") != COHORT_FORMAT:
            raise WatchlistError(f"{path} is not an openlfr cohort file")
        return cls(
            vectors.astype(np.float32),
            str(meta["embedder"]),
            str(meta["source"]),
            datetime.fromisoformat(str(meta["created_at"])),
        )


def build_cohort(
    paths: Sequence[Path], analyzer: FaceAnalyzer, source: str, progress: Callable[[Path], None] | None = None
) -> tuple[Cohort, int]:
    """The largest face of each image as a cohort template; also how many images gave no face."""
    vectors, skipped = [], 0
    for path in paths:
        try:
            faces = analyzer.analyze(analyzer.load(path))
        except ImageError:
            faces = []
        if faces:
            vectors.append(max(faces, key=lambda f: f.detection.box.area).template.vector)
        else:
            skipped += 1
        if progress is not None:
            progress(path)
    if not vectors:
        raise WatchlistError("no face found in any cohort image")
    cohort = Cohort(np.stack(vectors).astype(np.float32), analyzer.embedder.identity, source, datetime.now(UTC))
    return cohort, skipped


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


def calibrate(watchlist: Watchlist, cohort: Cohort, target_fpir: float) -> Calibration:
    """The threshold at which at most ``target_fpir`` of the cohort's faces would raise an alert."""
    if not 0.0 < target_fpir < 1.0:
        raise WatchlistError(f"target FPIR must be between 0 and 1, got {target_fpir}")
    watchlist.require_embedder(cohort.embedder)
    ranked = matcher.search(watchlist, cohort.vectors, k=1)
    if any(not r for r in ranked):
        raise WatchlistError(f"watchlist '{watchlist.name}' has no active subject to calibrate against")
    distances = np.array([r[0].distance for r in ranked])
    if float(distances.min()) < SAME_PHOTO_DISTANCE:
        raise WatchlistError(
            "the cohort holds a photo of someone on the watchlist (a cohort face is "
            f"{distances.min():.3f} from a template); a cohort must hold only people who are not listed"
        )
    scores = np.array([r[0].score for r in ranked])
    n = len(scores)
    threshold = threshold_at_fpir(scores, target_fpir)
    k = int(np.sum(scores >= threshold))
    low, high = wilson_interval(k, n)
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
    return Watchlist(manifest=manifest, vectors=watchlist.vectors, faces=watchlist.faces)
