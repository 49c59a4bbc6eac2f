"""Every kind of bad or unusual still image: read correctly, or refused with a clear reason."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from openlfr.analysis import FaceAnalyzer
from openlfr.errors import ImageError
from openlfr.ingest.images import decode_image, iter_image_paths, load_image


@pytest.fixture(scope="module")
def portrait(demo: Path) -> Image.Image:
    """A public-domain portrait, downscaled so the tests stay quick (face about 110 px wide)."""
    with Image.open(demo / "watchlist" / "obama.jpg") as im:
        return im.convert("RGB").resize((364, 455))


def _save(image: Image.Image, path: Path, **kwargs: object) -> Path:
    image.save(path, **kwargs)
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _bomb_png(path: Path, side: int = 20000) -> Path:
    """A real, valid 20000 x 20000 grey PNG: 400 million pixels in a few hundred kilobytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + one grey row
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(lambda p, im: _write(p, b""), "empty_file", id="zero-byte"),
        pytest.param(lambda p, im: _write(p, b"this is not a picture\n"), "not_an_image", id="text-as-jpg"),
        pytest.param(
            lambda p, im: _write(p, _jpeg_bytes(im)[: len(_jpeg_bytes(im)) // 2]),
            "truncated",
            id="truncated-jpeg",
        ),
        pytest.param(lambda p, im: _bomb_png(p.with_suffix(".png")), "too_large", id="20000x20000-png"),
        pytest.param(lambda p, im: p.with_name("missing.jpg"), "unreadable", id="missing-file"),
    ],
)
def test_bad_files_are_refused_with_a_reason(tmp_path: Path, portrait: Image.Image, make, reason: str) -> None:
    path = make(tmp_path / "bad.jpg", portrait)
    with pytest.raises(ImageError) as info:
        load_image(path)
    assert info.value.reason == reason
    assert str(path) in str(info.value)


def _jpeg_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def test_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    # The limit applies from the header: a lower limit refuses a small image without decoding it.
    path = _bomb_png(tmp_path / "small.png", side=300)
    with pytest.raises(ImageError, match="over the limit of 1,000"):
        load_image(path, max_pixels=1000)


@pytest.mark.parametrize(
    "variant",
    ["rgba-png", "palette-alpha-png", "grey-jpeg", "grey-16bit-png", "cmyk-jpeg", "exif-rotate-90"],
)
def test_unusual_images_are_read_upright_in_rgb(
    tmp_path: Path, portrait: Image.Image, analyzer: FaceAnalyzer, variant: str
) -> None:
    path = _variant(tmp_path, portrait, variant)
    image = load_image(path)
    assert image.dtype == np.uint8
    assert image.shape == (portrait.height, portrait.width, 3), "must come back upright, as RGB"
    faces = analyzer.analyze(image)
    assert len(faces) == 1, f"{variant}: expected the one face, found {len(faces)}"
    reference = analyzer.analyze(np.asarray(portrait))[0]
    assert faces[0].detection.box.iou(reference.detection.box) > 0.7


def _variant(tmp_path: Path, im: Image.Image, variant: str) -> Path:
    p = tmp_path / variant
    if variant == "rgba-png":
        rgba = im.convert("RGBA")
        alpha = np.full((im.height, im.width), 255, np.uint8)
        alpha[:, :40] = 0  # a transparent strip at the side
        rgba.putalpha(Image.fromarray(alpha))
        return _save(rgba, p.with_suffix(".png"))
    if variant == "palette-alpha-png":
        return _save(im.convert("P", palette=Image.Palette.ADAPTIVE), p.with_suffix(".png"), transparency=0)
    if variant == "grey-jpeg":
        return _save(im.convert("L"), p.with_suffix(".jpg"), quality=90)
    if variant == "grey-16bit-png":
        grey16 = (np.asarray(im.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
        return _save(Image.fromarray(grey16), p.with_suffix(".png"))
    if variant == "cmyk-jpeg":
        return _save(im.convert("CMYK"), p.with_suffix(".jpg"), quality=95)
    if variant == "exif-rotate-90":
        # Pixels stored turned on their side, with EXIF orientation 6 ("rotate 90 clockwise to view").
        stored = im.transpose(Image.Transpose.ROTATE_90)
        exif = Image.Exif()
        exif[0x0112] = 6
        return _save(stored, p.with_suffix(".jpg"), exif=exif.tobytes(), quality=92)
    raise AssertionError(variant)


def test_cmyk_colours_survive(tmp_path: Path, portrait: Image.Image) -> None:
    image = load_image(_variant(tmp_path, portrait, "cmyk-jpeg"))
    assert np.abs(image.astype(int) - np.asarray(portrait, dtype=int)).mean() < 12


def test_alpha_is_composited_on_grey(tmp_path: Path, portrait: Image.Image) -> None:
    image = load_image(_variant(tmp_path, portrait, "rgba-png"))
    assert np.all(image[:, :40] == 128)


def test_decode_refuses_empty_bytes() -> None:
    with pytest.raises(ImageError) as info:
        decode_image(b"", "upload")
    assert info.value.reason == "empty_file"


def test_iter_image_paths_recurses_folders_and_keeps_named_files(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/1.jpg", "a/b/2.PNG", "a/notes.txt", "a/.hidden.jpg", "c.txt"):
        (tmp_path / name).write_bytes(b"x")
    found = list(iter_image_paths([tmp_path / "a", tmp_path / "c.txt"]))
    assert found == [tmp_path / "a/1.jpg", tmp_path / "a/b/2.PNG", tmp_path / "c.txt"]


def test_truncation_is_caught_even_when_pillow_is_told_to_tolerate_it(
    tmp_path: Path, portrait: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # what importing face_recognition does
    data = _jpeg_bytes(portrait)
    with pytest.raises(ImageError) as info:
        load_image(_write(tmp_path / "cut.jpg", data[: len(data) // 2]))
    assert info.value.reason == "truncated"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True, "the process-wide setting is restored"


@pytest.mark.parametrize("fmt", ["TIFF", "GIF"])
def test_a_multi_page_file_is_refused_not_read_as_its_first_page(
    tmp_path: Path, portrait: Image.Image, fmt: str
) -> None:
    """Issue 16, item 5: a multi-page TIFF or animated GIF was read as page 1 without a word."""
    path = tmp_path / f"pages.{fmt.lower()}"
    portrait.save(path, format=fmt, save_all=True, append_images=[portrait.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    with pytest.raises(ImageError, match=f"a {fmt} of 2 pages or frames; only single-image files are read") as info:
        load_image(path)
    assert info.value.reason == "multi_page"
    single = _save(portrait, tmp_path / f"single.{fmt.lower()}", format=fmt)
    assert load_image(single).shape == (portrait.height, portrait.width, 3), "one page is read as before"
