"""Error rates by group on synthetic scores and templates with known answers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from openlfr.eval.datasets import Sample
from openlfr.eval.demographics import (
    Disparity,
    GroupRate,
    families,
    fnir_by_group,
    fpir_by_group,
    group_rates,
    impostor_pairs,
    two_proportion_p,
    within_group_fmr,
)
from openlfr.eval.identify import rate


def test_two_proportion_test() -> None:
    # 50/100 against 30/100: pooled 0.4, se sqrt(0.24 * 0.02), z = 2.887, p = 0.0039
    assert two_proportion_p(rate(50, 100), rate(30, 100)) == pytest.approx(0.003892, abs=1e-5)
    assert two_proportion_p(rate(3, 10), rate(30, 100)) == pytest.approx(1.0)
    assert two_proportion_p(rate(0, 10), rate(0, 10)) == 1.0
    assert math.isnan(two_proportion_p(rate(0, 0), rate(1, 10)))


def test_disparity_ratio_floor_and_significance() -> None:
    d = Disparity(
        "set race",
        "FPIR",
        0.9,
        [GroupRate("a", rate(50, 1000)), GroupRate("b", rate(5, 1000)), GroupRate("c", rate(0, 1000))],
    )
    assert d.highest.group == "a" and d.lowest.group == "c"
    assert d.ratio is None  # the lowest is 0 of 1,000
    assert d.ratio_floor == pytest.approx(0.05 / rate(0, 1000).high)
    # b [0.21%, 1.17%] and c [0, 0.38%] overlap: not a significant difference
    assert d.significant == [("a", "b"), ("a", "c")]
    assert d.p_value < 1e-10
    d2 = Disparity("set sex", "FNIR", 0.9, [GroupRate("f", rate(30, 100)), GroupRate("m", rate(10, 100))])
    assert d2.ratio == pytest.approx(3.0)
    assert d2.to_json()["significant_pairs"] == [("f", "m")]


def test_families_are_per_set_and_need_two_groups() -> None:
    def s(dataset: str, sex: str | None, race: str | None = None, age: str | None = None) -> Sample:
        return Sample(Path("x.jpg"), "i", dataset, sex, race, age)

    samples = [s("lfw", "male"), s("lfw", "female"), s("ff", "male", "Black", "20-29"), s("ff", "female", "White")]
    fams = families(samples)
    assert set(fams) == {"lfw sex", "ff sex", "ff race", "ff sex_race"}  # ff has one age band only
    assert fams["lfw sex"] == ["male", "female", None, None]
    assert fams["ff sex_race"] == [None, None, "male Black", "female White"]


def test_group_rates_ignore_unlabelled_probes() -> None:
    events = np.array([True, False, True, True, False])
    groups = group_rates(events, ["x", "x", None, "y", "y"])
    assert [(g.group, g.rate.k, g.rate.n) for g in groups] == [("x", 1, 2), ("y", 1, 2)]
    assert group_rates(events, ["x", "x", None, "y", "y"], min_n=3) == []


def test_fpir_and_fnir_by_group() -> None:
    top = np.array([0.95, 0.2, 0.3, 0.99, 0.97, 0.1])
    fams = {"s race": ["a", "a", "a", "b", "b", "b"]}
    found = fpir_by_group(top, fams, [0.9, 0.98])
    assert [(d.threshold, [(g.group, g.rate.k) for g in d.groups]) for d in found] == [
        (0.9, [("a", 1), ("b", 2)]),
        (0.98, [("a", 0), ("b", 1)]),
    ]
    score, rank = np.array([0.95, 0.99, 0.5, 0.99]), np.array([1, 2, 1, 1])
    (miss,) = fnir_by_group(score, rank, {"s sex": ["f", "f", "m", "m"]}, [0.9])
    assert [(g.group, g.rate.k, g.rate.n) for g in miss.groups] == [("f", 1, 2), ("m", 1, 2)]


def test_impostor_pairs_all_or_a_seeded_sample() -> None:
    i, j = impostor_pairs(5, 100, np.random.default_rng(0))
    assert len(i) == 10 and np.all(i < j)
    i, j = impostor_pairs(300, 2000, np.random.default_rng(1))
    assert len(i) == 2000 and np.all(i < j) and np.all(j < 300)
    assert len(set(zip(i.tolist(), j.tolist(), strict=True))) == 2000
    i2, _ = impostor_pairs(300, 2000, np.random.default_rng(1))
    assert np.array_equal(i, i2)
    # nearly every pair asked for: still distinct
    i, j = impostor_pairs(50, 1200, np.random.default_rng(2))
    assert len(set(zip(i.tolist(), j.tolist(), strict=True))) == 1200


def test_within_group_fmr() -> None:
    rng = np.random.default_rng(0)
    alike = rng.normal(0, 0.005, (20, 128)).astype(np.float32)  # distance ~0.1: similarity ~1
    apart = (np.eye(128, dtype=np.float32) * 5)[:20]  # distance ~7: similarity ~0
    vectors = np.concatenate([alike, apart])
    identities = [f"p{k}" for k in range(40)]
    identities[1] = identities[0]  # a mated pair inside group A: not an impostor pair
    fams = {"set race": ["A"] * 20 + ["B"] * 20}
    (d,) = within_group_fmr(vectors, identities, fams, [0.5], max_pairs=1000, seed=0)
    a, b = d.groups
    assert (a.group, a.rate.k, a.rate.n) == ("A", 189, 189)  # all 190 pairs but the mated one
    assert (b.group, b.rate.k, b.rate.n) == ("B", 0, 190)
    (capped,) = within_group_fmr(vectors, identities, fams, [0.5], max_pairs=50, seed=0)
    assert [g.rate.n for g in capped.groups][1] == 50
    assert d.ratio is None and d.significant == [("A", "B")]


def test_equal_rates_still_name_two_groups_and_the_ratio_range() -> None:
    d = Disparity("set sex", "FMR", 0.9, [GroupRate("f", rate(0, 500)), GroupRate("m", rate(0, 600))])
    assert (d.highest.group, d.lowest.group) == ("f", "m")
    assert d.ratio is None and d.highest.rate.k == 0
    d2 = Disparity("set sex", "FMR", 0.9, [GroupRate("f", rate(40, 1000)), GroupRate("m", rate(10, 1000))])
    low, high = d2.ratio_range
    assert d2.ratio == pytest.approx(4.0) and low < 4.0 < high
    assert low == pytest.approx(rate(40, 1000).low / rate(10, 1000).high)
