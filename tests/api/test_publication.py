"""The public notice: only what a supervisor marked for publication, and nothing about any person."""

from __future__ import annotations

from pathlib import Path

from deploying import live_deployment
from openlfr.auth.roles import Role
from openlfr.config import CameraConfig
from openlfr.match.watchlist import Watchlist
from openlfr.store import audit
from serving import ServedApp


def test_publish_lists_it_on_the_notice_and_withdrawing_removes_it(
    served_sqlite: ServedApp, demo: Path, demo_watchlist: Watchlist
) -> None:
    served = served_sqlite
    camera = CameraConfig(id="cam-1", source=str(demo / "video" / "walkthrough.mp4"))
    dep = live_deployment(served.store, demo_watchlist, [camera])
    anonymous = served.client()
    assert anonymous.get("/public.json").json() == []  # not marked: not shown
    served.add_user("sup.one", Role.SUPERVISOR)
    sup = served.client("sup.one")
    r = sup.post(f"/api/v1/deployments/{dep.id}/publish", json={})
    assert r.status_code == 200 and r.json()["published"] is True
    [notice] = anonymous.get("/public.json").json()
    assert (notice["deployment_id"], notice["stage"], notice["watchlist_size"]) == (dep.id, "live", 2)
    assert notice["record"] is None  # figures only after the end
    text = anonymous.get("/public").text + str(notice)
    for secret in [camera.source, *(e.subject_id for e in dep.entries), *(e.reason for e in dep.entries)]:
        assert secret not in text
    assert sup.post(f"/api/v1/deployments/{dep.id}/publish", json={"published": False}).status_code == 200
    assert anonymous.get("/public.json").json() == []
    with served.store.session() as s:
        actions = [e.actor for e in audit.entries(s, action="deployment.published", last=10)]
    assert actions == ["sup.one", "sup.one"]
