"""Real peers that fail, for the tests of delivery (issue 16, item 4): an HTTP receiver that answers
500 or stalls, a port that refuses, and a real file system with no space left."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


class Receiver:
    """A loopback webhook receiver: answers ``status`` (200, 500...) or, with ``stall``, holds each request."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.stall = threading.Event()
        self.received: list[str] = []
        self.url = ""


@contextlib.contextmanager
def receiver(status: int = 200) -> Iterator[Receiver]:
    state = Receiver(status)
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            if state.stall.is_set():
                release.wait(10.0)
                return
            if state.status < 300:
                state.received.append(self.headers["X-OpenLFR-Alert-Id"])
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def refusing_url() -> str:
    """A loopback URL where nothing listens: every connection is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/hook"


class FullDisk:
    """A real tmpfs of 1 MiB; ``fill()`` takes its last byte, after which every write gets ENOSPC."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fill(self) -> None:
        with open(self.path / ".filler", "wb", buffering=0) as f:
            for block in (b"\0" * 65536, b"\0"):  # big blocks, then the last bytes one by one
                with pytest.raises(OSError, match="No space left on device"):
                    _write_until_full(f.fileno(), block)


def _write_until_full(fd: int, block: bytes) -> None:
    while True:
        os.write(fd, block)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[FullDisk]:
    """A small real file system to fill (a tmpfs mount: needs root; skipped with the reason otherwise)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a full disk is a tmpfs mount, which needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mount)], check=False)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield FullDisk(mount)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
