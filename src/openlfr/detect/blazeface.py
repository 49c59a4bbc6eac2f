"""MediaPipe BlazeFace full-range, run by LiteRT, with tiling for small faces.

The model (``face_detection_full_range.tflite``, carried in ``openlfr/assets/models``) takes a
192 x 192 RGB image in [-1, 1] and gives, for each of 2304 anchors (a 48 x 48 grid, stride 4), 16
regressors (box centre offset, width, height, then 6 keypoints) and one raw face score. The pre- and
post-processing here follow MediaPipe's ``face_detection_full_range_common.pbtxt``: letterbox, SSD
anchors, decode with scale 192, sigmoid with the raw score clipped to +-100, blending suppression.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from openlfr import modelfiles
from openlfr.config import BlazeFaceDetectorConfig
from openlfr.detect.base import FaceDetector
from openlfr.detect.tiling import FloatArray, Window, cut_by_inner_edge, suppress, tile_windows
from openlfr.types import BoundingBox, FaceDetection, RGBImage, check_rgb

INPUT_SIZE = 192
GRID = 48  # num_layers 1, stride 4: 192 / 4 anchors per side, 1 anchor per cell
NUM_ANCHORS = GRID * GRID
NUM_KEYPOINTS = 6
RAW_SCORE_CLIP = 100.0
EDGE_MARGIN_PX = 2.0

# How BlazeFace boxes compare with dlib HOG boxes (which the dlib 5-point shape predictor downstream
# was trained on): measured on 626 faces that both found (600 random LFW images and the
# face_recognition examples), the full-range model's box is NOT the tight eyes-to-mouth box of the
# short-range model: it is square, centred where HOG's is (offsets under 3% of the size), and about
# 5% larger (HOG/BlazeFace size ratio: median 0.95, sd 0.09). Shrinking it by BOX_SCALE about its
# centre raises the mean IoU with the HOG box from 0.81 to 0.82, so it is applied; what is left is
# per-face scatter that no fixed scale or shift removes. Keypoints are not moved.
BOX_SCALE = 0.95


def ssd_anchors() -> FloatArray:
    """Anchor centres (2304 x 2), normalised, row by row: MediaPipe's full-range SSD options (anchor
    offset 0.5, fixed anchor size 1.0, so only the centre matters)."""
    centres = (np.arange(GRID, dtype=np.float32) + 0.5) / GRID
    ys, xs = np.meshgrid(centres, centres, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


def letterbox(image: RGBImage) -> tuple[FloatArray, float, float, float]:
    """``image`` resized to fit 192 x 192 keeping its aspect ratio, centred on black, scaled to [-1, 1].

    Returns the 1 x 192 x 192 x 3 tensor, the scale applied and the padding (x, y) in input pixels.
    """
    height, width = image.shape[:2]
    scale = INPUT_SIZE / max(width, height)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = shrink(image, new_w, new_h) if scale < 1.0 else cv2.resize(image, (new_w, new_h))
    pad_x, pad_y = (INPUT_SIZE - new_w) // 2, (INPUT_SIZE - new_h) // 2
    canvas = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = resized
    tensor = canvas.astype(np.float32) * (2.0 / 255.0) - 1.0
    return tensor[np.newaxis], scale, float(pad_x), float(pad_y)


def shrink(image: RGBImage, new_w: int, new_h: int) -> RGBImage:
    """``image`` shrunk to ``new_w`` x ``new_h`` by averaging (no aliasing of small faces).

    OpenCV averages fast only by a whole factor; for any other ratio its INTER_AREA is about five times
    slower (5.5 against 2.6 ms for a full scan's ten 720p windows, bench/scan.py). So the image is first
    averaged by the largest whole factor that divides both sides, then resized bilinearly by the rest
    when that rest is at most 1.5 (where bilinear does not alias); otherwise it is averaged in one go.
    """
    height, width = image.shape[:2]
    whole = min(width // new_w, height // new_h)
    k = next((k for k in range(whole, 1, -1) if width % k == 0 and height % k == 0), 1)
    if k == 1 or width / k > 1.5 * new_w:
        return np.asarray(cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA), np.uint8)
    averaged = cv2.resize(image, (width // k, height // k), interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.resize(averaged, (new_w, new_h), interpolation=cv2.INTER_LINEAR), np.uint8)


def decode(
    raw_boxes: FloatArray, raw_scores: FloatArray, anchors: FloatArray, min_score: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Boxes (N x 4, x1 y1 x2 y2), keypoints (N x 6 x 2), both in input pixels, and scores (N) of the
    anchors scoring at least ``min_score``."""
    raw = raw_boxes.reshape(NUM_ANCHORS, 4 + 2 * NUM_KEYPOINTS)
    logits = np.clip(raw_scores.reshape(NUM_ANCHORS).astype(np.float64), -RAW_SCORE_CLIP, RAW_SCORE_CLIP)
    scores = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
    keep = scores >= min_score
    raw, anchors, scores = raw[keep], anchors[keep] * INPUT_SIZE, scores[keep]
    # x_scale = y_scale = w_scale = h_scale = 192: raw / 192 + anchor, in normalised units; kept in
    # input pixels here (raw + anchor * 192), which is the same thing times 192.
    centre = raw[:, 0:2] + anchors
    half = raw[:, 2:4] / 2.0
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    points = raw[:, 4:].reshape(-1, NUM_KEYPOINTS, 2) + anchors[:, None, :]
    valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return boxes[valid], points[valid], scores[valid]


def _make_interpreter(path: str, threads: int) -> tuple[Any, int, int, int]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path, num_threads=threads)
    interpreter.allocate_tensors()
    inputs = interpreter.get_input_details()
    if len(inputs) != 1 or tuple(inputs[0]["shape"]) != (1, INPUT_SIZE, INPUT_SIZE, 3):
        raise ValueError(f"expected one 1x{INPUT_SIZE}x{INPUT_SIZE}x3 input, got {[i['shape'] for i in inputs]}")
    # Find the two outputs by shape, not by position, which differs between exports of the model.
    by_shape = {tuple(o["shape"]): o["index"] for o in interpreter.get_output_details()}
    regressors = by_shape.get((1, NUM_ANCHORS, 4 + 2 * NUM_KEYPOINTS))
    classifier = by_shape.get((1, NUM_ANCHORS, 1))
    if regressors is None or classifier is None:
        raise ValueError(f"not the BlazeFace full-range model: outputs have shapes {sorted(by_shape)}")
    return interpreter, inputs[0]["index"], regressors, classifier


def _to_dlib_like(box: FloatArray) -> FloatArray:
    cx, cy = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
    hw, hh = (box[2] - box[0]) * BOX_SCALE / 2.0, (box[3] - box[1]) * BOX_SCALE / 2.0
    return np.array([cx - hw, cy - hh, cx + hw, cy + hh], dtype=np.float32)


class BlazeFaceDetector:
    """BlazeFace full-range on the whole frame and on ``tile_grid`` x ``tile_grid`` overlapping tiles.

    ``landmarks`` of each detection are BlazeFace's 6 keypoints in image coordinates: right eye, left
    eye, nose tip, mouth, right ear tragion, left ear tragion (the subject's right and left).
    """

    def __init__(self, config: BlazeFaceDetectorConfig) -> None:
        self.config = config
        self.name = f"blazeface(grid={config.tile_grid},min_score={config.min_score:g})"
        self._anchors = ssd_anchors()
        self._model: tuple[Any, int, int, int] | None = None
        self._lock = threading.Lock()  # a LiteRT interpreter is not thread-safe

    def _load(self) -> tuple[Any, int, int, int]:
        if self._model is None:
            path = modelfiles.resolve("blazeface_full", self.config.model_path)
            threads = self.config.threads
            self._model = modelfiles.load_model(
                path,
                lambda p: _make_interpreter(p, threads),
                "BlazeFace full-range face detector",
                modelfiles.catalogue_entry("blazeface_full").package,
            )
        return self._model

    def windows(self, width: int, height: int) -> list[Window]:
        """The parts of a ``width`` x ``height`` frame the network is run on."""
        whole = Window(0, 0, width, height)
        if self.config.tile_grid == 1:
            return [whole]
        tiles = tile_windows(width, height, self.config.tile_grid, self.config.tile_overlap)
        return ([whole] if self.config.whole_frame else []) + tiles

    def _run(self, crop: RGBImage) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Detections in one window, in window pixels, after blending suppression within it."""
        tensor, scale, pad_x, pad_y = letterbox(crop)
        with self._lock:
            interpreter, inp, reg, cls = self._load()
            interpreter.set_tensor(inp, tensor)
            interpreter.invoke()
            raw_boxes = interpreter.get_tensor(reg).copy()
            raw_scores = interpreter.get_tensor(cls).copy()
        boxes, points, scores = decode(raw_boxes, raw_scores, self._anchors, self.config.min_score)
        boxes, points, scores = suppress(boxes, points, scores, self.config.nms_iou, weighted=True)
        pad = np.array([pad_x, pad_y], dtype=np.float32)
        boxes = (boxes - np.tile(pad, 2)) / scale
        points = (points - pad) / scale
        return boxes, points, scores

    def detect(self, image: RGBImage) -> list[FaceDetection]:
        image = check_rgb(image)
        height, width = image.shape[:2]
        return self.detect_in(image, self.windows(width, height))

    def detect_in(self, image: RGBImage, windows: Sequence[Window]) -> list[FaceDetection]:
        """Faces in ``windows`` of ``image`` only (a full scan is ``windows(width, height)``), merged.

        Each window is one invoke at batch 1: the interpreter does resize to a batch of N windows and
        gives the same outputs, but on XNNPACK with one thread a batch of 9 tiles took 36 ms against
        30 ms for nine single invokes (measured on this machine), so batching is not used.
        """
        image = check_rgb(image)
        height, width = image.shape[:2]
        all_boxes, all_points, all_scores = [], [], []
        for win in windows:
            crop = image[win.y : win.y + win.height, win.x : win.x + win.width]
            boxes, points, scores = self._run(crop)  # a view: OpenCV reads rows at any stride
            offset = np.array([win.x, win.y], dtype=np.float32)
            boxes, points = boxes + np.tile(offset, 2), points + offset
            if (win.width, win.height) != (width, height) and self.config.whole_frame:
                # A face cut by a tile border is seen whole by the neighbouring tile (the overlap is
                # wider than the small faces tiles are for) or by the whole-frame pass.
                keep = ~cut_by_inner_edge(boxes, win, width, height, EDGE_MARGIN_PX)
                boxes, points, scores = boxes[keep], points[keep], scores[keep]
            all_boxes.append(boxes)
            all_points.append(points)
            all_scores.append(scores)
        if not all_boxes:
            return []
        boxes, points, scores = suppress(
            np.concatenate(all_boxes),
            np.concatenate(all_points),
            np.concatenate(all_scores),
            self.config.nms_iou,
            weighted=True,
        )
        found: list[FaceDetection] = []
        for box_arr, pts, score in zip(boxes, points, scores, strict=True):
            x1, y1, x2, y2 = (float(v) for v in _to_dlib_like(box_arr))
            if not (x2 > x1 and y2 > y1):
                continue
            box = BoundingBox(x1, y1, x2, y2).clipped(width, height)
            if box is not None:
                landmarks: NDArray[np.float32] = np.ascontiguousarray(pts, dtype=np.float32)
                found.append(FaceDetection(box, float(score), detector=self.name, landmarks=landmarks))
        return found


def create(config: object) -> FaceDetector:
    if not isinstance(config, BlazeFaceDetectorConfig):
        raise TypeError(f"blazeface detector needs a BlazeFaceDetectorConfig, got {type(config).__name__}")
    return BlazeFaceDetector(config)
