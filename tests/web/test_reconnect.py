"""The console misses no alert across a dropped connection: the browser's EventSource reconnects with
``Last-Event-ID`` and the stream sends what was stored meanwhile (alerts stored here as the live run
stores them; the feed follows the audit chain, whichever process wrote it).

The browser reaches the server through a small TCP relay, which the test cuts (every open connection
closed, new ones refused) and then restores: a real dropped network, not an emulation.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

from browsing import Browsing
from deploying import live_deployment
from openlfr.analysis import FaceAnalyzer
from openlfr.auth.roles import Role
from openlfr.config import CameraConfig
from openlfr.match.watchlist import Watchlist
from openlfr.review.alerts import Alerts
from reviewing import make_alert


class Relay:
    """127.0.0.1:port -> the server; ``cut()`` closes every connection and refuses new ones until ``mend()``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        self.up = True
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        with self.lock:
            for s in self.open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self.open.clear()

    def mend(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_an_alert_raised_while_the_connection_is_down_arrives_after_it(
    browsing: Browsing, analyzer: FaceAnalyzer, demo: Path, demo_watchlist: Watchlist
) -> None:
    served = browsing.served
    camera = CameraConfig(id="cam-1", source=str(demo / "video" / "walkthrough.mp4"))
    dep = live_deployment(served.store, demo_watchlist, [camera])
    served.add_user("op.smith", Role.OPERATOR)
    host, port = served.url.removeprefix("http://").split(":")
    relay = Relay((host, int(port)))
    try:
        served.url = f"http://127.0.0.1:{relay.port}"  # the browser's way in
        page = browsing.login("op.smith")
        page.goto(f"{served.url}/console?deployment={dep.id}")
        page.locator("#stream-state:text-is('connected')").wait_for()
        alerts = Alerts(served.store)
        first = make_alert(analyzer, demo, demo_watchlist, "obama")
        alerts.store_alert(dep.id, first)
        page.locator(f'.card[data-alert-id="{first.alert_id}"]').wait_for()

        relay.cut()
        page.locator("#stream-state:text-is('reconnecting…')").wait_for()
        second = make_alert(analyzer, demo, demo_watchlist, "biden")
        alerts.store_alert(dep.id, second)
        page.wait_for_timeout(1500)
        assert page.locator(f'.card[data-alert-id="{second.alert_id}"]').count() == 0
        relay.mend()
        page.locator(f'.card[data-alert-id="{second.alert_id}"]').wait_for(timeout=30_000)
        ids = page.locator(".card").evaluate_all("(cards) => cards.map((c) => c.dataset.alertId)")
        assert ids == [second.alert_id, first.alert_id]  # newest first, each once
    finally:
        relay.close()
