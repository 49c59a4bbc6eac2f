#!/usr/bin/env python3
"""Screen the evaluation's non-mated probes for watchlist people under another identity, for review by eye.

For every scoring of EVALUATION.md section 6 and every seed, the ``--top`` non-mated probes with the
highest scores at N = 1,678 (images already judged ``same`` in the reviewed list left out), each paired
with the LFW watchlist person it scored highest against. Pairs already in the list are skipped. Writes
``candidates.csv`` (the new pairs, verdict empty: fill in same / different / unsure and append the rows to
src/openlfr/eval/identity_overlap.csv with the next round number) and contact sheets ``sheet_NN.png``
(the probe, then two of the LFW person's images, numbered as the CSV rows). Repeat until no new pair
comes up. See src/openlfr/eval/overlap.py for what the list is used for.

    .venv/bin/python scripts/review_overlap.py --cache /tmp/evalcache.sqlite -o out/overlap
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
from rich.progress import Progress

from openlfr.config import ScoringConfig, load_settings
from openlfr.eval import overlap
from openlfr.eval.prepared import prepare, with_cohort
from openlfr.eval.report import Table

SCORINGS = {
    "cosine": ScoringConfig(method="cosine", top_k=None, fair_clusters=0),
    "z": ScoringConfig(method="z", top_k=None, fair_clusters=0),
    "t": ScoringConfig(method="t", top_k=None, fair_clusters=0),
    "zt": ScoringConfig(method="zt", top_k=None, fair_clusters=0),
    "zt400": ScoringConfig(method="zt", top_k=400, fair_clusters=0),
    "fair": ScoringConfig(method="cosine", top_k=None, fair_clusters=25),
}
TILE = 150


class Printed:
    """The evaluation's ``Display`` for this script: lines printed, a progress bar while embedding."""

    def line(self, text: str) -> None:
        print(text)

    def table(self, title: str, table: Table, note: str = "") -> None:
        print(title, note)

    @contextmanager
    def progress(self, label: str, total: int) -> Iterator[Callable[[int], None]]:
        with Progress(transient=True) as bar:
            task = bar.add_task(label, total=total)
            yield lambda n: bar.advance(task, n)


def candidates(shared: Path, cache: Path | None, top: int, seeds: list[int]) -> list[tuple[str, str]]:
    cfg = load_settings()
    scorings = {**SCORINGS, "default": cfg.match.normalisation}
    # the reviewed "same" images are dropped (keep_overlap False)
    base = prepare("lfw,fairface,utkface", shared, cfg, cache, 2, True, display=Printed())
    reviewed = {(r.path, r.lfw_identity) for r in overlap.reviews()}
    found: set[tuple[str, str]] = set()
    for seed in seeds:
        for config in scorings.values():
            prepared = with_cohort(base, config, seed)
            searched = prepared.search(1680, seed)
            assert prepared.scoring is not None
            gallery = searched.split.gallery
            scored = prepared.scoring.gallery(np.stack([base.templates[g.path] for g in gallery]).astype(np.float32))
            for i in np.argsort(-searched.searches.nonmated_top)[:top]:
                probe = searched.split.nonmated[int(i)]
                vector = base.templates.get(probe.path)
                if vector is None:
                    continue
                best = gallery[int(np.argmax(prepared.scoring.scores(vector[None].astype(np.float32), scored)[0]))]
                pair = (probe.path.relative_to(shared).as_posix(), best.identity)
                if pair not in reviewed:
                    found.add(pair)
    return sorted(found)


def sheets(pairs: list[tuple[str, str]], shared: Path, out: Path, per_sheet: int = 12) -> None:
    def tile(path: Path | None) -> np.ndarray:
        image = cv2.imread(str(path)) if path is not None else None
        return np.zeros((TILE, TILE, 3), np.uint8) if image is None else cv2.resize(image, (TILE, TILE))

    tiles = []
    for n, (probe, person) in enumerate(pairs):
        lfw = sorted((shared / "lfw" / "lfw" / person).glob("*.jpg"))[:2]
        row = np.hstack([tile(shared / probe), *(tile(p) for p in lfw), *(tile(None) for _ in range(2 - len(lfw)))])
        row = cv2.copyMakeBorder(row, 22, 4, 4, 4, cv2.BORDER_CONSTANT, value=(255, 255, 255))
        cv2.putText(row, f"{n}: {person}", (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1)
        tiles.append(row)
    for start in range(0, len(tiles), per_sheet):
        chunk = tiles[start : start + per_sheet]
        if len(chunk) % 2:
            chunk.append(np.full_like(chunk[0], 255))
        rows = [np.hstack(chunk[i : i + 2]) for i in range(0, len(chunk), 2)]
        cv2.imwrite(str(out / f"sheet_{start // per_sheet:02d}.png"), np.vstack(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared-data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--cache", type=Path, default=None, help="Embedding cache (as lfr eval --cache).")
    parser.add_argument("--top", type=int, default=25, help="Highest non-mated probes per scoring and seed.")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("-o", "--out", type=Path, default=Path("eval-out/overlap"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    pairs = candidates(args.shared_data, args.cache, args.top, [int(s) for s in args.seeds.split(",")])
    with (args.out / "candidates.csv").open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["path", "lfw_identity", "verdict", "round"])
        writer.writerows([probe, person, "", ""] for probe, person in pairs)
    sheets(pairs, args.shared_data, args.out)
    print(f"{len(pairs)} pair(s) not yet reviewed: {args.out / 'candidates.csv'} and its contact sheets")


if __name__ == "__main__":
    main()
