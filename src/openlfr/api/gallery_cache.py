"""The galleries the service holds open: one open ``Gallery`` a folder, kept from one request to the next.

Opening a gallery decrypts and loads its index (seconds at a million records), so a search must not pay
for it. An open gallery is opened again when its files change on disk (``lfr gallery import``, ``remove``,
``rebuild`` or ``normalise`` in another process rewrites the index file or the normalisation, each by a
rename), and when the date changes (opening applies retention), and every one is closed when the app stops.
Records removed meanwhile are never returned even before that: a search keeps only live rows.

A gallery's records are one SQLite connection, which cannot carry two threads' transactions (each search
appends to the audit chain), so each gallery is used by one request at a time: its lock guards opening
again and using it; the face analysis before a search runs outside it, and galleries do not wait on each
other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from openlfr.config import StoreConfig
from openlfr.errors import GalleryError
from openlfr.gallery import scoring
from openlfr.gallery.gallery import INDEX_FILE, META_FILE, Gallery, refuse_other_embedder

WATCHED = (META_FILE, INDEX_FILE, scoring.SCORING_FILE)


@dataclass(frozen=True, slots=True)
class Stamp:
    """What says that a gallery on disk is still the one held open: each watched file's inode, size and
    modification time (None: no such file), and the date."""

    files: tuple[tuple[int, int, int] | None, ...]
    day: date

    @classmethod
    def of(cls, path: Path) -> Stamp:
        files: list[tuple[int, int, int] | None] = []
        for name in WATCHED:
            try:
                st = (path / name).stat()
            except FileNotFoundError:
                files.append(None)
                continue
            files.append((st.st_ino, st.st_size, st.st_mtime_ns))
        return cls(tuple(files), date.today())


@dataclass(slots=True, eq=False)
class _Held:
    lock: threading.Lock = field(default_factory=threading.Lock)
    gallery: Gallery | None = None
    stamp: Stamp | None = None


class OpenGalleries:
    """The open galleries of one app, by folder; thread-safe."""

    def __init__(self, store: StoreConfig) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._held: dict[Path, _Held] = {}
        self._closed = False
        self.opened = 0
        """How many times a gallery was opened (a count for tests and metrics)."""

    @contextmanager
    def use(self, path: Path, embedder: str | None = None) -> Iterator[Gallery]:
        """The open gallery at ``path`` (opened, or opened again if it changed on disk), for this thread
        alone until the block ends; with ``embedder``, refused if the gallery was made by another."""
        with self._lock:
            held = self._held.setdefault(path.resolve(), _Held())
        with held.lock:
            if self._closed:
                raise GalleryError("the service is stopping: its galleries are closed")
            now = Stamp.of(path)
            if held.gallery is None or held.stamp != now:
                if held.gallery is not None:
                    held.gallery.close()
                    held.gallery = None
                held.gallery = Gallery.open(path, self._store, any_thread=True)
                held.stamp = now
                with self._lock:
                    self.opened += 1
            if embedder is not None:
                refuse_other_embedder(path, held.gallery.embedder, embedder)
            yield held.gallery

    def close(self) -> None:
        """Close every open gallery (the app is stopping); a later ``use`` is refused."""
        with self._lock:
            self._closed = True
            held = list(self._held.values())
            self._held.clear()
        for h in held:
            with h.lock:
                if h.gallery is not None:
                    h.gallery.close()
                    h.gallery = None
