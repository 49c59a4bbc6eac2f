"""Browser-test helpers: Debian's Chromium under Playwright, every request checked, screenshots, axe-core.

``Browsing`` opens pages for users, each in its own browser context (its own cookies); every request a
page makes is routed through a check that records (and aborts) any request to a host other than the
server's: the van has no internet, so a page that loads anything from elsewhere breaks there.
``axe`` runs the vendored axe-core (``web/vendor/``) and returns the serious and critical violations.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from serving import PASSWORD, ServedApp

CHROMIUM = os.environ.get("LFR_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).parent / "web" / "vendor" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}


@dataclass
class Browsing:
    """Opens pages for users, each in its own browser context (its own cookies), all requests checked."""

    browser: Any
    served: ServedApp
    artefacts: Path
    outside: list[str] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)

    def page(self, viewport: dict[str, int] | None = None) -> Any:
        context = self.browser.new_context(viewport=viewport or DESKTOP, accept_downloads=True)
        own = urlsplit(self.served.url).netloc

        def check(route: Any) -> None:
            url = route.request.url
            parts = urlsplit(url)
            if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != own:
                self.outside.append(url)
                route.abort()
            else:
                route.continue_()

        context.route("**/*", check)
        self.contexts.append(context)
        return context.new_page()

    def login(self, username: str, viewport: dict[str, int] | None = None) -> Any:
        page = self.page(viewport)
        page.goto(self.served.url + "/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: not url.endswith("/login"))
        return page

    def shoot(self, page: Any, name: str) -> Path:
        path = self.artefacts / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def axe(self, page: Any) -> list[str]:
        """Serious and critical accessibility violations on the page as it is now."""
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(AXE.read_text() + "\n;undefined")
        found = page.evaluate("async () => (await axe.run(document)).violations")
        return [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in found
            if v["impact"] in ("serious", "critical")
        ]


def copy_to_docs(shot: Path, name: str) -> None:
    """Keep a screenshot for the README when LFR_WEB_DOCS names the folder (docs/screenshots)."""
    docs = os.environ.get("LFR_WEB_DOCS")
    if docs:
        Path(docs).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(docs) / f"{name}.png")
