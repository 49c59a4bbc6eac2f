"""The zip archives that watchlist and cohort files are, read as untrusted data: whole, bounded, before
anything is parsed.

A file is read as a mapping of member name to bytes: its directory is checked first (``check_archive``:
no zip bomb), a name that appears twice is refused (the reader and a signature check could otherwise see
different members under one name), and then every member is read once. What is verified (match/signing.py)
is therefore exactly what is parsed.

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
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format
from numpy.typing import NDArray

from openlfr.errors import WatchlistFormatError

MAX_ARCHIVE_BYTES = 4 << 30
"""The most a watchlist or cohort file may inflate to (its members' sizes, from the zip's directory)."""
MAX_ARCHIVE_RATIO = 100
"""The most it may inflate by, once past 64 MiB: templates and JPEG faces barely compress (about 1.1x),
the manifest about 5x; a zip bomb inflates by thousands."""


def check_archive(zf: zipfile.ZipFile, path: Path) -> None:
    """Refuse, from the zip's directory and before reading any member, an archive that would inflate past
    ``MAX_ARCHIVE_BYTES`` or by more than ``MAX_ARCHIVE_RATIO`` (zipfile reads no more than a member's
    declared size, so the directory bounds what is read)."""
    members = zf.infolist()
    inflated = sum(m.file_size for m in members)
    packed = max(1, sum(m.compress_size for m in members))
    if inflated > MAX_ARCHIVE_BYTES or (inflated > 64 << 20 and inflated / packed > MAX_ARCHIVE_RATIO):
        raise WatchlistFormatError(
            f"{path}: its {len(members)} members would inflate to {inflated:,} bytes from {packed:,} "
            f"(limits {MAX_ARCHIVE_BYTES:,} bytes, {MAX_ARCHIVE_RATIO}x); refused before reading"
        )


def member_files(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The archive's members that are files, not folders. (``ZipInfo.is_dir`` indexes the name's last
    character, so a crafted member with an empty name raised IndexError there; such a member is kept here
    for the caller to refuse.)"""
    return [m for m in zf.infolist() if not m.filename.endswith("/")]


def read_members(path: Path) -> dict[str, bytes]:
    """Every member of the zip at ``path`` by name, after ``check_archive``; a name held twice, or none, is
    refused. Raises what ``zipfile`` and the file system raise (the caller names the file's kind)."""
    with zipfile.ZipFile(path) as zf:
        check_archive(zf, path)
        files = member_files(zf)
        if any(not m.filename for m in files):
            raise WatchlistFormatError(f"{path} holds a member with no name (damaged or edited)")
        counts = Counter(m.filename for m in files)
        twice = sorted(n for n, c in counts.items() if c > 1)
        if twice:
            raise WatchlistFormatError(f"{path} holds member {twice[0]!r} twice (damaged or edited)")
        return {m.filename: zf.read(m) for m in files}


def write_members(path: Path, members: Mapping[str, bytes]) -> None:
    """A new zip at ``path`` holding ``members`` in name order (deflated)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(members):
            zf.writestr(name, members[name])


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


def read_json(members: Mapping[str, bytes], name: str) -> object:
    """Member ``name`` parsed as JSON (any of ``ARCHIVE_ERRORS`` if it cannot be)."""
    return json.loads(members[name])


def read_npy(members: Mapping[str, bytes], name: str) -> NDArray[np.generic]:
    """Member ``name`` as an array, its header checked before anything is allocated: a numeric dtype,
    and exactly as many bytes of data as its shape needs (ValueError otherwise)."""
    data = members[name]
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


def npy_bytes(array: NDArray[np.generic]) -> bytes:
    """``array`` as a ``.npy`` member (never pickled)."""
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()
