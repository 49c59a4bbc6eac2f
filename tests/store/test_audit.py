"""The audit chain: appends in order, and ``verify`` names the first entry that an edit, deletion or insertion broke."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from openlfr.store import audit
from openlfr.store.audit import AuditAction
from openlfr.store.db import Store
from openlfr.store.models import AuditEntry, AuditHead


def _fill(store: Store, n: int) -> None:
    for i in range(n):
        with store.session() as s:
            audit.record(
                s,
                f"officer-{i}",
                AuditAction.ALERT_VIEWED,
                deployment_id="d1",
                target=f"alert-{i}",
                details={"i": i, "note": "ünïcode"},
            )


def _verify(store: Store) -> audit.AuditVerdict:
    with store.session() as s:
        return audit.verify(s)


def test_a_new_store_starts_a_chain_that_verifies(store: Store) -> None:
    verdict = _verify(store)
    assert verdict.ok and verdict.entries == 1  # store.created
    _fill(store, 5)
    verdict = _verify(store)
    assert verdict.ok, verdict.problem
    assert verdict.entries == verdict.head_seq == 6


def test_an_edited_entry_is_named(store: Store) -> None:
    _fill(store, 5)
    with store.session() as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 4).values(actor="someone-else"))
    verdict = _verify(store)
    assert not verdict.ok
    assert verdict.first_broken == 4
    assert "altered" in verdict.problem


def test_a_deleted_entry_is_named(store: Store) -> None:
    _fill(store, 5)
    with store.session() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 3))
    verdict = _verify(store)
    assert not verdict.ok and verdict.first_broken == 3
    assert "missing" in verdict.problem


def test_an_inserted_entry_breaks_the_link_of_the_next(store: Store) -> None:
    _fill(store, 4)
    with store.session() as s:  # renumber entries 3.. up by one and slip a forged entry in at 3
        for seq in (5, 4, 3):
            s.execute(update(AuditEntry).where(AuditEntry.seq == seq).values(seq=seq + 1))
        prev = s.scalars(select(AuditEntry).where(AuditEntry.seq == 2)).one()
        forged = AuditEntry(
            seq=3,
            at=prev.at,
            actor="intruder",
            action="alert.viewed",
            deployment_id=None,
            target=None,
            details_json="{}",
            prev_hash=prev.hash,
            hash="",
        )
        forged.hash = audit.entry_hash(forged.prev_hash, 3, forged.at, "intruder", "alert.viewed", None, None, "{}")
        s.add(forged)
    verdict = _verify(store)
    assert not verdict.ok and verdict.first_broken == 4  # the forged entry is consistent; the next one is not


def test_entries_cut_from_the_end_do_not_reach_the_head(store: Store) -> None:
    _fill(store, 5)
    with store.session() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq >= 5))
    verdict = _verify(store)
    assert not verdict.ok and verdict.first_broken == 5


def test_appending_to_a_broken_head_is_refused(store: Store) -> None:
    import pytest

    from openlfr.errors import AuditChainError

    _fill(store, 2)
    with store.session() as s:
        s.execute(update(AuditHead).values(hash="f" * 64))
    with pytest.raises(AuditChainError, match="lfr audit verify"), store.session() as s:
        audit.record(s, "x", AuditAction.LOGIN)
