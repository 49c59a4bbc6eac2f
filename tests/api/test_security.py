"""The browser-facing safeguards: CSRF, the session cookie's flags, another origin, login lockout,
login rate limits, and logins that do not tell an unknown user from a wrong password."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from openlfr.auth.roles import Role
from openlfr.config import StoreConfig
from openlfr.store.db import Store
from serving import PASSWORD, ServedApp, serve

from .conftest import api_settings


def test_a_change_without_the_csrf_token_is_refused(served_sqlite: ServedApp) -> None:
    served_sqlite.add_user("adm.lee", Role.ADMIN)
    c = served_sqlite.client("adm.lee")
    body = {"username": "new.user", "role": "auditor", "password": PASSWORD}
    r = c.http.post("/api/v1/users", json=body)  # the session cookie, but no X-CSRF-Token
    assert r.status_code == 403 and r.json()["error"] == "csrf_refused"
    r = c.http.post("/api/v1/users", json=body, headers={"X-CSRF-Token": "0" * 64})
    assert r.status_code == 403 and r.json()["error"] == "csrf_refused"
    assert c.get("/api/v1/users").json()[-1]["username"] == "adm.lee", "nothing was added"
    assert c.post("/api/v1/users", json=body).status_code == 201


def test_a_session_cookie_sent_from_another_origin_is_refused(served_sqlite: ServedApp) -> None:
    served_sqlite.add_user("adm.lee", Role.ADMIN)
    c = served_sqlite.client("adm.lee")
    body = {"username": "new.user", "role": "auditor", "password": PASSWORD}
    r = c.post("/api/v1/users", json=body, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json()["error"] == "csrf_refused" and "evil.example" in r.json()["message"]
    r = c.post("/api/v1/users", json=body, headers={"Referer": "https://evil.example/page"})
    assert r.status_code == 403
    assert c.post("/api/v1/users", json=body, headers={"Origin": served_sqlite.url}).status_code == 201
    assert served_sqlite.client().login("adm.lee").status_code == 200
    r = served_sqlite.client().http.post(
        "/api/v1/auth/login",
        json={"username": "adm.lee", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403, "a login form on another site cannot log a browser in here"


def test_the_session_cookie_is_secure_httponly_and_strict(tmp_path: Path, sqlite_store: Store) -> None:
    settings = api_settings(StoreConfig(data_dir=tmp_path, dev_mode=True))
    settings = settings.model_copy(update={"api": settings.api.model_copy(update={"cookie_secure": True})})
    with serve(settings, sqlite_store) as served:
        served.add_user("op.smith", Role.OPERATOR)
        r = served.client().login("op.smith")
        cookie = r.headers["set-cookie"].lower()
        assert "lfr_session=" in cookie and "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
        assert "csrf_token" in r.json() and PASSWORD not in r.text


def test_wrong_passwords_lock_the_account_and_every_attempt_is_audited(served_sqlite: ServedApp) -> None:
    served_sqlite.add_user("op.smith", Role.OPERATOR)
    served_sqlite.add_user("aud.patel", Role.AUDITOR)
    c = served_sqlite.client()
    limit = served_sqlite.settings.api.login_max_failures
    for _ in range(limit):
        r = c.login("op.smith", "not the password at all")
        assert r.status_code == 401 and r.json()["error"] == "login_failed"
    r = c.login("op.smith")  # the right password, now too late
    assert r.status_code == 423 and r.json()["error"] == "account_locked" and "Retry-After" in r.headers
    aud = served_sqlite.client("aud.patel")
    entries = aud.get("/api/v1/audit", params={"last": 1000}).json()
    failed = [e for e in entries if e["action"] == "login.failed" and e["actor"] in ("op.smith", "anonymous")]
    assert len(failed) >= limit
    assert any(e["action"] == "login.locked" for e in entries)
    assert all(PASSWORD not in str(e["details"]) for e in entries)
    assert aud.get("/api/v1/audit/verify").json()["ok"] is True


def test_login_attempts_from_one_address_are_rate_limited(served_sqlite: ServedApp) -> None:
    c = served_sqlite.client()
    codes = [c.login(f"nobody{i}", "wrong password here").status_code for i in range(25)]
    assert codes[0] == 401 and codes[-1] == 429


def test_an_unknown_user_and_a_wrong_password_take_the_same_time(served_sqlite: ServedApp) -> None:
    served_sqlite.add_user("op.smith", Role.OPERATOR)
    served_sqlite.add_user("op.brown", Role.OPERATOR)
    c = served_sqlite.client()

    def timed(username: str) -> float:
        start = time.perf_counter()
        assert c.login(username, "wrong password, long enough").status_code == 401
        return time.perf_counter() - start

    unknown, known = [], []
    for i in range(8):  # alternated, so that load on the machine falls on both alike; under the lockout limit
        unknown.append(timed(f"nobody-{i}"))
        known.append(timed("op.smith" if i < 4 else "op.brown"))  # 4 each: under the lockout
    ratio = statistics.median(known) / statistics.median(unknown)
    assert 0.6 < ratio < 1.6
