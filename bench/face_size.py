"""How recognition degrades with face size: LFW View-2 pairs with both images shrunk so that the eyes are
N px apart, then embedded (upscaled back into dlib's 150 px chip as a camera's small faces are).

    .venv/bin/python bench/face_size.py --lfw ../shared/data/lfw [--folds 1,2] [--sizes 14,18,24,30,40]

Prints, per eye distance: accuracy, and the false-match rate (non-mated pairs at or above the
threshold) and miss rate (mated pairs below it) at similarity thresholds 0.5, 0.7 and 0.9. This is the
evidence behind the live probe rule's minimum eye distance (config.QualityRule).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from rich.progress import track

from openlfr.analysis import FaceAnalyzer
from openlfr.eval import lfw
from openlfr.match.similarity import similarity_from_distance
from openlfr.types import BoundingBox, FaceDetection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lfw", type=Path, required=True)
    parser.add_argument("--folds", default="1")
    parser.add_argument("--sizes", default="14,18,22,26,30,40")
    args = parser.parse_args()
    folds = {int(f) for f in args.folds.split(",")}
    sizes = [int(s) for s in args.sizes.split(",")]
    pairs = [p for p in lfw.read_pairs(args.lfw / "pairs.txt") if p.fold in folds]
    keys = sorted({k for p in pairs for k in (p.a, p.b)})
    analyzer = FaceAnalyzer()
    # Detect and find landmarks once at full size; then shrink the image around that face.
    full = {}
    for k in track(keys, description="landmarks at full size"):
        image = analyzer.load(lfw.image_path(args.lfw, k))
        found = analyzer.detector.detect(image)
        h, w = image.shape[:2]
        box = (
            min(found, key=lambda d: (d.box.center[0] - w / 2) ** 2 + (d.box.center[1] - h / 2) ** 2).box
            if found
            else BoundingBox(70, 70, 180, 180)
        )
        face = analyzer.analyze(image, [FaceDetection(box, 1.0, "hog")])[0]
        full[k] = (image, box, face.quality.eye_distance_px)
    same = np.array([p.same for p in pairs])
    print(f"{len(pairs)} pairs (folds {args.folds}), {len(keys)} images")
    print("eye px | accuracy@0.5 | FMR@0.5  FNMR@0.5 | FMR@0.7  FNMR@0.7 | FMR@0.9  FNMR@0.9")
    for size in [*sizes, 0]:
        templates = {}
        for k in keys:
            image, box, eyes = full[k]
            scale = 1.0 if size == 0 else min(1.0, size / eyes)
            small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
            b = box.scaled(scale)
            det = FaceDetection(BoundingBox(b.x1, b.y1, b.x2, b.y2), 1.0, "scaled")
            templates[k] = analyzer.analyze(small, [det])[0].template.vector
        s = similarity_from_distance(lfw.pair_distances(pairs, templates))
        row = [f"{'full' if size == 0 else size:>6}", f"{np.mean((s >= 0.5) == same):.4f}".rjust(12)]
        for t in (0.5, 0.7, 0.9):
            fmr = np.mean(s[~same] >= t)
            fnmr = np.mean(s[same] < t)
            row.append(f"{fmr:.4f}   {fnmr:.4f}")
        print(" | ".join(row), flush=True)


if __name__ == "__main__":
    main()
