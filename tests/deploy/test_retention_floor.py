"""A deployment run whose settings keep alert data for less than the store's retention floor is refused
before it opens a run (issue 16, item 6: the periods came from whoever started the run)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from deploying import live_deployment
from openlfr.config import CameraConfig, RetentionConfig, Settings, StoreConfig
from openlfr.deploy.live import run_deployment
from openlfr.errors import RetentionFloorError
from openlfr.match.watchlist import Watchlist
from openlfr.store.db import Store
from openlfr.store.models import DeploymentRun
from openlfr.store.retention import FloorRequest, set_floor


def test_a_run_with_retention_below_the_floor_is_refused(sqlite_store: Store, demo_watchlist: Watchlist) -> None:
    dep = live_deployment(sqlite_store, demo_watchlist, [CameraConfig(id="door", source="clip.mp4")])
    set_floor(sqlite_store, FloorRequest(days=60), "adm.lee")
    short = Settings(store=StoreConfig(retention=RetentionConfig(alert_images_days=59, alert_data_days=60)))
    with pytest.raises(RetentionFloorError, match="alert_images set to 59 day"):
        run_deployment(sqlite_store, short, dep.id, "insp.operator")
    with sqlite_store.session() as s:
        assert s.scalar(select(func.count()).select_from(DeploymentRun)) == 0
