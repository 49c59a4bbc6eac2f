"""What an edge device and the service send each other: one track's templates, and the answer hit or no hit."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from openlfr.types import TemplateSet

Finite = Annotated[float, Field(allow_inf_nan=False)]

CAMERA_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
LATEST_TIME = 4_102_444_800.0
"""2100-01-01 in unix time: a later capture time is a device's broken clock, refused before it reaches a date."""
MAX_EMBEDDERS = 4
"""The most templates one submission carries (one per embedder: score fusion uses two)."""
MAX_CROP_BYTES = 2_000_000
"""The largest face crop the service accepts (a face with context, as JPEG, is a few tens of kB)."""


EmbedderIdentity = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Vector = Annotated[list[Finite], Field(min_length=1, max_length=4096)]


def wire_templates(templates: TemplateSet) -> dict[str, list[float]]:
    """``templates`` as the wire carries them: float32's precision, half the JSON of ``repr()``."""
    return {embedder: [float(f"{v:.7g}") for v in vector] for embedder, vector in templates.items()}


class TemplateIn(BaseModel):
    """One track's templates (one per embedder, each the quality-weighted mean of its embedded shots)
    and where they came from.

    No image: the crop stays on the device unless the answer is a hit."""

    model_config = ConfigDict(extra="forbid", str_max_length=256)

    camera_id: str = Field(min_length=1, max_length=64, pattern=CAMERA_ID_PATTERN)
    track_id: int = Field(ge=0, le=2**31 - 1)
    captured_at: Finite = Field(gt=0, le=LATEST_TIME, description="Unix time the shot's frame was captured.")
    pts: Finite = Field(0.0, description="The shot's frame time in the stream (s).")
    first_seen_at: Finite | None = Field(None, gt=0, le=LATEST_TIME, description="Unix time the track was first seen.")
    first_seen_pts: Finite = 0.0
    frames: int = Field(1, ge=1, le=10_000_000, description="Frames the track has been seen in.")
    quality: Finite = Field(ge=0, description="The shot's quality score.")
    box: tuple[Finite, Finite, Finite, Finite] | None = Field(None, description="The face in the frame: x1 y1 x2 y2.")
    templates: dict[EmbedderIdentity, Vector] = Field(
        min_length=1, max_length=MAX_EMBEDDERS, description="Embedder identity (name@checksum) -> template."
    )
    latitude: Finite | None = Field(None, ge=-90, le=90, description="The device's position, if it knows it.")
    longitude: Finite | None = Field(None, ge=-180, le=180)

    def template_set(self) -> TemplateSet:
        return TemplateSet({e: np.asarray(v, dtype=np.float32) for e, v in self.templates.items()})


class HitOut(BaseModel):
    """The service's answer: a hit names the id to send the face crop to, within ``hit_ttl_s``."""

    hit: bool
    hit_id: str | None = None


class CropStored(BaseModel):
    alert_id: str
