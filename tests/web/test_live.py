"""A deployment run from its screens, in a real browser, on the Hamilton clip.

Two supervisors set it up through the API (as ``tests/api/test_end_to_end.py`` does); the operator's
console shows Lin-Manuel Miranda's alert as a card with both images, and the operator decides by
keyboard; the engagement officer, on a tablet, records the engagement and the outcome; the auditor
downloads the records and sees the true alert; the public notice shows the published deployment and
nothing about anyone on its watchlist. Measured and reported: frame capture to card in the DOM.
Each page is photographed at desktop and tablet width and checked by axe-core.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from browsing import DESKTOP, TABLET, Browsing, copy_to_docs
from openlfr.auth.roles import Role
from openlfr.deploy.lifecycle import Deployments
from serving import Client

MANIFEST = (
    "subject_id,display_name,category,reason,image_source,expires,image\n"
    "lin-manuel-miranda,Lin-Manuel Miranda,wanted,warrant W-2041 (test),press photo (test),{expires},"
    "lin-manuel-miranda.png\n"
)
PHONE = {"width": 390, "height": 844}
DOCS = {"console-desktop", "engagement-tablet", "setup-desktop", "records-desktop", "public-tablet"}


def _set_up(sup1: Client, sup2: Client, root: Path) -> str:
    now = datetime.now(UTC)
    r = sup1.post(
        "/api/v1/deployments",
        json={
            "name": "Hamilton at the White House (test)",
            "location_name": "East Room (test)",
            "purpose": "locate a person wanted on warrant (test)",
            "legal_basis": "common law policing powers; force LFR policy v3 (test)",
            "planned_start": (now - timedelta(minutes=5)).isoformat(),
            "planned_end": (now + timedelta(hours=2)).isoformat(),
            "cameras": [{"id": "whitehouse", "source": str(root / "short_hamilton_clip.mp4"), "realtime": True}],
        },
    )
    assert r.status_code == 201, r.text
    dep: str = r.json()["id"]
    manifest = MANIFEST.format(expires=(date.today() + timedelta(days=30)).isoformat()).encode()
    photo = (root / "enrol" / "lin-manuel-miranda.png").read_bytes()
    r = sup1.post(
        f"/api/v1/deployments/{dep}/watchlist",
        files=[
            ("manifest", ("manifest.csv", manifest, "text/csv")),
            ("images", ("lin-manuel-miranda.png", photo, "image/png")),
        ],
        data={"name": "hamilton"},
    )
    assert r.status_code == 200, r.text
    r = sup1.post(
        f"/api/v1/deployments/{dep}/threshold",
        json={"value": 0.5, "justification": "test: the 1:1 threshold, accepted for a one-person test watchlist"},
    )
    assert r.status_code == 200, r.text
    assert sup2.post(f"/api/v1/deployments/{dep}/authorise").status_code == 200
    assert sup1.post(f"/api/v1/deployments/{dep}/publish", json={}).status_code == 200
    return dep


def _photograph(browsing: Browsing, page: Any, name: str) -> None:
    """Desktop and tablet screenshots, and no serious accessibility violation at either width."""
    for width, viewport in (("desktop", DESKTOP), ("tablet", TABLET)):
        page.set_viewport_size(viewport)
        shot = browsing.shoot(page, f"{name}-{width}")
        if f"{name}-{width}" in DOCS:
            copy_to_docs(shot, f"{name}-{width}")
        violations = browsing.axe(page)
        assert not violations, f"{name} at {width} width: {violations}"
    page.set_viewport_size(PHONE)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], (
        f"{name} is wider than a phone"
    )
    page.set_viewport_size(DESKTOP)


def test_a_deployment_from_its_screens(
    browsing: Browsing, shared_data: Path, record_property: Callable[[str, object], None]
) -> None:
    served = browsing.served
    root = shared_data / "videos" / "hamilton_whitehouse"
    for name, role in (
        ("sup.one", Role.SUPERVISOR),
        ("sup.two", Role.SUPERVISOR),
        ("op.smith", Role.OPERATOR),
        ("eng.jones", Role.ENGAGEMENT),
        ("aud.patel", Role.AUDITOR),
    ):
        served.add_user(name, role)
    sup1, sup2 = served.client("sup.one"), served.client("sup.two")
    dep = _set_up(sup1, sup2, root)

    # The operator's console, connected before the deployment starts.
    console = browsing.login("op.smith")
    assert "/console" in console.url
    console.goto(f"{served.url}/console?deployment={dep}")
    console.locator("#stream-state:text-is('connected')").wait_for()
    assert sup2.post(f"/api/v1/deployments/{dep}/start").status_code == 200
    card = console.locator(".card").first
    console.locator(".card[data-shown-at]").first.wait_for(timeout=90_000)
    shown_ms = float(card.get_attribute("data-shown-at") or "nan")
    captured = datetime.fromisoformat((card.get_attribute("data-captured") or "").replace("Z", "+00:00"))
    delay = shown_ms / 1000 - captured.timestamp()
    received_ms = float(card.get_attribute("data-received-at") or "nan")
    record_property("capture_to_card_s", round(delay, 3))
    record_property("capture_to_sse_in_page_s", round(received_ms / 1000 - captured.timestamp(), 3))
    # The API's own test holds the stream to 2 s; here a browser shares the two cores with the pipeline.
    assert 0 <= delay < 5.0, f"frame capture to the card in the operator's DOM took {delay:.3f} s"
    assert "Lin-Manuel Miranda" in card.inner_text()
    for img in card.locator("img").all():
        img.wait_for()
        assert console.evaluate("(i) => i.complete && i.naturalWidth > 0", img.element_handle()), "image not loaded"
    assert card.locator("img").count() == 2
    _photograph(browsing, console, "console")

    # Retrospective search while it is live (the operator may search; the reason is required).
    search = browsing.page()
    search.context.add_cookies(console.context.cookies())
    search.goto(f"{served.url}/search?deployment={dep}")
    search.get_by_label("Photo").set_input_files(str(root / "enrol" / "lin-manuel-miranda.png"))
    search.get_by_label("Reason for this search (recorded in the audit)").fill("too short")
    search.get_by_role("button", name="Search").click()
    beside = search.locator('[data-error-for="reason"]')
    beside.wait_for()
    assert "10 characters" in beside.inner_text()
    search.get_by_label("Reason for this search (recorded in the audit)").fill(
        "browser test: check the search page works"
    )
    search.get_by_role("button", name="Search").click()
    search.locator(".candidates li").first.wait_for(timeout=60_000)
    assert "Lin-Manuel Miranda" in search.locator(".candidates li").first.inner_text()
    _photograph(browsing, search, "search")

    # The operator decides by keyboard: focus the card, press m.
    card.focus()
    console.keyboard.press("m")
    console.locator(".card.decided").first.wait_for()
    alert_id = card.get_attribute("data-alert-id")
    [summary] = [a for a in sup2.get(f"/api/v1/alerts?deployment={dep}").json() if a["id"] == alert_id]
    assert summary["state"]["operator"] == "match"

    # The engagement officer, on a tablet.
    eng = browsing.login("eng.jones", TABLET)
    eng.goto(f"{served.url}/engagement?deployment={dep}")
    item = eng.locator(f'.card[data-alert-id="{alert_id}"]')
    item.get_by_role("button", name="Engaged: confirmed true").click()
    item.get_by_role("button", name="Arrest").click()
    eng.locator(f'.card[data-alert-id="{alert_id}"] [data-decision="arrest"][aria-pressed="true"]').wait_for()
    _photograph(browsing, eng, "engagement")

    # The clip plays to its end; the deployment ends.
    deadline = time.monotonic() + 60
    while any(c["running"] for c in sup2.get(f"/api/v1/deployments/{dep}/cameras").json()):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert sup2.post(f"/api/v1/deployments/{dep}/end").status_code == 200

    # The supervisor's set-up page, with the deployment open.
    setup = browsing.login("sup.one")
    setup.goto(f"{served.url}/setup?deployment={dep}")
    setup.locator("#facts").get_by_text("published").wait_for()
    steps = setup.locator("#actions button:visible").all_inner_texts()
    assert steps == ["Close", "Withdraw from the public notice"], steps  # what an ended deployment allows
    assert setup.locator("#watchlist-form").is_hidden()
    _photograph(browsing, setup, "setup")

    # The auditor downloads the records and sees the true alert.
    aud = browsing.login("aud.patel")
    assert aud.url.endswith("/records")
    row = aud.locator(f'#records tr[data-deployment="{dep}"]')
    assert row.locator(".true-alerts").inner_text() == "1"
    with aud.expect_download() as got:
        aud.get_by_role("link", name="Download CSV").click()
    text = Path(got.value.path()).read_text()
    [record] = [r for r in csv.DictReader(io.StringIO(text)) if r["deployment_id"] == dep]
    assert (record["alerts"], record["true_alerts"], record["arrests"]) == ("1", "1", "1")
    row.get_by_role("button").click()
    aud.locator(f'#alerts tr[data-alert-id="{alert_id}"]').get_by_text("arrest").wait_for()
    aud.get_by_role("button", name="Verify the chain").click()
    aud.locator("#verdict dd").first.wait_for()
    aud.get_by_label("Actor").fill("op.smith")
    aud.get_by_role("button", name="Show entries").click()
    aud.locator("#entries tr").first.wait_for()
    assert all(a == "op.smith" for a in aud.locator("#entries tr td:nth-child(3)").all_inner_texts())
    _photograph(browsing, aud, "records")
    account = browsing.login("op.smith")
    account.goto(f"{served.url}/account")
    _photograph(browsing, account, "account")

    # The public notice: place, times and record; nothing about anyone on the watchlist.
    public = browsing.page(TABLET)
    public.goto(f"{served.url}/public")
    notice = public.locator(f'.notice[data-deployment="{dep}"]')
    view = Deployments(served.store).get(dep)
    text = notice.inner_text()
    assert view.location_name in text and view.purpose in text and view.legal_basis in text
    assert notice.locator(".alerts").inner_text() == "1" and notice.locator(".true-alerts").inner_text() == "1"
    assert notice.locator(".arrests").inner_text() == "1"
    assert public.locator("main img").count() == 0
    feed = public.request.get(f"{served.url}/public.json").json()
    secrets = {view.cameras[0].source, "whitehouse", "sup.one", "sup.two"}
    for entry in view.entries:
        secrets |= {entry.subject_id, entry.reason, entry.image_source}
        secrets |= {entry.display_name} if entry.display_name else set()
    secrets |= {"Lin-Manuel Miranda", "lin-manuel-miranda"}
    html, data = public.content(), json.dumps(feed)
    leaked = sorted(s for s in secrets if s and (s in html or s in data))
    assert not leaked, f"the public notice shows {leaked}"
    _photograph(browsing, public, "public")
    login = browsing.page()
    login.goto(f"{served.url}/login")
    _photograph(browsing, login, "login")
