"""The deployment lifecycle on a real store (SQLite and PostgreSQL) with real faces: what it refuses,
with which message, and what ending a deployment destroys and keeps."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps
from sqlalchemy import func, select

from deploying import JUSTIFICATION, governed
from openlfr.analysis import FaceAnalyzer
from openlfr.config import CameraConfig
from openlfr.deploy.lifecycle import Deployments
from openlfr.deploy.views import DeploymentView
from openlfr.errors import DeploymentError, DeploymentNotReadyError, DeploymentStateError
from openlfr.match.calibrate import apply, calibrate
from openlfr.match.cohort import build_cohort
from openlfr.match.watchlist import Watchlist
from openlfr.status import DeploymentStatus
from openlfr.store.audit import verify
from openlfr.store.db import Store, sqlite_path
from openlfr.store.models import AuditEntry, EntryTemplate, WatchlistEntry

CAMERA = CameraConfig(id="cam-1", source="clip.mp4")


def with_subject(watchlist: Watchlist, subject_id: str, **changes: object) -> Watchlist:
    subjects = [s.model_copy(update=changes) if s.subject_id == subject_id else s for s in watchlist.manifest.subjects]
    return replace(watchlist, manifest=watchlist.manifest.model_copy(update={"subjects": subjects}))


def draft(service: Deployments, creator: str = "sgt.creator") -> DeploymentView:
    now = datetime.now(UTC)
    return service.create(
        name="Stratford (test)",
        location_name="Stratford Centre",
        latitude=51.5416,
        longitude=-0.0034,
        purpose="locate people wanted on warrant",
        legal_basis="common law policing powers; force LFR policy v3",
        planned_start=now - timedelta(minutes=1),
        planned_end=now + timedelta(hours=4),
        cameras=[CAMERA],
        created_by=creator,
    )


def ready(service: Deployments, watchlist: Watchlist, under_18: dict[str, str] | None = None) -> DeploymentView:
    """A deployment with ``watchlist``, a hand-set threshold, authorised (not yet started)."""
    dep = draft(service)
    service.set_watchlist(dep.id, watchlist, "sgt.creator", under_18=under_18)
    service.set_threshold(dep.id, "sgt.creator", value=0.6, justification=JUSTIFICATION)
    return service.authorise(dep.id, "supt.authoriser")


def test_lifecycle_round_trip_and_end_destroys_templates_and_faces(store: Store, demo_watchlist: Watchlist) -> None:
    service = Deployments(store)
    wl = governed(demo_watchlist)
    dep = ready(service, wl)
    assert dep.status is DeploymentStatus.AUTHORISED and dep.authorised_by == "supt.authoriser"
    live = service.start(dep.id, "insp.operator")
    assert live.status is DeploymentStatus.LIVE and live.started_at is not None

    rebuilt = service.watchlist(dep.id)
    assert rebuilt.threshold == 0.6 and rebuilt.embedder == wl.embedder
    assert rebuilt.manifest.calibration is None  # a hand-set threshold is not a calibrated one
    assert [s.subject_id for s in rebuilt.manifest.subjects] == [s.subject_id for s in wl.manifest.subjects]
    assert np.array_equal(rebuilt.vectors, wl.vectors)
    assert rebuilt.faces == wl.faces
    with store.session() as s:  # at rest, neither the vectors nor the faces appear in clear
        stored = list(s.scalars(select(EntryTemplate)))
    assert len(stored) == len(wl.manifest.templates)
    for row in stored:
        assert wl.faces[row.template_id][:64] not in (row.face_jpeg_enc or b"")
        assert row.vector_enc.find(wl.vectors[0].tobytes()[:32]) == -1

    ended = service.end(dep.id, "insp.operator")
    assert ended.status is DeploymentStatus.ENDED and ended.watchlist_destroyed_at is not None
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(EntryTemplate)) == 0
        entries = list(s.scalars(select(WatchlistEntry).order_by(WatchlistEntry.position)))
    assert [e.subject_id for e in entries] == ["obama", "biden"]
    assert all(e.display_name is None for e in entries)
    assert [e.reason for e in entries] == [s.reason for s in wl.manifest.subjects]
    assert {e.category for e in entries} == {"wanted"}
    with pytest.raises(DeploymentStateError, match="is ended"):
        service.watchlist(dep.id)

    closed = service.close(dep.id, "insp.operator")
    assert closed.status is DeploymentStatus.CLOSED
    with pytest.raises(DeploymentStateError, match=r"is closed and cannot end.*nothing about it can change"):
        service.end(dep.id, "insp.operator")
    with store.session() as s:
        assert verify(s).ok
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.deployment_id == dep.id)))
    assert actions == [
        "deployment.created",
        "watchlist.changed",
        "threshold.set",
        "deployment.authorised",
        "deployment.started",
        "deployment.ended",
        "watchlist.destroyed",
        "deployment.closed",
    ]


def test_an_entry_without_a_reason_stops_start_naming_it(store: Store, demo_watchlist: Watchlist) -> None:
    service = Deployments(store)
    dep = ready(service, with_subject(governed(demo_watchlist), "biden", reason="", image_source=""))
    with pytest.raises(DeploymentNotReadyError) as caught:
        service.start(dep.id, "insp.operator")
    assert str(caught.value) == (
        f"deployment {dep.id} cannot go live: watchlist entry 'biden' has no reason or image source"
    )
    assert service.get(dep.id).status is DeploymentStatus.AUTHORISED


def test_expired_and_expiry_less_entries_are_refused(store: Store, demo_watchlist: Watchlist) -> None:
    service = Deployments(store)
    wl = with_subject(governed(demo_watchlist), "obama", expires=date(2020, 1, 31))
    dep = ready(service, with_subject(wl, "biden", expires=None))
    expected = "'obama' expired on 2020-01-31; watchlist entry 'biden' has no expiry"
    with pytest.raises(DeploymentNotReadyError, match=expected):
        service.start(dep.id, "insp.operator")


def test_an_under_18_entry_needs_a_justification(store: Store, demo_watchlist: Watchlist) -> None:
    service = Deployments(store)
    wl = governed(demo_watchlist)
    refused = ready(service, wl, under_18={"biden": ""})
    with pytest.raises(DeploymentNotReadyError, match="'biden' is under 18 and has no justification"):
        service.start(refused.id, "insp.operator")
    justified = ready(service, wl, under_18={"biden": "missing child at risk of serious harm (test)"})
    assert service.start(justified.id, "insp.operator").status is DeploymentStatus.LIVE
    entry = next(e for e in service.get(justified.id).entries if e.subject_id == "biden")
    assert entry.under_18 and entry.under_18_justification.startswith("missing child")
    with pytest.raises(DeploymentError, match="not on watchlist 'demo': carol"):
        service.set_watchlist(draft(service).id, wl, "sgt.creator", under_18={"carol": "x"})


def test_state_rules_and_separation_of_duties(store: Store, demo_watchlist: Watchlist) -> None:
    service = Deployments(store)
    dep = draft(service)
    with pytest.raises(DeploymentStateError, match=r"is draft and cannot go live.*needs authorisation"):
        service.start(dep.id, "insp.operator")
    with pytest.raises(DeploymentError, match=r"created by sgt\.creator; it must be authorised by another officer"):
        service.authorise(dep.id, "sgt.creator")
    service.authorise(dep.id, "supt.authoriser")
    with pytest.raises(DeploymentNotReadyError, match=r"no threshold.*no watchlist"):
        service.start(dep.id, "insp.operator")
    # a change after authorisation withdraws it: what was authorised is not what would run
    changed = service.set_watchlist(dep.id, governed(demo_watchlist), "sgt.creator")
    assert changed.status is DeploymentStatus.DRAFT and changed.authorised_by is None
    with pytest.raises(DeploymentStateError, match="is draft and cannot be closed"):
        service.close(dep.id, "x")
    with pytest.raises(DeploymentError, match="no deployment 'nope'"):
        service.get("nope")


def test_threshold_by_hand_needs_a_justification(store: Store, demo_watchlist: Watchlist) -> None:
    service = Deployments(store)
    dep = draft(service)
    with pytest.raises(DeploymentError, match="justification of at least 20 characters \\(got 8\\)"):
        service.set_threshold(dep.id, "sgt.creator", value=0.6, justification="feels ok")
    with pytest.raises(DeploymentError, match="no watchlist to take a calibrated threshold from"):
        service.set_threshold(dep.id, "sgt.creator")
    service.set_watchlist(dep.id, governed(demo_watchlist), "sgt.creator")
    with pytest.raises(DeploymentError, match="was not calibrated"):
        service.set_threshold(dep.id, "sgt.creator")
    set_ = service.set_threshold(dep.id, "sgt.creator", value=0.62, justification=JUSTIFICATION)
    assert (set_.threshold, set_.threshold_source, set_.threshold_justification) == (0.62, "manual", JUSTIFICATION)


def test_calibrated_threshold_comes_from_the_watchlist(
    store: Store, demo_watchlist: Watchlist, analyzer: FaceAnalyzer, demo: Path, tmp_path: Path
) -> None:
    # a real cohort: the one face in the demo probes that is on no watchlist, and its mirror image (two
    # faces: a cohort of one cannot measure an FPIR of 0.5)
    stranger = demo / "probes" / "eileen_collins_nasa.jpg"
    mirrored = tmp_path / "mirrored.jpg"
    ImageOps.mirror(Image.open(stranger)).save(mirrored, quality=95)
    cohort, _ = build_cohort([stranger, mirrored], analyzer, "demo stranger")
    calibration = calibrate(demo_watchlist, cohort, 0.5)
    service = Deployments(store)
    dep = draft(service)
    service.set_watchlist(dep.id, governed(apply(demo_watchlist, calibration)), "sgt.creator")
    set_ = service.set_threshold(dep.id, "sgt.creator")
    assert (set_.threshold, set_.threshold_source) == (calibration.threshold, "calibrated")
    # a new watchlist voids a calibrated threshold: it was measured on the old one
    assert service.set_watchlist(dep.id, governed(demo_watchlist), "sgt.creator").threshold is None
    service.set_watchlist(dep.id, governed(apply(demo_watchlist, calibration)), "sgt.creator")
    service.set_threshold(dep.id, "sgt.creator")
    service.authorise(dep.id, "supt.authoriser")
    service.start(dep.id, "insp.operator")
    live = service.watchlist(dep.id)
    assert live.threshold == calibration.threshold and live.manifest.calibration == calibration


def test_creation_checks_its_facts(store: Store) -> None:
    service = Deployments(store)
    now = datetime.now(UTC)
    create = partial(
        service.create, name="n", location_name="l", purpose="p", legal_basis="b", cameras=[CAMERA], created_by="sgt"
    )
    with pytest.raises(DeploymentError, match="must come after its start"):
        create(planned_start=now, planned_end=now)
    with pytest.raises(DeploymentError, match="needs a time zone"):
        create(planned_start=datetime(2030, 1, 1), planned_end=now)
    with pytest.raises(DeploymentError, match="both latitude and longitude"):
        create(planned_start=now, planned_end=now + timedelta(hours=1), latitude=51.0)
    with pytest.raises(DeploymentError, match="at least one camera"):
        service.create(
            name="n",
            location_name="l",
            purpose="p",
            legal_basis="b",
            planned_start=now,
            planned_end=now + timedelta(hours=1),
            cameras=[],
            created_by="sgt",
        )
    assert service.list_deployments() == []


def test_ending_leaves_no_template_or_face_bytes_in_the_sqlite_files(
    sqlite_store: Store, demo_watchlist: Watchlist
) -> None:
    service = Deployments(sqlite_store)
    dep = ready(service, governed(demo_watchlist))
    service.start(dep.id, "insp.operator")
    with sqlite_store.session() as s:
        blobs = [b for t in s.scalars(select(EntryTemplate)) for b in (t.vector_enc, t.face_jpeg_enc) if b]
    pieces = [b[i : i + 32] for b in blobs for i in range(13, len(b) - 32, 32)]
    path = sqlite_path(sqlite_store)
    assert path is not None and len(blobs) == 2 * len(demo_watchlist.manifest.templates)

    def found_on_disk() -> int:
        data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # the file, -wal, -shm
        return sum(piece in data for piece in pieces)

    assert found_on_disk() > len(pieces) * 0.9
    service.end(dep.id, "insp.operator")
    assert found_on_disk() == 0
