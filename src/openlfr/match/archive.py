"""The zip archives that watchlist and cohort files are: read whole, bounded, before anything is parsed.

A file is read as a mapping of member name to bytes: its directory is checked first (``check_archive``:
no zip bomb), a name that appears twice is refused (the reader and a signature check could otherwise see
different members under one name), and then every member is read once. What is verified (match/signing.py)
is therefore exactly what is parsed.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

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


def read_members(path: Path) -> dict[str, bytes]:
    """Every member of the zip at ``path`` by name, after ``check_archive``; a name held twice is refused.
    Raises what ``zipfile`` and the file system raise (the caller names the file's kind)."""
    with zipfile.ZipFile(path) as zf:
        check_archive(zf, path)
        counts = Counter(m.filename for m in zf.infolist() if not m.is_dir())
        twice = sorted(n for n, c in counts.items() if c > 1)
        if twice:
            raise WatchlistFormatError(f"{path} holds member {twice[0]!r} twice (damaged or edited)")
        return {m.filename: zf.read(m) for m in zf.infolist() if not m.is_dir()}


def write_members(path: Path, members: Mapping[str, bytes]) -> None:
    """A new zip at ``path`` holding ``members`` in name order (deflated)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(members):
            zf.writestr(name, members[name])
