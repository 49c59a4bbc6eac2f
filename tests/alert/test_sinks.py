"""Alert sinks: the JSON form, stdout, file, a real loopback webhook (signature, retries, refusals), FanOut."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from openlfr.alert.base import AlertSink, FanOut, sinks
from openlfr.alert.serialize import alert_to_json
from openlfr.alert.sinks import (
    ALERT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    FileSink,
    StdoutSink,
    WebhookSink,
    verify_signature,
)
from openlfr.assets import demo_dir
from openlfr.config import FileSinkConfig, StdoutSinkConfig, WebhookSinkConfig
from openlfr.types import Alert, BoundingBox, Category

SECRET = "a-test-secret-of-32-characters!!"


def _jpeg(x: int, y: int, size: int) -> bytes:
    image = cv2.imread(str(demo_dir() / "watchlist" / "obama.jpg"))
    assert image is not None
    ok, buf = cv2.imencode(".jpg", image[y : y + size, x : x + size], [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return buf.tobytes()


@pytest.fixture(scope="module")
def jpegs() -> tuple[bytes, bytes]:
    return _jpeg(40, 40, 64), _jpeg(0, 0, 96)


def make_alert(jpegs: tuple[bytes, bytes], n: int = 1, watchlist_jpeg: bool = True) -> Alert:
    now = 1_714_564_800.0  # 2024-05-01T12:00:00Z
    return Alert(
        alert_id=f"alert-{n}",
        camera_id="cam-1",
        track_id=7,
        watchlist="demo",
        subject_id="obama",
        display_name="Barack Obama",
        category=Category.WANTED,
        score=0.83,
        threshold=0.6,
        box=BoundingBox(10.0, 20.0, 74.0, 84.0),
        probe_jpeg=jpegs[0],
        watchlist_jpeg=jpegs[1] if watchlist_jpeg else None,
        first_seen_wall=now - 2.0,
        first_seen_pts=12.5,
        frame_pts=14.25,
        frame_captured_wall=now - 0.25,
        frame_captured_mono=100.0,
        raised_wall=now,
        frames=9,
    )


# -- the JSON form ---------------------------------------------------------------------------------


@pytest.mark.parametrize("include_images", [False, True])
def test_alert_to_json(jpegs: tuple[bytes, bytes], include_images: bool) -> None:
    data = json.loads(json.dumps(alert_to_json(make_alert(jpegs), include_images)))
    assert data["subject"] == {"id": "obama", "display_name": "Barack Obama", "category": "wanted"}
    assert data["box"] == [10.0, 20.0, 74.0, 84.0]
    assert data["raised"] == "2024-05-01T12:00:00.000Z"
    assert datetime.fromisoformat(data["first_seen"]).timestamp() == data["first_seen_wall"]
    assert data["frame_captured"] == "2024-05-01T11:59:59.750Z"
    assert data["latency_s"] == pytest.approx(0.25)
    assert (data["frames"], data["first_seen_pts"], data["frame_pts"]) == (9, 12.5, 14.25)
    assert data["probe_jpeg_bytes"] == len(jpegs[0])
    assert ("probe_jpeg_b64" in data) is include_images
    if include_images:
        assert base64.b64decode(data["probe_jpeg_b64"]) == jpegs[0]
        assert base64.b64decode(data["watchlist_jpeg_b64"]) == jpegs[1]


def test_registry_builds_each_sink(tmp_path: Path) -> None:
    assert sinks.types() == ["file", "stdout", "webhook"]
    built = [
        sinks.create(StdoutSinkConfig()),
        sinks.create(FileSinkConfig(path=tmp_path / "a.jsonl")),
        sinks.create(WebhookSinkConfig(url="http://127.0.0.1:9/hook?token=x")),
    ]
    assert [type(s) for s in built] == [StdoutSink, FileSink, WebhookSink]
    assert all(isinstance(s, AlertSink) for s in built)
    assert "token" not in built[2].name
    for s in built:
        s.close(1.0)


# -- stdout, file ----------------------------------------------------------------------------------


def test_stdout_sink_prints_one_json_line_without_images(
    jpegs: tuple[bytes, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    sink = StdoutSink()
    sink.send(make_alert(jpegs))
    sink.close()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["alert_id"] == "alert-1"
    assert "probe_jpeg_b64" not in data and "watchlist_jpeg_b64" not in data
    assert (data["probe_jpeg_bytes"], data["watchlist_jpeg_bytes"]) == (len(jpegs[0]), len(jpegs[1]))


def test_file_sink_writes_lines_and_images(jpegs: tuple[bytes, bytes], tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "alerts.jsonl"
    sink = FileSink(path)
    for n in range(3):
        sink.send(make_alert(jpegs, n, watchlist_jpeg=n != 2))
    sink.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["alert_id"] for line in lines] == ["alert-0", "alert-1", "alert-2"]
    first, last = json.loads(lines[0]), json.loads(lines[2])
    assert first["probe_image"] == "alerts_images/alert-0_probe.jpg"
    assert "probe_jpeg_b64" not in first
    for rel in (first["probe_image"], first["watchlist_image"], last["probe_image"]):
        image = cv2.imdecode(np.frombuffer((path.parent / rel).read_bytes(), np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape[2] == 3
    assert last["watchlist_image"] is None
    with pytest.raises(RuntimeError, match="closed"):
        sink.send(make_alert(jpegs))


# -- webhook against a real loopback server ----------------------------------------------------------


@dataclass
class Hook:
    """A loopback HTTP server answering ``statuses`` in turn (then 200) and recording each request."""

    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def __post_init__(self) -> None:
        self.gate.set()


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append((dict(self.headers.items()), body))
            state.gate.wait(5.0)
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    state.gate.set()
    server.shutdown()
    server.server_close()


def _webhook(url: str, **kw: object) -> WebhookSink:
    max_queue = kw.pop("max_queue", 1000)
    config = WebhookSinkConfig.model_validate({"url": url, "retries": 3, "backoff_s": 0.01, "timeout_s": 2.0, **kw})
    assert isinstance(max_queue, int)
    return WebhookSink(config, max_queue=max_queue)


def test_webhook_posts_a_signed_alert(jpegs: tuple[bytes, bytes], hook: Hook) -> None:
    sink = _webhook(hook.url, secret=SECRET)
    sink.send(make_alert(jpegs))
    sink.close(5.0)
    assert sink.stats.delivered == 1 and sink.stats.retried == 0
    [(headers, body)] = hook.requests
    assert headers["Content-Type"] == "application/json"
    assert headers[ALERT_ID_HEADER] == "alert-1"
    timestamp, signature = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
    assert abs(int(timestamp) - time.time()) < 60
    assert signature.startswith("sha256=")
    assert verify_signature(SECRET, timestamp, body, signature, max_age_s=60)
    assert not verify_signature("another-secret-of-some-length", timestamp, body, signature)
    assert not verify_signature(SECRET, timestamp, body + b" ", signature)
    assert not verify_signature(SECRET, int(timestamp) + 1, body, signature)
    assert not verify_signature(SECRET, int(timestamp) - 3600, body, signature, max_age_s=60)
    data = json.loads(body)
    assert base64.b64decode(data["probe_jpeg_b64"]) == jpegs[0]


def test_webhook_without_secret_or_images(jpegs: tuple[bytes, bytes], hook: Hook) -> None:
    sink = _webhook(hook.url, include_images=False)
    sink.send(make_alert(jpegs))
    sink.close(5.0)
    [(headers, body)] = hook.requests
    assert SIGNATURE_HEADER not in headers
    assert "probe_jpeg_b64" not in json.loads(body)


@pytest.mark.parametrize("status", [503, 429, 500])
def test_webhook_retries_then_delivers(jpegs: tuple[bytes, bytes], hook: Hook, status: int) -> None:
    hook.statuses = [status, status]
    sink = _webhook(hook.url, secret=SECRET)
    sink.send(make_alert(jpegs))
    sink.close(5.0)
    stats = sink.stats
    assert (stats.delivered, stats.retried, stats.failed) == (1, 2, 0)
    assert len(hook.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 404])
def test_webhook_client_error_is_not_retried(jpegs: tuple[bytes, bytes], hook: Hook, status: int) -> None:
    hook.statuses = [status]
    sink = _webhook(hook.url)
    sink.send(make_alert(jpegs))
    sink.close(5.0)
    stats = sink.stats
    assert (stats.delivered, stats.retried, stats.failed) == (0, 0, 1)
    assert len(hook.requests) == 1


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_webhook_dead_port_fails_after_retries(jpegs: tuple[bytes, bytes]) -> None:
    sink = _webhook(f"http://127.0.0.1:{_dead_port()}/hook", retries=2)
    sink.send(make_alert(jpegs))
    start = time.monotonic()
    sink.close(5.0)
    assert time.monotonic() - start < 5.5
    stats = sink.stats
    assert (stats.delivered, stats.retried, stats.failed) == (0, 2, 1)


def test_webhook_close_returns_within_its_timeout(jpegs: tuple[bytes, bytes]) -> None:
    sink = _webhook(f"http://127.0.0.1:{_dead_port()}/hook", retries=5, backoff_s=30.0)
    for n in range(3):
        sink.send(make_alert(jpegs, n))
    start = time.monotonic()
    sink.close(0.3)
    assert time.monotonic() - start < 1.5
    deadline = time.monotonic() + 5.0
    while sink.stats.failed == 0 and time.monotonic() < deadline:  # the worker counts the abandoned alert
        time.sleep(0.01)
    stats = sink.stats
    assert (stats.delivered, stats.failed, stats.dropped) == (0, 1, 2)
    with pytest.raises(RuntimeError, match="closed"):
        sink.send(make_alert(jpegs))


def test_webhook_full_queue_drops_the_oldest(jpegs: tuple[bytes, bytes], hook: Hook) -> None:
    hook.gate.clear()  # the server holds the first request until released
    sink = _webhook(hook.url, max_queue=2)
    sink.send(make_alert(jpegs, 0))
    deadline = time.monotonic() + 5.0
    while not hook.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    for n in (1, 2, 3):
        sink.send(make_alert(jpegs, n))
    hook.gate.set()
    sink.close(5.0)
    assert [h[ALERT_ID_HEADER] for h, _ in hook.requests] == ["alert-0", "alert-2", "alert-3"]
    assert (sink.stats.delivered, sink.stats.dropped) == (3, 1)


# -- FanOut ----------------------------------------------------------------------------------------


class Broken:
    name = "broken"

    def send(self, alert: Alert) -> None:
        raise OSError("disk full")

    def close(self, timeout: float = 5.0) -> None:
        raise OSError("still full")


class Recording:
    name = "recording"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self.closed = False

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def close(self, timeout: float = 5.0) -> None:
        self.closed = True


def test_fanout_isolates_a_failing_sink(jpegs: tuple[bytes, bytes], caplog: pytest.LogCaptureFixture) -> None:
    first, last = Recording(), Recording()
    fan = FanOut([first, Broken(), last])
    with caplog.at_level("ERROR", logger="openlfr.alert"):
        fan.send(make_alert(jpegs, 1))
        fan.send(make_alert(jpegs, 2))
        fan.close(1.0)
    assert [a.alert_id for a in last.alerts] == ["alert-1", "alert-2"] == [a.alert_id for a in first.alerts]
    assert first.closed and last.closed
    stats = fan.stats
    assert list(stats) == ["recording", "broken", "recording#2"]
    assert (stats["broken"].sent, stats["broken"].failed) == (0, 2)
    assert (stats["recording#2"].sent, stats["recording#2"].failed) == (2, 0)
    assert any("disk full" in r.getMessage() and r.exc_text is None for r in caplog.records), "one line"


def test_fanout_from_configs(tmp_path: Path, jpegs: tuple[bytes, bytes], capsys: pytest.CaptureFixture[str]) -> None:
    fan = FanOut.from_configs([StdoutSinkConfig(), FileSinkConfig(path=tmp_path / "alerts.jsonl")])
    fan.send(make_alert(jpegs))
    fan.close()
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert len((tmp_path / "alerts.jsonl").read_text().splitlines()) == 1
