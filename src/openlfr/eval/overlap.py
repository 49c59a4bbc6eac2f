"""The same person under two identities: reviewed pairs that the evaluation must not count as impostors.

UTKFace and FairFace hold photographs from the web, among them public figures who are also in LFW (a
UTKFace crop of Denzel Washington, a FairFace face of Hillary Clinton), and LFW spells a few people two
ways (Hasan_Wirayuda and Hassan_Wirajuda). Searched as a "non-mated" probe, such an image finds its own
person on the watchlist and is counted as a false alert. These are errors in the ground truth, and at
FPIR 1e-3 (4 false alerts among ~4,000 searches) a handful of them sets the threshold. NIST FRTE removes
such errors from its non-mated sets; so does this evaluation, from a list reviewed by eye and shipped
with the package (``identity_overlap.csv``).

How the list was made (``scripts/review_overlap.py``, three rounds, 2026-11-26): for every scoring in
EVALUATION.md section 6 (plain cosine, Z, T, ZT, ZT top 400, cosine + fair, the default) and seeds 0-4,
the 25 non-mated probes with the highest scores at N = 1,678, each shown beside the LFW images of the
watchlist person it scored highest against; a reviewer recorded a verdict for every pair: ``same``,
``different`` or ``unsure``. Each later round repeated the screen with the ``same`` images so far
left out and showed only pairs not yet reviewed; the third showed 3, none the same person. Every pair
looked at is in the file, whatever its verdict, so that anyone can check the verdicts against the images.

What is done with it (``drop_same``): only images judged ``same`` are left out, as probes and from the
cohort; ``unsure`` ones stay in as non-mated probes, so that a doubt counts against the system, never for
it. ``lfr eval ... --keep-overlap`` evaluates without the list, as every figure before it was made.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

from openlfr.errors import OpenLFRError
from openlfr.eval.datasets import Sample

Verdict = Literal["same", "different", "unsure"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)


@dataclass(frozen=True, slots=True)
class Review:
    """One reviewed pair: an image (its path under the shared data folder), the LFW watchlist person it
    scored highest against, the verdict, and the review round."""

    path: str
    lfw_identity: str
    verdict: Verdict
    round: int


def reviews(path: Path | None = None) -> list[Review]:
    """The reviewed pairs of ``path`` (default: the list shipped with the package)."""
    source = resources.files("openlfr.eval").joinpath("identity_overlap.csv") if path is None else path
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise OpenLFRError(f"cannot read the reviewed overlap list {source}: {exc}") from exc
    found = []
    for line, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        verdict = row.get("verdict", "")
        if verdict not in VERDICTS or not row.get("path") or not row.get("lfw_identity"):
            raise OpenLFRError(f"{source}, line {line}: needs path, lfw_identity and a verdict in {VERDICTS}")
        found.append(Review(row["path"], row["lfw_identity"], verdict, int(row.get("round") or 1)))
    return found


def same_person(reviewed: Sequence[Review]) -> frozenset[str]:
    """Paths (under the shared data folder) of the images judged to show a watchlist person."""
    return frozenset(r.path for r in reviewed if r.verdict == "same")


@dataclass(frozen=True, slots=True)
class Cleaned:
    kept: list[Sample]
    dropped: list[Sample]

    def note(self) -> str:
        by_set = ", ".join(
            f"{d} {sum(1 for s in self.dropped if s.dataset == d)}" for d in sorted({s.dataset for s in self.dropped})
        )
        return (
            f"{len(self.dropped)} image(s) of people also in LFW under another identity left out ({by_set}; "
            "eval/identity_overlap.csv, reviewed by eye; --keep-overlap keeps them)."
        )


def drop_same(samples: Sequence[Sample], shared: Path, reviewed: Sequence[Review] | None = None) -> Cleaned:
    """``samples`` less the images judged ``same`` (paths matched relative to ``shared``)."""
    same = same_person(reviews() if reviewed is None else reviewed)
    kept: list[Sample] = []
    dropped: list[Sample] = []
    for s in samples:
        (dropped if _relative(s.path, shared) in same else kept).append(s)
    return Cleaned(kept, dropped)


def _relative(path: Path, shared: Path) -> str:
    try:
        return path.relative_to(shared).as_posix()
    except ValueError:
        return path.as_posix()
