"""``lfr edge`` on the Hamilton clip against a served deployment, through a network the test cuts for
10 s: Lin-Manuel Miranda's alert reaches the operator's stream; nothing the device sent holds an image
but the one alerted crop; while the network is down templates queue, then go, and only those that
outlived their time are dropped (counted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import httpx
import pytest

from edging import EdgeWorld, Proxy
from openlfr.auth.roles import Role
from openlfr.auth.tokens import Tokens
from openlfr.config import CameraConfig, Settings
from openlfr.edge.run import EdgeOptions, EdgeReport, run_edge
from openlfr.errors import EdgeError
from serving import SseListener, free_port

JPEG_SOI, PNG_SIGNATURE = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"
OUTAGE_S = 10.0
TTL_S = 5.0


@dataclass
class Recording(httpx.BaseTransport):
    """Every request the device sends, as it goes on the wire (path, headers, body), with the time."""

    inner: httpx.HTTPTransport = field(default_factory=httpx.HTTPTransport)
    sent: list[tuple[float, str, bytes, int | None]] = field(default_factory=list)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        wire = b"".join(k + b": " + v + b"\r\n" for k, v in request.headers.raw) + request.read()
        status: int | None = None
        try:
            response = self.inner.handle_request(request)
            status = response.status_code
            return response
        finally:
            self.sent.append((time.monotonic(), request.url.path, wire, status))


def options(world: EdgeWorld, server: str, token: str | None = None, **changes: object) -> EdgeOptions:
    camera = CameraConfig(id="van", source=str(world.clip), realtime=True)
    base = EdgeOptions(server, token or world.device_token, world.deployment_id, (camera,), 51.5416, -0.0034)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_edge_sends_templates_and_only_the_alerted_crop_through_an_outage(
    world: EdgeWorld, record_property: Callable[[str, object], None]
) -> None:
    world.served.add_user("op.smith", Role.OPERATOR)
    op = world.served.client("op.smith")
    stream = SseListener(op, f"/api/v1/deployments/{world.deployment_id}/alerts/stream")
    proxy = Proxy(int(world.served.url.rsplit(":", 1)[1]))
    proxy.start()
    recording = Recording()
    done: dict[str, EdgeReport | BaseException] = {}

    def device() -> None:
        try:
            done["report"] = run_edge(
                Settings(), options(world, proxy.url, ttl_s=TTL_S, backoff_max_s=0.5), transport=recording
            )
        except BaseException as exc:
            done["error"] = exc

    thread = threading.Thread(target=device, name="test-edge", daemon=True)
    thread.start()
    events = stream.wait_for(1, timeout=90)
    assert events, f"no alert on the operator's stream: {done}"
    # The stream can carry the alert before the crop's answer is back on the device: cut the network only
    # once the device has it, or the device rightly counts a crop it could not confirm as lost.
    answered_crop = time.monotonic() + 30
    while not any(p.endswith("/crop") and s is not None and s < 300 for _, p, _, s in list(recording.sent)):
        assert time.monotonic() < answered_crop, "the crop's answer never reached the device"
        time.sleep(0.02)
    proxy.stop()  # the network goes, mid-clip, for OUTAGE_S
    cut = time.monotonic()
    time.sleep(OUTAGE_S)
    proxy.start()
    restored = time.monotonic()
    thread.join(90)
    stream.close()
    assert "report" in done, done
    report = done["report"]
    assert isinstance(report, EdgeReport)
    [traffic] = report.cameras

    alert = json.loads(events[0].data)
    assert (alert["subject_id"], alert["camera_id"]) == ("lin-manuel-miranda", "edge-box/van")
    r = op.get(f"/api/v1/alerts/{alert['alert_id']}/probe.jpg")
    assert r.status_code == 200 and r.content.startswith(JPEG_SOI)
    assert len(op.get("/api/v1/alerts", params={"deployment": world.deployment_id}).json()) == 1

    # Nothing the device sent holds an image, but the crop of the one hit.
    assert not any(PNG_SIGNATURE in wire for _, _, wire, _ in recording.sent)
    with_jpeg = {path for _, path, wire, _ in recording.sent if JPEG_SOI in wire}
    assert len(with_jpeg) == 1 and next(iter(with_jpeg)).endswith("/crop"), with_jpeg
    assert (traffic.hits, traffic.crops_sent, traffic.crops_lost) == (1, 1, 0)

    # Through the outage: queued and retried, then delivered; only the expired were dropped, and counted.
    templates = [(t, status) for t, path, _, status in recording.sent if path.endswith("/templates")]
    during = [t for t, status in templates if cut <= t < restored]
    after = [t for t, status in templates if t >= restored and status == 200]
    seen = f"{traffic.describe()}; {len(during)} attempts during the outage, {len(after)} sent after it"
    record_property("edge_traffic", seen)
    assert during and all(status is None for t, status in templates if cut + 0.5 <= t < restored)
    assert after, f"templates queued during the outage were delivered when it ended: {seen}"
    assert traffic.expired >= 1 and traffic.retries >= 1, seen
    assert traffic.dropped_full == traffic.unsent_at_stop == 0, seen
    assert traffic.templates_made == traffic.templates_sent + traffic.expired
    answered = sum(len(wire) for _, _, wire, status in recording.sent if status is not None)
    assert traffic.bytes_sent == pytest.approx(answered, rel=0.1)


def test_a_revoked_or_another_deployments_token_stops_the_edge(world: EdgeWorld) -> None:
    secret = world.token("retired-box")
    Tokens(world.served.store, world.served.settings.api).revoke("retired-box", "local:test")
    with pytest.raises(EdgeError, match="the server refused the token"):
        run_edge(Settings(), options(world, world.served.url, secret))
    with pytest.raises(EdgeError, match=f"bound to deployment {world.other_deployment_id}"):
        run_edge(Settings(), options(world, world.served.url, world.token("wrong-box", world.other_deployment_id)))


def test_an_unreachable_server_is_retried_then_reported(world: EdgeWorld) -> None:
    started = time.monotonic()
    with pytest.raises(EdgeError, match="unreachable"):
        run_edge(Settings(), options(world, f"http://127.0.0.1:{free_port()}", connect_wait_s=2.0))
    assert 1.5 <= time.monotonic() - started < 10


def test_lfr_edge_says_why_in_one_line(world: EdgeWorld) -> None:
    secret = world.token("old-box")
    Tokens(world.served.store, world.served.settings.api).revoke("old-box", "local:test")
    common = ["--deployment", world.deployment_id, "--camera", str(world.clip), "--connect-wait", "1"]
    for server, token, said in (
        (world.served.url, secret, "error: the server refused the token"),
        (f"http://127.0.0.1:{free_port()}", world.device_token, "is unreachable"),
    ):
        out = subprocess.run(
            [sys.executable, "-m", "openlfr", "edge", "--server", server, "--token", token, *common],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": "400"},
        )
        assert out.returncode == 1, out.stderr
        errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and said in errors[0], out.stderr
