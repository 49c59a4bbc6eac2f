"""The device's sender against httpx's mock transport (the service's side is tested for real in
test_routes and test_edge): the queue's bound, expiry, retries, the crop only for a hit, refusals."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pytest

from openlfr.edge.sender import Outgoing, Sender
from openlfr.edge.wire import TemplateIn
from openlfr.errors import EdgeError

JPEG_SOI = b"\xff\xd8\xff"


def item(camera: str = "north", track: int = 1) -> Outgoing:
    body = TemplateIn(
        camera_id=camera, track_id=track, captured_at=time.time(), quality=0.5, templates={"e@1": [0.1] * 128}
    )
    crop = np.full((40, 32, 3), 128, np.uint8)
    return Outgoing(camera, body, crop, time.monotonic())


def sender(handler: object, **kwargs: object) -> tuple[Sender, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return handler(request)  # type: ignore[operator, no-any-return]

    client = httpx.Client(base_url="http://service", transport=httpx.MockTransport(record))
    return Sender(client, "dep-1", backoff_s=0.01, backoff_max_s=0.02, **kwargs), seen  # type: ignore[arg-type]


def test_a_full_queue_drops_its_oldest_and_counts_them() -> None:
    s, _ = sender(lambda r: httpx.Response(200, json={"hit": False}), queue_size=3)
    for track in range(5):
        s.put(item(track=track))
    assert s.queued() == 3 and s.traffic["north"].dropped_full == 2 and s.traffic["north"].templates_made == 5


def test_expired_templates_are_dropped_unsent_and_counted() -> None:
    now = [0.0]
    s, seen = sender(lambda r: httpx.Response(200, json={"hit": False}), ttl_s=10.0, clock=lambda: now[0])
    for track in range(2):
        s.put(Outgoing("north", item(track=track).body, None, made=0.0))
    now[0] = 10.5
    s.start()
    s.close(timeout=2.0)
    assert seen == [] and s.traffic["north"].expired == 2 and s.traffic["north"].templates_sent == 0


def test_failures_are_retried_and_only_a_hit_sends_its_crop() -> None:
    answers = iter([httpx.Response(503), httpx.Response(503)])

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/crop"):
            return httpx.Response(201, json={"alert_id": "a1"})
        track = TemplateIn.model_validate_json(request.content).track_id
        if track == 1:
            return next(answers, None) or httpx.Response(200, json={"hit": True, "hit_id": "h1"})
        return httpx.Response(200, json={"hit": False, "hit_id": None})

    s, seen = sender(handle)
    hit, miss = item(track=1), item(track=2)
    s.put(hit)
    s.put(miss)
    s.start()
    s.close(timeout=5.0)
    t = s.traffic["north"]
    assert (t.templates_sent, t.hits, t.crops_sent, t.retries, t.expired) == (2, 1, 1, 2, 0)
    assert hit.crop is None and miss.crop is None, "no crop is kept once the service has answered"
    with_jpeg = [r.url.path for r in seen if JPEG_SOI in r.content]
    assert with_jpeg == ["/api/v1/deployments/dep-1/hits/h1/crop"]
    bodies = sum(len(r.content) for r in seen)  # every request the server answered, 503s too
    assert bodies < t.bytes_sent < bodies + 400 * len(seen), "bodies, and the request line and headers"


@pytest.mark.parametrize(
    ("status", "said"),
    [(401, "the server refused the token"), (403, "refused this device"), (409, "refused the template")],
)
def test_a_refusal_that_retrying_cannot_mend_stops_the_sender(status: int, said: str) -> None:
    s, _ = sender(lambda r: httpx.Response(status, json={"error": "x", "message": "no", "problems": []}))
    s.put(item())
    s.start()
    s.close(timeout=2.0)
    assert isinstance(s.error, EdgeError) and said in str(s.error)
