"""An uploaded probe photo, as the search routes take it: read within ``[api] max_upload_bytes`` (a larger
one is refused before it is decoded), named by its file name alone (never a client's path), and decoded
within ``[images] max_pixels`` in the route's worker thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import UploadFile

from openlfr.config import Settings
from openlfr.errors import RequestLimitError
from openlfr.ingest.images import decode_image
from openlfr.types import RGBImage


@dataclass(frozen=True, slots=True)
class Photo:
    name: str
    data: bytes

    def decode(self, settings: Settings) -> RGBImage:
        """The photo's pixels (``ImageError`` if it is not an image or is too large)."""
        return decode_image(self.data, self.name, max_pixels=settings.images.max_pixels)


async def read_limited(upload: UploadFile, limit: int) -> bytes:
    """The upload's bytes, read no further than one past ``limit`` (``RequestLimitError`` naming it beyond)."""
    data = await upload.read(limit + 1)
    if len(data) > limit:
        name = upload.filename or "the upload"
        raise RequestLimitError(f"{name}: larger than {limit} bytes", problems=[f"{name}: > {limit} bytes"])
    return data


async def read_photo(upload: UploadFile, settings: Settings) -> Photo:
    """The uploaded photo's bytes (``RequestLimitError`` beyond ``[api] max_upload_bytes``)."""
    data = await read_limited(upload, settings.api.max_upload_bytes)
    return Photo(Path(upload.filename or "upload").name, data)
