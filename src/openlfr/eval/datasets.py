"""Evaluation data sets, described by a manifest: one row per image with its identity and labels.

A manifest is a CSV with the columns ``path`` (relative to the CSV) and ``identity``, and optionally
``sex`` (or ``gender``), ``race``, ``age_band`` and ``age``. Labels are normalised to lower case
(``male``/``female``); an exact ``age`` with no band is banded as UTKFace's (0-17, 18-39, 40-59, 60+).
Loaders for the sets in ../shared/data read their own manifests the same way and say where they came from.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from openlfr.errors import OpenLFRError

AGE_BANDS = ((0, 17, "0-17"), (18, 39, "18-39"), (40, 59, "40-59"), (60, 200, "60+"))


@dataclass(frozen=True, slots=True)
class Sample:
    """One labelled image of an evaluation set. Labels are None where the set does not give them."""

    path: Path
    identity: str
    dataset: str
    sex: str | None = None
    race: str | None = None
    age_band: str | None = None

    def label(self, name: str) -> str | None:
        """The value of label ``name`` (``sex``, ``race``, ``age_band`` or ``sex_race``)."""
        if name == "sex_race":
            return f"{self.sex} {self.race}" if self.sex and self.race else None
        if name in ("sex", "race", "age_band"):
            value: str | None = getattr(self, name)
            return value
        raise KeyError(f"unknown label {name!r}; known: sex, race, age_band, sex_race")


def load_manifest(csv_path: Path, dataset: str | None = None) -> list[Sample]:
    """The samples of a manifest CSV; OpenLFRError naming the file if it lacks ``path`` or ``identity``."""
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise OpenLFRError(f"cannot read manifest {csv_path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise OpenLFRError(f"{csv_path}: not a UTF-8 CSV manifest ({exc})") from exc
    if not rows or not {"path", "identity"} <= rows[0].keys():
        raise OpenLFRError(f"{csv_path}: a manifest needs at least the columns path and identity")
    name = dataset or csv_path.parent.name
    root = csv_path.parent
    return [
        Sample(
            path=root / row["path"],
            identity=row["identity"],
            dataset=name,
            sex=_lower(row.get("sex") or row.get("gender")),
            race=(row.get("race") or "").strip() or None,
            age_band=(row.get("age_band") or "").strip() or _band(row.get("age")),
        )
        for row in rows
        if row["path"] and row["identity"]
    ]


def _lower(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value or None


def _band(age: str | None) -> str | None:
    try:
        years = int(float(age or ""))
    except (ValueError, OverflowError):  # not a number, NaN, infinite
        return None
    return next((name for low, high, name in AGE_BANDS if low <= years <= high), None)  # none for -1 or 300


def lfw(shared: Path) -> list[Sample]:
    """LFW (../shared/data/lfw): 4,333 identities (1,680 with two or more images), sex; no race or age."""
    return load_manifest(shared / "lfw" / "manifest.csv", "lfw")


def fairface(shared: Path) -> list[Sample]:
    """FairFace validation (CC BY 4.0): one face per identity; sex, 7 race groups, and FairFace's own
    age bands (0-2, 3-9, 10-19, ...), kept as given since they differ from UTKFace's."""
    samples = load_manifest(shared / "fairface_val" / "manifest.csv", "fairface")
    # FairFace's 'age' column holds bands ("20-29"), which load_manifest cannot parse as years.
    with (shared / "fairface_val" / "manifest.csv").open(newline="") as fh:
        bands = {row["identity"]: row["age"] for row in csv.DictReader(fh)}
    return [Sample(s.path, s.identity, s.dataset, s.sex, s.race, bands.get(s.identity) or s.age_band) for s in samples]


def utkface(shared: Path) -> list[Sample]:
    """UTKFace part 1 subset (non-commercial research use): one face per identity; sex, 5 race groups,
    age bands 0-17, 18-39, 40-59, 60+ (children included)."""
    return load_manifest(shared / "utkface_part1_subset" / "manifest.csv", "utkface")


LOADERS = {"lfw": lfw, "fairface": fairface, "utkface": utkface}


def load(names: list[str], shared: Path) -> list[Sample]:
    """Samples of the named sets (``lfw``, ``fairface``, ``utkface``) or of manifest CSV paths."""
    samples: list[Sample] = []
    for name in names:
        if name in LOADERS:
            samples.extend(LOADERS[name](shared))
        elif name.endswith(".csv"):
            samples.extend(load_manifest(Path(name)))
        else:
            raise OpenLFRError(f"unknown data set {name!r}: use lfw, fairface, utkface or a manifest .csv")
    return samples
