"""A watchlist normalised against a cohort and calibrated keeps both through the store: the live run
searches it exactly as the watchlist file would, and is not refused as uncalibrated."""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from deploying import governed
from match.test_second import fused_analyzer
from openlfr.analysis import FaceAnalyzer
from openlfr.config import CameraConfig, ScoringConfig
from openlfr.deploy.lifecycle import Deployments
from openlfr.deploy.views import DeploymentView
from openlfr.errors import FusionNotStoredError
from openlfr.match import matcher
from openlfr.match.calibrate import apply, calibrate, normalise
from openlfr.match.cohort import Cohort
from openlfr.match.enrol import enrol
from openlfr.match.sources import from_csv
from openlfr.match.watchlist import Watchlist
from openlfr.store.db import Store
from openlfr.store.models import Deployment


@pytest.fixture(scope="module")
def cohort(shared_data: Path, analyzer: FaceAnalyzer) -> Cohort:
    """80 FairFace faces: people on no watchlist."""
    root = shared_data / "fairface_val"
    vectors, hashes = [], []
    for row in list(csv.DictReader((root / "manifest.csv").open()))[:130]:
        path = root / row["path"]
        faces = analyzer.analyze(analyzer.load(path))
        if faces and len(vectors) < 80:
            vectors.append(faces[0].template.vector)
            hashes.append(hashlib.sha256(path.read_bytes()).hexdigest())
    return Cohort(np.stack(vectors), analyzer.embedder.identity, "FairFace val, 80", datetime.now(UTC), tuple(hashes))


def _draft(service: Deployments, name: str, demo: Path) -> DeploymentView:
    """A draft deployment whose one camera is the demo clip."""
    now = datetime.now(UTC)
    return service.create(
        name=name,
        location_name="test",
        purpose="test",
        legal_basis="test",
        planned_start=now,
        planned_end=now.replace(year=now.year + 1),
        cameras=[CameraConfig(id="cam", source=str(demo / "video" / "walkthrough.mp4"))],
        created_by="a",
    )


def test_a_calibrated_normalised_watchlist_runs_from_the_store_as_from_its_file(
    store: Store, cohort: Cohort, demo_watchlist: Watchlist, demo: Path, analyzer: FaceAnalyzer
) -> None:
    normalised = normalise(governed(demo_watchlist), cohort, ScoringConfig(method="zt", top_k=20, fair_clusters=3))
    calibrated = apply(normalised, calibrate(normalised, cohort, target_fpir=0.05))
    assert calibrated.calibration_problem() is None
    service = Deployments(store)
    dep = _draft(service, "normalised", demo)
    service.set_watchlist(dep.id, calibrated, "a")
    service.set_threshold(dep.id, "a")  # the calibrated threshold
    service.authorise(dep.id, "b")
    service.start(dep.id, "c")
    with store.session() as s:
        blob = s.scalars(select(Deployment.scoring_enc).where(Deployment.id == dep.id)).one()
    assert blob is not None and cohort.vectors[0].tobytes()[:32] not in blob, "the cohort is stored encrypted"

    rebuilt = service.watchlist(dep.id)
    assert rebuilt.calibration_problem() is None, "the live run would not refuse it"
    assert rebuilt.threshold == calibrated.threshold
    faces = analyzer.analyze(analyzer.load(demo / "probes" / "obama_congress_2009.jpg"))
    probes = np.stack([f.template.vector for f in faces])
    as_file = [[(m.subject_id, round(m.score, 9)) for m in r] for r in matcher.search(calibrated, probes, k=2)]
    as_stored = [[(m.subject_id, round(m.score, 9)) for m in r] for r in matcher.search(rebuilt, probes, k=2)]
    assert as_file == as_stored
    assert any(r and r[0][0] == "obama" for r in as_stored)

    service.end(dep.id, "c")
    with store.session() as s:
        assert s.scalars(select(Deployment.scoring_enc).where(Deployment.id == dep.id)).one() is None


def test_a_fused_watchlist_is_refused_by_a_stored_deployment(
    sqlite_store: Store, analyzer: FaceAnalyzer, demo: Path, tmp_path: Path
) -> None:
    """Stored deployments do not carry a second embedder yet: importing one is refused, never half-stored."""
    fused, _ = enrol(from_csv(demo / "watchlist.csv"), fused_analyzer(analyzer, tmp_path), name="fused")
    service = Deployments(sqlite_store)
    dep = _draft(service, "fused", demo)
    with pytest.raises(FusionNotStoredError, match=r"fuses the scores of a second embedder \(tiny@.*not support yet"):
        service.set_watchlist(dep.id, governed(fused), "a")
    assert service.get(dep.id).entries == ()
