"""1:N search over a watchlist: distinct subjects, best template each, the watchlist's threshold, no expired entry."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from openlfr.match import matcher
from openlfr.match.index import ExactIndex
from openlfr.match.watchlist import Manifest, Subject, TemplateRecord, Watchlist
from openlfr.types import Category


def _watchlist(vectors: dict[str, list[np.ndarray]], threshold: float = 0.5, expired: str | None = None) -> Watchlist:
    subjects, records, rows = [], [], []
    for sid, vecs in vectors.items():
        expires = date(2000, 1, 1) if sid == expired else None
        subjects.append(Subject(subject_id=sid, display_name=sid.upper(), category=Category.WANTED, expires=expires))
        for i, v in enumerate(vecs):
            records.append(
                TemplateRecord(
                    template_id=f"{sid}-{i + 1}",
                    subject_id=sid,
                    image=f"{sid}{i}.jpg",
                    image_sha256="0",
                    box=(0, 0, 1, 1),
                    quality_score=1.0,
                    eye_distance_px=40.0,
                    sharpness=100.0,
                )
            )
            rows.append(v)
    manifest = Manifest(
        name="t",
        created_at=datetime.now(UTC),
        embedder="e@1",
        dimension=rows[0].shape[0],
        threshold=threshold,
        threshold_source="test",
        subjects=subjects,
        templates=records,
    )
    return Watchlist(manifest=manifest, vectors=np.stack(rows).astype(np.float32))


def _unit(i: int, dim: int = 8, scale: float = 1.0) -> np.ndarray:
    v = np.zeros(dim, np.float32)
    v[i] = scale
    return v


def test_candidates_are_distinct_subjects_ranked_by_their_best_template() -> None:
    wl = _watchlist(
        {
            "a": [_unit(0), _unit(1)],  # a's second template is the nearest to the probe
            "b": [_unit(1, scale=0.7) + _unit(2, scale=0.3)],
            "c": [_unit(3)],
        }
    )
    probe = _unit(1)
    [cands] = matcher.search(wl, probe[None, :], k=3)
    assert [c.subject_id for c in cands] == ["a", "b", "c"]
    assert cands[0].template_id == "a-2"
    assert cands[0].distance == pytest.approx(0.0, abs=1e-3)
    assert [c.rank for c in cands] == [1, 2, 3]
    assert cands[0].score > cands[1].score > cands[2].score
    assert cands[0].is_match and not cands[2].is_match


def test_k_limits_subjects_not_templates() -> None:
    wl = _watchlist({"a": [_unit(0), _unit(0, scale=0.99), _unit(0, scale=0.98)], "b": [_unit(0, scale=0.9)]})
    [cands] = matcher.search(wl, _unit(0)[None, :], k=2)
    assert [c.subject_id for c in cands] == ["a", "b"]


def test_decision_uses_the_watchlists_threshold() -> None:
    probe = _unit(0) * 0.0 + _unit(0, scale=0.45)  # distance 0.55 from a
    strict = _watchlist({"a": [_unit(0)]}, threshold=0.99)
    lenient = _watchlist({"a": [_unit(0)]}, threshold=0.1)
    assert matcher.best_match(matcher.search(strict, probe[None, :])[0]) is None
    found = matcher.best_match(matcher.search(lenient, probe[None, :])[0])
    assert found is not None and found.threshold == 0.1


def test_expired_subjects_are_never_candidates() -> None:
    wl = _watchlist({"a": [_unit(0)], "b": [_unit(1)]}, expired="a")
    [cands] = matcher.search(wl, _unit(0)[None, :], k=5)
    assert [c.subject_id for c in cands] == ["b"]


def test_several_probes_at_once_equal_one_at_a_time() -> None:
    rng = np.random.default_rng(1)

    def template() -> np.ndarray:  # a template has a face embedding's length (Watchlist refuses others)
        v = rng.normal(size=16)
        return v / np.linalg.norm(v)

    wl = _watchlist({f"s{i}": [template() for _ in range(1 + i % 3)] for i in range(40)})
    probes = rng.normal(size=(5, 16)).astype(np.float32)
    together = matcher.search(wl, probes, k=4)
    for p, row in enumerate(probes):
        alone = matcher.search(wl, row[None, :], k=4)[0]
        assert [c.template_id for c in together[p]] == [c.template_id for c in alone]
        np.testing.assert_allclose([c.distance for c in together[p]], [c.distance for c in alone], rtol=1e-5)


def test_exact_index_returns_sorted_nearest() -> None:
    rng = np.random.default_rng(2)
    gallery = rng.normal(size=(100, 12)).astype(np.float32)
    query = rng.normal(size=(3, 12)).astype(np.float32)
    dist, idx = ExactIndex(gallery).search(query, 5)
    full = np.linalg.norm(query[:, None] - gallery[None], axis=2)
    np.testing.assert_array_equal(idx, np.argsort(full, axis=1)[:, :5])
    assert np.all(np.diff(dist, axis=1) >= 0)
    assert ExactIndex(gallery).search(query, 500)[0].shape == (3, 100)
