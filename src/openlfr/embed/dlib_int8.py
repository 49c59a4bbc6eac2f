"""An int8 variant of the converted dlib ResNet (``precision = "int8"``): ONNX Runtime static quantisation.

Calibration faces are in no evaluation set and ship with openlfr: every face dlib's HOG detector finds in
the bundled public-domain demo photos (``assets/demo``: 2 watchlist portraits and 4 probes, 8 faces),
aligned as the embedder aligns, and their mirror images: 16 chips. Activations are quantised per tensor
to uint8 from their min-max range over those chips, weights per channel to int8 (QDQ format).

Weights use ``reduce_range`` (7 bits): without VNNI (AVX2 only, as on the measured machine) ONNX Runtime
multiplies uint8 activations by int8 weights with ``vpmaddubsw``, whose int16 pair sums saturate at full
range; measured on the demo chips, full range moved templates by up to 0.2 in Euclidean distance (the
decision threshold is about 0.6), 7 bits by about 0.05.

The templates differ from dlib's, so the int8 model has its own identity (``dlib-resnet-v1-int8@``):
watchlists made with dlib's (or fp32 ONNX) templates are refused with it, and need enrolling again.
Its accuracy change is measured in EVALUATION.md.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from openlfr.embed import dlib_convert
from openlfr.embed.landmarks import DlibLandmarker

CALIBRATION = "assets/demo faces (HOG, 5-point chips) and their mirror images; min-max; reduce_range"


def calibration_chips(landmarker: DlibLandmarker) -> NDArray[np.uint8]:
    """The calibration chips: the faces in the bundled demo photos, aligned as dlib's embedder aligns, and
    their mirror images (see the module docstring)."""
    from openlfr.assets import demo_dir
    from openlfr.config import HogDetectorConfig
    from openlfr.detect.base import detectors
    from openlfr.embed.dlib_resnet import align
    from openlfr.ingest.images import load_image

    detector = detectors.create(HogDetectorConfig(upsample=1))
    chips = []
    for path in sorted([*demo_dir().glob("watchlist/*.jpg"), *demo_dir().glob("probes/*.jpg")]):
        image = load_image(path)
        chips += [face.chip for face in align(landmarker, image, detector.detect(image), padding=0.25)]
    chips += [np.ascontiguousarray(chip[:, ::-1]) for chip in chips]
    return np.stack(chips)


def quantise(fp32: bytes, chips: NDArray[np.uint8]) -> bytes:
    """The int8 (QDQ) model of the fp32 model ``fp32``, calibrated on ``chips`` (batch, 150, 150, 3)."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._feeds: Iterator[dict[str, Any]] = iter([{dlib_convert.INPUT_NAME: chip[None]} for chip in chips])

        def get_next(self) -> dict[str, Any] | None:
            return next(self._feeds, None)

    quiet = _DropAdvice()  # onnxruntime logs "consider pre-processing" on the root logger at every call
    logging.getLogger().addFilter(quiet)
    try:
        return _quantise(fp32, Reader())
    finally:
        logging.getLogger().removeFilter(quiet)


class _DropAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-process" not in record.getMessage()


def _quantise(fp32: bytes, reader: Any) -> bytes:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    with tempfile.TemporaryDirectory(prefix="openlfr-int8-") as tmp:
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        source.write_bytes(fp32)
        quantize_static(
            str(source),
            str(target),
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
        return target.read_bytes()
