"""``lfr eval verify``: the LFW View-2 protocol (1:1 verification, 10-fold) from a pairs file, measured and
written up as a report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openlfr.analysis import FaceAnalyzer
from openlfr.config import ScoringConfig, Settings
from openlfr.errors import OpenLFRError
from openlfr.eval import lfw, verify
from openlfr.eval.cache import CENTRE_BOX, Embedded, embed_paths, file_sha256
from openlfr.eval.prepared import prepare
from openlfr.eval.report import SILENT, Display, Report, Section, Table, data_checksum, new_figure, png
from openlfr.eval.verify import Bools, Floats
from openlfr.match.scoring import Scoring, build_scoring
from openlfr.match.similarity import similarity_from_distance

FARS = (1e-2, 1e-3)


@dataclass(frozen=True, slots=True)
class Verified:
    """The measurement, what the images gave (centre-box fallbacks, unreadable ones and the pairs those
    broke, scored as non-matches), and the report."""

    result: verify.VerifyResult
    images: int
    fallbacks: int
    unreadable: int
    broken_pairs: int
    report: Report


def verify_report(
    cfg: Settings,
    shared_data: Path,
    pairs: Path | None,
    cache: Path | None,
    workers: int,
    normalisation: ScoringConfig | None,
    seed: int,
    keep_overlap: bool,
    command: str,
    display: Display = SILENT,
) -> Verified:
    """Score every pair of an LFW-format pairs file (default <shared-data>/lfw/pairs.txt; images from
    <shared-data>/lfw/lfw/), with ``normalisation`` against the evaluation cohort if given, and measure."""
    root = shared_data / "lfw"
    pairs_path = pairs or root / "pairs.txt"
    if not pairs_path.is_file():
        raise OpenLFRError(f"pairs file not found: {pairs_path} (give --pairs or --shared-data)")
    try:
        pair_list = lfw.read_pairs(pairs_path)
    except (ValueError, IndexError) as exc:
        raise OpenLFRError(f"{pairs_path} is not an LFW pairs file: {exc}") from exc
    keys = sorted({k for p in pair_list for k in (p.a, p.b)})
    paths = {k: lfw.image_path(root, k) for k in keys}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise OpenLFRError(f"{len(missing)} image(s) of the pairs are missing, first {missing[0]}")

    embedded = embed_paths(list(paths.values()), cfg, cache, workers, display)
    items = {k: embedded[paths[k]] for k in keys}
    scoring = None
    if normalisation is not None:
        pair_images = set(paths.values())
        scoring = cohort_scoring(
            cfg, shared_data, cache, workers, normalisation, seed, pair_images, keep_overlap, display
        )
    scores, broken_pairs = pair_scores(pair_list, items, scoring)
    same = np.array([p.same for p in pair_list])
    folds = np.array([p.fold for p in pair_list])
    result = verify.evaluate(scores, same, folds, cfg.match.default_threshold, FARS)
    fallbacks = sum(1 for e in items.values() if e.fallback)
    unreadable = sum(1 for e in items.values() if e.vector is None)
    report = Report(
        title="LFW View-2 verification",
        command=command,
        configuration=cfg.model_dump(mode="json"),
        embedder=FaceAnalyzer(cfg).embedder.identity,
        data={
            "pairs file": f"{pairs_path}, sha256 {file_sha256(pairs_path)[:16]}",
            "LFW images": data_checksum(list(paths.values())),
        },
        seed=seed,
        results={
            **result.to_json(),
            "images": len(keys),
            "centre_box_fallbacks": fallbacks,
            "unreadable_images": unreadable,
            "pairs_with_unreadable_image": broken_pairs,
        },
        sections=_sections(result, scores, same, cfg, len(keys), fallbacks, unreadable, broken_pairs),
    )
    return Verified(result, len(keys), fallbacks, unreadable, broken_pairs, report)


def cohort_scoring(
    cfg: Settings,
    shared: Path,
    cache: Path | None,
    workers: int,
    config: ScoringConfig,
    seed: int,
    pair_images: set[Path],
    keep_overlap: bool = False,
    display: Display = SILENT,
) -> Scoring:
    """The evaluation cohort (``protocol.cohort_split`` of LFW, FairFace and UTKFace, seed ``seed``) less
    every image of the pairs, so that no pair image normalises itself (and, unless ``keep_overlap``, the
    images of LFW people under another identity: ``eval.overlap``)."""
    prepared = prepare("lfw,fairface,utkface", shared, cfg, cache, workers, True, config, seed, keep_overlap, display)
    vectors = [v for s in prepared.cohort if s.path not in pair_images and (v := prepared.usable(s)) is not None]
    display.line(f"cohort for the pairs: {len(vectors)} faces (cohort images that are in a pair left out)")
    return build_scoring(config, np.stack(vectors).astype(np.float32))


def pair_scores(
    pairs: list[lfw.Pair], items: dict[str, Embedded], scoring: Scoring | None = None
) -> tuple[Floats, int]:
    """Each pair's similarity; 0.0 (a non-match at every threshold) where an image is unreadable."""
    ok = [items[p.a].vector is not None and items[p.b].vector is not None for p in pairs]
    templates = {k: e.vector for k, e in items.items() if e.vector is not None}
    scores = np.zeros(len(pairs))
    usable = [p for p, good in zip(pairs, ok, strict=True) if good]
    if usable and scoring is not None:
        a = np.stack([templates[p.a] for p in usable]).astype(np.float32)
        b = np.stack([templates[p.b] for p in usable]).astype(np.float32)
        scores[np.array(ok)] = scoring.similarity(scoring.pair_scores(a, b))
    elif usable:
        scores[np.array(ok)] = similarity_from_distance(lfw.pair_distances(usable, templates))
    return scores, len(pairs) - len(usable)


def _sections(
    result: verify.VerifyResult,
    scores: Floats,
    same: Bools,
    cfg: Settings,
    images: int,
    fallbacks: int,
    unreadable: int,
    broken: int,
) -> list[Section]:
    summary = Table(
        ["measure", "value", "threshold"],
        [
            [
                f"{len(result.fold_thresholds)}-fold accuracy (mean ± std)",
                f"{result.mean_accuracy:.4f} ± {result.std_accuracy:.4f}",
                "learnt on the other folds",
            ],
            ["accuracy at the configured threshold", result.accuracy_at_threshold, result.threshold],
            *[[f"TAR at FAR {far:g}", tar, t] for far, (tar, t) in sorted(result.tar_at_far.items(), reverse=True)],
            ["images", images, ""],
            ["images on the centre-box fallback", fallbacks, ""],
            ["unreadable images (their pairs scored 0)", f"{unreadable} ({broken} pairs)", ""],
        ],
    )
    per_fold = Table(
        ["fold", "threshold (from the other folds)", "accuracy"],
        [[f, result.fold_thresholds[f], result.fold_accuracies[f]] for f in sorted(result.fold_thresholds)],
    )
    low, high = CENTRE_BOX
    alignment = (
        "alignment by dlib's 5-point shape predictor to a 150 px chip, dlib ResNet embedder"
        + (" (run by ONNX Runtime)" if cfg.embedder.type == "dlib_onnx" else "")
        if cfg.embedder.type in ("dlib", "dlib_onnx")
        else f"alignment as the {cfg.embedder.type} embedder defines it"
    )
    face_finding = (
        f"Detector from the settings ({cfg.detector.model_dump_json()}; default HOG upsample 1); the detection "
        f"nearest the image centre is taken, with a fallback to the central box ({low:.0%}-{high:.0%} of the image) "
        f"when none is found; {alignment}. Score: similarity_from_distance of the Euclidean distance between "
        "the two templates."
    )
    return [
        Section("Summary", "Pairs scoring at or above a threshold are accepted as the same person.", [summary]),
        Section("Per fold", "Each fold's threshold maximises accuracy on the other folds only.", [per_fold]),
        Section("ROC and DET", "", figures=[_roc_figure(scores, same), _det_figure(scores, same)]),
        Section("Face finding", face_finding),
    ]


def _roc_figure(scores: Floats, same: Bools) -> bytes:
    far, tar, _ = verify.roc(scores, same)
    fig, ax = new_figure()
    floor = 1.0 / max(1, int((~same).sum()))
    ax.step(np.maximum(far, floor), tar, where="post")
    ax.set_xscale("log")
    ax.set_xlim(floor, 1.0)
    ax.set_xlabel("FAR (false accept rate)")
    ax.set_ylabel("TAR (true accept rate)")
    ax.set_title("ROC")
    ax.grid(True, which="both", alpha=0.3)
    return png(fig)


def _det_figure(scores: Floats, same: Bools) -> bytes:
    fmr, fnmr, _ = verify.det(scores, same)
    fig, ax = new_figure()
    # A log axis cannot show zero: a rate below one pair in its class is drawn at that resolution floor.
    fmr_floor, fnmr_floor = 1.0 / max(1, int((~same).sum())), 1.0 / max(1, int(same.sum()))
    ax.plot(np.maximum(fmr, fmr_floor), np.maximum(fnmr, fnmr_floor), drawstyle="steps-post")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(fmr_floor, 1.0)
    ax.set_ylim(fnmr_floor, 1.0)
    ax.set_xlabel("FMR (false match rate)")
    ax.set_ylabel("FNMR (false non-match rate)")
    ax.set_title("DET (log-log; a zero rate is drawn at 1 / pairs of its class)")
    ax.grid(True, which="both", alpha=0.3)
    return png(fig)
