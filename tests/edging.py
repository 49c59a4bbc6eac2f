"""Test helpers for edge devices: their world (a served deployment, tokens) and a network that a test
can cut and restore (a TCP proxy on a fixed loopback port; connections in flight are cut too)."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from openlfr.auth.roles import Role
from openlfr.auth.tokens import Tokens
from openlfr.match.watchlist import Watchlist
from serving import ServedApp, free_port


@dataclass
class EdgeWorld:
    served: ServedApp
    watchlist: Watchlist
    deployment_id: str
    other_deployment_id: str
    device_token: str
    clip: Path

    def token(self, name: str, deployment_id: str | None = None) -> str:
        tokens = Tokens(self.served.store, self.served.settings.api)
        _, secret = tokens.create(
            name, Role.DEVICE, "local:test", days=1, deployment_id=deployment_id or self.deployment_id
        )
        return secret


class Proxy:
    """Forwards 127.0.0.1:``port`` to the server's port while started."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="test-proxy", daemon=True).start()

    def stop(self) -> None:
        """Refuse new connections and cut the open ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._open = self._open, set()
        if listener is not None:
            listener.close()
        for s in sockets:
            _close(s)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    _close(client)
                    _close(server)
                    return
                self._open |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        _close(dst)
        _close(src)


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    s.close()
