"""``/api/v1/galleries``: the galleries of ``[api] gallery_dir`` listed and searched, by role, the reason
required and audited as who asked (real server, real store, real faces)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from openlfr.auth.roles import Role
from openlfr.gallery.gallery import Gallery
from serving import ServedApp


def test_search_by_role_reason_required_and_audited_as_who_asked(offering: ServedApp, demo: Path) -> None:
    for role in (Role.OPERATOR, Role.ENGAGEMENT, Role.AUDITOR):
        offering.add_user(role.value, role)
    op, eng, aud = (offering.client(r.value) for r in (Role.OPERATOR, Role.ENGAGEMENT, Role.AUDITOR))
    photo = (demo / "probes" / "obama_congress_2009.jpg").read_bytes()
    files = {"image": ("probe.jpg", photo, "image/jpeg")}
    reason = "case 42: photo from the investigation"

    r = op.post("/api/v1/galleries/custody/search", files=files, data={"reason": reason, "top": "2"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["gallery"] == "custody" and body["size"] == 2 and body["scoring"] == "cosine"
    [result] = body["results"]
    best = [face["candidates"][0] for face in result["faces"] if face["candidates"]]
    assert any(c["subject_id"] == "obama" and c["rank"] == 1 for c in best), body
    assert all(len(face["candidates"]) <= 2 for face in result["faces"])

    gallery = Gallery.open(offering.settings.api.gallery_dir / "custody", offering.settings.store)  # type: ignore[operator]
    last = gallery.records.audit_entries()[-1]
    assert last["action"] == "search" and last["actor"] == "operator"
    assert last["detail"]["reason"] == reason  # type: ignore[index]
    assert gallery.records.verify_audit()[0]
    gallery.close()

    short = op.post("/api/v1/galleries/custody/search", files=files, data={"reason": "why"})
    assert short.status_code == 422
    missing = op.post("/api/v1/galleries/custody/search", files=files)
    assert missing.status_code == 422
    for name in ("nowhere", "not-a-gallery", ".hidden", "%2e%2e%2fcustody"):
        r = op.post(f"/api/v1/galleries/{name}/search", files=files, data={"reason": reason})
        assert r.status_code == 404, (name, r.status_code)
    assert eng.post("/api/v1/galleries/custody/search", files=files, data={"reason": reason}).status_code == 403
    assert aud.post("/api/v1/galleries/custody/search", files=files, data={"reason": reason}).status_code == 403
    anonymous = offering.client()
    assert anonymous.post("/api/v1/galleries/custody/search", files=files, data={"reason": reason}).status_code == 401

    listed = aud.get("/api/v1/galleries")
    assert listed.status_code == 200
    [info] = listed.json()
    assert info["records"] == 2 and info["audit_ok"] and info["index"]["kind"] == "flat"
    assert eng.get("/api/v1/galleries").status_code == 403


def _subjects(body: dict[str, Any]) -> set[str]:
    return {c["subject_id"] for face in body["results"][0]["faces"] for c in face["candidates"]}


def test_searches_share_one_open_gallery_and_see_a_removal_made_by_another_handle(
    offering: ServedApp, demo: Path
) -> None:
    offering.add_user("operator", Role.OPERATOR)
    url = "/api/v1/galleries/custody/search"
    files = {"image": ("probe.jpg", (demo / "probes" / "obama_congress_2009.jpg").read_bytes(), "image/jpeg")}
    data = {"reason": "case 42: photo from the investigation", "top": "2"}
    held = offering.ctx.galleries

    def search() -> dict[str, Any]:
        r = offering.client("operator").post(url, files=files, data=data)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    with ThreadPoolExecutor(4) as pool:  # at once, from the server's worker threads
        bodies = list(pool.map(lambda _: search(), range(4)))
    assert all(_subjects(b) == _subjects(bodies[0]) and "obama" in _subjects(b) for b in bodies)
    assert held.opened == 1, "the searches opened the gallery again"

    # As `lfr gallery remove` does, from another process: its own handle removes obama's record.
    other = Gallery.open(offering.settings.api.gallery_dir / "custody", offering.settings.store)  # type: ignore[operator]
    faces = bodies[0]["results"][0]["faces"]
    obama = sorted({c["record_id"] for face in faces for c in face["candidates"] if c["subject_id"] == "obama"})
    assert other.remove(obama, "test: removed while the service holds the gallery open") == 1
    other.close()

    after = search()
    assert "obama" not in _subjects(after) and after["size"] == 1, after
    assert held.opened == 2, "the changed gallery was not opened again"
    search()
    assert held.opened == 2
