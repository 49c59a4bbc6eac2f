"""The audit covers state (issue 16, item 2): a change made behind the program's back, in raw SQL, to a row
that decides something is found by ``verify`` and named (table, row id, how), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from deploying import live_deployment
from openlfr.analysis import FaceAnalyzer
from openlfr.config import CameraConfig
from openlfr.deploy.lifecycle import Deployments
from openlfr.errors import RowSealError, StoreError
from openlfr.match.watchlist import Watchlist
from openlfr.review.adjudication import OperatorDecision, Stage
from openlfr.review.alerts import Alerts
from openlfr.store import audit
from openlfr.store.db import Store
from openlfr.store.integrity import FindingKind, RowFinding
from openlfr.store.models import AuditEntry, AuditHead, Deployment
from reviewing import make_alert

CAMERAS = [CameraConfig(id="cam-1", source="clip.mp4")]


@dataclass(frozen=True)
class Stored:
    deployment_id: str
    alert_id: str
    adjudication_id: int


@pytest.fixture
def stored(store: Store, demo_watchlist: Watchlist, analyzer: FaceAnalyzer, demo: Path) -> Stored:
    """A live deployment with one alert and its operator's decision, all written by the program."""
    dep = live_deployment(store, demo_watchlist, CAMERAS)
    alerts = Alerts(store)
    alert = make_alert(analyzer, demo, demo_watchlist)
    assert alerts.store_alert(dep.id, alert)
    event = alerts.adjudicate(alert.alert_id, Stage.OPERATOR, OperatorDecision.MATCH, "insp.operator")
    return Stored(dep.id, alert.alert_id, event.id)


def _behind_the_back(store: Store, sql: str, **params: object) -> None:
    """Raw SQL on the database, as someone with access to it (not the program) would run it."""
    with store.engine.begin() as conn:
        conn.execute(text(sql), params)


def _verify(store: Store) -> audit.AuditVerdict:
    with store.session() as s:
        return audit.verify(s)


def test_an_untouched_store_is_intact(store: Store, stored: Stored) -> None:
    verdict = _verify(store)
    assert verdict.ok, verdict.problem
    assert verdict.findings == () and verdict.first_broken is None


def test_a_threshold_set_to_zero_in_sql_is_found_and_named(store: Store, stored: Stored) -> None:
    _behind_the_back(store, "UPDATE deployments SET threshold = 0 WHERE id = :id", id=stored.deployment_id)
    verdict = _verify(store)
    assert not verdict.ok
    assert verdict.findings == (RowFinding("deployments", stored.deployment_id, FindingKind.EDITED),)
    assert f"deployments row {stored.deployment_id} was edited" in verdict.problem


def test_a_deleted_adjudication_is_found_and_named(store: Store, stored: Stored) -> None:
    _behind_the_back(store, "DELETE FROM adjudications WHERE id = :id", id=stored.adjudication_id)
    verdict = _verify(store)
    assert not verdict.ok
    assert verdict.findings == (RowFinding("adjudications", str(stored.adjudication_id), FindingKind.DELETED),)


def test_an_edited_alert_is_found_and_named(store: Store, stored: Stored) -> None:
    _behind_the_back(store, "UPDATE alerts SET score = 0.99, camera_id = 'cam-9' WHERE id = :id", id=stored.alert_id)
    verdict = _verify(store)
    assert not verdict.ok
    assert verdict.findings == (RowFinding("alerts", stored.alert_id, FindingKind.EDITED),)


def test_a_forged_authoriser_is_found_and_named(store: Store, stored: Stored) -> None:
    _behind_the_back(
        store, "UPDATE deployments SET authorised_by = 'ch.supt.someone' WHERE id = :id", id=stored.deployment_id
    )
    verdict = _verify(store)
    assert not verdict.ok
    assert verdict.findings == (RowFinding("deployments", stored.deployment_id, FindingKind.EDITED),)


def test_an_inserted_row_is_found_and_named(store: Store, stored: Stored) -> None:
    _behind_the_back(
        store,
        "INSERT INTO adjudications (id, alert_id, stage, decision, actor, at, note) "
        "VALUES (:id, :alert, 'operator', 'no_match', 'insp.operator', :at, '')",
        id=stored.adjudication_id + 100,
        alert=stored.alert_id,
        at=datetime.now(UTC),
    )
    verdict = _verify(store)
    assert not verdict.ok
    assert verdict.findings == (RowFinding("adjudications", str(stored.adjudication_id + 100), FindingKind.INSERTED),)


def test_an_emptied_audit_log_beside_data_is_broken(store: Store, stored: Stored) -> None:
    for table in ("audit_log", "audit_head"):  # every entry, and the head that would show the cut
        _behind_the_back(store, f"DELETE FROM {table}")
    verdict = _verify(store)
    assert not verdict.ok and verdict.entries == 0
    assert verdict.first_broken == 1


def test_an_earlier_version_put_back_is_found(store: Store, stored: Stored) -> None:
    """A row restored to an earlier state of its own (a valid seal, but not the one the chain last bound)."""
    table = Deployment.__table__
    where = table.c.id == stored.deployment_id
    with store.engine.begin() as conn:
        live = dict(conn.execute(select(table).where(where)).mappings().one())
    Deployments(store).end(stored.deployment_id, "insp.operator")
    with store.engine.begin() as conn:  # the live row, seal and all, put back behind the program's back
        conn.execute(update(table).where(where).values(live))
    verdict = _verify(store)
    assert not verdict.ok
    assert verdict.findings == (RowFinding("deployments", stored.deployment_id, FindingKind.REPLACED),)


@pytest.mark.parametrize("store_config", ["sqlite"], indirect=True)  # the program's side: one database
def test_the_program_refuses_to_seal_over_an_edit(store: Store, stored: Stored) -> None:
    _behind_the_back(store, "UPDATE deployments SET threshold = 0 WHERE id = :id", id=stored.deployment_id)
    with pytest.raises(RowSealError, match=f"deployments row {stored.deployment_id} does not match its seal") as caught:
        Deployments(store).end(stored.deployment_id, "insp.operator")
    assert (caught.value.table, caught.value.row_id) == ("deployments", stored.deployment_id)
    assert _verify(store).findings == (RowFinding("deployments", stored.deployment_id, FindingKind.EDITED),)


@pytest.mark.parametrize("store_config", ["sqlite"], indirect=True)  # the program's side: one database
def test_a_bulk_update_that_would_bypass_the_seals_is_refused(store: Store, stored: Stored) -> None:
    with pytest.raises(StoreError, match="bulk UPDATE on deployments would bypass its row seals"), store.session() as s:
        s.execute(update(Deployment).values(threshold=0.0))
    assert _verify(store).ok


def _rewrite_chain(store: Store, rows_of: Callable[[str, str], str]) -> None:
    """Rehash the whole chain and its head, as someone without the store key can, with each entry's bound
    rows replaced by ``rows_of(action, rows_json)``."""
    log = AuditEntry.__table__
    with store.engine.begin() as conn:
        prev = audit.GENESIS
        for e in conn.execute(select(log).order_by(log.c.seq)).mappings().all():
            rows = rows_of(e["action"], e["rows_json"])
            digest = audit.entry_hash(
                prev,
                e["seq"],
                e["at"],
                e["actor"],
                e["action"],
                e["deployment_id"],
                e["target"],
                e["details_json"],
                rows,
            )
            conn.execute(update(log).where(log.c.seq == e["seq"]).values(rows_json=rows, prev_hash=prev, hash=digest))
            prev = digest
        conn.execute(update(AuditHead.__table__).values(hash=prev))


@pytest.mark.parametrize("store_config", ["sqlite"], indirect=True)
def test_a_chain_rewritten_without_the_key_is_broken(store: Store, stored: Stored) -> None:
    """A deleted adjudication, dropped from the entry that bound it, every later hash and the head redone:
    still broken, because the head's seal needs the store key."""
    _behind_the_back(store, "DELETE FROM adjudications WHERE id = :id", id=stored.adjudication_id)
    gone = ["adjudications", str(stored.adjudication_id)]
    _rewrite_chain(
        store, lambda _action, rows: json.dumps([r for r in json.loads(rows) if r[:2] != gone]) if rows else rows
    )
    verdict = _verify(store)
    assert not verdict.ok and verdict.findings == ()
    assert "head does not carry the store key's seal" in verdict.problem


@pytest.mark.parametrize("store_config", ["sqlite"], indirect=True)
def test_unreadable_bound_rows_are_named_not_a_crash(store: Store, stored: Stored) -> None:
    _rewrite_chain(store, lambda action, rows: "not json" if action == "alert.adjudicated" else rows)
    verdict = _verify(store)
    assert not verdict.ok and verdict.first_broken is not None
    assert f"entry {verdict.first_broken} (alert.adjudicated) binds unreadable rows" in verdict.problem
