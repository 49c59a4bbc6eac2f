"""Test doubles: an MJPEG camera served for real on loopback (that can be cut and restored), and an
alert sink that keeps what it is sent (the real sinks are tested in tests/alert)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

from openlfr.types import Alert, RGBImage


def moving_bar(index: int) -> RGBImage:
    """A 160 x 120 grey frame with a white bar that moves 4 px a frame."""
    image = np.full((120, 160, 3), 40, np.uint8)
    image[:, (index * 4) % 160 : (index * 4) % 160 + 8] = 255
    return image


class MjpegCamera:
    """An MJPEG camera on loopback (multipart/x-mixed-replace, 15 fps, a moving bar) that a test can
    cut mid-frame (a TCP reset), take down (503), freeze (connection open, nothing sent) and restore."""

    FPS = 15.0

    def __init__(self, frames: Callable[[int], RGBImage] | None = None) -> None:
        self.frames = frames or moving_bar
        self.up = threading.Event()
        self.up.set()
        self.frozen = threading.Event()
        self.closing = threading.Event()
        self.requests = 0
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                camera.requests += 1
                if not camera.up.is_set():
                    self.send_error(503, "camera offline")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                camera.stream(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/video.mjpg"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stream(self, handler: BaseHTTPRequestHandler) -> None:
        index = 0
        try:
            while self.up.is_set() and not self.closing.is_set():
                if self.frozen.is_set():
                    time.sleep(0.05)
                    continue
                image = cv2.cvtColor(self.frames(index), cv2.COLOR_RGB2BGR)
                jpeg = cv2.imencode(".jpg", image)[1].tobytes()
                head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                handler.wfile.write(head + jpeg + b"\r\n")
                handler.wfile.flush()
                index += 1
                time.sleep(1.0 / self.FPS)
            if not self.closing.is_set():
                # The cut: half a frame, then a reset, as when a camera loses power or the network drops.
                handler.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 5000\r\n\r\n\xff\xd8")
                handler.wfile.flush()
                handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass  # the client went away

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


class CollectingSink:
    """An AlertSink that keeps every alert it is sent, thread-safely."""

    name = "collect"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self._lock = threading.Lock()

    def send(self, alert: Alert) -> None:
        with self._lock:
            self.alerts.append(alert)

    def close(self, timeout: float = 5.0) -> None:
        return None
