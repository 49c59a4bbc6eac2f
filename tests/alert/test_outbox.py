"""No alert lost in silence (issue 16, item 4): with real peers that fail (a port that refuses, a
receiver answering 500 or stalling, a file on a full disk) every alert is kept in the outbox, retried,
delivered once the peer is back, and the report says how many were raised, delivered and undelivered."""

from __future__ import annotations

import json
import logging
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import cv2
import pytest

from openlfr.alert.base import FanOut
from openlfr.alert.outbox import LOST_REASONS, Outbox
from openlfr.alert.sinks import FileSink, WebhookSink
from openlfr.assets import demo_dir
from openlfr.config import OutboxConfig, WebhookSinkConfig
from openlfr.store.crypto import Cipher, generate_key, parse_key
from openlfr.types import Alert, BoundingBox, Category
from peers import FullDisk, receiver, refusing_url


@pytest.fixture(scope="module")
def probe() -> bytes:
    image = cv2.imread(str(demo_dir() / "watchlist" / "obama.jpg"))
    assert image is not None
    ok, buf = cv2.imencode(".jpg", image[40:140, 40:140])
    assert ok
    return buf.tobytes()


def alert(probe: bytes, n: int) -> Alert:
    now = time.time()
    return Alert(
        alert_id=f"alert-{n}", camera_id="cam-1", track_id=n, watchlist="demo", subject_id="obama",
        display_name="Barack Obama", category=Category.WANTED, score=0.8, threshold=0.6,
        box=BoundingBox(1.0, 2.0, 65.0, 66.0), probe_jpeg=probe, watchlist_jpeg=probe, first_seen_wall=now,
        first_seen_pts=1.0, frame_pts=2.0, frame_captured_wall=now, frame_captured_mono=1.0, raised_wall=now, frames=3,
    )  # fmt: skip


def webhook(url: str, **kw: object) -> WebhookSink:
    config = {"url": url, "retries": 0, "backoff_s": 0.01, "timeout_s": 0.5, **kw}
    return WebhookSink(WebhookSinkConfig.model_validate(config))


def outbox(path: Path, **kw: object) -> Outbox:
    return Outbox(OutboxConfig.model_validate({"path": path, "backoff_s": 0.05, "max_backoff_s": 0.2, **kw}))


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


@pytest.mark.parametrize("peer", ["refuses", "answers 500", "stalls"])
def test_a_failing_webhook_keeps_every_alert_and_the_report_says_so(probe: bytes, tmp_path: Path, peer: str) -> None:
    with receiver(500 if peer == "answers 500" else 200) as hook:
        if peer == "stalls":
            hook.stall.set()
        fan = FanOut([webhook(refusing_url() if peer == "refuses" else hook.url)], outbox(tmp_path / "outbox"))
        for n in range(3):
            fan.send(alert(probe, n))
        assert wait_for(lambda: fan.report().kept == 3)
        fan.close(1.0)
    report = fan.report(final=True)
    assert (report.alerts, report.delivered, report.undelivered, report.lost) == (3, 0, 3, 0)
    assert report.describe() == f"3 alert(s), 0 delivered, 3 undelivered (kept in {tmp_path / 'outbox'})"
    entries = sorted((tmp_path / "outbox").rglob("*.json"))
    assert len(entries) == 3
    kept = [json.loads(p.read_text()) for p in entries]
    assert sorted(k["alert"]["alert_id"] for k in kept) == ["alert-0", "alert-1", "alert-2"]
    assert all(k["alert"]["probe_jpeg"] is None and k["crops"] is False for k in kept), "no crop in clear"


def test_kept_alerts_are_retried_and_delivered_when_the_receiver_recovers(probe: bytes, tmp_path: Path) -> None:
    with receiver(500) as hook:
        fan = FanOut([webhook(hook.url)], outbox(tmp_path / "outbox"))
        for n in range(3):
            fan.send(alert(probe, n))
        assert wait_for(lambda: fan.report().kept == 3)
        assert "3 undelivered" in fan.report().describe()
        hook.status = 200  # back up: the outbox's retries deliver
        assert wait_for(lambda: fan.report().delivered == 3)
        fan.close(1.0)
    assert sorted(hook.received) == ["alert-0", "alert-1", "alert-2"]
    report = fan.report(final=True)
    assert (report.delivered, report.undelivered) == (3, 0)
    assert list((tmp_path / "outbox").rglob("*.json")) == [], "a delivered alert leaves the outbox"


def test_a_file_on_a_full_disk_is_reported_as_such_and_kept(probe: bytes, tmp_path: Path, full_disk: FullDisk) -> None:
    sink = FileSink(full_disk.path / "alerts.jsonl")
    full_disk.fill()
    fan = FanOut([sink], outbox(tmp_path / "outbox"))
    fan.send(alert(probe, 1))
    fan.close(1.0)
    report = fan.report(final=True)
    assert (report.kept, report.lost, report.disk_full) == (1, 0, True)
    assert report.describe().endswith("; DISK FULL (ENOSPC)")
    kept = json.loads(next((tmp_path / "outbox").rglob("*.json")).read_text())
    assert kept["reason"].startswith("disk full (ENOSPC)")
    assert (full_disk.path / "alerts.jsonl").read_bytes() == b"", "no half line left on the full disk"


def test_an_alert_the_outbox_cannot_keep_is_lost_loudly(
    probe: bytes, full_disk: FullDisk, caplog: pytest.LogCaptureFixture
) -> None:
    full_disk.fill()
    fan = FanOut([webhook(refusing_url())], outbox(full_disk.path / "outbox"))
    with caplog.at_level("ERROR", logger="openlfr.alert"):
        fan.send(alert(probe, 1))
        assert wait_for(lambda: fan.report().lost == 1)
        fan.close(1.0)
    report = fan.report(final=True)
    assert (report.undelivered, report.lost, report.disk_full) == (1, 1, True)
    assert "1 LOST (not kept anywhere)" in report.describe()
    assert any("ALERT NOT DELIVERED AND NOT KEPT" in r.getMessage() for r in caplog.records)


def test_the_outbox_is_bounded(probe: bytes, tmp_path: Path) -> None:
    fan = FanOut([webhook(refusing_url())], outbox(tmp_path / "outbox", max_alerts=2, backoff_s=30.0))
    for n in range(3):
        fan.send(alert(probe, n))
    assert wait_for(lambda: fan.report().undelivered == 3)
    fan.close(1.0)
    assert (fan.report(final=True).kept, fan.report(final=True).lost) == (2, 1)
    assert len(list((tmp_path / "outbox").rglob("*.json"))) == 2


def test_a_sealed_outbox_keeps_crops_encrypted_and_a_later_run_delivers_them(probe: bytes, tmp_path: Path) -> None:
    cipher = Cipher(parse_key(generate_key(), "test"))
    config = OutboxConfig(path=tmp_path / "outbox", backoff_s=0.05, max_backoff_s=0.2)
    first = FanOut([webhook(refusing_url(), include_images=True)], Outbox(config, cipher))
    first.send(alert(probe, 1))
    assert wait_for(lambda: first.report().kept == 1)
    first.close(1.0)
    (entry,) = (tmp_path / "outbox").rglob("*.sealed")
    assert b"Obama" not in entry.read_bytes() and probe[100:140] not in entry.read_bytes()
    with receiver(200) as hook:  # the next run, same receiver name and key: the kept alert goes out
        sink = webhook(hook.url, include_images=True)
        sink.name = next(iter(first.stats))  # the same sink as before (the port differs between runs)
        second = FanOut([sink], Outbox(config, cipher))
        assert wait_for(lambda: hook.received == ["alert-1"])
        second.close(1.0)
    assert not entry.exists()


class _Refusing:
    """A sink whose disk is full: every send raises at once."""

    name = "refusing"

    def send(self, alert: Alert) -> None:
        raise OSError(28, "No space left on device")

    def close(self, timeout: float = 5.0) -> None:
        pass


def test_lost_alerts_are_counted_without_keeping_each_one(
    probe: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outage with the outbox full loses alerts for hours: what the fan-out and outbox remember of
    them (memory) must not grow with their number, only the counts."""
    monkeypatch.setattr(logging.getLogger("openlfr.alert"), "disabled", True)  # keep log records out of the sums
    box = outbox(tmp_path / "outbox", max_alerts=2, backoff_s=30.0)
    fan = FanOut([_Refusing()], box)

    def lose(first: int, count: int) -> int:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for n in range(first, first + count):
            fan.send(alert(probe, n))
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        return held

    lose(0, 200)  # the two kept, and every lazily built structure
    held = lose(200, 2000)
    report = fan.report()
    fan.close(1.0)
    assert (report.alerts, report.kept, report.lost, report.delivered) == (2200, 2, 2198, 0)
    assert held < 50_000, f"{held} bytes held for 2000 lost alerts"
    assert (box.stats.lost, len(box.stats.lost_reasons)) == (2198, LOST_REASONS)
