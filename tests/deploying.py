"""Test helpers for deployments: a live deployment over a watchlist and cameras, in a few lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from openlfr.config import CameraConfig
from openlfr.deploy.lifecycle import Deployments
from openlfr.deploy.views import DeploymentView
from openlfr.match.watchlist import Watchlist
from openlfr.store.db import Store
from openlfr.types import Category

JUSTIFICATION = "test: the watchlist's 1:1 threshold, accepted for a two-person test watchlist"


def governed(watchlist: Watchlist, reason: str = "wanted on warrant W-123 (test)") -> Watchlist:
    """``watchlist`` with every entry given a category, reason, image source and expiry."""
    subjects = [
        s.model_copy(
            update={
                "category": Category.WANTED,
                "reason": s.reason or reason,
                "image_source": s.image_source or "custody image (test)",
                "expires": s.expires or date.today() + timedelta(days=30),
            }
        )
        for s in watchlist.manifest.subjects
    ]
    return replace(watchlist, manifest=watchlist.manifest.model_copy(update={"subjects": subjects}))


def live_deployment(
    store: Store,
    watchlist: Watchlist,
    cameras: Sequence[CameraConfig],
    threshold: float | None = None,
    planned_end: datetime | None = None,
) -> DeploymentView:
    """A deployment taken through create, watchlist, threshold, authorise and start: live (until
    ``planned_end``, default in four hours)."""
    service = Deployments(store)
    now = datetime.now(UTC)
    dep = service.create(
        name="test deployment",
        location_name="Stratford Centre (test)",
        latitude=51.5416,
        longitude=-0.0034,
        purpose="locate wanted offenders (test)",
        legal_basis="common law policing powers; force LFR policy v3 (test)",
        planned_start=now - timedelta(minutes=5),
        planned_end=planned_end or now + timedelta(hours=4),
        cameras=list(cameras),
        created_by="sgt.creator",
    )
    service.set_watchlist(dep.id, governed(watchlist), "sgt.creator")
    service.set_threshold(dep.id, "sgt.creator", value=threshold or watchlist.threshold, justification=JUSTIFICATION)
    service.authorise(dep.id, "supt.authoriser")
    return service.start(dep.id, "insp.operator")
