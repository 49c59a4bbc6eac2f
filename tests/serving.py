"""Test helpers for the service: a real uvicorn server on a free loopback port, and a logged-in client.

``ServedApp`` starts ``create_app`` over a store in a thread, exactly as ``lfr serve`` does (uvicorn,
real sockets), and stops it afterwards. ``Client`` is httpx with a login that keeps the session
cookie and sends the CSRF token with every change, as the web app does.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import uvicorn

from openlfr.api.app import create_app
from openlfr.api.deps import ApiContext
from openlfr.auth.roles import Role
from openlfr.auth.users import Users
from openlfr.config import Settings
from openlfr.store.db import Store

PASSWORD = "correct horse battery staple"
"""Every test user's password (long enough for the default policy)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServedApp:
    settings: Settings
    store: Store
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def ctx(self) -> ApiContext:
        """The app's services, for a test that looks inside (the galleries it holds open)."""
        ctx: ApiContext = self.server.config.app.state.ctx
        return ctx

    def add_user(self, username: str, role: Role) -> str:
        Users(self.store, self.settings.api).add(username, role, PASSWORD, "local:test")
        return username

    def client(self, username: str | None = None, **kwargs: object) -> Client:
        c = Client(self.url, **kwargs)  # type: ignore[arg-type]
        if username is not None:
            c.login(username)
        return c


@contextmanager
def serve(settings: Settings, store: Store, resume: bool = True) -> Iterator[ServedApp]:
    """The app over ``store`` on a real server; stopped (cameras too) when the block ends."""
    port = free_port()
    app = create_app(settings, store, resume=resume, close_store=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield ServedApp(settings, store, f"http://127.0.0.1:{port}", server, thread)
    finally:
        server.should_exit = True
        thread.join(60)


@dataclass
class Client:
    """An API client as a browser page uses it: the session cookie, and the CSRF token on changes."""

    base: str
    csrf: str | None = None
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base, timeout=120)

    def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        r = self.http.post("/api/v1/auth/login", json={"username": username, "password": password})
        if r.status_code == 200:
            self.csrf = r.json()["csrf_token"]
        return r

    def _headers(self, given: dict[str, str] | None) -> dict[str, str]:
        headers = dict(given or {})
        if self.csrf is not None:
            headers.setdefault("X-CSRF-Token", self.csrf)
        return headers

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.http.get(path, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, headers: dict[str, str] | None = None, **kwargs: object) -> httpx.Response:
        return self.http.post(path, headers=self._headers(headers), **kwargs)  # type: ignore[arg-type]

    def close(self) -> None:
        self.http.close()


@dataclass
class SseEvent:
    id: str | None
    event: str
    data: str
    received_wall: float


class SseListener:
    """Reads a ``text/event-stream`` in a thread, keeping each event with the wall time it arrived."""

    def __init__(self, client: Client, path: str, last_event_id: str | None = None) -> None:
        self.events: list[SseEvent] = []
        self.status: int | None = None
        self._client = client
        self._path = path
        self._headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        self._stop = threading.Event()
        self._arrived = threading.Condition()
        self._thread = threading.Thread(target=self._read, name="test-sse", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with self._client.http.stream("GET", self._path, headers=self._headers, timeout=None) as r:
            self.status = r.status_code
            fields: dict[str, str] = {}
            for line in r.iter_lines():
                if self._stop.is_set():
                    return
                if line == "":
                    if "data" in fields:
                        with self._arrived:
                            self.events.append(
                                SseEvent(fields.get("id"), fields.get("event", "message"), fields["data"], time.time())
                            )
                            self._arrived.notify_all()
                    fields = {}
                elif not line.startswith(":"):
                    key, _, value = line.partition(":")
                    fields[key] = value[1:] if value.startswith(" ") else value

    def wait_for(self, count: int, timeout: float) -> list[SseEvent]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.events) >= count, timeout)
            return list(self.events)

    def close(self) -> None:
        self._stop.set()
