"""``lfr eval templates``: the split, multi-template search and gallery building, and the command end to end."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from openlfr.config import ScoringConfig
from openlfr.eval import templates
from openlfr.eval.datasets import Sample, load, load_manifest
from openlfr.eval.identify import normalised_scorer
from openlfr.eval.protocol import Searches, cohort_split
from openlfr.eval.protocol import search as one_template_search
from openlfr.eval.templates import Gallery, TemplateSplit, build_gallery, template_split
from openlfr.match.scoring import build_scoring


def _lfw(shared: Path) -> list[Sample]:
    return load(["lfw"], shared)


def test_split_is_fixed_by_the_seed_and_shares_nothing(shared_data: Path) -> None:
    samples = _lfw(shared_data)
    unusable = {s.path for s in samples[::50]}  # pretend no face was found in these

    def usable(p: Path) -> bool:
        return p not in unusable

    full = template_split(samples, usable, seed=1)
    wide = template_split(samples, usable, seed=1, identities=20)
    sub = template_split(samples, usable, seed=1, identities=20, nonmated=100)
    assert template_split(samples, usable, seed=1, identities=20, nonmated=100) == sub
    assert template_split(samples, usable, seed=2, identities=20).enrol.keys() != wide.enrol.keys()
    assert wide.enrol == sub.enrol and set(wide.enrol) < set(full.enrol) and len(sub.nonmated) == 100
    assert set(sub.nonmated) < set(wide.nonmated) == set(full.nonmated)
    by_identity: dict[str, list[Path]] = {}
    for s in sorted(samples, key=lambda s: str(s.path)):
        if usable(s.path):
            by_identity.setdefault(s.identity, []).append(s.path)
    for identity, group in full.enrol.items():
        assert len(by_identity[identity]) >= 4 and [s.path for s in group] == by_identity[identity][:3]
    assert all(s.path in by_identity[s.identity][3:5] for s in full.mated)
    assert not {s.identity for s in full.nonmated} & set(full.enrol)
    assert not ({s.path for s in full.nonmated} | {s.path for s in full.mated}) & unusable
    with pytest.raises(ValueError, match="min_images > enrol_images"):
        template_split(samples, usable, seed=1, min_images=3, enrol_images=3)


def _split() -> TemplateSplit:
    def sample(name: str) -> Sample:
        return Sample(Path(f"/x/{name}.jpg"), name[0], "t")

    return TemplateSplit(
        {"a": [sample("a1"), sample("a2")], "b": [sample("b1"), sample("b2")]},
        [sample("a3"), sample("b3")],
        [sample("c1")],
    )


VECTORS = {
    Path("/x/a1.jpg"): np.array([1.0, 0.0], np.float32),
    Path("/x/a2.jpg"): np.array([0.0, 1.0], np.float32),
    Path("/x/b1.jpg"): np.array([-1.0, 0.0], np.float32),
    Path("/x/b2.jpg"): np.array([-0.6, -0.8], np.float32),
    Path("/x/a3.jpg"): np.array([0.0, 1.0], np.float32),
    Path("/x/b3.jpg"): np.array([0.6, -0.8], np.float32),
    Path("/x/c1.jpg"): np.array([0.71, 0.71], np.float32),
}


def test_gallery_keeps_fuses_or_both_and_weights_by_quality() -> None:
    split = _split()
    assert build_gallery(split, VECTORS, 1).owners == ["a", "b"]
    assert build_gallery(split, VECTORS, 2, "separate").owners == ["a", "a", "b", "b"]
    fused = build_gallery(split, VECTORS, 2, "fused")
    assert fused.owners == ["a", "b"]
    np.testing.assert_allclose(fused.vectors[0], np.array([1.0, 1.0]) / np.sqrt(2), atol=1e-6)
    assert build_gallery(split, VECTORS, 2, "both").owners == ["a", "a", "a", "b", "b", "b"]
    quality = {p: 0.9 if "1" in p.name else 0.1 for p in VECTORS}
    weighted = build_gallery(split, VECTORS, 2, "fused", "quality", quality)
    assert weighted.vectors[0][0] > 8 * weighted.vectors[0][1] > 0  # a1 (quality 0.9) outweighs a2
    with pytest.raises(ValueError, match="quality"):
        build_gallery(split, VECTORS, 2, "fused", "quality")


def test_search_scores_a_subject_by_its_best_template() -> None:
    rng = np.random.default_rng(0)
    gallery, mated, nonmated = (rng.normal(size=(n, 8)).astype(np.float32) for n in (5, 7, 9))
    ids, mated_ids = list("abcde"), list("abcdeab")
    ours = templates.search(Gallery(gallery, ids), mated, mated_ids, nonmated)
    theirs = one_template_search(gallery, ids, mated, mated_ids, nonmated)
    for a, b in zip(
        (ours.mated_mate_score, ours.mated_mate_rank, ours.nonmated_top),
        (theirs.mated_mate_score, theirs.mated_mate_rank, theirs.nonmated_top),
        strict=True,
    ):
        np.testing.assert_allclose(a, b)
    split = _split()
    separate = templates.search(
        build_gallery(split, VECTORS, 2), np.stack([VECTORS[Path("/x/a3.jpg")]]), ["a"], np.zeros((0, 2), np.float32)
    )
    assert separate.mated_mate_score[0] > 0.99 and separate.mated_mate_rank[0] == 1  # a2 equals the probe


def test_normalised_search_without_normalisation_ranks_as_cosine() -> None:
    rng = np.random.default_rng(2)
    gallery, mated, nonmated, cohort = (rng.normal(size=(n, 8)).astype(np.float32) for n in (6, 9, 11, 40))
    ids, mated_ids = list("abcabc"), list("abcabcabc")
    plain = build_scoring(ScoringConfig(method="cosine", top_k=None, fair_clusters=0), cohort)
    ours = templates.search(Gallery(gallery, ids), mated, mated_ids, nonmated, scorer=normalised_scorer(plain))
    unit = templates.search(
        Gallery(templates.unit(gallery), ids), templates.unit(mated), mated_ids, templates.unit(nonmated)
    )
    np.testing.assert_array_equal(ours.mated_mate_rank, unit.mated_mate_rank)
    for a, b in ((ours.mated_mate_score, unit.mated_mate_score), (ours.nonmated_top, unit.nonmated_top)):
        np.testing.assert_array_equal(np.argsort(a), np.argsort(b))  # another scale, the same order
    zt = build_scoring(ScoringConfig(method="zt", top_k=10, fair_clusters=3), cohort)
    normed = templates.search(Gallery(gallery, ids), mated, mated_ids, nonmated, scorer=normalised_scorer(zt))
    assert not np.allclose(normed.nonmated_top, ours.nonmated_top)


def small_manifest(shared: Path, folder: Path) -> Path:
    """8 LFW people with 4 or more images (their first 5), 10 with one, 10 FairFace faces, as one CSV."""
    samples = load(["lfw", "fairface"], shared)
    by_identity: dict[str, list[Sample]] = {}
    for s in sorted(samples, key=lambda s: str(s.path)):
        by_identity.setdefault(s.identity, []).append(s)
    lfw = {i: g for i, g in by_identity.items() if g[0].dataset == "lfw"}
    multi = sorted(i for i, g in lfw.items() if len(g) >= 4)[:8]
    single = sorted(i for i, g in lfw.items() if len(g) == 1)[:10]
    chosen = [s for i in multi for s in lfw[i][:5]] + [lfw[i][0] for i in single]
    chosen += [s for s in samples if s.dataset == "fairface"][:10]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "manifest.csv"
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["path", "identity"])
        out.writerows([s.path, s.identity] for s in chosen)
    return path


def test_templates_command(shared_data: Path, tmp_path: Path, eval_cache: Path) -> None:
    manifest = small_manifest(shared_data, tmp_path / "small")
    args = ["--data", str(manifest), "--cache", str(eval_cache), "--variants", "flip", "--variant-identities", "4"]
    args += ["--variant-nonmated", "6", "--timing-faces", "2", "--fpirs", "0.2,0.001", "--scoring", "euclidean"]
    args += ["-o", str(tmp_path / "t")]
    env = {**os.environ, "COLUMNS": "200"}
    out = subprocess.run(
        [sys.executable, "-m", "openlfr", "eval", "templates", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr
    assert "cannot be measured" in out.stdout and "ms per face" in out.stdout
    results = json.loads((tmp_path / "t" / "results.json").read_text())["results"]
    enrolment, enrol_side, enrol_side_fused, both_sides, both_sides_fused = results.values()
    assert [a["arm"] for a in enrolment][:4] == [
        "1 image (baseline)",
        "2 images, kept separately (max)",
        "2 images, fused (mean)",
        "2 images, fused + separate",
    ]
    assert {a["watchlist_size"] for a in enrolment} <= {7, 8} and {a["watchlist_size"] for a in both_sides} == {4}
    assert [a["arm"] for a in both_sides + both_sides_fused] == [
        "1 image, default core",
        "1 image, flip (enrolment and probes)",
        "3 images, fused, default core",
        "3 images, fused, flip (enrolment and probes)",
    ]
    assert {a["nonmated_probes"] for a in both_sides} == {6} and enrol_side[0]["nonmated_probes"] > 6
    assert enrol_side_fused[1]["fnir_change"]["0.2"]["low"] <= enrol_side_fused[1]["fnir_change"]["0.2"]["high"]
    for arm in (*enrolment, *enrol_side, *enrol_side_fused, *both_sides, *both_sides_fused):
        first, second = arm["at_target_fpir"]
        assert first["measurable"] and not second["measurable"]
        assert 0.0 <= first["fnir"]["value"] <= 1.0


def test_paired_difference_is_zero_for_the_same_searches_and_clear_for_a_real_gain() -> None:
    rng = np.random.default_rng(1)
    nonmated = rng.uniform(0.0, 1.0, 2000)
    weak = Searches(rng.uniform(0.5, 1.0, 300), np.ones(300, np.int64), nonmated)
    same = templates.paired_difference(weak, weak, 0.01, rounds=200)
    assert (same.value, same.low, same.high, same.clear) == (0.0, 0.0, 0.0, False)
    strong = Searches(weak.mated_mate_score + 0.3, weak.mated_mate_rank, nonmated)
    gain = templates.paired_difference(weak, strong, 0.01, rounds=200)
    assert gain.value < 0 and gain.clear and gain.low <= gain.value <= gain.high
    with pytest.raises(ValueError, match="cannot be measured"):
        templates.paired_difference(weak, strong, 1e-4)
    with pytest.raises(ValueError, match="same probes"):
        templates.paired_difference(weak, Searches(nonmated[:5], np.ones(5, np.int64), nonmated), 0.01)


def test_templates_command_scores_with_a_cohort_set_aside(shared_data: Path, tmp_path: Path, eval_cache: Path) -> None:
    manifest = small_manifest(shared_data, tmp_path / "small")
    args = ["--data", str(manifest), "--cache", str(eval_cache), "--variants", "", "--timing-faces", "1"]
    args += ["--fpirs", "0.2", "--scoring", "cosine,config", "-o", str(tmp_path / "t")]
    out = subprocess.run(
        [sys.executable, "-m", "openlfr", "eval", "templates", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=900,
    )
    assert out.returncode == 0, out.stderr
    results = json.loads((tmp_path / "t" / "results.json").read_text())["results"]
    cosine, config, together, one, fused = results.values()
    assert [a["arm"] for a in together] == [
        "1 image (baseline); cosine",
        "3 images, fused (mean); cosine",
        "1 image (baseline); config",
        "3 images, fused (mean); config",
    ]
    assert together[:2] != together[2:] and [together[0]["at_target_fpir"], together[2]["at_target_fpir"]] == [
        cosine[0]["at_target_fpir"],
        config[0]["at_target_fpir"],
    ]
    assert together[3]["fnir_change"]["0.2"]["low"] <= together[3]["fnir_change"]["0.2"]["high"]
    assert list(results)[3:] == ["Scorings compared, 1 image (baseline)", "Scorings compared, 3 images, fused (mean)"]
    assert [a["arm"] for a in one + fused] == [a["arm"] for a in together[::2] + together[1::2]]
    # the cohort (half the one-image identities) is never searched, under either scoring
    split = cohort_split(load_manifest(manifest), seed=0)
    singles, left_out = 20, 8 - together[0]["watchlist_size"]  # people of small_manifest not enrolled (5 images)
    assert 0 < len(split.cohort) < singles
    assert {a["nonmated_probes"] for a in (*cosine, *config, *together, *fused)} == {together[0]["nonmated_probes"]}
    assert 0 < together[0]["nonmated_probes"] <= singles - len(split.cohort) + 5 * left_out
    assert "cohort of" in (tmp_path / "t" / "report.html").read_text()
