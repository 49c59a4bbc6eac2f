"""Detection that costs what the scene needs: full tiled scans every k frames, partial ones between.

A full BlazeFace scan of a 720p frame is ten invokes (the whole frame and 3 x 3 tiles). Most of a
camera's picture does not change from one analysed frame to the next, and a face already tracked is
where its track says. Between full scans, ``Scanner`` therefore runs the detector only on tile-sized
windows around each live track (grown by ``track_margin`` face widths) and around what changed since
the last full scan (absolute difference of downscaled grey frames: against the last full scan, not
the last frame, so that a face moving slowly, or one that appeared but was not yet found, stays in
view until the next full scan). Windows are tile-sized, so a
face is seen at the scale the full scan sees it; a face larger than a tile, or a change larger than a
tile, brings in the whole-frame pass (and the tiles that change covers).

A face that appears without a change being seen (slowly, or in the noise) is found at the next full
scan: within ``full_every`` analysed frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from openlfr.config import ScanConfig
from openlfr.detect.base import FaceDetector
from openlfr.detect.tiling import Window
from openlfr.types import BoundingBox, FaceDetection, RGBImage

# A partial scan of more windows than this share of a full scan's is not worth its risk: scan fully.
PARTIAL_AT_MOST = 0.5
# A track larger than this share of a tile's height is left to the whole-frame pass, which sees it.
LARGE_FACE_OF_TILE = 0.6
# Changed pixels (of the downscaled frame) a blob needs to count: one is noise.
MIN_CHANGED_PX = 2
# Pixels of the full frame added on each side of a changed blob (the face around a moving edge).
CHANGE_PAD_PX = 24
# A change larger than a tile is cut into parts of this share of a tile (windows overlap by the rest).
GRID_STEP = 0.75
# Regions are grouped into one window while their union is within this factor of a tile: the
# window, cut to a tile about the union's centre, loses at most 5% on a side, inside the margins.
GROUP_SLACK = 1.1


@runtime_checkable
class WindowedDetector(FaceDetector, Protocol):
    """A detector that runs on parts of a frame: its full scan and any other windows."""

    def windows(self, width: int, height: int) -> list[Window]: ...

    def detect_in(self, image: RGBImage, windows: Sequence[Window]) -> list[FaceDetection]: ...


@dataclass(frozen=True, slots=True)
class ScanResult:
    """One frame's detections, whether the scan was full, and how many windows it ran."""

    detections: list[FaceDetection]
    full: bool
    windows: int


class Scanner:
    """One camera's detection: full scans every ``config.full_every`` frames, partial ones between.

    Not thread-safe: one camera's analysis thread owns it (it keeps the last full scan's grey image).
    """

    def __init__(self, detector: FaceDetector, config: ScanConfig) -> None:
        self.detector = detector
        self.config = config
        self._previous: np.ndarray | None = None  # grey, at the last full scan
        self._since_full = 0

    def detect(self, image: RGBImage, tracks: Sequence[BoundingBox] = ()) -> ScanResult:
        """The faces in ``image``; ``tracks`` are the boxes of the camera's live tracks."""
        detector = self.detector
        if not isinstance(detector, WindowedDetector):
            return ScanResult(detector.detect(image), True, 1)
        height, width = image.shape[:2]
        everything = detector.windows(width, height)
        grey = self._grey(image)
        previous = self._previous  # the grey frame of the last full scan
        if (
            self.config.full_every > 1
            and previous is not None
            and previous.shape == grey.shape
            and self._since_full + 1 < self.config.full_every
        ):
            windows = self.plan(width, height, everything, tracks, self._changed(previous, grey, width))
            if windows is not None and len(windows) <= PARTIAL_AT_MOST * len(everything):
                self._since_full += 1
                return ScanResult(detector.detect_in(image, windows), False, len(windows))
        self._since_full, self._previous = 0, grey
        return ScanResult(detector.detect_in(image, everything), True, len(everything))

    # -- what changed -----------------------------------------------------------------------------

    def _grey(self, image: RGBImage) -> np.ndarray:
        height, width = image.shape[:2]
        small_w = min(self.config.diff_width, width)
        small_h = max(1, round(height * small_w / width))
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        return np.asarray(cv2.resize(grey, (small_w, small_h), interpolation=cv2.INTER_AREA))

    def _changed(self, previous: np.ndarray, grey: np.ndarray, width: int) -> list[BoundingBox]:
        """Boxes (full-frame pixels) around the blobs that changed by more than ``diff_threshold``
        since the last full scan."""
        changed = (cv2.absdiff(grey, previous) > self.config.diff_threshold).astype(np.uint8)
        mask = cv2.dilate(changed, np.ones((3, 3), np.uint8))
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        scale = width / grey.shape[1]
        boxes = []
        for x, y, w, h, area in stats[1:count]:
            if area >= MIN_CHANGED_PX:
                boxes.append(
                    BoundingBox(
                        x * scale - CHANGE_PAD_PX,
                        y * scale - CHANGE_PAD_PX,
                        (x + w) * scale + CHANGE_PAD_PX,
                        (y + h) * scale + CHANGE_PAD_PX,
                    )
                )
        return boxes

    # -- where to look ----------------------------------------------------------------------------

    def plan(
        self,
        width: int,
        height: int,
        everything: Sequence[Window],
        tracks: Sequence[BoundingBox],
        changed: Sequence[BoundingBox],
    ) -> list[Window] | None:
        """The windows of a partial scan (None: only a full scan will do)."""
        tiles = [w for w in everything if (w.width, w.height) != (width, height)]
        whole = [w for w in everything if (w.width, w.height) == (width, height)]
        if not tiles:
            return None
        tile_w, tile_h = tiles[0].width, tiles[0].height
        regions: list[BoundingBox] = []
        chosen: list[Window] = []
        need_whole = False
        for box in tracks:
            if box.height > LARGE_FACE_OF_TILE * tile_h or box.width > LARGE_FACE_OF_TILE * tile_w:
                need_whole = True  # the whole-frame pass sees it
                continue
            m = self.config.track_margin * box.width
            regions.append(BoundingBox(box.x1 - m, box.y1 - m, box.x2 + m, box.y2 + m))
        for box in changed:
            if box.width > tile_w or box.height > tile_h:  # a large change: tiles over it, and big faces
                need_whole = True
                regions.extend(_split(box, tile_w, tile_h))
            else:
                regions.append(box)
        for group in _group(regions, tile_w, tile_h):
            chosen.append(_centred(group, tile_w, tile_h, width, height))
        if need_whole:
            chosen.extend(w for w in whole if w not in chosen)
        return chosen


def _split(box: BoundingBox, tile_w: int, tile_h: int) -> list[BoundingBox]:
    """``box`` cut into parts of at most 3/4 of a tile, so the tile-sized windows centred on them
    overlap by at least a quarter of a tile (a small face on a border is whole in one of them)."""
    nx = max(1, int(np.ceil(box.width / (GRID_STEP * tile_w))))
    ny = max(1, int(np.ceil(box.height / (GRID_STEP * tile_h))))
    w, h = box.width / nx, box.height / ny
    return [
        BoundingBox(box.x1 + i * w, box.y1 + j * h, box.x1 + (i + 1) * w, box.y1 + (j + 1) * h)
        for j in range(ny)
        for i in range(nx)
    ]


def _group(regions: Sequence[BoundingBox], tile_w: int, tile_h: int) -> list[BoundingBox]:
    """Regions joined greedily while the union still fits in one tile, give or take ``GROUP_SLACK``
    (a region bigger than a tile is cut to a tile about its centre)."""
    groups: list[BoundingBox] = []
    for r in sorted((_fit(b, tile_w, tile_h) for b in regions), key=lambda b: (b.x1, b.y1)):
        for i, g in enumerate(groups):
            u = BoundingBox(min(g.x1, r.x1), min(g.y1, r.y1), max(g.x2, r.x2), max(g.y2, r.y2))
            if u.width <= GROUP_SLACK * tile_w and u.height <= GROUP_SLACK * tile_h:
                groups[i] = u
                break
        else:
            groups.append(r)
    return groups


def _fit(box: BoundingBox, tile_w: int, tile_h: int) -> BoundingBox:
    cx, cy = (box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2
    hw, hh = min(box.width, tile_w) / 2, min(box.height, tile_h) / 2
    return BoundingBox(cx - hw, cy - hh, cx + hw, cy + hh)


def _centred(box: BoundingBox, tile_w: int, tile_h: int, width: int, height: int) -> Window:
    """A tile-sized window centred on ``box``, inside the frame."""
    cx, cy = (box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2
    x = int(min(max(0, round(cx - tile_w / 2)), width - tile_w))
    y = int(min(max(0, round(cy - tile_h / 2)), height - tile_h))
    return Window(x, y, tile_w, tile_h)
