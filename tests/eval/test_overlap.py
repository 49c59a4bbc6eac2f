"""The reviewed list of watchlist people under another identity, and what the evaluation does with it."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from openlfr.errors import OpenLFRError
from openlfr.eval import overlap
from openlfr.eval.datasets import Sample, load
from openlfr.eval.identify import search_split
from openlfr.eval.protocol import open_set_split
from openlfr.match.enrol import fuse


def test_the_shipped_list_is_well_formed() -> None:
    found = overlap.reviews()
    assert len(found) > 100 and {r.verdict for r in found} == set(overlap.VERDICTS)
    pairs = Counter((r.path, r.lfw_identity) for r in found)
    assert max(pairs.values()) == 1, "a pair is reviewed once"
    same = overlap.same_person(found)
    assert 0 < len(same) < len(found) / 2
    assert all(r.round >= 1 for r in found)


def test_every_listed_image_and_person_exists(shared_data: Path) -> None:
    samples = load(["lfw", "fairface", "utkface"], shared_data)
    images = {s.path.relative_to(shared_data).as_posix() for s in samples}
    lfw_counts = Counter(s.identity for s in samples if s.dataset == "lfw")
    for r in overlap.reviews():
        assert r.path in images, f"{r.path} is not in the evaluation sets"
        assert lfw_counts[r.lfw_identity] >= 2, f"{r.lfw_identity} is not an LFW watchlist candidate"
    cleaned = overlap.drop_same(samples, shared_data)
    assert len(cleaned.dropped) == len(overlap.same_person(overlap.reviews()))
    assert len(cleaned.kept) + len(cleaned.dropped) == len(samples)
    assert {s.dataset for s in cleaned.dropped} >= {"utkface", "fairface", "lfw"}
    assert "left out (fairface" in cleaned.note()


def test_only_same_is_dropped_and_a_bad_list_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "data"
    samples = [Sample(shared / "utk" / f"{i}.jpg", f"u{i}", "utkface") for i in range(4)]
    listed = tmp_path / "list.csv"
    with listed.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["path", "lfw_identity", "verdict", "round"])
        out.writerows(
            [["utk/0.jpg", "A", "same", 1], ["utk/1.jpg", "B", "unsure", 1], ["utk/2.jpg", "C", "different", 2]]
        )
    cleaned = overlap.drop_same(samples, shared, overlap.reviews(listed))
    assert [s.identity for s in cleaned.dropped] == ["u0"], "unsure and different stay in: a doubt counts against us"
    listed.write_text("path,lfw_identity,verdict,round\nutk/3.jpg,D,maybe,1\n")
    with pytest.raises(OpenLFRError, match="line 2: needs path, lfw_identity and a verdict"):
        overlap.reviews(listed)


def test_several_enrolment_images_are_fused_and_one_probe_always_stays() -> None:
    def sample(identity: str, i: int) -> Sample:
        return Sample(Path(f"/x/{identity}{i}.jpg"), identity, "lfw")

    rng = np.random.default_rng(0)
    samples = [sample("a", i) for i in range(5)] + [sample("b", i) for i in range(2)] + [sample("c", 0)]
    templates = {s.path: rng.normal(size=8).astype(np.float32) for s in samples}
    split = open_set_split(samples, None, 0, enrol_images=3)
    assert [g.identity for g in split.gallery] == ["a", "b"]
    assert [s.path.stem for s in split.more_enrolment] == ["a1", "a2"], "b keeps its second image as a probe"
    assert sorted(s.path.stem for s in split.mated) == ["a3", "a4", "b1"]
    assert [s.identity for s in split.nonmated] == ["c"]
    found = search_split(split, templates)
    # every probe of a is scored against fuse(a0, a1, a2), not against a0 alone
    a = fuse(np.stack([templates[Path(f"/x/a{i}.jpg")] for i in range(3)]))
    by_hand = search_split(
        split.__class__([Sample(Path("/x/fused.jpg"), "a", "lfw"), split.gallery[1]], split.mated, split.nonmated),
        {**templates, Path("/x/fused.jpg"): a},
    )
    np.testing.assert_allclose(found.searches.mated_mate_score, by_hand.searches.mated_mate_score, rtol=1e-6)
    with pytest.raises(ValueError, match="enrol_images"):
        open_set_split(samples, None, 0, enrol_images=0)
