"""A watchlist uploaded through the API and calibrated against a cohort the server offers: the
deployment's threshold is then the calibrated one; an unknown or path-like cohort name, or a cohort file
signed with another key, stores nothing."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from openlfr.analysis import FaceAnalyzer
from openlfr.auth.roles import Role
from openlfr.config import StoreConfig
from openlfr.match.cohort import build_cohort
from openlfr.match.signing import FileSigning, SigningKey
from openlfr.store.db import Store
from serving import ServedApp, serve

from .conftest import api_settings

MANIFEST = (
    "subject_id,display_name,category,reason,image_source,expires,image\n"
    "obama,Barack Obama,wanted,warrant W-1 (test),portrait (test),{exp},obama.jpg\n"
    "biden,Joe Biden,wanted,warrant W-2 (test),portrait (test),{exp},biden.jpg\n"
)


@pytest.fixture
def offering(tmp_path: Path, sqlite_store: Store, shared_data: Path, analyzer: FaceAnalyzer) -> Iterator[ServedApp]:
    """A server whose cohort_dir offers one cohort: 150 FairFace faces (people on no watchlist here)."""
    fairface = shared_data / "fairface_val"
    rows = list(csv.DictReader((fairface / "manifest.csv").open()))[:150]
    cohort, _ = build_cohort([fairface / r["path"] for r in rows], analyzer, "FairFace val, first 150 (test)")
    cohorts = tmp_path / "cohorts"
    cohorts.mkdir()
    cohort.save(cohorts / "fairface150.lfrc")
    cohort.save(cohorts / "elsewhere.lfrc", FileSigning(SigningKey.generate()))  # another site's key
    settings = api_settings(StoreConfig(data_dir=tmp_path / "data", dev_mode=True), cohort_dir=cohorts)
    with serve(settings, sqlite_store) as served:
        yield served


def test_an_upload_calibrated_against_a_server_cohort(offering: ServedApp, demo: Path) -> None:
    offering.add_user("sup.one", Role.SUPERVISOR)
    c = offering.client("sup.one")
    now = datetime.now(UTC)
    r = c.post(
        "/api/v1/deployments",
        json={
            "name": "calibrated (test)",
            "location_name": "test",
            "purpose": "test",
            "legal_basis": "test basis",
            "planned_start": now.isoformat(),
            "planned_end": (now + timedelta(hours=1)).isoformat(),
            "cameras": [{"id": "cam-1", "source": "rtsp://127.0.0.1:9/none"}],
        },
    )
    dep = r.json()["id"]
    manifest = MANIFEST.format(exp=(date.today() + timedelta(days=30)).isoformat()).encode()
    files = [
        ("manifest", ("m.csv", manifest, "text/csv")),
        ("images", ("obama.jpg", (demo / "watchlist" / "obama.jpg").read_bytes(), "image/jpeg")),
        ("images", ("biden.jpg", (demo / "watchlist" / "biden.jpg").read_bytes(), "image/jpeg")),
    ]
    url = f"/api/v1/deployments/{dep}/watchlist"
    for bad in ("nope.lfrc", "../cohorts/fairface150.lfrc"):
        r = c.post(url, files=files, data={"cohort": bad, "fpir": "0.05"})
        assert r.status_code == 422 and r.json()["error"] == "upload_refused", r.text
        assert "fairface150.lfrc" in r.json()["message"], "the refusal names what is offered"
    r = c.post(url, files=files, data={"cohort": "elsewhere.lfrc", "fpir": "0.05"})
    assert r.status_code == 422 and r.json()["error"] == "file_signature", r.text
    assert "this machine holds key" in r.json()["message"]
    assert c.get(f"/api/v1/deployments/{dep}").json()["entries"] == [], "a refused calibration stores nothing"

    r = c.post(url, files=files, data={"cohort": "fairface150.lfrc", "fpir": "0.05"})
    assert r.status_code == 200, r.text
    assert r.json()["calibrated"] is True and 0.0 < r.json()["threshold"] < 1.0
    view = c.get(f"/api/v1/deployments/{dep}").json()
    assert view["threshold_source"] == "calibrated" and len(view["entries"]) == 2
