"""A soak: a live run left going, watched for leaks and for alerts lost on the way.

Four cameras, all showing the bundled walk-through (13 s, Obama and Biden pass), for ``--minutes``:

- three play the file in a loop, at its native rate, as a camera would send it;
- one is an MJPEG stream over HTTP on loopback (the same clip, looping) that is cut every
  ``--drop-every`` seconds (half a frame, then a TCP reset) and refuses connections (503) for
  ``--down-for`` seconds: the source reconnects with its backoff each time;
- alerts go to the real webhook sink (HMAC-signed, retried with backoff), to a real HTTP server on
  loopback that answers 500 to every other request.

Every ``--sample-s`` seconds it records, for this process and its children (the embedding worker):
resident memory (in all and of each), threads and open file descriptors, and this process's C heap in
use and freed-but-kept (``--heap-trim-s 0`` runs without handing freed heap back, for comparison); at
the end, alerts raised (what the pipelines gave the sink) against alerts delivered (distinct alert ids
the webhook answered 200 to), the webhook's retries and drops, the stream's reconnects and any camera
that died (a crash).

    python bench/soak.py --minutes 60          # the acceptance run
    python bench/soak.py --minutes 5 --analysis-fps 2

Samples go to bench/out/soak-<start>.jsonl, the summary to stdout and bench/out/soak-<start>.json.
On a shared machine the frame rate analysed says little; the flatness of memory and descriptors and
raised = delivered are what this measures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import psutil

import openlfr
from _signing import throwaway_signing_key
from openlfr.types import Alert

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DEMO = Path(openlfr.__file__).parent / "assets" / "demo"
CLIP = DEMO / "video" / "walkthrough.mp4"


class DroppingMjpeg:
    """The clip as an MJPEG stream on loopback that is cut every ``drop_every`` s and down ``down_for`` s."""

    def __init__(self, clip: Path, fps: float, drop_every: float, down_for: float) -> None:
        with av.open(str(clip)) as container:
            self.jpegs = [_jpeg(f.to_ndarray(format="bgr24")) for f in container.decode(video=0)]
        self.fps, self.drop_every, self.down_for = fps, drop_every, down_for
        self.up_since = time.monotonic()
        self.drops = 0
        self.closing = threading.Event()
        stream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if time.monotonic() < stream.up_since:
                    self.send_error(503, "camera offline")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                stream.serve(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/video.mjpg"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        index = 0
        with contextlib.suppress(OSError):  # the client went away
            while not self.closing.is_set():
                if time.monotonic() - self.up_since > self.drop_every:  # the cut, as a power or network loss
                    handler.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 5000\r\n\r\n\xff\xd8")
                    handler.wfile.flush()
                    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.drops += 1
                    self.up_since = time.monotonic() + self.down_for
                    return
                jpeg = self.jpegs[index % len(self.jpegs)]
                head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                handler.wfile.write(head + jpeg + b"\r\n")
                handler.wfile.flush()
                index += 1
                time.sleep(1.0 / self.fps)

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


def _jpeg(bgr: object) -> bytes:
    import cv2

    return bytes(cv2.imencode(".jpg", bgr)[1].tobytes())


class FlakyWebhook:
    """A webhook receiver on loopback that answers 500 to every other request, and 200 to the rest."""

    def __init__(self) -> None:
        self.requests = 0
        self.failed = 0
        self.delivered: set[str] = set()
        self._lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with hook._lock:
                    hook.requests += 1
                    fail = hook.requests % 2 == 1
                    if fail:
                        hook.failed += 1
                    else:
                        hook.delivered.add(self.headers.get("X-OpenLFR-Alert-Id", ""))
                self.send_response(500 if fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class CountingSink:
    """Counts the alerts the pipelines raise, then hands each to the real sink."""

    name = "counting"

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.raised: list[str] = []

    def send(self, alert: Alert) -> None:
        self.raised.append(alert.alert_id)
        self.inner.send(alert)  # type: ignore[attr-defined]

    def close(self, timeout: float = 5.0) -> None:
        self.inner.close(timeout)  # type: ignore[attr-defined]


def sample(t0: float) -> dict[str, float]:
    """Resident memory (MiB), threads and open descriptors of this process and its children (the
    embedding worker), the two processes' memory apart, and this process's C heap: in use, and freed
    but kept by the allocator (what ``live.heap_trim_s`` hands back)."""
    from openlfr.live.heap import heap_use

    me = psutil.Process()
    rss, main_rss, threads, fds, children = 0, 0, 0, 0, 0
    for p in [me, *me.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a child may end between listing and measuring
            resident = p.memory_info().rss
            rss += resident
            main_rss += resident if p is me else 0
            threads += p.num_threads()
            fds += p.num_fds()
            children += p is not me
    heap = heap_use()
    mib = 2**20
    return {"t_s": round(time.monotonic() - t0, 1), "rss_mib": round(rss / mib, 1),
            "main_rss_mib": round(main_rss / mib, 1), "children_rss_mib": round((rss - main_rss) / mib, 1),
            "heap_in_use_mib": round(heap.in_use / mib, 1) if heap else -1.0,
            "heap_kept_mib": round(heap.kept / mib, 1) if heap else -1.0,
            "threads": threads, "fds": fds, "children": children,
            "load1": round(psutil.getloadavg()[0], 2)}  # fmt: skip


def watchlist_file() -> Path:
    from openlfr.analysis import FaceAnalyzer
    from openlfr.match.enrol import enrol
    from openlfr.match.sources import from_csv

    path = OUT / "soak-demo.lfrw"
    if not path.is_file():
        OUT.mkdir(parents=True, exist_ok=True)
        watchlist, _ = enrol(from_csv(DEMO / "watchlist.csv"), FaceAnalyzer(), name="demo")
        watchlist.save(path)
    return path


def run(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, object]:
    from openlfr.alert.sinks import WebhookSink
    from openlfr.config import CameraConfig, LiveConfig, ReconnectConfig, Settings, WebhookSinkConfig
    from openlfr.live.app import LiveApp

    stream = DroppingMjpeg(CLIP, args.stream_fps, args.drop_every, args.down_for)
    hook = FlakyWebhook()
    webhook = WebhookSink(WebhookSinkConfig(url=hook.url, secret="s" * 32, retries=8, backoff_s=0.2, timeout_s=5.0))
    sink = CountingSink(webhook)
    cameras = [
        CameraConfig(id=f"file-{i}", source=str(CLIP), loop=True, analysis_fps=args.analysis_fps) for i in range(3)
    ]
    cameras.append(CameraConfig(id="dropping", source=stream.url, analysis_fps=args.analysis_fps))
    reconnect = ReconnectConfig(initial_delay_s=0.5, max_delay_s=4.0, stall_timeout_s=5.0)
    # the demo watchlist is not calibrated; the soak measures resources and delivery, not accuracy
    live = LiveConfig(allow_uncalibrated=True, reconnect=reconnect, heap_trim_s=args.heap_trim_s)
    settings = Settings(live=live)
    app = LiveApp(settings, watchlist_file(), cameras, sink=sink)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    samples_path = OUT / f"soak-{stamp}.jsonl"
    t0 = time.monotonic()
    app.start()
    samples: list[dict[str, float]] = []
    crashed: list[str] = []
    with samples_path.open("w") as out:
        while time.monotonic() - t0 < args.minutes * 60:
            time.sleep(args.sample_s)
            s = sample(t0)
            snaps = app.snapshots()
            s["analysed"] = sum(x.frames_analysed for x in snaps)
            s["alerts_raised"] = len(sink.raised)
            samples.append(s)
            out.write(json.dumps(s) + "\n")
            out.flush()
            log(json.dumps(s))
            crashed = [p.camera.id for p in app.pipelines if p._error is not None]  # a camera its error ended
    snaps = app.snapshots()
    app.stop()  # closes the sinks: the webhook gets up to 5 s to drain what is queued
    time.sleep(1.0)
    stats = webhook.stats
    stream.close()
    hook.close()
    summary = {
        "minutes": args.minutes,
        "started": stamp,
        "cameras": len(cameras),
        "analysis_fps": args.analysis_fps,
        "machine_cpus": psutil.cpu_count(),
        "samples": samples_path.name,
        "rss_mib_first_last_max": _first_last_max(samples, "rss_mib"),
        "fds_first_last_max": _first_last_max(samples, "fds"),
        "threads_first_last_max": _first_last_max(samples, "threads"),
        "heap_trim_s": args.heap_trim_s,
        "rss_mib_per_minute_second_half": _half_slope(samples, "rss_mib"),
        "main_rss_mib_first_last_max": _first_last_max(samples, "main_rss_mib"),
        "children_rss_mib_first_last_max": _first_last_max(samples, "children_rss_mib"),
        "heap_in_use_mib_first_last_max": _first_last_max(samples, "heap_in_use_mib"),
        "heap_kept_mib_first_last_max": _first_last_max(samples, "heap_kept_mib"),
        "main_rss_mib_per_minute_second_half": _half_slope(samples, "main_rss_mib"),
        "children_rss_mib_per_minute_second_half": _half_slope(samples, "children_rss_mib"),
        "heap_in_use_mib_per_minute_second_half": _half_slope(samples, "heap_in_use_mib"),
        "fds_per_minute_second_half": _half_slope(samples, "fds"),
        "load1_mean": round(sum(s["load1"] for s in samples) / max(1, len(samples)), 2),
        "frames_analysed": sum(x.frames_analysed for x in snaps),
        "frames_dropped": sum(x.drops for x in snaps),
        "stream_cuts": stream.drops,
        "alerts_raised": len(sink.raised),
        "alerts_delivered": len(hook.delivered & set(sink.raised)),
        "webhook_requests": hook.requests,
        "webhook_500s": hook.failed,
        "webhook_stats": {k: getattr(stats, k) for k in stats.__dataclass_fields__},
        "cameras_crashed": crashed,
        "snapshots": [{"camera": x.camera_id, "state": str(x.state), "reconnects": x.reconnects} for x in snaps],
    }
    (OUT / f"soak-{stamp}.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary


def _first_last_max(samples: list[dict[str, float]], key: str) -> list[float]:
    values = [s[key] for s in samples]
    return [values[0], values[-1], max(values)] if values else []


def _half_slope(samples: list[dict[str, float]], key: str) -> float:
    """The least-squares slope of ``key`` per minute over the second half of the run (after warm-up):
    a leak shows as a steady rise, where single samples swing with the frames in flight."""
    half = samples[len(samples) // 2 :]
    if len(half) < 2:
        return 0.0
    t = [s["t_s"] / 60.0 for s in half]
    y = [s[key] for s in half]
    mt, my = sum(t) / len(t), sum(y) / len(y)
    return round(sum((a - mt) * (b - my) for a, b in zip(t, y, strict=True)) / sum((a - mt) ** 2 for a in t), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="how long to run (the acceptance run: 60)")
    parser.add_argument("--analysis-fps", type=float, default=5.0, help="frames analysed per second per camera")
    parser.add_argument("--stream-fps", type=float, default=15.0, help="the dropping stream's frame rate")
    parser.add_argument("--drop-every", type=float, default=180.0, help="seconds between cuts of the stream")
    parser.add_argument("--down-for", type=float, default=10.0, help="seconds the stream refuses after a cut")
    parser.add_argument("--sample-s", type=float, default=10.0, help="seconds between samples")
    parser.add_argument(
        "--heap-trim-s", type=float, default=20.0, help="live.heap_trim_s: freed heap handed back this often (0: never)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    throwaway_signing_key()
    summary = run(args, print)
    print(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
