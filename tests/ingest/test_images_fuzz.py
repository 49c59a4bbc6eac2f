"""Still images (issue 16, item 7): whatever the bytes, a truncated or corrupt file, or a header claiming
any dimensions, ``load_image`` gives an upright H x W x 3 uint8 array or an ``ImageError``; never another
exception, never a hang."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import TARGETS, run_one
from fuzzing_inputs import examples, fuzzed
from openlfr.errors import ImageError
from openlfr.ingest.images import load_image

IMAGE = TARGETS["image"]
SIDES = st.integers(0, 1 << 31) | st.integers(0, 70_000) | st.integers(0, 64)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _checked(result: object) -> None:
    if isinstance(result, np.ndarray):
        assert result.ndim == 3 and result.shape[2] == 3 and result.dtype == np.uint8 and result.size
    else:
        assert isinstance(result, ImageError) and result.reason


@examples(200)
@given(fuzzed("image"))
def test_any_bytes(data: bytes) -> None:
    _checked(run_one(IMAGE, data))


@examples(100)
@given(
    SIDES, SIDES, st.sampled_from([(8, 0), (8, 2), (16, 2), (8, 6), (1, 0), (8, 3), (16, 4)]), st.binary(max_size=64)
)
def test_png_headers_of_any_size(width: int, height: int, depth_colour: tuple[int, int], pixels: bytes) -> None:
    depth, colour = depth_colour
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    chunks = _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(pixels)) + _chunk(b"IEND", b"")
    data = b"\x89PNG\r\n\x1a\n" + chunks
    _checked(run_one(IMAGE, data))


@examples(100)
@given(st.integers(0, 65535), st.integers(0, 65535), st.binary(max_size=64))
def test_gif_and_bmp_headers_of_any_size(width: int, height: int, rest: bytes) -> None:
    gif = b"GIF89a" + struct.pack("<HHBBB", width, height, 0xF0, 0, 0) + bytes(6)
    gif += b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02" + rest + b";"
    _checked(run_one(IMAGE, gif))
    bmp_info = struct.pack("<IiiHHIIiiII", 40, width, -height, 1, 24, 0, len(rest), 2835, 2835, 0, 0)
    bmp = b"BM" + struct.pack("<IHHI", 54 + len(rest), 0, 0, 54) + bmp_info + rest
    _checked(run_one(IMAGE, bmp))


@examples(60)
@given(st.integers(1, 65535), st.integers(1, 65535), st.binary(max_size=64))
def test_jpeg_frame_headers_of_any_size(width: int, height: int, rest: bytes) -> None:
    seed = IMAGE.seeds()[0]
    sof = seed.find(b"\xff\xc0")
    assert sof > 0
    data = seed[: sof + 5] + struct.pack(">HH", height, width) + seed[sof + 9 :]
    _checked(run_one(IMAGE, data[: len(data) // 2] + rest))


def test_a_path_holding_a_nul_is_an_image_error() -> None:
    # an evaluation manifest's path cell reaches load_image as given: ValueError "embedded null byte" before
    with pytest.raises(ImageError, match="not a usable path") as refused:
        load_image(Path("face\x00.jpg"))
    assert refused.value.reason == "unreadable"


# A 910-byte TIFF that atheris made (campaign run, 2026-12-02): its second page has no dimensions, and
# Pillow's page count raised TypeError("Missing dimensions") through the multi-page check.
TIFF_WITHOUT_DIMENSIONS = base64.b64decode(
    "SUkqAAgAAAAKAAABBAABAAAAEAAAAAEBBAABAAAADAAAAAIBAwAEAAAAhgAAAAMBAwABAAAAAQAAAAYBAwABAAAABQAAABEBBAAB"
    "AAAAjgAAABUBAwABAAAABAAAABYBBAABAAAADAAAABcBBAABAAAAAAMAABwBAwABAAAAAQAAAAAAAAQIAAgACAAIAL7/IAB3vooA"
    "32+SAJIbLgBvwbsAkpcQALA8HQDI6+gAoYyVAHkzQwDlp1IADpH9AJ7J5QBhLV8AFopWANJ1+wB2FYMAtK0YABkhlABCfO4AiQNe"
    "ACaAogBJHpsAe6n1ANt3ugDeL4sAlTMIAFt49QCpRLIA0avbAO8yVACY7E4A9LT1AHs/6ABS2WYAd83JAPcC8wBP/lEAOL4nAPqX"
    "CwCnsCIAkRsHANkEUwCWMa0ACUkzAFdUWAAy0REAFyDXADK82wAcxiMA6JvkAHvfPwBGT9YAuQoTAKf/GQA8WgwAGWKyAA03IABf"
    "tAYAf8odABJDXgBx38AA0Zh0AOm3mADOYa8AQutaAH3dYACcviAAjpWCAJ5zeABvwnMAngg8AMIBPwAMP1sAH5c7ACTGCABxcRkA"
    "U0dpANVm1gCgDGwApBShAEfgCwBq7UEAgQ3ZABVFJwBGB8AAAXctAE93VACuBccAnR+KALUzSAD2fn8A0KHgANpPxABzusMAOogH"
    "ACcrkwDbBXYA4iKUAIVF5QAJa9EAGeBAAATPnAD4vgoA1XijAEhhEgD8YZQArCxTACRY+wChongAX4l2AC8q8gDbPN0ABU38AClO"
    "QQBklh8AT/5QAF+XJgDDYNwAudlaAJ04/gDnUFUAT/9hAIxw8QDvuOgADm/kADIsLwA3650As/D2APfL8wAE718APthVAA2ZxAAD"
    "oDwAqt+aADymRABUzeYA7noQAHvaTQBXSIwADkE9AGKgNQD5IGQAijNLAN8KyQDV5VcAVioLALktXgBDE6cAVxE/AEciCABSr4QA"
    "roYqAFJpkwBVlC0ARbGJAPYu3ADzq2sAiNK2AHfNowBIg8MA3qKeAM5/FwCLxG0APS6LABsCUwAtxDMAvWPVAHihNwAPkzUAgENF"
    "AHiB9ADszzsABfo2ACT5+wBLDIAAG4g8AGxqTgDqZNcAQ8RtAK3Q1wBmNUgAeUhJAFY/tgBxQ8YAYOe2AKaIbwA04C4AM6hZANHS"
    "bAAShfQAn+2cAA=="
)


def test_a_tiff_page_without_dimensions_is_an_image_error(tmp_path: Path) -> None:
    path = tmp_path / "pages.tif"
    path.write_bytes(TIFF_WITHOUT_DIMENSIONS)
    with pytest.raises(ImageError) as refused:
        load_image(path)
    assert refused.value.reason == "truncated"
