"""Row seals: every writer goes through the one sealing helper (``store/seal.py``), so after a deployment's whole
lifecycle (and users, tokens, sessions, a purge) every protected row carries a valid seal and verify is intact;
and a store made before the seals (migration 0003) is sealed when it is opened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from deploying import governed, live_deployment
from identities import PASSWORD
from openlfr.analysis import FaceAnalyzer
from openlfr.auth.roles import Role
from openlfr.auth.sessions import WebSessions
from openlfr.auth.tokens import Tokens
from openlfr.auth.users import Users
from openlfr.config import ApiConfig, CameraConfig, RetentionConfig, Settings, StoreConfig
from openlfr.deploy.lifecycle import Deployments
from openlfr.deploy.live import run_deployment
from openlfr.errors import LoginFailedError
from openlfr.match.watchlist import Watchlist
from openlfr.review.adjudication import EngagementDecision, OperatorDecision, Outcome, Stage
from openlfr.review.alerts import Alerts
from openlfr.store import audit
from openlfr.store.db import Store
from openlfr.store.integrity import FindingKind, RowFinding, tables
from openlfr.store.models import AuditEntry
from openlfr.store.retention import purge
from openlfr.store.seal import MAC_COLUMN, PROTECTED
from reviewing import make_alert


def _unsealed(store: Store) -> tuple[dict[str, int], list[str]]:
    """Rows per protected table, and every row whose seal does not match its content."""
    counts: dict[str, int] = {}
    bad: list[str] = []
    with store.engine.connect() as conn:
        for table in tables():
            rows = conn.execute(select(table)).mappings().all()
            counts[table.name] = len(rows)
            bad += [
                f"{table.name} {row}"
                for row in rows
                if row[MAC_COLUMN] is None
                or store.sealer.row_mac(table.name, list(table.columns), row) != row[MAC_COLUMN]
            ]
    return counts, bad


@pytest.mark.parametrize("store_config", ["sqlite"], indirect=True)
def test_every_row_written_in_a_whole_lifecycle_is_sealed(
    store: Store, store_config: StoreConfig, demo_watchlist: Watchlist, analyzer: FaceAnalyzer, demo: Path
) -> None:
    camera = CameraConfig(id="cam", source=str(demo / "video" / "walkthrough.mp4"), realtime=False, analysis_fps=1.0)
    dep = live_deployment(store, demo_watchlist, [camera])
    draft = Deployments(store).create(
        name="second (draft)",
        location_name="test",
        latitude=None,
        longitude=None,
        purpose="test",
        legal_basis="test",
        planned_start=datetime.now(UTC),
        planned_end=datetime.now(UTC) + timedelta(hours=1),
        cameras=[camera],
        created_by="sgt.creator",
    )
    Deployments(store).set_watchlist(draft.id, governed(demo_watchlist), "sgt.creator")
    run_deployment(store, Settings(store=store_config, live={"sinks": []}), dep.id, "insp.operator")
    alerts = Alerts(store)
    alert = make_alert(analyzer, demo, demo_watchlist)
    alerts.store_alert(dep.id, alert)
    other = make_alert(analyzer, demo, demo_watchlist, subject_id="biden")
    alerts.store_alert(dep.id, other)
    alerts.adjudicate(alert.alert_id, Stage.OPERATOR, OperatorDecision.MATCH, "pc.operator")
    alerts.adjudicate(alert.alert_id, Stage.ENGAGEMENT, EngagementDecision.ENGAGED_CONFIRMED_TRUE, "pc.engagement")
    alerts.adjudicate(alert.alert_id, Stage.OUTCOME, Outcome.NONE, "pc.engagement")
    alerts.place_hold(alert.alert_id, "CASE-1", "sgt.case")
    alerts.place_hold(other.alert_id, "CASE-2", "sgt.case")
    alerts.release_hold(other.alert_id, "CASE-2", "sgt.case")
    deployments = Deployments(store)
    deployments.publish(dep.id, "supt.authoriser")
    deployments.end(dep.id, "insp.operator")
    deployments.close(dep.id, "insp.operator")
    purge(
        store,
        datetime.now(UTC) + timedelta(days=10),
        "system:purge",
        RetentionConfig(alert_images_days=1, alert_data_days=2),
    )

    config = ApiConfig()
    users = Users(store, config)
    admin = users.add("alice", Role.ADMIN, PASSWORD, "system")
    with pytest.raises(LoginFailedError):
        users.authenticate("alice", "wrong password!", "cli")
    users.authenticate("alice", PASSWORD, "cli")
    tokens = Tokens(store, config)
    _, secret = tokens.create("camera-1", Role.DEVICE, "alice", days=1, deployment_id=draft.id)
    tokens.authenticate(secret)
    tokens.create("reporter", Role.SUPERVISOR, "alice", days=1)
    tokens.revoke("reporter", "alice")
    sessions = WebSessions(store, config)
    opened = sessions.open(admin)
    sessions.authenticate(opened.secret)
    sessions.close(opened.secret, "alice")
    sessions.open(admin)

    counts, bad = _unsealed(store)
    assert bad == []
    assert sorted(name for name, n in counts.items() if n == 0) == [], "a writer of this table was not exercised"
    assert set(counts) == set(PROTECTED)
    with store.session() as s:
        verdict = audit.verify(s)
        assert verdict.ok, verdict.problem
        automatic = s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "store.rows_changed")
        )
    assert automatic == 1  # the device token's first use: written without an action of its own


def _old_store(config: StoreConfig) -> Store:
    """A store at migration 0003 (before the seals), opened as that version of the program would."""
    from alembic import command

    from openlfr.store.crypto import Cipher, load_key
    from openlfr.store.db import _engine, alembic_config

    store = Store(_engine(config), Cipher(load_key(config)))
    command.upgrade(alembic_config(store.engine, store.sealer), "0003")
    return store


def test_a_store_made_before_the_seals_is_sealed_when_opened(store_config: StoreConfig) -> None:
    config = store_config
    old = _old_store(config)
    with old.engine.begin() as conn:  # what 0003's program wrote: a head, one entry, a deployment and a user
        conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :g)"), {"g": audit.GENESIS})
        now = datetime.now(UTC)
        for sql in (
            "INSERT INTO deployments (id, name, status, location_name, purpose, legal_basis, planned_start, "
            "planned_end, created_by, created_at, published) VALUES ('d-old', 'old', 'draft', 'here', 'test', "
            "'test', :now, :now, 'sgt.creator', :now, false)",
            "INSERT INTO users (username, role, password_hash, created_at, created_by, failed_logins, "
            "password_changed_at) VALUES ('olduser', 'admin', 'x', :now, 'system', 0, :now)",
        ):
            conn.execute(text(sql), {"now": now})
    old.close()

    store = Store.open(config)
    with store.session() as s:
        verdict = audit.verify(s)
        sealed = s.scalars(select(AuditEntry).where(AuditEntry.action == "store.sealed")).one()
    assert verdict.ok, verdict.problem
    assert '"deployments","d-old"' in sealed.rows_json and '"users","1"' in sealed.rows_json
    assert _unsealed(store)[1] == []
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE users SET role = 'admin', username = 'mallory' WHERE id = 1"))
    with store.session() as s:
        assert audit.verify(s).findings == (RowFinding("users", "1", FindingKind.EDITED),)
    store.close()


def test_every_table_but_the_chain_and_the_key_check_is_sealed() -> None:
    """A new table is protected, or deliberately left out here (the audit chain protects itself)."""
    from openlfr.store.models import Base, Sealed

    assert set(Base.metadata.tables) - set(PROTECTED) == {"meta", "audit_log", "audit_head"}
    sealed = {m.local_table.name for m in Base.registry.mappers if issubclass(m.class_, Sealed)}
    assert sealed == set(PROTECTED)
