"""Fit the distance-to-similarity map (match/similarity.py) on LFW View-2 folds 2-10.

    .venv/bin/python scripts/fit_similarity.py --lfw ../shared/data/lfw [--cache lfw-templates.npz]

Embeds every image of those folds with openlfr's default core (HOG upsample 1, dlib ResNet; see
eval/lfw.py for the face taken from each image), then fits p(same | d) = 1 / (1 + exp((d - m) / s))
by logistic regression (Newton's method) and prints m and s. Fold 1 is never used: it is the
held-out fold of the accuracy test.

    .venv/bin/python scripts/fit_similarity.py --lfw ../shared/data/lfw --normalisation config \
        --eval-cache /tmp/evalcache.sqlite

fits instead the map of *normalised* scores (match/scoring.py SCORE_MAPS), p(same | s) =
1 / (1 + exp(-(s - m) / s)), with the evaluation cohort of ``lfr eval verify --normalisation`` (the
seeded cohort half of LFW, FairFace and UTKFace, less every image of the pairs), the same folds 2-10.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rich.progress import track

from openlfr.analysis import FaceAnalyzer
from openlfr.eval import lfw
from openlfr.eval.cache import centre_face


def fit_logistic(d: np.ndarray, same: np.ndarray, iterations: int = 50) -> tuple[float, float]:
    """(midpoint, scale) maximising the likelihood of ``same`` under 1 / (1 + exp((d - m) / s))."""
    x = np.stack([np.ones_like(d), d], axis=1)
    w = np.zeros(2)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (same - p)
        hess = (x * (p * (1 - p))[:, None]).T @ x
        w += np.linalg.solve(hess + 1e-9 * np.eye(2), grad)
    a, b = w  # logit = a + b d = -(d - m) / s
    return float(-a / b), float(-1.0 / b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lfw", type=Path, required=True, help="LFW root (holding pairs.txt and lfw/)")
    parser.add_argument("--cache", type=Path, help="npz of templates to reuse (written if absent)")
    parser.add_argument("--normalisation", help="fit the normalised-score map: config, cosine, z, t or zt")
    parser.add_argument("--eval-cache", type=Path, help="embedding cache of the eval commands (with --normalisation)")
    args = parser.parse_args()
    if args.normalisation:
        fit_normalised(args.lfw, args.normalisation, args.eval_cache)
        return
    pairs = [p for p in lfw.read_pairs(args.lfw / "pairs.txt") if p.fold != 1]
    templates: dict[str, np.ndarray] = dict(np.load(args.cache)) if args.cache and args.cache.exists() else {}
    needed = sorted({k for p in pairs for k in (p.a, p.b)} - set(templates))
    analyzer = FaceAnalyzer()
    fallbacks = 0
    for k in track(needed, description="embedding LFW folds 2-10"):
        item = centre_face(analyzer, lfw.image_path(args.lfw, k))
        if item.vector is None:
            raise SystemExit(f"cannot read {k}: {item.error}")
        templates[k] = item.vector
        used_fallback = item.fallback
        fallbacks += used_fallback
    if args.cache and needed:
        np.savez(args.cache, **templates)
    d = lfw.pair_distances(pairs, templates)
    same = np.array([p.same for p in pairs], dtype=float)
    midpoint, scale = fit_logistic(d, same)
    print(f"pairs {len(pairs)}, images embedded now {len(needed)} (centre-box fallback {fallbacks})")
    print(f"MIDPOINT = {midpoint:.4f}\nSCALE = {scale:.4f}")
    acc = np.mean((d < midpoint) == same.astype(bool))
    print(f"accuracy on folds 2-10 at similarity 0.5 (distance {midpoint:.4f}): {acc:.4f}")


def fit_normalised(root: Path, name: str, cache: Path | None) -> None:
    from openlfr.config import Settings
    from openlfr.eval.cache import embed_paths
    from openlfr.eval.prepared import scoring_config
    from openlfr.eval.verify_report import cohort_scoring

    cfg = Settings()
    config = scoring_config(cfg, name, None, None)
    if config is None:
        raise SystemExit("--normalisation none has no normalised-score map")
    pairs = lfw.read_pairs(root / "pairs.txt")
    paths = {k: lfw.image_path(root, k) for p in pairs for k in (p.a, p.b)}
    embedded = embed_paths(sorted(set(paths.values())), cfg, cache, 2)
    scoring = cohort_scoring(cfg, root.parent, cache, 2, config, 0, set(paths.values()))
    train = [
        p
        for p in pairs
        if p.fold != 1 and embedded[paths[p.a]].vector is not None and embedded[paths[p.b]].vector is not None
    ]
    a = np.stack([embedded[paths[p.a]].vector for p in train]).astype(np.float32)
    b = np.stack([embedded[paths[p.b]].vector for p in train]).astype(np.float32)
    score = scoring.pair_scores(a, b)
    same = np.array([p.same for p in train], dtype=float)
    m, s = fit_logistic(-score, same)  # fit_logistic is decreasing in its input: feed it -score
    print(f"{config.describe()}: {len(train)} pairs of folds 2-10; SCORE_MAPS[{config.method!r}] = ({-m:.4f}, {s:.4f})")
    print(f"accuracy on folds 2-10 at similarity 0.5: {np.mean((score > -m) == same.astype(bool)):.4f}")


if __name__ == "__main__":
    main()
