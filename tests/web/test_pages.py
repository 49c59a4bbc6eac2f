"""Pages without a live camera: the login flow, the role gate as a browser sees it, bad input shown
beside its field with nothing half-saved, and axe-core on each form."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from browsing import Browsing
from openlfr.auth.roles import Role
from openlfr.deploy.lifecycle import Deployments


def test_login_refusal_then_the_role_home_and_logout(browsing: Browsing) -> None:
    served = browsing.served
    served.add_user("op.smith", Role.OPERATOR)
    page = browsing.page()
    page.goto(served.url + "/console")
    assert page.url.endswith("/login")  # no session: the login page
    page.get_by_label("Username").fill("op.smith")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    error = page.locator('#login-form [data-error-for="_form"]')
    error.wait_for()
    assert "password" in error.inner_text().lower()
    assert not browsing.axe(page)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/console")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    page.goto(served.url + "/console")
    assert page.url.endswith("/login")


def test_an_operator_gets_403_on_an_auditor_page_and_no_link_to_it(browsing: Browsing) -> None:
    browsing.served.add_user("op.smith", Role.OPERATOR)
    page = browsing.login("op.smith")
    assert page.get_by_role("link", name="Records and audit").count() == 0
    assert page.get_by_role("link", name="Live console").count() == 1
    response = page.goto(browsing.served.url + "/records")
    assert response is not None and response.status == 403
    assert "not open to the operator role" in page.inner_text("main")
    assert page.get_by_role("link", name="Records and audit").count() == 0


def test_bad_input_is_shown_beside_the_field_and_nothing_is_saved(browsing: Browsing) -> None:
    served = browsing.served
    served.add_user("sup.one", Role.SUPERVISOR)
    page = browsing.login("sup.one")
    assert page.url.endswith("/setup")
    form = page.locator("#create-form")
    form.get_by_label("Name").fill("Bad dates (test)")
    form.get_by_label("Place").fill("Nowhere (test)")
    form.get_by_label("Purpose").fill("test")
    form.get_by_label("Legal basis").fill("test")
    form.get_by_label("Camera id").fill("cam-1")
    form.get_by_label("Camera source (RTSP/HTTP URL, device or file)").fill("/dev/null")
    form.get_by_role("button", name="Create draft").click()  # no planned times
    beside = form.locator('[data-error-for="planned_start"]')
    beside.wait_for()
    assert beside.inner_text().strip()
    assert form.get_by_label("Planned start").get_attribute("aria-invalid") == "true"
    assert Deployments(served.store).list_deployments() == []
    assert not browsing.axe(page)


def test_a_deployment_set_up_through_the_forms(browsing: Browsing, shared_data: Path, tmp_path: Path) -> None:
    """Create, upload with the per-image report, a refused then an accepted threshold, the creator's
    refused authorisation, each shown in plain words beside what it concerns."""
    served = browsing.served
    served.add_user("sup.one", Role.SUPERVISOR)
    page = browsing.login("sup.one")
    form = page.locator("#create-form")
    start = datetime.now() + timedelta(hours=1)  # the browser's local time, as a person types it
    for label, value in (
        ("Name", "Forms (test)"),
        ("Place", "Stratford Centre (test)"),
        ("Purpose", "locate wanted offenders (test)"),
        ("Legal basis", "common law policing powers (test)"),
        ("Planned start", start.strftime("%Y-%m-%dT%H:%M")),
        ("Planned end", (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")),
        ("Camera id", "cam-1"),
        ("Camera source (RTSP/HTTP URL, device or file)", "rtsp://camera.invalid/stream"),
    ):
        form.get_by_label(label, exact=True).fill(value)
    form.get_by_role("button", name="Create draft").click()
    page.locator("#detail-h", has_text="Forms (test)").wait_for()
    [dep] = Deployments(served.store).list_deployments()

    root = shared_data / "videos" / "hamilton_whitehouse"
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "subject_id,display_name,category,reason,image_source,expires,image\n"
        f"lmm,Lin-Manuel Miranda,wanted,warrant (test),press photo (test),{date.today() + timedelta(days=30)},"
        "lin-manuel-miranda.png\n"
    )
    upload = page.locator("#watchlist-form")
    upload.get_by_label("Watchlist name").fill("forms")
    upload.locator("#manifest").set_input_files(str(manifest))
    upload.get_by_label("Images the manifest names").set_input_files(str(root / "enrol" / "lin-manuel-miranda.png"))
    upload.get_by_role("button", name="Upload and enrol").click()
    upload.locator("#report tbody tr").first.wait_for(timeout=60_000)
    assert upload.locator("#report tbody tr td").all_inner_texts()[:3] == ["lmm", "lin-manuel-miranda.png", "yes"]

    threshold = page.locator("#threshold-form")
    threshold.get_by_label("Set by hand, with a justification").check()
    threshold.get_by_label("Threshold (0 to 1)").fill("0.5")
    threshold.get_by_label("Justification (at least 20 characters)").fill("too short")
    threshold.get_by_role("button", name="Set threshold").click()
    refusal = threshold.locator('[data-error-for="_form"]')
    refusal.wait_for()
    assert "justification" in refusal.inner_text().lower()
    assert Deployments(served.store).get(dep.id).threshold is None  # nothing half-saved
    threshold.get_by_label("Justification (at least 20 characters)").fill("test: accepted for a one-person list")
    threshold.get_by_role("button", name="Set threshold").click()
    page.locator("#facts dd", has_text="0.5 (manual)").wait_for()

    page.get_by_role("button", name="Authorise").click()
    said = page.locator('#step-result [data-error-for="_form"]')
    said.wait_for()
    assert "another officer" in said.inner_text()
    assert not browsing.axe(page)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing wider than the screen
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390


def test_a_password_change_ends_the_session_and_the_new_one_works(browsing: Browsing) -> None:
    served = browsing.served
    served.add_user("aud.patel", Role.AUDITOR)
    page = browsing.login("aud.patel")
    page.get_by_role("link", name="Password").click()
    form = page.locator("#password-form")
    form.get_by_label("Current password").fill("correct horse battery staple")
    form.get_by_label("New password").fill("short")
    form.get_by_role("button", name="Change password").click()
    refusal = form.locator('[data-error-for="_form"]')
    refusal.wait_for()
    assert refusal.inner_text().strip()
    form.get_by_label("New password").fill("a different horse battery staple")
    form.get_by_role("button", name="Change password").click()
    page.wait_for_url("**/login")
    assert served.client().login("aud.patel", "a different horse battery staple").status_code == 200
