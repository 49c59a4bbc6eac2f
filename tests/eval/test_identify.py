"""Open-set 1:N figures on score arrays with known answers; the three commands end to end on a few
real faces (LFW, FairFace, UTKFace) with a session cache shared by the eval tests."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from openlfr.eval.datasets import Sample, load
from openlfr.eval.identify import at_target, det_curve, measurable, measure, operating_point, rate, search_split
from openlfr.eval.protocol import OpenSetSplit, Searches, cohort_split, open_set_split


def searches(nonmated: list[float], mated: list[tuple[float, int]]) -> Searches:
    return Searches(
        np.array([s for s, _ in mated], dtype=np.float64),
        np.array([r for _, r in mated], dtype=np.int64),
        np.array(nonmated, dtype=np.float64),
    )


def test_operating_point_counts_alerts_and_misses() -> None:
    s = searches([0.1, 0.4, 0.6, 0.95], [(0.9, 1), (0.7, 1), (0.99, 2), (0.3, 1)])
    p = operating_point(s, 0.6)
    assert (p.fpir.k, p.fpir.n) == (2, 4)
    # the 0.99 mate is second (someone else scored higher): a miss, like the 0.3 one below threshold
    assert (p.fnir.k, p.fnir.n) == (2, 4)
    assert p.tpir == 0.5
    assert p.fpir.low < 0.5 < p.fpir.high


@pytest.mark.parametrize(
    ("target", "n", "expected"),
    [(1e-2, 100, True), (1e-2, 99, False), (1e-3, 1000, True), (1e-4, 9438, False), (0.5, 0, False)],
)
def test_a_target_below_one_probe_cannot_be_measured(target: float, n: int, expected: bool) -> None:
    assert measurable(target, n) is expected


def test_at_target_sets_the_threshold_on_the_non_mated_scores() -> None:
    top = np.linspace(0.0, 1.0, 1000, endpoint=False)  # distinct scores 0.000 .. 0.999
    s = Searches(np.array([0.9985, 0.99]), np.array([1, 1]), top)
    t = at_target(s, 1e-2)
    assert t.point is not None
    assert t.point.fpir.k == 10  # 0.990 .. 0.999 reach it, 0.989 does not
    assert 0.989 < t.point.threshold <= 0.990 + 1e-12
    assert t.point.fnir.k == 0
    assert at_target(s, 1e-4).point is None


def test_measure_reports_every_point_and_rank() -> None:
    s = searches([0.2] * 100, [(0.9, 1), (0.8, 3), (0.7, 12), (0.95, 30)])
    result = measure(s, 50, targets=(1e-1, 1e-3), thresholds=(0.5,), ranks=(1, 5, 20))
    assert [t.point is None for t in result.at_targets] == [False, True]
    assert {k: r.k for k, r in result.rank_hits.items()} == {1: 1, 5: 2, 20: 3}
    assert result.at_thresholds[0].fpir.k == 0 and result.at_thresholds[0].fnir.k == 3
    assert result.min_measurable_fpir == 0.01
    assert json.dumps(result.to_json())


def test_det_curve_is_monotone_and_exact() -> None:
    s = searches([0.1, 0.2, 0.3, 0.4], [(0.35, 1), (0.15, 1), (0.5, 2)])
    thresholds, fpir, fnir = det_curve(s)
    assert list(thresholds) == [0.4, 0.3, 0.2, 0.1]
    assert list(fpir) == [0.25, 0.5, 0.75, 1.0]
    assert np.allclose(fnir, [1.0, 2 / 3, 2 / 3, 1 / 3])


def test_rate_has_a_wilson_interval() -> None:
    r = rate(0, 100)
    assert r.value == 0 and r.low == 0 and 0.03 < r.high < 0.04
    assert rate(5, 10).overlaps(rate(6, 10)) and not rate(1, 100).overlaps(rate(90, 100))


def test_search_split_scores_unreadable_probes_as_failures() -> None:
    def sample(name: str, identity: str) -> Sample:
        return Sample(Path(f"/x/{name}.jpg"), identity, "set")

    centres = {"a": np.eye(4, dtype=np.float32)[0], "b": np.eye(4, dtype=np.float32)[1]}
    split = OpenSetSplit(
        gallery=[sample("a1", "a"), sample("b1", "b"), sample("c1", "c")],
        mated=[sample("a2", "a"), sample("a3", "a"), sample("c2", "c")],
        nonmated=[sample("d1", "d"), sample("e1", "e")],
    )
    templates = {
        Path("/x/a1.jpg"): centres["a"],
        Path("/x/b1.jpg"): centres["b"],
        Path("/x/c1.jpg"): None,  # unreadable enrolment image: c is left out with its probe
        Path("/x/a2.jpg"): centres["a"] + 0.01,
        Path("/x/a3.jpg"): None,  # unreadable mated probe: a miss
        Path("/x/d1.jpg"): centres["b"] + 0.02,
        Path("/x/e1.jpg"): None,  # unreadable non-mated probe: no alert
    }
    found = search_split(split, templates)
    assert found.unenrollable == 1 and found.unreadable_probes == 2
    assert [m.path.stem for m in found.split.mated] == ["a2", "a3"]
    s = found.searches
    assert list(s.mated_mate_rank) == [1, 3] and s.mated_mate_score[0] > 0.99 and s.mated_mate_score[1] == 0
    assert s.nonmated_top[0] > 0.99 and s.nonmated_top[1] == 0

    # images left out (no face detected): a probe is dropped, an enrolment image takes its identity along
    fewer = search_split(split, templates, left_out={Path("/x/d1.jpg"), Path("/x/a1.jpg")})
    assert [g.identity for g in fewer.split.gallery] == ["b"] and fewer.split.mated == []
    assert [p.path.stem for p in fewer.split.nonmated] == ["e1"]
    assert fewer.left_out == 2 and fewer.unenrollable == 1 and fewer.unreadable_probes == 1


# -- the commands, end to end on a few real faces -------------------------------------------------------


def small_manifest(shared: Path, folder: Path) -> Path:
    """12 LFW people with several images, 15 with one, 40 FairFace and 20 UTKFace faces, as one CSV."""
    samples = load(["lfw", "fairface", "utkface"], shared)
    lfw = [s for s in samples if s.dataset == "lfw"]
    counts: dict[str, int] = {}
    for s in lfw:
        counts[s.identity] = counts.get(s.identity, 0) + 1
    multi = sorted(i for i, c in counts.items() if c >= 2)[:12]
    single = sorted(i for i, c in counts.items() if c == 1)[:15]
    chosen = [s for s in lfw if s.identity in set(multi) | set(single)]
    chosen += [s for s in samples if s.dataset == "fairface"][:40] + [s for s in samples if s.dataset == "utkface"][:20]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "manifest.csv"
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["path", "identity", "sex", "race", "age_band"])
        for s in chosen:
            out.writerow([s.path, s.identity, s.sex or "", s.race or "", s.age_band or ""])
    return path


def test_identify_demographics_and_threshold_commands(shared_data: Path, tmp_path: Path, eval_cache: Path) -> None:
    manifest = small_manifest(shared_data, tmp_path / "mixed")
    common = ["--data", str(manifest), "--cache", str(eval_cache), "--seed", "3"]

    def lfr(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "COLUMNS": "200"}
        return subprocess.run(
            [sys.executable, "-m", "openlfr", "eval", *args], capture_output=True, text=True, env=env, timeout=900
        )

    args = ["--sizes", "4,12", "--fpirs", "0.1,0.0001", "--keep-fallbacks"]
    out = lfr("identify", *common, *args, "-o", str(tmp_path / "i"))
    assert out.returncode == 0, out.stderr
    assert "cannot be measured" in out.stdout and "Watchlist of 12" in out.stdout
    sizes = json.loads((tmp_path / "i" / "results.json").read_text())["results"]["sizes"]
    assert [s["watchlist_size"] for s in sizes] == [4, 12]
    assert [t["measurable"] for t in sizes[1]["at_target_fpir"]] == [True, False]
    assert sizes[1]["nonmated_probes"] == 15 + 40 + 20  # images with no face found kept: all of them

    normalised = ["--normalisation", "zt", "--cohort-top-k", "5", "--fair-clusters", "2"]
    out = lfr("identify", *common, *args, *normalised, "-o", str(tmp_path / "n"))
    assert out.returncode == 0, out.stderr
    assert "Normalisation zt (cohort top 5, fair 2 clusters" in " ".join(out.stdout.split())
    sizes = json.loads((tmp_path / "n" / "results.json").read_text())["results"]["sizes"]
    assert sizes[1]["nonmated_probes"] < 15 + 40 + 20, "the cohort half is never searched"

    out = lfr("demographics", *common, "--watchlist-size", "12", "--pairs", "50", "-o", str(tmp_path / "d"))
    assert out.returncode == 0, out.stderr
    found = json.loads((tmp_path / "d" / "results.json").read_text())["results"]["disparities"]
    assert {(d["measure"], d["family"]) for d in found} >= {("FPIR", "mixed race"), ("FMR", "mixed race")}
    assert "<img" in (tmp_path / "d" / "report.html").read_text()

    args = ["--watchlist-size", "12", "--faces-per-deployment", "100", "--max-false-alerts", "5"]
    out = lfr("threshold", *common, *args, "-o", str(tmp_path / "t"))
    assert out.returncode == 0, out.stderr
    advice = json.loads((tmp_path / "t" / "results.json").read_text())["results"]["advice"]
    assert advice["target_fpir"] == 0.05 and advice["measurable"]
    low, high = advice["alerts_prediction_interval"]
    assert low <= advice["alerts_expected"] <= high

    out = lfr("threshold", *common, "--watchlist-size", "500", "--faces-per-deployment", "10", "-o", str(tmp_path))
    assert out.returncode == 1 and "cannot build a watchlist of 500" in out.stderr


def test_the_cohort_is_half_the_one_image_identities_and_never_searched() -> None:
    samples = [Sample(Path(f"lfw/m{i}_{j}.jpg"), f"m{i}", "lfw") for i in range(20) for j in range(2)]
    samples += [Sample(Path(f"lfw/s{i}.jpg"), f"s{i}", "lfw") for i in range(200)]
    samples += [Sample(Path(f"ff/{i}.jpg"), f"ff{i}", "fairface") for i in range(400)]
    split = cohort_split(samples, seed=0)
    cohort = {s.path for s in split.cohort}
    assert all(s.identity.startswith(("s", "ff")) for s in split.cohort), "never a watchlist candidate"
    assert 0.4 < len(cohort) / 600 < 0.6 and len(cohort) + len(split.rest) == len(samples)
    for size in (5, 20):
        found = open_set_split(split.rest, size, 0)
        searched = {s.path for s in [*found.gallery, *found.mated, *found.nonmated]}
        assert not searched & cohort
    # stable: the same identities whatever else is in the data
    assert {s.path for s in cohort_split(samples[40:], seed=0).cohort} == cohort
    assert {s.path for s in cohort_split(samples, seed=1).cohort} != cohort


@pytest.mark.parametrize("n", [1, 7, 540, 12_046])
def test_rate_bounds_are_exact_at_zero_and_all(n: int) -> None:
    assert rate(0, n).low == 0.0 and rate(n, n).high == 1.0
