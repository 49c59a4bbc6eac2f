"""Reading the members of a watchlist or cohort zip as untrusted data.

Every way a crafted archive can fail while being read (a damaged directory or member, an unsupported
compression or encryption, a ``.npy`` header that does not parse or claims more data than the member
holds, JSON nested past the parser's depth) is one of ``ARCHIVE_ERRORS``, which the loaders translate
into their own ``WatchlistError``; nothing else escapes, and no member makes the reader allocate more
than the member's own size.
"""

from __future__ import annotations

import io
import json
import lzma
import math
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Mapping

import numpy as np
from numpy.lib import format as npy_format
from numpy.typing import NDArray

ARCHIVE_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,  # a damaged directory or member (CRC, header)
    zipfile.LargeZipFile,
    KeyError,  # a member that is not there
    ValueError,  # bad JSON (and UnicodeDecodeError), a bad .npy (see read_npy)
    OSError,  # zipfile seeking to an offset the directory made up
    EOFError,  # a member shorter than its directory says (bz2, lzma)
    zlib.error,  # a deflate stream that does not inflate
    NotImplementedError,  # a compression method zipfile does not have
    RuntimeError,  # an encrypted member; RecursionError: JSON nested too deep
    struct.error,
    lzma.LZMAError,
)
"""What reading a crafted archive may raise; a loader maps each to its format error."""


def read_json(zf: zipfile.ZipFile, name: str) -> object:
    """Member ``name`` parsed as JSON (any of ``ARCHIVE_ERRORS`` if it cannot be)."""
    return json.loads(zf.read(name))


def read_npy(zf: zipfile.ZipFile, name: str) -> NDArray[np.generic]:
    """Member ``name`` as an array, its header checked before anything is allocated: a numeric dtype,
    and exactly as many bytes of data as its shape needs (ValueError otherwise)."""
    data = zf.read(name)
    buf = io.BytesIO(data)
    try:
        version = npy_format.read_magic(buf)
        if version == (1, 0):
            shape, _, dtype = npy_format.read_array_header_1_0(buf)
        else:
            shape, _, dtype = npy_format.read_array_header_2_0(buf)
    except (tokenize.TokenError, SyntaxError, TypeError, IndexError) as exc:  # numpy's header parser leaks these
        raise ValueError(f"{name}: not a .npy array header ({exc})") from exc
    if dtype.hasobject or dtype.kind not in "biuf":
        raise ValueError(f"{name}: holds {dtype} values, not real numbers")
    needed = math.prod(shape) * dtype.itemsize
    if needed != len(data) - buf.tell():
        raise ValueError(f"{name}: its header claims {needed:,} bytes of data, it holds {len(data) - buf.tell():,}")
    return np.asarray(np.load(io.BytesIO(data), allow_pickle=False))


Shape = tuple[int | None, ...]


def shape_problem(
    arrays: Mapping[str, NDArray[np.generic]], expected: Mapping[str, Shape], fair: str = ""
) -> str | None:
    """What is wrong with the arrays named in ``expected`` that are present (None: nothing): each must be
    real, finite and of the expected shape (None: any length on that side); fair clusters (their names
    prefixed ``fair``) come as centroids and offsets, as many of each."""
    centroids, offsets = arrays.get(f"{fair}fair_centroids.npy"), arrays.get(f"{fair}fair_offsets.npy")
    if (centroids is None) != (offsets is None) or (
        centroids is not None and offsets is not None and centroids.shape[:1] != offsets.shape[:1]
    ):
        return "its fair-normalisation clusters and offsets do not pair up"
    for name, shape in expected.items():
        array = arrays.get(name)
        if array is None:
            continue
        if array.dtype.kind not in "biuf" or not np.isfinite(array).all():
            return f"{name} holds {array.dtype} values that are not all finite real numbers"
        if array.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(array.shape, shape, strict=True)
        ):
            want = "x".join("N" if s is None else str(s) for s in shape)
            return f"{name} has shape {array.shape}, expected {want}"
    return None
