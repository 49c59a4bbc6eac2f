"""BlazeFace full-range on real portraits, and tiling on a frame of small pasted faces."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from openlfr.config import BlazeFaceDetectorConfig
from openlfr.detect.base import FaceDetector, detectors
from openlfr.detect.blazeface import BlazeFaceDetector, letterbox, ssd_anchors
from openlfr.detect.tiling import Window, cut_by_inner_edge, suppress, tile_windows
from openlfr.errors import ModelCorruptError, ModelNotFoundError


@pytest.fixture(scope="module")
def tiled() -> FaceDetector:
    return detectors.create(BlazeFaceDetectorConfig(tile_grid=3))


@pytest.fixture(scope="module")
def whole() -> FaceDetector:
    return detectors.create(BlazeFaceDetectorConfig(tile_grid=1))


def test_registry_builds_blazeface(tiled):
    assert isinstance(tiled, BlazeFaceDetector)
    assert isinstance(tiled, FaceDetector)


# -- pre- and post-processing ----------------------------------------------------------------------


def test_anchors_are_the_48_by_48_grid():
    anchors = ssd_anchors()
    assert anchors.shape == (2304, 2)
    np.testing.assert_allclose(anchors[0], [0.5 / 48, 0.5 / 48])
    np.testing.assert_allclose(anchors[1], [1.5 / 48, 0.5 / 48])  # row by row: x moves first
    np.testing.assert_allclose(anchors[48], [0.5 / 48, 1.5 / 48])


def test_letterbox_keeps_aspect_and_centres():
    image = np.full((720, 1280, 3), 255, np.uint8)
    tensor, scale, pad_x, pad_y = letterbox(image)
    assert tensor.shape == (1, 192, 192, 3)
    assert scale == pytest.approx(0.15)
    assert (pad_x, pad_y) == (0.0, 42.0)  # 1280x720 -> 192x108, centred
    assert tensor.min() == -1.0  # the black bars
    assert tensor.max() == 1.0  # the white image
    assert tensor[0, 41].max() == -1.0
    assert tensor[0, 42].min() == 1.0


def test_tiles_cover_the_frame_with_overlap():
    tiles = tile_windows(1280, 720, 3, 0.25)
    assert len(tiles) == 9
    assert tiles[0] == Window(0, 0, 512, 288)
    assert tiles[-1] == Window(768, 432, 512, 288)
    assert tiles[1].x == 384  # neighbours share a quarter of a tile
    covered = np.zeros((720, 1280), bool)
    for t in tiles:
        covered[t.y : t.y + t.height, t.x : t.x + t.width] = True
    assert covered.all()
    assert tile_windows(640, 480, 1, 0.25) == [Window(0, 0, 640, 480)]


def test_suppress_blends_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    points = np.zeros((3, 6, 2), np.float32)
    scores = np.array([0.9, 0.9, 0.6], np.float32)
    kept_boxes, _, kept_scores = suppress(boxes, points, scores, iou=0.3, weighted=True)
    np.testing.assert_allclose(kept_boxes, [[0.5, 0, 10.5, 10], [50, 50, 60, 60]])
    np.testing.assert_allclose(kept_scores, [0.9, 0.6])
    plain_boxes, _, _ = suppress(boxes, points, scores, iou=0.3, weighted=False)
    np.testing.assert_allclose(plain_boxes, [[0, 0, 10, 10], [50, 50, 60, 60]])


# -- real faces ------------------------------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.parametrize("grid", [1, 3])
@pytest.mark.parametrize("portrait", ["obama", "biden", "two_people"])
def test_finds_each_face_once(portrait, grid, request, tiled, whole):
    photo = request.getfixturevalue(portrait)
    detector = tiled if grid == 3 else whole
    found = detector.detect(photo.image)
    photo.assert_found(found, min_iou=0.5)
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)
    for det in found:
        assert det.score >= 0.5
        assert det.landmarks is not None
        assert det.landmarks.shape == (6, 2)
        assert det.landmarks.dtype == np.float32
        (rx, ry), (lx, ly), (nx, ny), (_, my) = det.landmarks[:4]
        # The subject's right eye is on the image's left; nose below the eyes, mouth below the nose.
        assert det.box.x1 < rx < nx < lx < det.box.x2
        assert det.box.y1 < max(ry, ly) < ny < my < det.box.y2


def test_black_image_has_no_faces(tiled):
    assert tiled.detect(np.zeros((720, 1280, 3), np.uint8)) == []


@pytest.mark.parametrize("bad", [np.zeros((100, 100), np.uint8), np.zeros((100, 100, 3), np.float64)])
def test_wrong_array_is_refused(tiled, bad):
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        tiled.detect(bad)


def test_missing_model_file_is_named(tmp_path):
    det = detectors.create(BlazeFaceDetectorConfig(model_path=tmp_path / "nope.tflite"))
    with pytest.raises(ModelNotFoundError, match=r"nope\.tflite"):
        det.detect(np.zeros((64, 64, 3), np.uint8))


def test_corrupt_model_file_is_reported(tmp_path):
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(b"not a flatbuffer" * 64)
    det = detectors.create(BlazeFaceDetectorConfig(model_path=bad))
    with pytest.raises(ModelCorruptError, match=r"broken\.tflite"):
        det.detect(np.zeros((64, 64, 3), np.uint8))


@pytest.mark.shared_data
def test_concurrent_calls_agree(two_people):
    detector = detectors.create(BlazeFaceDetectorConfig(tile_grid=2))
    expected = [d.box for d in detector.detect(two_people.image)]
    results: list[list[object]] = []

    def work() -> None:
        for _ in range(3):
            results.append([d.box for d in detector.detect(two_people.image)])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 12
    assert all(r == expected for r in results)


# -- small faces -----------------------------------------------------------------------------------

# Face centres in a 1280x720 frame; with tile_grid 3 the tiles are 512x288 at x 0/384/768 and
# y 0/216/432, so several sit on a tile border or corner.
PASTES = [
    (150, 120), (384, 216), (512, 300), (770, 150), (1100, 110),
    (200, 500), (640, 432), (900, 510), (1150, 620), (450, 640),
]  # fmt: skip


def small_face_frame(portraits) -> tuple[np.ndarray, list[tuple[float, float, float]]]:
    """A grey, softly mottled 1280x720 frame with the portraits' faces pasted 32-40 px across.

    Returns the frame and each face's (centre x, centre y, width)."""
    rng = np.random.default_rng(7)
    noise = cv2.GaussianBlur(rng.normal(0.0, 120.0, (720, 1280, 3)).astype(np.float32), (0, 0), 8)
    frame = np.clip(128.0 + noise, 0, 255).astype(np.uint8)
    sources = [(p.image, box) for p in portraits for box in p.faces]
    truth = []
    for i, (x, y) in enumerate(PASTES):
        image, box = sources[i % len(sources)]
        size = 32 + (3 * i) % 9
        # Crop generously (twice the face box) so the face keeps its hair, ears and chin.
        cx, cy = box.center
        x1, y1 = max(0, round(cx - box.width)), max(0, round(cy - box.width))
        x2, y2 = min(image.shape[1], round(cx + box.width)), min(image.shape[0], round(cy + box.width))
        scale = size / box.width
        crop = cv2.resize(image[y1:y2, x1:x2], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        top, left = round(y - (cy - y1) * scale), round(x - (cx - x1) * scale)
        frame[top : top + crop.shape[0], left : left + crop.shape[1]] = crop
        truth.append((float(x), float(y), float(size)))
    return frame, truth


def matched(found, truth) -> tuple[set[int], list[object]]:
    """Which pasted faces have a detection centred on them, and the detections centred on none."""
    hits, strays = set(), []
    for det in found:
        cx, cy = det.box.center
        near = [i for i, (x, y, s) in enumerate(truth) if abs(cx - x) < s / 2 and abs(cy - y) < s / 2]
        hits.update(near)
        if not near:
            strays.append(det.box)
    return hits, strays


@pytest.mark.shared_data
def test_tiling_finds_small_faces(obama, biden, two_people, tiled, whole):
    frame, truth = small_face_frame([obama, biden, two_people])

    hits, strays = matched(tiled.detect(frame), truth)
    assert len(hits) >= 5, f"tile_grid=3 found {sorted(hits)} of {len(truth)} pasted faces"
    assert strays == []

    whole_hits, whole_strays = matched(whole.detect(frame), truth)
    assert len(whole_hits) <= 2, f"the whole frame alone found {sorted(whole_hits)}: the test frame is too easy"
    assert len(hits) >= len(whole_hits) + 3
    assert whole_strays == []


def test_faces_cut_by_an_inner_tile_edge_are_marked():
    tile = Window(384, 216, 512, 288)  # the middle tile of a 1280x720 frame: every edge is inner
    boxes = np.array(
        [[400, 300, 440, 340], [370, 300, 410, 340], [850, 480, 897, 505], [500, 200, 540, 240]], np.float32
    )
    assert cut_by_inner_edge(boxes, tile, 1280, 720, margin=2.0).tolist() == [False, True, True, True]
    corner = Window(0, 0, 512, 288)  # its left and top edges are the frame's: nothing is cut there
    edge = np.array([[0, 0, 40, 40], [480, 100, 511, 140]], np.float32)
    assert cut_by_inner_edge(edge, corner, 1280, 720, margin=2.0).tolist() == [False, True]
