"""Import images into a gallery: parallel, resumable, duplicates skipped, every rejection with its reason.

Sources: a folder of one subfolder per person (the subfolder's name is the subject id, the record id is
``subject/file stem``), or a manifest CSV with a ``path`` column (relative to the CSV) and ``subject_id``,
``record_id``, ``date``, ``source``, ``retain_until`` (ISO date) columns, only ``path`` and ``subject_id``
required.

Resumable: the main process hashes each file (SHA-256 of its bytes) and skips any hash that the journal
already holds (added, rejected or removed) or that this run has seen (a duplicate). Worker processes
embed the rest in chunks; each chunk's records, templates and journal rows commit in one transaction, so
after a crash or Ctrl-C a re-run embeds only the chunks that had not committed: none twice, none lost.
The index file is saved every ``SAVE_EVERY_S`` seconds and at the end; rows committed after its last save
are added on the next open (``Gallery.sync``).

Each image gives the template of its largest face; an image with no face, or one that cannot be read, is
rejected with the reason (``no_face``, or an ``ImageError`` reason such as ``not_an_image``).
"""

from __future__ import annotations

import csv
import hashlib
import multiprocessing
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from openlfr.analysis import FaceAnalyzer
from openlfr.config import Settings
from openlfr.errors import GalleryError, ImageError
from openlfr.gallery.gallery import Gallery
from openlfr.gallery.index import normalise
from openlfr.gallery.records import NewRecord, Record
from openlfr.ingest.images import IMAGE_SUFFIXES
from openlfr.types import AnalyzedFace, RGBImage

CHUNK = 32
SAVE_EVERY_S = 60.0
THUMB_PX = 112
THUMB_MARGIN = 0.3


@dataclass(frozen=True, slots=True)
class ImportItem:
    path: Path
    record: Record


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a worker made of one image: a template and thumbnail, or why not."""

    vector: NDArray[np.float32] | None
    thumb: bytes | None
    quality: float
    reason: str | None = None


@dataclass
class ImportReport:
    added: int = 0
    known: int = 0
    """Skipped: the journal already held the content (a resumed import, or an image imported before)."""
    duplicates: int = 0
    """Skipped: the same content earlier in this run."""
    rejected: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) of every image not added."""
    interrupted: bool = False

    def reasons(self) -> dict[str, int]:
        return dict(Counter(reason for _, reason in self.rejected))


# sources ---------------------------------------------------------------------------------------
def iter_source(source: Path) -> Iterator[ImportItem]:
    """The items of a folder of subfolders per person, or of a manifest CSV (see the module docstring)."""
    if source.is_dir():
        yield from _iter_folder(source)
    elif source.suffix.lower() == ".csv":
        yield from _iter_manifest(source)
    else:
        raise GalleryError(f"{source} is neither a folder of one subfolder per person nor a manifest .csv")


def _iter_folder(root: Path) -> Iterator[ImportItem]:
    for person in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for image in sorted(person.iterdir()):
            if image.is_file() and image.suffix.lower() in IMAGE_SUFFIXES and not image.name.startswith("."):
                rel = image.relative_to(root).as_posix()
                yield ImportItem(image, Record(f"{person.name}/{image.stem}", person.name, source=rel))


def _iter_manifest(manifest: Path) -> Iterator[ImportItem]:
    with manifest.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"path", "subject_id"} - set(reader.fieldnames or ())
        if missing:
            raise GalleryError(f"{manifest} lacks the column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            path = manifest.parent / row["path"]
            until = row.get("retain_until") or None
            try:
                retain = date.fromisoformat(until) if until else None
            except ValueError as exc:
                raise GalleryError(f"{manifest}:{line}: retain_until {until!r} is not an ISO date") from exc
            record = Record(
                record_id=row.get("record_id") or f"{row['subject_id']}/{Path(row['path']).stem}",
                subject_id=row["subject_id"],
                date=row.get("date") or None,
                source=row.get("source") or row["path"],
                retain_until=retain,
            )
            yield ImportItem(path, record)


# workers ---------------------------------------------------------------------------------------
_WORKER: FaceAnalyzer | None = None


def _init(settings: Settings) -> None:
    global _WORKER  # noqa: PLW0603 - one analyzer per worker process
    _WORKER = FaceAnalyzer(settings)


def _work(paths: list[Path]) -> list[Outcome]:
    assert _WORKER is not None
    return [embed_one(_WORKER, p) for p in paths]


def embed_one(analyzer: FaceAnalyzer, path: Path) -> Outcome:
    """The template and thumbnail of the largest face of the image at ``path``, or the reason for none."""
    try:
        image = analyzer.load(path)
    except ImageError as exc:
        return Outcome(None, None, 0.0, exc.reason)
    found = analyzer.detector.detect(image)
    if not found:
        return Outcome(None, None, 0.0, "no_face")
    largest = max(found, key=lambda d: d.box.area)
    face = analyzer.analyze(image, [largest])[0]
    return Outcome(normalise(face.template.vector)[0], thumbnail(image, face), face.quality.score)


def thumbnail(image: RGBImage, face: AnalyzedFace, size: int = THUMB_PX) -> bytes:
    """A small JPEG of the face with some context, for review sheets."""
    box = face.detection.box
    mx, my = box.width * THUMB_MARGIN, box.height * THUMB_MARGIN
    h, w = image.shape[:2]
    x1, y1 = max(0, int(box.x1 - mx)), max(0, int(box.y1 - my))
    x2, y2 = min(w, int(box.x2 + mx)), min(h, int(box.y2 + my))
    crop = np.ascontiguousarray(image[y1:y2, x1:x2])
    scale = size / max(crop.shape[:2])
    small: NDArray[np.uint8] = crop
    if scale < 1:
        small = np.asarray(
            cv2.resize(crop, (max(1, int(crop.shape[1] * scale)), max(1, int(crop.shape[0] * scale)))), np.uint8
        )
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return jpeg.tobytes() if ok else b""


# the import ------------------------------------------------------------------------------------
def import_items(
    gallery: Gallery,
    items: Iterable[ImportItem],
    settings: Settings,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import ``items`` into ``gallery`` (see the module docstring); the report, also when interrupted."""
    report = ImportReport()
    settings = settings.model_copy(update={"second_embedder": None})
    tick = progress or (lambda _n: None)
    todo = _new_items(gallery, items, report, tick)
    last_save = time.monotonic()
    finished = False
    try:
        for chunk, outcomes in _embed_chunks(todo, settings, workers):
            _commit(gallery, chunk, outcomes, report)
            tick(len(chunk))
            if time.monotonic() - last_save > SAVE_EVERY_S:
                gallery.save_index()
                last_save = time.monotonic()
        finished = True
    except KeyboardInterrupt:
        report.interrupted = True
        raise
    finally:
        gallery.save_index()
        if finished:  # a new index kind is built once, at the end, never half way
            gallery.regrow()
        gallery.records.audit(
            "import",
            {
                "added": report.added,
                "known": report.known,
                "duplicates": report.duplicates,
                "rejected": report.reasons(),
                "interrupted": report.interrupted,
            },
        )
    return report


def _new_items(
    gallery: Gallery, items: Iterable[ImportItem], report: ImportReport, tick: Callable[[int], None]
) -> Iterator[tuple[ImportItem, str]]:
    """Items whose content is new (hashed here), each with its SHA-256; the rest counted and ticked off."""
    seen: set[str] = set()
    record_ids: set[str] = set()
    for item in items:
        try:
            sha = hashlib.sha256(item.path.read_bytes()).hexdigest()
        except OSError as exc:
            report.rejected.append((str(item.path), "unreadable" if item.path.exists() else "missing"))
            del exc
            tick(1)
            continue
        if sha in seen:
            report.duplicates += 1
        elif gallery.records.journal_status(sha) is not None:
            report.known += 1
        elif item.record.record_id in record_ids or gallery.records.has_record_id(item.record.record_id):
            report.rejected.append((str(item.path), "duplicate_record_id"))
        else:
            seen.add(sha)
            record_ids.add(item.record.record_id)
            yield item, sha
            continue
        tick(1)


def _embed_chunks(
    todo: Iterator[tuple[ImportItem, str]], settings: Settings, workers: int
) -> Iterator[tuple[list[tuple[ImportItem, str]], list[Outcome]]]:
    """Chunks of ``todo`` with their outcomes, in order, at most ``3 * workers`` chunks in flight."""
    chunks = _chunked(todo, CHUNK)
    if workers <= 1:
        _init(settings)
        for chunk in chunks:
            yield chunk, _work([item.path for item, _ in chunk])
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init, initargs=(settings,)) as pool:
        flight: deque[tuple[list[tuple[ImportItem, str]], Future[list[Outcome]]]] = deque()
        try:
            for chunk in chunks:
                flight.append((chunk, pool.submit(_work, [item.path for item, _ in chunk])))
                if len(flight) >= 3 * workers:
                    done, future = flight.popleft()
                    yield done, future.result()
            while flight:
                done, future = flight.popleft()
                yield done, future.result()
        finally:
            for _, future in flight:
                future.cancel()


def _chunked(items: Iterator[tuple[ImportItem, str]], size: int) -> Iterator[list[tuple[ImportItem, str]]]:
    chunk: list[tuple[ImportItem, str]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _commit(
    gallery: Gallery, chunk: list[tuple[ImportItem, str]], outcomes: list[Outcome], report: ImportReport
) -> None:
    added: list[NewRecord] = []
    rejected: list[tuple[str, str]] = []
    for (item, sha), out in zip(chunk, outcomes, strict=True):
        if out.vector is None:
            rejected.append((sha, out.reason or "unknown"))
            report.rejected.append((str(item.path), out.reason or "unknown"))
        else:
            added.append(NewRecord(item.record, sha, out.vector, out.thumb, out.quality))
    rows = gallery.records.commit_batch(added, rejected)
    if added:
        gallery.add_to_index(rows, np.stack([a.vector for a in added]))
    report.added += len(added)
