"""Pages without a live camera: the login flow, the role gate as a browser sees it, bad input shown
beside its field with nothing half-saved, and axe-core on each form."""

from __future__ import annotations

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
