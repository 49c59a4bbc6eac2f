"""The retention floor over HTTP (issue 16, item 6): only an admin sets it (audited); an auditor reads
it; a purge with the server's periods below it is refused with 409 and one clear message."""

from __future__ import annotations

from openlfr.auth.roles import Role
from serving import ServedApp


def test_only_an_admin_sets_the_floor_and_a_purge_below_it_is_refused(served_sqlite: ServedApp) -> None:
    served_sqlite.add_user("adm.lee", Role.ADMIN)
    served_sqlite.add_user("sup.kay", Role.SUPERVISOR)
    served_sqlite.add_user("aud.ray", Role.AUDITOR)
    admin, supervisor, auditor = (served_sqlite.client(n) for n in ("adm.lee", "sup.kay", "aud.ray"))
    assert auditor.get("/api/v1/retention/floor").json()["days"] is None
    assert supervisor.post("/api/v1/retention/floor", json={"days": 0}).status_code == 403
    assert admin.post("/api/v1/retention/floor", json={"days": -1}).status_code == 422
    assert admin.post("/api/v1/retention/purge").status_code == 200, "31 days, no floor yet"

    set_ = admin.post("/api/v1/retention/floor", json={"days": 60})
    assert set_.status_code == 200 and set_.json()["set_by"] == "adm.lee"
    assert auditor.get("/api/v1/retention/floor").json()["days"] == 60
    refused = admin.post("/api/v1/retention/purge")  # the server's settings keep 31 days
    assert refused.status_code == 409
    assert refused.json()["error"] == "retention_below_floor"
    assert "31 day(s), below the floor of 60" in refused.json()["message"]
    actions = [e["action"] for e in auditor.get("/api/v1/audit").json()]
    assert actions.count("retention.floor_set") == 1 and actions.count("retention.purge") == 1
