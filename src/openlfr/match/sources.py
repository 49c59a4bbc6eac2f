"""Where enrolment images and the grounds for each subject come from: a folder or a CSV manifest.

A folder holds one subfolder per subject (the subfolder's name is the subject id); the grounds
(category, reason, image source, expiry) apply to every subject and come from the caller.

A CSV manifest has one row per image, with columns::

    subject_id, display_name, category, reason, image_source, expires, image[, box]

``image`` is a path relative to the CSV file; ``expires`` is YYYY-MM-DD or empty; ``box`` is
optional, ``x1 y1 x2 y2`` in pixels, and picks one face in an image that shows several. Rows of the
same subject must agree on everything but the image and box.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from openlfr.errors import EnrolmentError
from openlfr.ingest.images import IMAGE_SUFFIXES
from openlfr.match.watchlist import Subject
from openlfr.types import BoundingBox, Category

REQUIRED_COLUMNS = ("subject_id", "display_name", "category", "reason", "image_source", "expires", "image")


@dataclass(frozen=True, slots=True)
class EnrolItem:
    """One image to enrol for one subject, with an optional box choosing the face."""

    subject: Subject
    image: Path
    box: BoundingBox | None = None


def from_folder(
    root: Path,
    category: Category = Category.OTHER,
    reason: str = "",
    image_source: str = "",
    expires: date | None = None,
) -> list[EnrolItem]:
    """Items for every image in every subfolder of ``root`` (the subfolder name is the subject id)."""
    if not root.is_dir():
        raise EnrolmentError(f"{root} is not a folder")
    items: list[EnrolItem] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        subject = _subject(
            f"folder {folder.name}",
            subject_id=folder.name,
            display_name=folder.name.replace("_", " ").replace("-", " ").title(),
            category=category,
            reason=reason,
            image_source=image_source,
            expires=expires,
        )
        files = sorted(f for f in folder.iterdir() if f.is_file() and not f.name.startswith("."))
        items.extend(EnrolItem(subject, f) for f in files)
    if not items:
        raise EnrolmentError(f"{root} has no subject subfolders with files in them (one subfolder per subject)")
    return items


def from_csv(path: Path, allow_outside: bool = False) -> list[EnrolItem]:
    """Items for every row of the CSV manifest at ``path``; EnrolmentError naming the line if one is wrong.
    An image path must lie inside the manifest's folder (after following ``..`` and links) unless
    ``allow_outside``: a manifest from elsewhere cannot make the program read any file it likes."""
    if path.exists() and not path.is_file():
        raise EnrolmentError(f"manifest {path} is not a regular file")
    root = path.parent.resolve()
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
            header = rows[0].keys() if rows else []
    except FileNotFoundError as exc:
        raise EnrolmentError(f"manifest not found: {path}") from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise EnrolmentError(f"cannot read manifest {path}: {exc}") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if not rows or missing:
        raise EnrolmentError(
            f"{path}: manifest needs the columns {', '.join(REQUIRED_COLUMNS)}; missing: "
            f"{', '.join(missing) or 'every row'}"
        )
    items: list[EnrolItem] = []
    subjects: dict[str, Subject] = {}
    for line, row in enumerate(rows, start=2):
        where = f"{path.name} line {line}"
        subject = _subject(
            where,
            subject_id=(row["subject_id"] or "").strip(),
            display_name=(row["display_name"] or "").strip(),
            category=(row["category"] or "").strip() or Category.OTHER,
            reason=(row["reason"] or "").strip(),
            image_source=(row["image_source"] or "").strip(),
            expires=(row["expires"] or "").strip() or None,
        )
        known = subjects.setdefault(subject.subject_id, subject)
        if known != subject:
            raise EnrolmentError(f"{where}: subject {subject.subject_id} has details that differ from an earlier row")
        image = (row["image"] or "").strip()
        if not image:
            raise EnrolmentError(f"{where}: no image path")
        if "\x00" in image:  # no file system takes one; Path.resolve raises ValueError on it
            raise EnrolmentError(f"{where}: image path {image!r} holds a NUL character")
        target = path.parent / image
        if not allow_outside and not target.resolve().is_relative_to(root):
            raise EnrolmentError(
                f"{where}: image {image!r} is outside the manifest's folder {root}; give --allow-outside to "
                "trust paths outside it"
            )
        items.append(EnrolItem(subject, target, _box(row.get("box"), where)))
    return items


def collect(source: Path, allow_outside: bool = False, **folder_defaults: object) -> list[EnrolItem]:
    """Items from a folder or a ``.csv`` manifest, whichever ``source`` is (``allow_outside``: see ``from_csv``)."""
    if source.is_file() and source.suffix.lower() == ".csv":
        return from_csv(source, allow_outside)
    if source.is_dir():
        return from_folder(source, **folder_defaults)  # type: ignore[arg-type]
    if source.suffix.lower() in IMAGE_SUFFIXES:
        raise EnrolmentError(f"{source} is an image; enrol a folder (one subfolder per subject) or a CSV manifest")
    raise EnrolmentError(f"{source} is neither a folder nor a .csv manifest")


def _subject(where: str, **fields: object) -> Subject:
    try:
        return Subject.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise EnrolmentError(f"{where}: {field}: {first['msg']} (got {first.get('input')!r})") from exc


def _box(text: str | None, where: str) -> BoundingBox | None:
    if not text or not text.strip():
        return None
    try:
        x1, y1, x2, y2 = (float(v) for v in text.replace(",", " ").split())
        return BoundingBox(x1, y1, x2, y2)
    except ValueError as exc:
        raise EnrolmentError(f"{where}: box must be 'x1 y1 x2 y2' with x2 > x1 and y2 > y1, got {text!r}") from exc
