"""Tiles and non-maximum suppression for detectors with a small fixed input.

A 192 px network sees a 1280 px frame shrunk 6.7 times, so a 32 px face becomes 5 px and is lost.
Running it on overlapping tiles as well shrinks each part less; the detections of all windows are
then mapped to frame coordinates and duplicates merged.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]


class Window(NamedTuple):
    """A part of the frame, in pixels: top-left corner, width, height."""

    x: int
    y: int
    width: int
    height: int


def tile_windows(width: int, height: int, grid: int, overlap: float) -> list[Window]:
    """``grid`` x ``grid`` tiles covering a ``width`` x ``height`` frame, neighbours sharing ``overlap``
    of a tile. ``grid`` 1 gives the whole frame."""
    if grid < 1 or not 0.0 <= overlap < 1.0:
        raise ValueError(f"need grid >= 1 and 0 <= overlap < 1, got grid={grid} overlap={overlap}")
    # grid tiles of size t, each stepping t * (1 - overlap), span t * (grid - (grid - 1) * overlap).
    span = grid - (grid - 1) * overlap
    tile_w, tile_h = round(width / span), round(height / span)
    windows = []
    for row in range(grid):
        for col in range(grid):
            x = min(round(col * tile_w * (1.0 - overlap)), width - tile_w)
            y = min(round(row * tile_h * (1.0 - overlap)), height - tile_h)
            windows.append(Window(max(0, x), max(0, y), min(tile_w, width), min(tile_h, height)))
    return windows


def cut_by_inner_edge(boxes: FloatArray, window: Window, width: int, height: int, margin: float) -> NDArray[np.bool_]:
    """Which ``boxes`` (N x 4, frame pixels) reach within ``margin`` of an edge of ``window`` that is
    not also an edge of the frame: faces the tile cut in two, which a neighbouring tile sees whole."""
    x2, y2 = window.x + window.width, window.y + window.height
    cut = np.zeros(len(boxes), dtype=bool)
    if window.x > 0:
        cut |= boxes[:, 0] <= window.x + margin
    if window.y > 0:
        cut |= boxes[:, 1] <= window.y + margin
    if x2 < width:
        cut |= boxes[:, 2] >= x2 - margin
    if y2 < height:
        cut |= boxes[:, 3] >= y2 - margin
    return cut


def iou_many(box: FloatArray, boxes: FloatArray) -> FloatArray:
    """Intersection over union of one box (x1, y1, x2, y2) with each of N boxes."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0.0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0.0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0).astype(np.float32)


def suppress(
    boxes: FloatArray, points: FloatArray, scores: FloatArray, iou: float, weighted: bool = True
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Non-maximum suppression of N boxes (N x 4) with their keypoints (N x K x 2) and scores (N).

    Greedy from the highest score: every box overlapping it by more than ``iou`` joins its cluster.
    ``weighted`` (MediaPipe's "blending" suppression) replaces the kept box and keypoints by the
    score-weighted mean of the cluster, which steadies them; otherwise the top box is kept as is.
    The kept detection keeps the top score. Returned highest score first.
    """
    order = np.argsort(-scores, kind="stable")
    keep_boxes, keep_points, keep_scores = [], [], []
    while order.size:
        top = order[0]
        overlap = iou_many(boxes[top], boxes[order])
        overlap[0] = 1.0  # the top box is in its own cluster even if degenerate
        cluster = order[overlap > iou]
        if weighted:
            w = scores[cluster].astype(np.float64)
            w /= w.sum()
            keep_boxes.append((boxes[cluster] * w[:, None]).sum(axis=0))
            keep_points.append((points[cluster] * w[:, None, None]).sum(axis=0))
        else:
            keep_boxes.append(boxes[top])
            keep_points.append(points[top])
        keep_scores.append(scores[top])
        order = order[overlap <= iou]
    k = points.shape[1] if points.ndim == 3 else 0
    if not keep_scores:
        return (np.zeros((0, 4), np.float32), np.zeros((0, k, 2), np.float32), np.zeros(0, np.float32))
    return (
        np.asarray(keep_boxes, dtype=np.float32),
        np.asarray(keep_points, dtype=np.float32),
        np.asarray(keep_scores, dtype=np.float32),
    )
