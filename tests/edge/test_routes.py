"""The service's edge routes with a real server and store: hit or no hit, the gate, the crop made into
a stored alert on the operators' stream, and every refusal (another deployment's token, a revoked one,
another embedder, a bad vector, an unknown hit, a crop that is not an image, a deployment that ended)."""

from __future__ import annotations

import json
import math
import time

import httpx

from edging import EdgeWorld
from openlfr.auth.roles import Role
from openlfr.auth.tokens import Tokens
from openlfr.deploy.lifecycle import Deployments
from openlfr.review.alerts import Alerts
from serving import SseListener


def body(world: EdgeWorld, **changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "camera_id": "north",
        "track_id": 7,
        "captured_at": time.time(),
        "quality": 0.8,
        "templates": {world.watchlist.embedder: [float(v) for v in world.watchlist.vectors[0]]},
        "box": [10.0, 20.0, 110.0, 140.0],
        "latitude": 51.5,
        "longitude": -0.1,
    }
    base.update(changes)
    return base


def device(world: EdgeWorld, secret: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {secret or world.device_token}"}
    return httpx.Client(base_url=world.served.url, headers=headers, timeout=60)


def crop_jpeg(world: EdgeWorld) -> bytes:
    return world.watchlist.faces[world.watchlist.manifest.templates[0].template_id]


def test_a_hit_asks_for_the_crop_which_becomes_the_operators_alert(world_any_store: EdgeWorld) -> None:
    world = world_any_store
    world.served.add_user("op.smith", Role.OPERATOR)
    op = world.served.client("op.smith")
    stream = SseListener(op, f"/api/v1/deployments/{world.deployment_id}/alerts/stream")
    dev = device(world)
    path = f"/api/v1/deployments/{world.deployment_id}"
    far = {world.watchlist.embedder: [float(v) for v in -world.watchlist.vectors[0]]}
    assert dev.post(f"{path}/templates", json=body(world, templates=far, track_id=1)).json() == {
        "hit": False,
        "hit_id": None,
    }
    r = dev.post(f"{path}/templates", json=body(world))
    assert r.status_code == 200 and r.json()["hit"] is True, r.text
    hit_id = r.json()["hit_id"]
    again = dev.post(f"{path}/templates", json=body(world)).json()
    assert again == {"hit": False, "hit_id": None}, "one alert per (device camera, track, subject)"
    other_track = dev.post(f"{path}/templates", json=body(world, track_id=8)).json()
    assert other_track["hit"] is False, "per camera, one alert per subject per cooldown"

    assert dev.post(f"{path}/hits/no-such-hit/crop", content=crop_jpeg(world)).status_code == 404
    r = dev.post(f"{path}/hits/{hit_id}/crop", content=b"not an image", headers={"Content-Type": "image/jpeg"})
    assert r.status_code == 422, r.text
    r = dev.post(f"{path}/hits/{hit_id}/crop", files={"crop": ("crop.jpg", crop_jpeg(world), "image/jpeg")})
    assert r.status_code == 201, r.text
    alert_id = r.json()["alert_id"]
    assert dev.post(f"{path}/hits/{hit_id}/crop", content=crop_jpeg(world)).status_code == 404, "one crop per hit"

    [event] = stream.wait_for(1, timeout=10)[:1]
    alert = json.loads(event.data)
    assert (alert["alert_id"], alert["subject_id"], alert["camera_id"]) == (
        alert_id,
        "lin-manuel-miranda",
        "edge-box/north",
    )
    details = json.loads(op.get(f"/api/v1/alerts/{alert_id}").json()["details_json"])
    assert details["position"] == {"latitude": 51.5, "longitude": -0.1}, "where the device was"
    r = op.get(f"/api/v1/alerts/{alert_id}/probe.jpg")
    assert r.status_code == 200 and r.content[:3] == b"\xff\xd8\xff"
    assert op.get(f"/api/v1/alerts/{alert_id}/watchlist.jpg").status_code == 200
    stream.close()


EMBEDDER = "the watchlist's embedder"
BAD_TEMPLATES: list[tuple[str, dict[str, object], str]] = [
    ("another embedder", {"templates": {"other-model@0123456789ab": [0.1] * 128}}, "template_refused"),
    ("another size", {"templates": {EMBEDDER: [0.1] * 64}}, "template_refused"),
    ("NaN", {"templates": {EMBEDDER: [math.nan] * 128}}, "invalid_request"),
    ("infinity", {"templates": {EMBEDDER: [math.inf] * 128}}, "invalid_request"),
    ("no templates", {"templates": {}}, "invalid_request"),
    ("too many embedders", {"templates": {f"e{i}@1": [0.1] * 128 for i in range(5)}}, "invalid_request"),
    ("NaN quality", {"quality": math.nan}, "invalid_request"),
    ("a path for a camera", {"camera_id": "../etc"}, "invalid_request"),
    ("an image", {"jpeg": "/9j/4AAQ"}, "invalid_request"),
    ("too many values", {"templates": {EMBEDDER: [0.0] * 5000}}, "invalid_request"),
    ("a capture time past 2100", {"captured_at": 1e300}, "invalid_request"),
    ("a long camera name", {"camera_id": "c" * 60}, "template_refused"),
    ("a track id past 32 bits", {"track_id": 2**31}, "invalid_request"),
]


def test_a_bad_template_is_refused(world: EdgeWorld) -> None:
    """One world for the table (a server per case would cost more than the cases)."""
    dev = device(world)
    wrong = []
    for name, case, error in BAD_TEMPLATES:
        change = dict(case)
        if isinstance(templates := change.get("templates"), dict):  # EMBEDDER stands for the watchlist's own
            change["templates"] = {world.watchlist.embedder if e == EMBEDDER else e: v for e, v in templates.items()}
        content = json.dumps(body(world, **change), allow_nan=True)
        r = dev.post(
            f"/api/v1/deployments/{world.deployment_id}/templates",
            content=content,
            headers={"Content-Type": "application/json"},
        )
        if (r.status_code, r.json().get("error")) != (422, error):
            wrong.append(f"{name}: {r.status_code} {r.text[:200]}")
    assert wrong == []


def test_a_device_submits_only_to_its_own_deployment(world: EdgeWorld) -> None:
    dev = device(world)
    r = dev.post(f"/api/v1/deployments/{world.other_deployment_id}/templates", json=body(world))
    assert r.status_code == 403 and r.json()["error"] == "permission_denied", r.text
    r = dev.post(f"/api/v1/deployments/{world.other_deployment_id}/hits/x/crop", content=crop_jpeg(world))
    assert r.status_code == 403
    world.served.add_user("sup.one", Role.SUPERVISOR)
    sup = world.served.client("sup.one")
    assert sup.post(f"/api/v1/deployments/{world.deployment_id}/templates", json=body(world)).status_code == 403


def test_a_revoked_token_is_refused_at_once(world: EdgeWorld) -> None:
    secret = world.token("short-lived")
    dev = device(world, secret)
    path = f"/api/v1/deployments/{world.deployment_id}/templates"
    zeros = {world.watchlist.embedder: [0.0] * 128}
    assert dev.post(path, json=body(world, track_id=20, templates=zeros)).status_code == 200
    Tokens(world.served.store, world.served.settings.api).revoke("short-lived", "local:test")
    r = dev.post(path, json=body(world, track_id=21))
    assert r.status_code == 401 and r.json()["error"] == "not_authenticated", r.text


def test_an_ended_deployment_is_refused_and_its_watchlist_dropped(world: EdgeWorld) -> None:
    dev = device(world)
    path = f"/api/v1/deployments/{world.deployment_id}/templates"
    assert dev.post(path, json=body(world, templates={world.watchlist.embedder: [0.0] * 128})).status_code == 200
    edge = world.served.server.config.app.state.ctx.edge  # type: ignore[attr-defined]
    assert world.deployment_id in edge.cached()
    Deployments(world.served.store).end(world.deployment_id, "insp.operator")
    r = dev.post(path, json=body(world))
    assert r.status_code == 409 and r.json()["error"] == "deployment_state", r.text
    assert world.deployment_id not in edge.cached()
    assert Alerts(world.served.store).list_alerts(world.deployment_id, None, 10) == []
