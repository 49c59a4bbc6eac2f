"""Still images in: decode any file Pillow reads into an upright RGB array, or say clearly why not.

Every way a file can be unusable maps to an ``ImageError`` with a short ``reason`` code, so that a
batch reports each bad file and goes on with the others. Rotation in EXIF is applied; alpha is
composited on mid-grey (a transparent background should not look like a face's surroundings);
grey, CMYK, palette and 16-bit images become 8-bit RGB. Images larger than the configured pixel
count are refused from their header, before any decoding (decompression bombs). A file of several
images (a multi-page TIFF, an animated GIF, WebP or PNG) is refused (``multi_page``) rather than read
as its first page without a word: which page holds the face is the sender's to say, by saving it alone.
Decoding within a time budget is ``ingest/budget.py``.
"""

from __future__ import annotations

import io
import stat
import struct
import threading
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from openlfr.errors import ImageError
from openlfr.types import RGBImage

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_MAX_BYTES = 100_000_000


def load_image(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS, max_bytes: int = DEFAULT_MAX_BYTES) -> RGBImage:
    """Read ``path`` as an upright H x W x 3 uint8 RGB array; ImageError with a reason if it can't be."""
    return decode_image(read_image_file(path, max_bytes), str(path), max_pixels)


def read_image_file(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of ``path``: a regular, non-empty file of at most ``max_bytes`` (ImageError otherwise)."""
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise ImageError(f"{path}: file not found", "unreadable") from exc
    except OSError as exc:
        raise ImageError(f"{path}: cannot read file ({exc.strerror})", "unreadable") from exc
    except ValueError as exc:  # a NUL in the path (from a manifest): no file system takes one
        raise ImageError(f"{str(path)!r}: not a usable path ({exc})", "unreadable") from exc
    if not stat.S_ISREG(info.st_mode):  # /dev/zero never ends, a FIFO blocks: refused before any read
        raise ImageError(f"{path}: not a regular file (a device, pipe or socket)", "unreadable")
    size = info.st_size
    if size == 0:
        raise ImageError(f"{path}: empty file (0 bytes)", "empty_file")
    if size > max_bytes:
        raise ImageError(f"{path}: file is {size:,} bytes, over the limit of {max_bytes:,}", "too_large")
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)  # a file that grew after stat is still bounded
    except OSError as exc:
        raise ImageError(f"{path}: cannot read file ({exc.strerror})", "unreadable") from exc
    return data


def decode_image(data: bytes, name: str = "image", max_pixels: int = DEFAULT_MAX_PIXELS) -> RGBImage:
    """Decode encoded image bytes; see ``load_image``."""
    if not data:
        raise ImageError(f"{name}: empty file (0 bytes)", "empty_file")
    with warnings.catch_warnings():
        # Pillow warns, then raises, on large images by its own global limit; we apply ours instead.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
                if width * height > max_pixels:
                    raise ImageError(
                        f"{name}: {width}x{height} is {width * height:,} pixels, over the limit of "
                        f"{max_pixels:,} (possible decompression bomb)",
                        "too_large",
                    )
                pages = getattr(im, "n_frames", 1)
                if pages > 1:
                    raise ImageError(
                        f"{name}: a {im.format} of {pages} pages or frames; only single-image files are read "
                        "(save the page that shows the face as its own file)",
                        "multi_page",
                    )
                _load_strictly(im)
                upright = ImageOps.exif_transpose(im)
                return _to_rgb(upright, name)
        except ImageError:
            raise
        except UnidentifiedImageError as exc:
            raise ImageError(f"{name}: not an image (no known image format)", "not_an_image") from exc
        except Image.DecompressionBombError as exc:
            raise ImageError(f"{name}: too many pixels (possible decompression bomb)", "too_large") from exc
        except (OSError, SyntaxError, ValueError, TypeError, EOFError, IndexError, struct.error) as exc:
            # Pillow reports truncated or damaged data as OSError ("image file is truncated", "broken data
            # stream"), and some plugins as SyntaxError, ValueError, TypeError (a TIFF page "missing
            # dimensions", found by the fuzzer), EOFError, IndexError or struct.error.
            raise ImageError(f"{name}: truncated or corrupt image data ({exc})", "truncated") from exc


_STRICT = threading.Lock()


def _load_strictly(im: Image.Image) -> None:
    """Decode all pixel data, failing on truncation even if another library (face_recognition does, at
    import) has set Pillow's process-wide ``LOAD_TRUNCATED_IMAGES``, which fills missing data with grey."""
    with _STRICT:
        before = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            im.load()
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = before


def _to_rgb(im: Image.Image, name: str) -> RGBImage:
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float64)
        top = float(arr.max()) or 1.0
        grey = np.clip(arr / top * 255.0, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.stack([grey] * 3, axis=-1))
    if mode == "F":
        raise ImageError(f"{name}: floating-point images are not supported", "unsupported_mode")
    has_alpha = mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
        im = Image.alpha_composite(background, rgba)
    rgb = im.convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def iter_image_paths(inputs: Iterable[Path]) -> Iterator[Path]:
    """Each given file as it is, and every image file under each given folder (sorted, recursive).

    Files named explicitly are yielded whatever their suffix, so that a mis-named file is reported
    rather than silently skipped; inside folders only known image suffixes are taken.
    """
    for item in inputs:
        if item.is_dir():
            for child in sorted(item.rglob("*")):
                if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES and not child.name.startswith("."):
                    yield child
        else:
            yield item
